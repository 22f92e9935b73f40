#include "eigengrad/augment.hpp"

#include <algorithm>
#include <cmath>

namespace eigengrad {
namespace {

// Rows of all images are the unit of parallel work: grain of whole rows, several images per chunk.
inline index_t row_grain(index_t w) { return std::max<index_t>(1, kElementwiseGrain / std::max<index_t>(w, 1)); }

template <class T>
struct Plane {  // one image's channel planes, read with `fill` outside
  const T* base;
  index_t h, w, plane;
  T fill;
  T at(index_t ch, index_t y, index_t x) const {
    return (y < 0 || y >= h || x < 0 || x >= w) ? fill : base[ch * plane + y * w + x];
  }
};

template <class T>
void warp_row(const Plane<T>& src, T* out_row, index_t c, index_t y, const double* A, Interpolation interp) {
  const index_t w = src.w, plane = src.plane;
  for (index_t x = 0; x < w; ++x) {
    const double sx = A[0] * double(x) + A[1] * double(y) + A[2];
    const double sy = A[3] * double(x) + A[4] * double(y) + A[5];
    if (interp == Interpolation::nearest) {
      const index_t ix = index_t(std::floor(sx + 0.5)), iy = index_t(std::floor(sy + 0.5));
      if (ix >= 0 && iy >= 0 && ix < w && iy < src.h) {  // inside: no per-channel bounds checks
        const T* p = src.base + iy * w + ix;
        for (index_t ch = 0; ch < c; ++ch) out_row[ch * plane + x] = p[ch * plane];
      } else {
        for (index_t ch = 0; ch < c; ++ch) out_row[ch * plane + x] = src.fill;
      }
      continue;
    }
    const double fx = std::floor(sx), fy = std::floor(sy);
    const index_t x0 = index_t(fx), y0 = index_t(fy);
    const T ax = T(sx - fx), ay = T(sy - fy);
    if (x0 >= 0 && y0 >= 0 && x0 + 1 < w && y0 + 1 < src.h) {  // all four neighbours inside: no checks
      const T* p = src.base + y0 * w + x0;
      for (index_t ch = 0; ch < c; ++ch, p += plane) {
        const T top = p[0] * (T(1) - ax) + p[1] * ax;
        const T bottom = p[w] * (T(1) - ax) + p[w + 1] * ax;
        out_row[ch * plane + x] = top * (T(1) - ay) + bottom * ay;
      }
      continue;
    }
    for (index_t ch = 0; ch < c; ++ch) {
      const T top = src.at(ch, y0, x0) * (T(1) - ax) + src.at(ch, y0, x0 + 1) * ax;
      const T bottom = src.at(ch, y0 + 1, x0) * (T(1) - ax) + src.at(ch, y0 + 1, x0 + 1) * ax;
      out_row[ch * plane + x] = top * (T(1) - ay) + bottom * ay;
    }
  }
}

}  // namespace

template <class T>
void flip_images(const T* in, T* out, index_t n, index_t c, index_t h, index_t w, const std::uint8_t* flip,
                 bool horizontal) {
  const index_t rows = n * c * h;
  parallel_for(rows, row_grain(w), [&](index_t b, index_t e) {
    for (index_t r = b; r < e; ++r) {
      const index_t img = r / (c * h), y = r % h;
      const T* src = in + r * w;
      T* dst = out + r * w;
      if (!flip[img]) {
        std::copy(src, src + w, dst);
      } else if (horizontal) {
        std::reverse_copy(src, src + w, dst);
      } else {  // vertical: row y takes row h - 1 - y of the same plane
        const T* mirrored = in + (r - y + (h - 1 - y)) * w;
        std::copy(mirrored, mirrored + w, dst);
      }
    }
  });
}

template <class T>
void affine_warp(const T* in, T* out, index_t n, index_t c, index_t h, index_t w, const double* maps,
                 Interpolation interp, double fill) {
  const index_t plane = h * w;
  parallel_for(n * h, row_grain(w * c), [&](index_t b, index_t e) {
    for (index_t r = b; r < e; ++r) {
      const index_t img = r / h, y = r % h;
      const Plane<T> src{in + img * c * plane, h, w, plane, T(fill)};
      warp_row(src, out + img * c * plane + y * w, c, y, maps + 6 * img, interp);
    }
  });
}

template <class T>
void erase_boxes(T* img, index_t n, index_t c, index_t h, index_t w, const std::int64_t* boxes, double value) {
  parallel_for(n * c, 1, [&](index_t b, index_t e) {
    for (index_t p = b; p < e; ++p) {
      const std::int64_t* box = boxes + 4 * (p / c);
      const index_t y0 = std::clamp<index_t>(box[0], 0, h), x0 = std::clamp<index_t>(box[1], 0, w);
      const index_t y1 = std::clamp<index_t>(box[2], y0, h), x1 = std::clamp<index_t>(box[3], x0, w);
      for (index_t y = y0; y < y1; ++y) std::fill(img + p * h * w + y * w + x0, img + p * h * w + y * w + x1, T(value));
    }
  });
}

template <class T>
void normalize_channels(const T* in, T* out, index_t n, index_t c, index_t hw, const double* mean,
                        const double* std) {
  parallel_for(n * c, std::max<index_t>(1, kElementwiseGrain / std::max<index_t>(hw, 1)), [&](index_t b, index_t e) {
    for (index_t p = b; p < e; ++p) {
      const T m = T(mean[p % c]), inv = T(1.0 / std[p % c]);
      const T* src = in + p * hw;
      T* dst = out + p * hw;
      for (index_t i = 0; i < hw; ++i) dst[i] = (src[i] - m) * inv;
    }
  });
}

#define EIGENGRAD_AUGMENT(T)                                                                                     \
  template void flip_images<T>(const T*, T*, index_t, index_t, index_t, index_t, const std::uint8_t*, bool);  \
  template void affine_warp<T>(const T*, T*, index_t, index_t, index_t, index_t, const double*, Interpolation, \
                               double);                                                                        \
  template void erase_boxes<T>(T*, index_t, index_t, index_t, index_t, const std::int64_t*, double);          \
  template void normalize_channels<T>(const T*, T*, index_t, index_t, index_t, const double*, const double*);
EIGENGRAD_AUGMENT(float)
EIGENGRAD_AUGMENT(double)
#undef EIGENGRAD_AUGMENT

}  // namespace eigengrad
