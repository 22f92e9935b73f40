// Batched image augmentation over N x C x H x W (row-major) images. Every kernel is deterministic:
// the random parameters (which images flip, each image's affine map, erased boxes) are drawn by the
// caller from the counter-based generator and passed in, so results do not depend on threads.
#pragma once
#include <cstdint>

#include "eigengrad/parallel.hpp"

namespace eigengrad {

enum class Interpolation { nearest, bilinear };

// out[n] = in[n] mirrored along x (horizontal) or y (vertical) where flip[n] != 0, else a copy.
// out may not overlap in.
template <class T>
void flip_images(const T* in, T* out, index_t n, index_t c, index_t h, index_t w, const std::uint8_t* flip,
                 bool horizontal);

// out[n, :, y, x] = in[n, :, sy, sx] sampled at (sx, sy) = A_n (x, y, 1)^T, A_n = maps[6n .. 6n+6) as
// [a b tx; d e ty] in pixel coordinates (x right, y down, pixel centres at integers). Samples outside
// the image read `fill`; bilinear blends the four neighbours (each outside one as `fill`).
template <class T>
void affine_warp(const T* in, T* out, index_t n, index_t c, index_t h, index_t w, const double* maps,
                 Interpolation interp, double fill);

// In place: img[n, :, y0:y1, x0:x1] = value for each image with boxes[4n .. 4n+4) = (y0, x0, y1, x1)
// (an empty box leaves the image alone).
template <class T>
void erase_boxes(T* img, index_t n, index_t c, index_t h, index_t w, const std::int64_t* boxes, double value);

// out[n, ch] = (in[n, ch] - mean[ch]) / std[ch] over planes of hw elements; out may be in.
template <class T>
void normalize_channels(const T* in, T* out, index_t n, index_t c, index_t hw, const double* mean,
                        const double* std);

}  // namespace eigengrad
