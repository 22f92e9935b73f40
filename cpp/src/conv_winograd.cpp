// Winograd's minimal filtering F(2 x 2, 3 x 3) (Lavin & Gray 2016, "Fast Algorithms for Convolutional Neural
// Networks"): each 2 x 2 block of outputs of a 3 x 3 convolution from its 4 x 4 input patch d with
//     Y = A^T [ sum_c (G g_c G^T) . (B^T d_c B) ] A     (. elementwise, 4 x 4)
//     B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],
//     A^T = [1 1 1 0; 0 1 -1 -1],
// so the channel sum is 16 independent GEMMs, one per position xi of the 4 x 4 transforms:
//     M_xi (tiles x o) = V_xi (tiles x c) . U_xi (c x o),   V = B^T d B,  U = G g G^T.
// That is 16 multiply-adds per 4 outputs and channel pair instead of 36: 2.25x fewer. The transforms are
// additions (and halvings, exact in binary), so the error stays near the direct sum's: against the float64
// reference within 2e-6 of the output's scale in float32 (tests/test_kernels_conv_winograd.py).
//
// Why: a CNN's 3 x 3 convolutions ran at the GEMM's rate already (the direct kernel, ~85% of the FMA peak), so
// only fewer multiplies could make them faster; the CNN example's second convolution is half of its step.
//
// Layout: a chunk of images is copied channels-last and zero-padded (each 4 x 4 patch then is 16 rows of c
// contiguous values, so both transforms run over channels in SIMD lanes), transformed into V (16 x tiles x c),
// multiplied, and the output transform writes each tile's 2 x 2 x o block channels-last before one copy to
// y's (o, oh, ow) planes crops it and adds the bias. A chunk's buffers stay within a few MB (L2 and L3).
//
// Determinism: every output is computed by the same operations whatever the chunk or the thread (the GEMM's
// sums do not depend on how its rows are cut), and chunks depend on the shape only.
#include "conv_winograd.hpp"

#include <algorithm>
#include <cstring>
#include <memory>
#include <type_traits>
#include <vector>

#include "conv_slots.hpp"
#include "simd.hpp"
#include "eigengrad/gemm.hpp"

namespace eigengrad::winograd {
namespace {

// A chunk of images has at least kChunkTiles tiles (the rows of its 16 GEMMs: fewer left them mostly call
// overhead and edge tiles) and otherwise as many images as fit kChunkBytes of scratch (padded input, V, M,
// output block). An image whose own scratch exceeds kImageBytes is left to the direct kernel.
constexpr index_t kChunkTiles = 128;
constexpr index_t kChunkBytes = index_t(2) << 20;
constexpr index_t kImageBytes = index_t(16) << 20;

struct Tiles {
  index_t th, tw;                       // tiles down and across (2 x 2 outputs each)
  index_t hp, wp;                       // the padded input a chunk image is copied to: 2 th + 2 by 2 tw + 2
  index_t per_image() const { return th * tw; }
};

Tiles tiles_of(const Conv2dGeometry& g) {
  const index_t th = ceil_div(g.oh, 2), tw = ceil_div(g.ow, 2);
  return {th, tw, 2 * th + 2, 2 * tw + 2};
}

// Scratch elements per image of a chunk (ChunkScratch's parts).
index_t image_scratch(const Conv2dGeometry& g, const Tiles& t) {
  return t.hp * t.wp * g.c + 16 * t.per_image() * (g.c + g.o) + 4 * t.per_image() * g.o;
}

template <class T>
index_t chunk_images(const Conv2dGeometry& g, const Tiles& t) {
  const index_t by_tiles = ceil_div(kChunkTiles, t.per_image());
  const index_t by_bytes = kChunkBytes / (image_scratch(g, t) * index_t(sizeof(T)));
  return std::clamp<index_t>(std::max(by_tiles, by_bytes), 1, std::max<index_t>(g.n, 1));
}

using conv_slots::buffer;

// U_xi (c x o) = (G g G^T)[xi] for every channel pair; wt(q, ci, a, e) gives the 3 x 3 weight of output q and
// input ci (so the input gradient passes its flipped, swapped view).
template <class T, class W>
std::unique_ptr<T[]> transform_weights(index_t o, index_t c, W&& wt) {
  auto u = buffer<T>(16 * c * o);
  for (index_t q = 0; q < o; ++q)
    for (index_t ci = 0; ci < c; ++ci) {
      T gg[4][3];  // G g
      for (int e = 0; e < 3; ++e) {
        const T g0 = wt(q, ci, 0, e), g1 = wt(q, ci, 1, e), g2 = wt(q, ci, 2, e);
        gg[0][e] = g0;
        gg[1][e] = T(0.5) * ((g0 + g1) + g2);
        gg[2][e] = T(0.5) * ((g0 - g1) + g2);
        gg[3][e] = g2;
      }
      for (int r = 0; r < 4; ++r) {  // (G g) G^T
        const T h0 = gg[r][0], h1 = gg[r][1], h2 = gg[r][2];
        const T row[4] = {h0, T(0.5) * ((h0 + h1) + h2), T(0.5) * ((h0 - h1) + h2), h2};
        for (int s = 0; s < 4; ++s) u[((4 * r + s) * c + ci) * o + q] = row[s];
      }
    }
  return u;
}

// dst[j * dst_ld + i] = src[i * src_ld + j] (+ add[j]) for i < rows, j < cols, in 16 x 16 blocks.
template <class T>
void transpose_scalar(const T* __restrict__ src, index_t src_ld, T* __restrict__ dst, index_t dst_ld, index_t rows,
                      index_t cols, const T* add) {
  constexpr index_t B = 16;
  for (index_t i0 = 0; i0 < rows; i0 += B)
    for (index_t j0 = 0; j0 < cols; j0 += B) {
      const index_t i1 = std::min(rows, i0 + B), j1 = std::min(cols, j0 + B);
      for (index_t j = j0; j < j1; ++j) {
        const T a = add ? add[j] : T(0);
        for (index_t i = i0; i < i1; ++i) dst[j * dst_ld + i] = src[i * src_ld + j] + a;
      }
    }
}

// The same. Float on AVX2 builds: 8 x 8
// register transposes (element by element, the strided side cost as much as the whole F(2x2, 3x3) transform:
// about a third of the convolution at the CNN example's shape); the rest in 16 x 16 blocks.
template <class T>
void transpose(const T* __restrict__ src, index_t src_ld, T* __restrict__ dst, index_t dst_ld, index_t rows,
               index_t cols, const T* add = nullptr) {
  index_t i8 = 0, j8 = 0;  // the part [0, i8) x [0, j8) done in 8 x 8 registers
#ifdef EIGENGRAD_AVX2
  if constexpr (std::is_same_v<T, float>) {
    i8 = rows / 8 * 8, j8 = cols / 8 * 8;
    for (index_t i0 = 0; i0 < i8; i0 += 8)
      for (index_t j0 = 0; j0 < j8; j0 += 8) {
        __m256 r[8];
        for (int k = 0; k < 8; ++k) r[k] = _mm256_loadu_ps(src + (i0 + k) * src_ld + j0);
        simd::transpose8(r);
        for (int k = 0; k < 8; ++k) {
          const __m256 a = add ? _mm256_set1_ps(add[j0 + k]) : _mm256_setzero_ps();
          _mm256_storeu_ps(dst + (j0 + k) * dst_ld + i0, _mm256_add_ps(r[k], a));
        }
      }
  }
#endif
  // the rest: rows [i8, rows) of every column, then columns [j8, cols) of rows [0, i8)
  transpose_scalar(src + i8 * src_ld, src_ld, dst + i8, dst_ld, rows - i8, cols, add);
  transpose_scalar(src + j8, src_ld, dst + j8 * dst_ld, dst_ld, i8, cols - j8, add ? add + j8 : nullptr);
}

// xp (hp x wp x c, channels last) of image x (c x h x w): x[ci, r - ph, s - pw], zero outside the image.
template <class T>
void pad_channels_last(const T* x, T* xp, const Conv2dGeometry& g, const Tiles& t) {
  std::fill(xp, xp + t.hp * t.wp * g.c, T(0));
  const index_t r0 = std::max<index_t>(0, g.ph), r1 = std::min(t.hp, g.h + g.ph);
  const index_t s0 = std::max<index_t>(0, g.pw), s1 = std::min(t.wp, g.w + g.pw);
  if (s0 >= s1) return;
  for (index_t r = r0; r < r1; ++r)  // the (c x columns) block of input row r - ph, transposed
    transpose(x + (r - g.ph) * g.w + s0 - g.pw, g.h * g.w, xp + (r * t.wp + s0) * g.c, g.c, g.c, s1 - s0);
}

// V_xi[tile, ci] = (B^T d B)[xi] of every tile of one padded image, tiles numbered from `first` (ld: the
// tiles of the chunk). Channels are the inner loop: the 16 loads and 16 stores of a step are SIMD vectors.
template <class T>
void transform_input(const T* xp, T* v, index_t first, index_t ld, index_t c, const Tiles& t) {
  const index_t plane = ld * c, row = t.wp * c;  // one xi's V; one row of xp
  for (index_t ty = 0; ty < t.th; ++ty)
    for (index_t tx = 0; tx < t.tw; ++tx) {
      const T* __restrict__ d = xp + (2 * ty * t.wp + 2 * tx) * c;
      T* __restrict__ out = v + (first + ty * t.tw + tx) * c;
#pragma GCC ivdep
      for (index_t ci = 0; ci < c; ++ci) {
        T b[4][4];  // B^T d, column s
        for (int s = 0; s < 4; ++s) {
          const T d0 = d[s * c + ci], d1 = d[row + s * c + ci], d2 = d[2 * row + s * c + ci],
                  d3 = d[3 * row + s * c + ci];
          b[0][s] = d0 - d2;
          b[1][s] = d1 + d2;
          b[2][s] = d2 - d1;
          b[3][s] = d1 - d3;
        }
        for (int r = 0; r < 4; ++r) {  // (B^T d) B
          out[4 * r * plane + ci] = b[r][0] - b[r][2];
          out[(4 * r + 1) * plane + ci] = b[r][1] + b[r][2];
          out[(4 * r + 2) * plane + ci] = b[r][2] - b[r][1];
          out[(4 * r + 3) * plane + ci] = b[r][1] - b[r][3];
        }
      }
    }
}

// The 2 x 2 x o output block of every tile of one image (tiles from `first`), channels last, into yb
// (2 th x 2 tw x o): Y = A^T M A, output channels in SIMD lanes.
template <class T>
void transform_output(const T* m, T* yb, index_t first, index_t ld, index_t o, const Tiles& t) {
  const index_t plane = ld * o;
  const index_t row = 2 * t.tw * o;
  for (index_t ty = 0; ty < t.th; ++ty)
    for (index_t tx = 0; tx < t.tw; ++tx) {
      const T* __restrict__ in = m + (first + ty * t.tw + tx) * o;
      T* __restrict__ out = yb + (2 * ty * 2 * t.tw + 2 * tx) * o;
#pragma GCC ivdep
      for (index_t q = 0; q < o; ++q) {
        T a[2][4];  // A^T M, column s
        for (int s = 0; s < 4; ++s) {
          const T m0 = in[s * plane + q], m1 = in[(4 + s) * plane + q], m2 = in[(8 + s) * plane + q],
                  m3 = in[(12 + s) * plane + q];
          a[0][s] = (m0 + m1) + m2;
          a[1][s] = (m1 - m2) - m3;
        }
        for (int r = 0; r < 2; ++r) {  // (A^T M) A
          out[r * row + q] = (a[r][0] + a[r][1]) + a[r][2];
          out[r * row + o + q] = (a[r][1] - a[r][2]) - a[r][3];
        }
      }
    }
}

// y's planes (o x oh x ow) of one image from its channels-last block, cropped, plus the bias.
template <class T>
void store_planes(const T* yb, const T* bias, T* y, const Conv2dGeometry& g, const Tiles& t) {
  for (index_t u = 0; u < g.oh; ++u)  // row u: (ow x o) transposed into the planes' row u
    transpose(yb + u * 2 * t.tw * g.o, g.o, y + u * g.ow, g.oh * g.ow, g.ow, g.o, bias);
}

// A chunk's scratch (image_scratch elements per image): the padded image, V (16 x tiles x c), M or dM
// (16 x tiles x o), and one image's channels-last output block.
template <class T>
struct ChunkScratch {
  index_t tiles;
  T *xp, *v, *m, *yb;
  ChunkScratch(T* s, index_t nb, const Conv2dGeometry& g, const Tiles& t)
      : tiles(nb * t.per_image()), xp(s), v(xp + t.hp * t.wp * g.c), m(v + 16 * tiles * g.c),
        yb(m + 16 * tiles * g.o) {}
};

// V of image i (of the chunk starting at image i0): x padded channels-last, then B^T d B.
template <class T>
void transform_image(const T* x, index_t i0, index_t i, ChunkScratch<T>& sc, const Conv2dGeometry& g, const Tiles& t) {
  pad_channels_last(x + (i0 + i) * g.c * g.h * g.w, sc.xp, g, t);
  transform_input(sc.xp, sc.v, i * t.per_image(), sc.tiles, g.c, t);
}

// The forward over images [i0, i0 + nb) with the transformed weights u.
template <class T>
void forward_chunk(const T* x, const T* u, const T* b, T* y, index_t i0, index_t nb, T* scratch,
                   const Conv2dGeometry& g, const Tiles& t) {
  ChunkScratch<T> sc(scratch, nb, g, t);
  for (index_t i = 0; i < nb; ++i) transform_image(x, i0, i, sc, g, t);
  for (int xi = 0; xi < 16; ++xi)
    gemm<T>(sc.v + xi * sc.tiles * g.c, u + xi * g.c * g.o, nullptr, sc.m + xi * sc.tiles * g.o, sc.tiles, g.o, g.c,
            false, false, false);
  for (index_t i = 0; i < nb; ++i) {
    transform_output(sc.m, sc.yb, i * t.per_image(), sc.tiles, g.o, t);
    store_planes(sc.yb, b, y + (i0 + i) * g.o * g.oh * g.ow, g, t);
  }
}

template <class T, class W>
void run(const T* x, W&& wt, const T* b, T* y, const Conv2dGeometry& g) {
  const Tiles t = tiles_of(g);
  const auto u = transform_weights<T>(g.o, g.c, wt);
  const index_t per_chunk = chunk_images<T>(g, t), chunks = ceil_div(g.n, per_chunk);
  const index_t scratch = per_chunk * image_scratch(g, t);
  conv_slots::run(
      chunks, [&] { return buffer<T>(scratch); },
      [&](index_t j, index_t, std::unique_ptr<T[]>& s, bool) {
        const index_t i0 = j * per_chunk;
        forward_chunk(x, u.get(), b, y, i0, std::min(per_chunk, g.n - i0), s.get(), g, t);
      });
}

// The weight gradient. With y = A^T M A, M = sum_c U_c . V_c and U = G g G^T, the gradient of U_xi is
//     dU_xi (c x o) = sum over tiles V_xi^T (c x tiles) . dM_xi (tiles x o),   dM = A dy A^T,
// and dg = G^T dU G: the same V as the forward, 16 GEMMs whose depth is the tiles, and a 3 x 3 from each
// 4 x 4 at the end.

// dyb (2 th x 2 tw x o, channels last) of one image's dy planes (o x oh x ow), zero past the output's edge.
template <class T>
void load_planes(const T* dy, T* dyb, const Conv2dGeometry& g, const Tiles& t) {
  const index_t ldr = 2 * t.tw * g.o;
  std::fill(dyb, dyb + 2 * t.th * ldr, T(0));
  for (index_t u = 0; u < g.oh; ++u)  // row u of every plane: (o x ow) transposed
    transpose(dy + u * g.ow, g.oh * g.ow, dyb + u * ldr, g.o, g.o, g.ow);
}

// dM_xi[tile, q] = (A e A^T)[xi] for the 2 x 2 block e of output gradients of every tile of one image (tiles
// from `first`; A = [1 0; 1 1; 1 -1; 0 -1]).
template <class T>
void transform_output_grad(const T* dyb, T* dm, index_t first, index_t ld, index_t o, const Tiles& t) {
  const index_t plane = ld * o, row = 2 * t.tw * o;
  for (index_t ty = 0; ty < t.th; ++ty)
    for (index_t tx = 0; tx < t.tw; ++tx) {
      const T* __restrict__ e = dyb + (2 * ty * 2 * t.tw + 2 * tx) * o;
      T* __restrict__ out = dm + (first + ty * t.tw + tx) * o;
#pragma GCC ivdep
      for (index_t q = 0; q < o; ++q) {
        T f[4][2];  // A e, column s
        for (int s = 0; s < 2; ++s) {
          const T e0 = e[s * o + q], e1 = e[row + s * o + q];
          f[0][s] = e0;
          f[1][s] = e0 + e1;
          f[2][s] = e0 - e1;
          f[3][s] = -e1;
        }
        for (int r = 0; r < 4; ++r) {  // (A e) A^T
          out[4 * r * plane + q] = f[r][0];
          out[(4 * r + 1) * plane + q] = f[r][0] + f[r][1];
          out[(4 * r + 2) * plane + q] = f[r][0] - f[r][1];
          out[(4 * r + 3) * plane + q] = -f[r][1];
        }
      }
    }
}

// du (16 x c x o) += the chunk's sum over its tiles, for images [i0, i0 + nb).
template <class T>
void weight_grad_chunk(const T* dy, const T* x, T* du, index_t i0, index_t nb, T* scratch, const Conv2dGeometry& g,
                       const Tiles& t) {
  ChunkScratch<T> sc(scratch, nb, g, t);  // (its m holds dM, its yb the image's output gradient)
  for (index_t i = 0; i < nb; ++i) {
    transform_image(x, i0, i, sc, g, t);
    load_planes(dy + (i0 + i) * g.o * g.oh * g.ow, sc.yb, g, t);
    transform_output_grad(sc.yb, sc.m, i * t.per_image(), sc.tiles, g.o, t);
  }
  for (int xi = 0; xi < 16; ++xi)
    gemm<T>(sc.v + xi * sc.tiles * g.c, sc.m + xi * sc.tiles * g.o, nullptr, du + xi * g.c * g.o, g.c, g.o, sc.tiles,
            true, false, true);
}

// dwt (o x c x 3 x 3) = G^T dU G of each channel pair (G^T = [1 1/2 1/2 0; 0 1/2 -1/2 0; 0 1/2 1/2 1]).
template <class T>
void untransform_weights(const T* du, T* dwt, index_t o, index_t c) {
  for (index_t q = 0; q < o; ++q)
    for (index_t ci = 0; ci < c; ++ci) {
      T h[3][4];  // G^T dU, column s
      for (int s = 0; s < 4; ++s) {
        const T d0 = du[((0 + s) * c + ci) * o + q], d1 = du[((4 + s) * c + ci) * o + q],
                d2 = du[((8 + s) * c + ci) * o + q], d3 = du[((12 + s) * c + ci) * o + q];
        h[0][s] = d0 + T(0.5) * (d1 + d2);
        h[1][s] = T(0.5) * (d1 - d2);
        h[2][s] = T(0.5) * (d1 + d2) + d3;
      }
      T* out = dwt + (q * c + ci) * 9;
      for (int a = 0; a < 3; ++a) {  // (G^T dU) G
        out[a * 3 + 0] = h[a][0] + T(0.5) * (h[a][1] + h[a][2]);
        out[a * 3 + 1] = T(0.5) * (h[a][1] - h[a][2]);
        out[a * 3 + 2] = T(0.5) * (h[a][1] + h[a][2]) + h[a][3];
      }
    }
}

bool shape_fits(const Conv2dGeometry& g) {
  return g.kh == 3 && g.kw == 3 && g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1 && g.groups == 1 &&
         g.oh >= 2 && g.ow >= 2;
}

// The flipped, channel-swapped convolution whose forward is g's input gradient: dy (n, o, oh, ow) in, dx
// (n, c, h, w) out, padded by 2 - ph above (so dx row u reads dy rows u + ph - 2 .. u + ph).
Conv2dGeometry transposed(const Conv2dGeometry& g) {
  return {g.n, g.o, g.oh, g.ow, g.c, 3, 3, 1, 1, 1, 2 - g.ph, 2 - g.pw, 1, 1, g.h, g.w};
}

}  // namespace

template <class T>
bool applies(const Conv2dGeometry& g) {
  // Measured against the direct kernel (docs/architecture.md, AMD Zen 4; bench/bench_conv.py names each row's
  // algorithm): the 16 GEMMs need a depth (c) and a width (o) of a few register tiles' worth; at 16 channels
  // on either side the transforms cost more than the multiplies they save (0.7-0.9x).
  const index_t bytes = image_scratch(g, tiles_of(g)) * index_t(sizeof(T));
  return shape_fits(g) && g.c >= 32 && g.o >= 32 && bytes <= kImageBytes;
}

template <class T>
void forward(const T* x, const T* wt, const T* b, T* y, const Conv2dGeometry& g) {
  const index_t k = g.c * 9;
  run<T>(x, [&](index_t q, index_t ci, int a, int e) { return wt[q * k + ci * 9 + a * 3 + e]; }, b, y, g);
}

template <class T>
bool input_grad_applies(const Conv2dGeometry& g) {
  return shape_fits(g) && applies<T>(transposed(g));
}

template <class T>
void input_grad(const T* dy, const T* wt, T* dx, const Conv2dGeometry& g) {
  const index_t k = g.c * 9;
  // weight (c, o, 3, 3) of the transposed convolution: wt[q, ci] flipped in both axes
  run<T>(dy, [&](index_t ci, index_t q, int a, int e) { return wt[q * k + ci * 9 + (2 - a) * 3 + (2 - e)]; },
         static_cast<const T*>(nullptr), dx, transposed(g));
}

template <class T>
void weight_grad(const T* dy, const T* x, T* dwt, const Conv2dGeometry& g) {
  const Tiles t = tiles_of(g);
  const index_t per_chunk = chunk_images<T>(g, t), chunks = ceil_div(g.n, per_chunk);
  const index_t slots = conv_slots::count(chunks), size = 16 * g.c * g.o;
  const index_t scratch = per_chunk * image_scratch(g, t);
  auto sums = buffer<T>(slots * size);  // each slot's dU, added in slot order (conv_slots.hpp)
  std::fill(sums.get(), sums.get() + slots * size, T(0));
  conv_slots::run(
      chunks, [&] { return buffer<T>(scratch); },
      [&](index_t j, index_t slot, std::unique_ptr<T[]>& s, bool) {
        const index_t i0 = j * per_chunk;
        weight_grad_chunk(dy, x, sums.get() + slot * size, i0, std::min(per_chunk, g.n - i0), s.get(), g, t);
      });
  auto du = buffer<T>(size);
  std::fill(du.get(), du.get() + size, T(0));
  conv_slots::add_in_order(sums.get(), slots, size, du.get());
  untransform_weights(du.get(), dwt, g.o, g.c);
}

template bool applies<float>(const Conv2dGeometry&);
template bool applies<double>(const Conv2dGeometry&);
template bool input_grad_applies<float>(const Conv2dGeometry&);
template bool input_grad_applies<double>(const Conv2dGeometry&);
template void forward<float>(const float*, const float*, const float*, float*, const Conv2dGeometry&);
template void forward<double>(const double*, const double*, const double*, double*, const Conv2dGeometry&);
template void input_grad<float>(const float*, const float*, float*, const Conv2dGeometry&);
template void input_grad<double>(const double*, const double*, double*, const Conv2dGeometry&);
template void weight_grad<float>(const float*, const float*, float*, const Conv2dGeometry&);
template void weight_grad<double>(const double*, const double*, double*, const Conv2dGeometry&);

}  // namespace eigengrad::winograd
