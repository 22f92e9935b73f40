// Winograd's minimal filtering F(m x m, r x r) (Lavin & Gray 2016, "Fast Algorithms for Convolutional Neural
// Networks") for stride-1 convolutions: F(2 x 2, 3 x 3) for 3 x 3 kernels, F(4 x 4, 2 x 2) for 2 x 2 ones (and,
// through conv_winograd_phases.hpp, for 4 x 4 stride-2 ones). Described for F(2 x 2, 3 x 3); F(4 x 4, 2 x 2)
// differs in its matrices (the rules below): each 2 x 2 block of outputs of a 3 x 3 convolution from its 4 x 4
// input patch d with
//     Y = A^T [ sum_c (G g_c G^T) . (B^T d_c B) ] A     (. elementwise, 4 x 4)
//     B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],
//     A^T = [1 1 1 0; 0 1 -1 -1],
// so the channel sum is 16 independent GEMMs, one per position xi of the 4 x 4 transforms:
//     M_xi (tiles x o) = V_xi (tiles x c) . U_xi (c x o),   V = B^T d B,  U = G g G^T.
// That is 16 multiply-adds per 4 outputs and channel pair instead of 36: 2.25x fewer. The transforms are
// additions (and halvings, exact in binary), so the error stays near the direct sum's: against the float64
// reference within 2e-6 of the output's scale in float32 (tests/test_kernels_conv_winograd.py). F(4 x 4, 2 x 2)
// multiplies 25 times per 16 outputs instead of 64 (2.56x fewer), with larger transform coefficients (up to 8)
// and thirds in G: within 1e-5 (tests/test_kernels_conv_winograd_f4x4.py).
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
#include "conv_winograd_phases.hpp"

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

// A rule F(m x m, r x r): its 1-D transforms over alpha = m + r - 1 points, applied to the rows and then the
// columns of each tile (the 2-D transforms are their outer products). Each is written out so that no
// multiplication by 0 or 1 is left to the compiler (without -ffast-math it may not drop them).
struct F2x2_3x3 {  // points 0, 1, -1, infinity
  static constexpr int m = 2, r = 3, alpha = 4;
  static constexpr index_t chunk_tiles = 128;  // see chunk_images
  template <class T>
  static void input(const T* d, T* v) {  // v = B^T d
    v[0] = d[0] - d[2];
    v[1] = d[1] + d[2];
    v[2] = d[2] - d[1];
    v[3] = d[1] - d[3];
  }
  template <class T>
  static void output(const T* mm, T* y) {  // y = A^T m
    y[0] = (mm[0] + mm[1]) + mm[2];
    y[1] = (mm[1] - mm[2]) - mm[3];
  }
  template <class T>
  static void output_grad(const T* e, T* dm) {  // dm = A e
    dm[0] = e[0];
    dm[1] = e[0] + e[1];
    dm[2] = e[0] - e[1];
    dm[3] = -e[1];
  }
  template <class T>
  static void weight(const T* g, T* u) {  // u = G g
    u[0] = g[0];
    u[1] = T(0.5) * ((g[0] + g[1]) + g[2]);
    u[2] = T(0.5) * ((g[0] - g[1]) + g[2]);
    u[3] = g[2];
  }
  template <class T>
  static void weight_grad(const T* du, T* dg) {  // dg = G^T du
    dg[0] = du[0] + T(0.5) * (du[1] + du[2]);
    dg[1] = T(0.5) * (du[1] - du[2]);
    dg[2] = T(0.5) * (du[1] + du[2]) + du[3];
  }
};

// F(4 x 4, 2 x 2), points 0, 1, -1, 2, infinity (derived by Toom-Cook: A^T[i][j] = p_j^i, G[j][k] =
// p_j^k / prod_{l != j} (p_j - p_l), B^T solved from sum_j A^T[i][j] G[j][k] B^T[j][l] = [l = i + k]).
// 25 multiplies per 16 outputs of a 2 x 2 kernel instead of 64. B^T and A^T are small integers (up to 8); G's
// thirds and sixths round once, in the weights. Against the float64 reference, float32 error stays within 1e-5
// of the output's scale (tests/test_kernels_conv_winograd_f4x4.py), about 4x F(2x2, 3x3)'s.
struct F4x4_2x2 {
  static constexpr int m = 4, r = 2, alpha = 5;
  static constexpr index_t chunk_tiles = 32;  // see chunk_images
  template <class T>
  static void input(const T* d, T* v) {
    v[0] = (T(2) * (d[0] - d[2]) - d[1]) + d[3];
    v[1] = d[3] - (T(2) * d[1] + d[2]);
    v[2] = (T(2) * d[1] - T(3) * d[2]) + d[3];
    v[3] = d[3] - d[1];
    v[4] = (T(2) * (d[1] - d[3]) - d[2]) + d[4];
  }
  template <class T>
  static void output(const T* mm, T* y) {
    const T s = mm[1] + mm[2], t = mm[1] - mm[2];
    y[0] = (mm[0] + s) + mm[3];
    y[1] = t + T(2) * mm[3];
    y[2] = s + T(4) * mm[3];
    y[3] = (t + T(8) * mm[3]) + mm[4];
  }
  template <class T>
  static void output_grad(const T* e, T* dm) {
    dm[0] = e[0];
    dm[1] = (e[0] + e[1]) + (e[2] + e[3]);
    dm[2] = (e[0] - e[1]) + (e[2] - e[3]);
    dm[3] = (e[0] + T(2) * e[1]) + (T(4) * e[2] + T(8) * e[3]);
    dm[4] = e[3];
  }
  template <class T>
  static void weight_grad(const T* du, T* dg) {
    dg[0] = T(0.5) * (du[0] - du[1]) + (du[3] - du[2]) / T(6);
    dg[1] = (du[2] + T(2) * du[3]) / T(6) - T(0.5) * du[1] + du[4];
  }
  template <class T>
  static void weight(const T* g, T* u) {
    u[0] = T(0.5) * g[0];
    u[1] = T(-0.5) * (g[0] + g[1]);
    u[2] = (g[1] - g[0]) / T(6);
    u[3] = (g[0] + T(2) * g[1]) / T(6);
    u[4] = g[1];
  }
};

// The 2-D transform of an n x n block (in(k, s): its row k, column s): the 1-D transform f (n values to n2)
// of each column, then of each row of that; out(k, s, value) takes element (k, s) of the n2 x n2 result.
template <class T, int n, int n2, class F, class In, class Out>
inline void transform_2d(F&& f, In&& in, Out&& out) {
  T half[n2][n];
#pragma GCC unroll 8
  for (int s = 0; s < n; ++s) {
    T col[n], tr[n2];
#pragma GCC unroll 8
    for (int k = 0; k < n; ++k) col[k] = in(k, s);
    f(col, tr);
#pragma GCC unroll 8
    for (int k = 0; k < n2; ++k) half[k][s] = tr[k];
  }
#pragma GCC unroll 8
  for (int k = 0; k < n2; ++k) {
    T tr[n2];
    f(half[k], tr);
#pragma GCC unroll 8
    for (int s = 0; s < n2; ++s) out(k, s, tr[s]);
  }
}

// A chunk of images has at least R::chunk_tiles tiles (the rows of its alpha^2 GEMMs, the depth of the weight
// gradient's) and otherwise as many images as fit kChunkBytes of scratch (padded input, V, M, output block).
// An image whose own scratch exceeds kImageBytes is left to the direct kernel. Measured on the AMD Zen 4 host:
// F(2x2, 3x3) 128 (fewer left the GEMMs mostly call overhead and edge tiles); F(4x4, 2x2) 32, whose 25
// GEMMs make a chunk's V and M 1.56 times its input and output (at 128 its scratch was 8 MB a chunk, out of
// L2, and the forward 1.7x slower).
constexpr index_t kChunkBytes = index_t(2) << 20;
constexpr index_t kImageBytes = index_t(16) << 20;

struct Tiles {
  index_t m, alpha;                     // the rule's outputs per tile side and its patch side
  index_t th, tw;                       // tiles down and across (m x m outputs each)
  index_t hp, wp;                       // the padded input a chunk image is copied to: m th + r - 1 by m tw + r - 1
  index_t per_image() const { return th * tw; }
  index_t points() const { return alpha * alpha; }  // the GEMMs
};

template <class R>
Tiles tiles_of(const Conv2dGeometry& g) {
  const index_t th = ceil_div(g.oh, R::m), tw = ceil_div(g.ow, R::m);
  return {R::m, R::alpha, th, tw, R::m * th + R::r - 1, R::m * tw + R::r - 1};
}

// Scratch elements per image of a chunk (ChunkScratch's parts).
index_t image_scratch(const Conv2dGeometry& g, const Tiles& t) {
  return t.hp * t.wp * g.c + t.points() * t.per_image() * (g.c + g.o) + t.m * t.m * t.per_image() * g.o;
}

template <class R, class T>
index_t chunk_images(const Conv2dGeometry& g, const Tiles& t) {
  const index_t by_tiles = ceil_div(R::chunk_tiles, t.per_image());
  const index_t by_bytes = kChunkBytes / (image_scratch(g, t) * index_t(sizeof(T)));
  return std::clamp<index_t>(std::max(by_tiles, by_bytes), 1, std::max<index_t>(g.n, 1));
}

using conv_slots::buffer;

// parallel_for's grain over input channels that each touch `per_channel` elements.
index_t channel_grain(index_t per_channel) {
  return std::max<index_t>(1, kElementwiseGrain / std::max<index_t>(per_channel, 1));
}

// U_xi (c x o) = (G g G^T)[xi] for every channel pair; wt(q, ci, a, e) gives the r x r weight of output q and
// input ci (so the input gradient passes its flipped, swapped view). The weights are first copied to
// (r, r, c, o), so that the transforms run with the output channels in SIMD lanes (element by element, with
// strided reads, F(4x4, 2x2)'s took a fifth of a ConvTranspose2d forward).
template <class R, class T, class W>
conv_slots::Buffer<T> transform_weights(index_t o, index_t c, W&& wt) {
  constexpr int r = R::r, al = R::alpha;
  const index_t plane = c * o;
  auto w = buffer<T>(r * r * plane), u = buffer<T>(al * al * plane);
  parallel_for(c, channel_grain(al * al * o), [&](index_t c0, index_t c1) {
    for (index_t ci = c0; ci < c1; ++ci) {
      for (index_t q = 0; q < o; ++q)  // a weight's r x r taps are (mostly) adjacent: read them together
        for (int a = 0; a < r; ++a)
          for (int e = 0; e < r; ++e) w[(a * r + e) * plane + ci * o + q] = wt(q, ci, a, e);
      const T* __restrict__ in = w.get() + ci * o;
      T* __restrict__ out = u.get() + ci * o;
#pragma GCC ivdep
      for (index_t q = 0; q < o; ++q)  // G g G^T
        transform_2d<T, r, al>([](const T* a, T* b) { R::weight(a, b); },
                               [&](int a, int e) { return in[(a * r + e) * plane + q]; },
                               [&](int a, int s, T v) { out[(al * a + s) * plane + q] = v; });
    }
  });
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
// tiles of the chunk). Channels are the inner loop: the loads and stores of a step are SIMD vectors.
template <class R, class T>
void transform_input(const T* xp, T* v, index_t first, index_t ld, index_t c, const Tiles& t) {
  constexpr int al = R::alpha;
  const index_t plane = ld * c, row = t.wp * c;  // one xi's V; one row of xp
  for (index_t ty = 0; ty < t.th; ++ty)
    for (index_t tx = 0; tx < t.tw; ++tx) {
      const T* __restrict__ d = xp + (R::m * ty * t.wp + R::m * tx) * c;
      T* __restrict__ out = v + (first + ty * t.tw + tx) * c;
#pragma GCC ivdep
      for (index_t ci = 0; ci < c; ++ci)  // B^T d B
        transform_2d<T, al, al>([](const T* a, T* b) { R::input(a, b); },
                                [&](int a, int s) { return d[a * row + s * c + ci]; },
                                [&](int a, int s, T v) { out[(al * a + s) * plane + ci] = v; });
    }
}

// The m x m x o output block of every tile of one image (tiles from `first`), channels last, into yb
// (m th x m tw x o): Y = A^T M A, output channels in SIMD lanes.
template <class R, class T>
void transform_output(const T* mm, T* yb, index_t first, index_t ld, index_t o, const Tiles& t) {
  constexpr int al = R::alpha, m = R::m;
  const index_t plane = ld * o;
  const index_t row = m * t.tw * o;
  for (index_t ty = 0; ty < t.th; ++ty)
    for (index_t tx = 0; tx < t.tw; ++tx) {
      const T* __restrict__ in = mm + (first + ty * t.tw + tx) * o;
      T* __restrict__ out = yb + (m * ty * m * t.tw + m * tx) * o;
#pragma GCC ivdep
      for (index_t q = 0; q < o; ++q)  // A^T M A
        transform_2d<T, al, m>([](const T* a, T* b) { R::output(a, b); },
                               [&](int k, int s) { return in[(al * k + s) * plane + q]; },
                               [&](int k, int s, T v) { out[k * row + s * o + q] = v; });
    }
}

// y's planes (o x oh x ow) of one image from its channels-last block, cropped, plus the bias.
template <class T>
void store_planes(const T* yb, const T* bias, T* y, const Conv2dGeometry& g, const Tiles& t) {
  for (index_t u = 0; u < g.oh; ++u)  // row u: (ow x o) transposed into the planes' row u
    transpose(yb + u * t.m * t.tw * g.o, g.o, y + u * g.ow, g.oh * g.ow, g.ow, g.o, bias);
}

// Where a pass finds image i of its input and puts image i of its output (planes of the geometry it runs): in
// place, or, for the phases of a 4 x 4 stride-2 convolution (conv_winograd_phases.hpp), gathered from the real
// input's image straight into the padded channels-last copy the transforms read, or scattered from a slot's own
// copy into the real output's image afterwards.
struct Io {
  const Conv2dGeometry* phased_input = nullptr;   // the stride-2 geometry whose input the run reads as phases
  const Conv2dGeometry* phased_output = nullptr;  // ... whose input gradient the run writes as phases

  // xp (hp x wp x c, channels last, zero padded) of image i of the run's input x
  template <class T>
  void channels_last(const T* x, index_t i, T* xp, const Conv2dGeometry& g, const Tiles& t) const {
    if (!phased_input) return pad_channels_last(x + i * g.c * g.h * g.w, xp, g, t);
    const Conv2dGeometry& p = *phased_input;
    phases::gather_channels_last(x + i * p.c * p.h * p.w, xp, p, t.hp, t.wp);
  }
  // image i of the run's output y (plus the bias of y's channels) from its channels-last block yb
  template <class T>
  void store(const T* yb, const T* bias, T* y, index_t i, const Conv2dGeometry& g, const Tiles& t) const {
    if (!phased_output) return store_planes(yb, bias, y + i * g.o * g.oh * g.ow, g, t);
    const Conv2dGeometry& p = *phased_output;
    phases::scatter_channels_last(yb, t.m * t.tw, y + i * p.c * p.h * p.w, p, bias);
  }
};

// A slot's scratch: per image of a chunk (image_scratch) the padded image, V (points x
// tiles x c), M or dM (points x tiles x o), and one image's channels-last output block.
template <class T>
struct ChunkScratch {
  index_t tiles;
  T *xp, *v, *m, *yb;
  ChunkScratch(T* s, index_t nb, const Conv2dGeometry& g, const Tiles& t)
      : tiles(nb * t.per_image()), xp(s), v(xp + t.hp * t.wp * g.c),
        m(v + t.points() * tiles * g.c), yb(m + t.points() * tiles * g.o) {}
};

template <class T>
index_t slot_scratch(const Conv2dGeometry& g, const Tiles& t, index_t per_chunk) {
  return per_chunk * image_scratch(g, t);
}

// V of image i (of the chunk starting at image i0): x padded channels-last, then B^T d B.
template <class R, class T>
void transform_image(const T* x, index_t i0, index_t i, ChunkScratch<T>& sc, const Conv2dGeometry& g, const Tiles& t,
                     const Io& io) {
  io.channels_last(x, i0 + i, sc.xp, g, t);
  transform_input<R>(sc.xp, sc.v, i * t.per_image(), sc.tiles, g.c, t);
}

// The forward over images [i0, i0 + nb) with the transformed weights u.
template <class R, class T>
void forward_chunk(const T* x, const T* u, const T* b, T* y, index_t i0, index_t nb, T* scratch,
                   const Conv2dGeometry& g, const Tiles& t, const Io& io) {
  ChunkScratch<T> sc(scratch, nb, g, t);
  for (index_t i = 0; i < nb; ++i) transform_image<R>(x, i0, i, sc, g, t, io);
  for (index_t xi = 0; xi < t.points(); ++xi)
    gemm<T>(sc.v + xi * sc.tiles * g.c, u + xi * g.c * g.o, nullptr, sc.m + xi * sc.tiles * g.o, sc.tiles, g.o, g.c,
            false, false, false);
  for (index_t i = 0; i < nb; ++i) {
    transform_output<R>(sc.m, sc.yb, i * t.per_image(), sc.tiles, g.o, t);
    io.store(sc.yb, b, y, i0 + i, g, t);
  }
}

template <class R, class T, class W>
void run(const T* x, W&& wt, const T* b, T* y, const Conv2dGeometry& g, const Io& io) {
  const Tiles t = tiles_of<R>(g);
  const auto u = transform_weights<R, T>(g.o, g.c, wt);
  const index_t per_chunk = chunk_images<R, T>(g, t), chunks = ceil_div(g.n, per_chunk);
  const index_t scratch = slot_scratch<T>(g, t, per_chunk);
  conv_slots::run(
      chunks, [&] { return buffer<T>(scratch); },
      [&](index_t j, index_t, conv_slots::Buffer<T>& s, bool) {
        const index_t i0 = j * per_chunk;
        forward_chunk<R>(x, u.get(), b, y, i0, std::min(per_chunk, g.n - i0), s.get(), g, t, io);
      });
}

// The weight gradient. With y = A^T M A, M = sum_c U_c . V_c and U = G g G^T, the gradient of U_xi is
//     dU_xi (c x o) = sum over tiles V_xi^T (c x tiles) . dM_xi (tiles x o),   dM = A dy A^T,
// and dg = G^T dU G: the same V as the forward, alpha^2 GEMMs whose depth is the tiles, and an r x r from
// each alpha x alpha at the end.

// dyb (m th x m tw x o, channels last) of one image's dy planes (o x oh x ow), zero past the output's edge.
template <class T>
void load_planes(const T* dy, T* dyb, const Conv2dGeometry& g, const Tiles& t) {
  const index_t ldr = t.m * t.tw * g.o;
  std::fill(dyb, dyb + t.m * t.th * ldr, T(0));
  for (index_t u = 0; u < g.oh; ++u)  // row u of every plane: (o x ow) transposed
    transpose(dy + u * g.ow, g.oh * g.ow, dyb + u * ldr, g.o, g.o, g.ow);
}

// dM_xi[tile, q] = (A e A^T)[xi] for the m x m block e of output gradients of every tile of one image (tiles
// from `first`).
template <class R, class T>
void transform_output_grad(const T* dyb, T* dm, index_t first, index_t ld, index_t o, const Tiles& t) {
  constexpr int al = R::alpha, m = R::m;
  const index_t plane = ld * o, row = m * t.tw * o;
  for (index_t ty = 0; ty < t.th; ++ty)
    for (index_t tx = 0; tx < t.tw; ++tx) {
      const T* __restrict__ e = dyb + (m * ty * m * t.tw + m * tx) * o;
      T* __restrict__ out = dm + (first + ty * t.tw + tx) * o;
#pragma GCC ivdep
      for (index_t q = 0; q < o; ++q)  // A e A^T
        transform_2d<T, m, al>([](const T* a, T* b) { R::output_grad(a, b); },
                               [&](int k, int s) { return e[k * row + s * o + q]; },
                               [&](int k, int s, T v) { out[(al * k + s) * plane + q] = v; });
    }
}

// du (points x c x o) += the chunk's sum over its tiles, for images [i0, i0 + nb).
template <class R, class T>
void weight_grad_chunk(const T* dy, const T* x, T* du, index_t i0, index_t nb, T* scratch, const Conv2dGeometry& g,
                       const Tiles& t) {
  ChunkScratch<T> sc(scratch, nb, g, t);  // (its m holds dM, its yb the image's output gradient)
  for (index_t i = 0; i < nb; ++i) {
    transform_image<R>(x, i0, i, sc, g, t, Io{});
    load_planes(dy + (i0 + i) * g.o * g.oh * g.ow, sc.yb, g, t);
    transform_output_grad<R>(sc.yb, sc.m, i * t.per_image(), sc.tiles, g.o, t);
  }
  for (index_t xi = 0; xi < t.points(); ++xi)
    gemm<T>(sc.v + xi * sc.tiles * g.c, sc.m + xi * sc.tiles * g.o, nullptr, du + xi * g.c * g.o, g.c, g.o, sc.tiles,
            true, false, true);
}

// dwt(q, ci, a, e) = (G^T dU G)[a, e] of each channel pair: dU's output channels in SIMD lanes, through a
// (r, r, c, o) copy.
template <class R, class T, class W>
void untransform_weights(const T* du, W&& dwt, index_t o, index_t c) {
  constexpr int r = R::r, al = R::alpha;
  const index_t plane = c * o;
  auto w = buffer<T>(r * r * plane);
  parallel_for(c, channel_grain(al * al * o), [&](index_t c0, index_t c1) {
    for (index_t ci = c0; ci < c1; ++ci) {
      const T* __restrict__ in = du + ci * o;
      T* __restrict__ out = w.get() + ci * o;
#pragma GCC ivdep
      for (index_t q = 0; q < o; ++q)  // G^T dU G
        transform_2d<T, al, r>([](const T* a, T* b) { R::weight_grad(a, b); },
                               [&](int k, int s) { return in[(al * k + s) * plane + q]; },
                               [&](int k, int e, T v) { out[(k * r + e) * plane + q] = v; });
      for (int a = 0; a < r; ++a)
        for (int e = 0; e < r; ++e)
          for (index_t q = 0; q < o; ++q) dwt(q, ci, a, e) = out[(a * r + e) * plane + q];
    }
  });
}

// The stride-1 convolution of a rule: r x r, undilated, without groups, at least one tile of outputs.
template <class R>
bool shape_fits(const Conv2dGeometry& g) {
  return g.kh == R::r && g.kw == R::r && g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1 && g.groups == 1 &&
         g.oh >= 2 && g.ow >= 2;
}

// The flipped, channel-swapped convolution whose forward is g's input gradient: dy (n, o, oh, ow) in, dx
// (n, c, h, w) out, padded by r - 1 - ph above (so dx row u reads dy rows u + ph - r + 1 .. u + ph).
Conv2dGeometry transposed(const Conv2dGeometry& g) {
  return {g.n, g.o, g.oh, g.ow, g.c, g.kh, g.kw, 1, 1, 1, g.kh - 1 - g.ph, g.kw - 1 - g.pw, 1, 1, g.h, g.w};
}

template <class R, class T>
bool rule_applies(const Conv2dGeometry& g) {
  // Measured against the direct kernel (docs/architecture.md, AMD Zen 4; bench/bench_conv.py names each row's
  // algorithm): the GEMMs need a depth (c) and a width (o) of a few register tiles' worth; at 16 channels
  // on either side F(2x2, 3x3)'s transforms cost more than the multiplies they save (0.7-0.9x).
  const index_t bytes = image_scratch(g, tiles_of<R>(g)) * index_t(sizeof(T));
  return shape_fits<R>(g) && g.c >= 32 && g.o >= 32 && bytes <= kImageBytes;
}

// The three passes of a rule's convolution g, whose weight element (q, ci, a, e) is wt[index(q, ci, a, e)].
template <class R, class T, class Index>
void rule_forward(const T* x, const T* wt, Index index, const T* b, T* y, const Conv2dGeometry& g, const Io& io) {
  run<R>(x, [&](index_t q, index_t ci, int a, int e) { return wt[index(q, ci, a, e)]; }, b, y, g, io);
}

template <class R, class T, class Index>
void rule_input_grad(const T* dy, const T* wt, Index index, const T* bias, T* dx, const Conv2dGeometry& g,
                     const Io& io) {
  constexpr int r = R::r;  // the transposed convolution's weight (c, o, r, r): wt[q, ci] flipped in both axes
  run<R>(dy, [&](index_t ci, index_t q, int a, int e) { return wt[index(q, ci, r - 1 - a, r - 1 - e)]; }, bias, dx,
         transposed(g), io);
}

template <class R, class T, class Index>
void rule_weight_grad(const T* dy, const T* x, T* dwt, Index index, const Conv2dGeometry& g) {
  const Tiles t = tiles_of<R>(g);
  const index_t per_chunk = chunk_images<R, T>(g, t), chunks = ceil_div(g.n, per_chunk);
  const index_t slots = conv_slots::count(chunks), size = t.points() * g.c * g.o;
  const index_t scratch = slot_scratch<T>(g, t, per_chunk);
  auto sums = buffer<T>(slots * size);  // each slot's dU, added in slot order (conv_slots.hpp)
  std::fill(sums.get(), sums.get() + slots * size, T(0));
  conv_slots::run(
      chunks, [&] { return buffer<T>(scratch); },
      [&](index_t j, index_t slot, conv_slots::Buffer<T>& s, bool) {
        const index_t i0 = j * per_chunk;
        weight_grad_chunk<R>(dy, x, sums.get() + slot * size, i0, std::min(per_chunk, g.n - i0), s.get(), g, t);
      });
  auto du = buffer<T>(size);
  std::fill(du.get(), du.get() + size, T(0));
  conv_slots::add_in_order(sums.get(), slots, size, du.get());
  untransform_weights<R>(du.get(), [&](index_t q, index_t ci, int a, int e) -> T& { return dwt[index(q, ci, a, e)]; },
                         g.o, g.c);
}

// The weight gradient by point, for F(4x4, 2x2) over a stride-2 layer's phases: V and dM of every tile of a
// group of images (all of them up to kGroupBytes), then per point xi one GEMM as deep as the group's tiles,
// its threads sharing the GEMM; groups add up in order. The chunks above made that layer's 25 GEMMs either
// shallow (a chunk's few tiles) or each chunk add into a 25 c o slot sum, and ran no faster than the direct
// kernel; this ran 1.2-1.9x faster than it where the channels pay (weight_grad_applies).
constexpr index_t kGroupBytes = index_t(32) << 20;

template <class R, class T, class Index>
void rule_weight_grad_by_point(const T* dy, const T* x, T* dwt, Index index, const Conv2dGeometry& g, const Io& io) {
  const Tiles t = tiles_of<R>(g);
  const index_t per_image = t.points() * t.per_image() * (g.c + g.o) * index_t(sizeof(T));
  const index_t group = std::clamp<index_t>(kGroupBytes / per_image, 1, std::max<index_t>(g.n, 1));
  const index_t tiles = group * t.per_image();
  auto v = buffer<T>(t.points() * tiles * g.c), dm = buffer<T>(t.points() * tiles * g.o);
  auto du = buffer<T>(t.points() * g.c * g.o);
  const index_t image = t.hp * t.wp * g.c + t.m * t.th * t.m * t.tw * g.o;  // xp, dyb
  for (index_t i0 = 0; i0 < g.n; i0 += group) {
    const index_t nb = std::min(group, g.n - i0), ld = nb * t.per_image();
    parallel_for(nb, 1, [&](index_t j0, index_t j1) {
      auto s = buffer<T>(image);
      T *xp = s.get(), *dyb = xp + t.hp * t.wp * g.c;
      for (index_t j = j0; j < j1; ++j) {
        io.channels_last(x, i0 + j, xp, g, t);
        transform_input<R>(xp, v.get(), j * t.per_image(), ld, g.c, t);
        load_planes(dy + (i0 + j) * g.o * g.oh * g.ow, dyb, g, t);
        transform_output_grad<R>(dyb, dm.get(), j * t.per_image(), ld, g.o, t);
      }
    });
    for (index_t xi = 0; xi < t.points(); ++xi)
      gemm<T>(v.get() + xi * ld * g.c, dm.get() + xi * ld * g.o, nullptr, du.get() + xi * g.c * g.o, g.c, g.o, ld,
              true, false, i0 > 0);
  }
  if (g.n == 0) std::fill(du.get(), du.get() + t.points() * g.c * g.o, T(0));
  untransform_weights<R>(du.get(), [&](index_t q, index_t ci, int a, int e) -> T& { return dwt[index(q, ci, a, e)]; },
                         g.o, g.c);
}

// The element of an (o, c, r, r) weight.
template <int r>
auto plain(const Conv2dGeometry& g) {
  return [c = g.c](index_t q, index_t ci, int a, int e) { return ((q * c + ci) * r + a) * r + e; };
}

// The element of a 4 x 4 stride-2 weight that its phases' 2 x 2 convolution reads.
auto phased(const Conv2dGeometry& g) {
  return [&g](index_t q, index_t zc, int m, int l) { return phases::weight_index(q, zc, m, l, g); };
}

}  // namespace

// The public entry points: 3 x 3 kernels take F(2x2, 3x3), 2 x 2 kernels F(4x4, 2x2), 4 x 4 stride-2 ones
// F(4x4, 2x2) over their phases.

template <class T>
bool applies(const Conv2dGeometry& g) {
  if (g.kh == 3) return rule_applies<F2x2_3x3, T>(g);
  if (g.kh == 2) return rule_applies<F4x4_2x2, T>(g);
  return phases::fits(g) && rule_applies<F4x4_2x2, T>(phases::geometry(g));
}

template <class T>
void forward(const T* x, const T* wt, const T* b, T* y, const Conv2dGeometry& g) {
  if (g.kh == 3) return rule_forward<F2x2_3x3>(x, wt, plain<3>(g), b, y, g, Io{});
  if (g.kh == 2) return rule_forward<F4x4_2x2>(x, wt, plain<2>(g), b, y, g, Io{});
  rule_forward<F4x4_2x2>(x, wt, phased(g), b, y, phases::geometry(g), Io{&g, nullptr});
}

template <class T>
bool input_grad_applies(const Conv2dGeometry& g) {
  if (g.kh == 3) return shape_fits<F2x2_3x3>(g) && rule_applies<F2x2_3x3, T>(transposed(g));
  if (g.kh == 2) return shape_fits<F4x4_2x2>(g) && rule_applies<F4x4_2x2, T>(transposed(g));
  return phases::fits(g) && input_grad_applies<T>(phases::geometry(g));
}

template <class T>
void input_grad(const T* dy, const T* wt, const T* bias, T* dx, const Conv2dGeometry& g) {
  if (g.kh == 3) return rule_input_grad<F2x2_3x3>(dy, wt, plain<3>(g), bias, dx, g, Io{});
  if (g.kh == 2) return rule_input_grad<F4x4_2x2>(dy, wt, plain<2>(g), bias, dx, g, Io{});
  rule_input_grad<F4x4_2x2>(dy, wt, phased(g), bias, dx, phases::geometry(g), Io{nullptr, &g});
}

template <class T>
bool weight_grad_applies(const Conv2dGeometry& g) {
  if (g.kh == 3) return rule_applies<F2x2_3x3, T>(g);
  if (!phases::fits(g)) return false;
  // Measured against the direct kernel (AMD Zen 4, 2 threads, 4 x 4 stride-2 layers of 32 to 256 input channels
  // on 8 x 8 to 32 x 32): 1.15-1.9x where the phases' c and o are both 128+ and one is 256+; 0.85-1.2x, noisy,
  // with 128 and 128 or fewer (the transforms of every tile cost what the multiplies save).
  const Conv2dGeometry p = phases::geometry(g);
  return rule_applies<F4x4_2x2, T>(p) && std::min(p.c, p.o) >= 128 && p.c * p.o >= 256 * 128;
}

template <class T>
void weight_grad(const T* dy, const T* x, T* dwt, const Conv2dGeometry& g) {
  if (g.kh == 3) return rule_weight_grad<F2x2_3x3>(dy, x, dwt, plain<3>(g), g);
  rule_weight_grad_by_point<F4x4_2x2>(dy, x, dwt, phased(g), phases::geometry(g), Io{&g, nullptr});
}

template bool applies<float>(const Conv2dGeometry&);
template bool applies<double>(const Conv2dGeometry&);
template bool input_grad_applies<float>(const Conv2dGeometry&);
template bool input_grad_applies<double>(const Conv2dGeometry&);
template bool weight_grad_applies<float>(const Conv2dGeometry&);
template bool weight_grad_applies<double>(const Conv2dGeometry&);
template void forward<float>(const float*, const float*, const float*, float*, const Conv2dGeometry&);
template void forward<double>(const double*, const double*, const double*, double*, const Conv2dGeometry&);
template void input_grad<float>(const float*, const float*, const float*, float*, const Conv2dGeometry&);
template void input_grad<double>(const double*, const double*, const double*, double*, const Conv2dGeometry&);
template void weight_grad<float>(const float*, const float*, float*, const Conv2dGeometry&);
template void weight_grad<double>(const double*, const double*, double*, const Conv2dGeometry&);

}  // namespace eigengrad::winograd
