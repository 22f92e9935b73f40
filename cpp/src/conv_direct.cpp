// Direct convolution: an MR x NR register tile of (output positions) x (output channels), whose
// broadcast operand is read straight from a zero-padded copy of the image instead of a packed patch
// matrix.
//
// Why: with 32-64 output channels the im2col lowering spends as long writing the patch matrix (K x
// positions), re-reading it to pack the GEMM's panels and copying the product into y as the GEMM
// spends multiplying. Here the patch element (position q, depth p = (ci, a, e)) is the scalar
//     xpad[base(q) + off(p)],  base(q) = u sh Wp + v sw,  off(p) = ci Hp Wp + a dh Wp + e dw
// of the padded image (Hp x Wp per channel), so the tile broadcasts it from there: MR positions need
// MR base pointers and one offset per depth. The weights are the vector operand, packed once per call
// as [depth][NR channels] panels (zero past the last channel). The tile's MR x NR sums are written
// transposed into y's (channel, position) planes.
//
// The input gradient of a stride-1 convolution is itself one (dy padded by (k - 1) d - p, with the
// weight flipped and its channel axes swapped), so it runs through the same tile; with a stride s each
// phase of dx (rows r = m s + phase) is such a convolution with the taps that reach it (phase_axis).
//
// The weight gradient turns the tile around: MR depths x NR output channels, its loop running over the
// output positions of a chunk of images (see run_weight_grad).
//
// The tile is 6 positions x 16 channels of ymm registers (AVX2), or with AVX-512 (float32, 32k channels
// per group) 8 or 10 positions x 32 channels of zmm registers (see with_tile).
//
// Every output of the forward and the input gradient is one FMA chain over the whole depth, in depth
// order; every weight-gradient entry is one chain per chunk, the chunks summed through conv_slots.hpp.
// So the bits do not depend on the threads or the tiling.
#include "conv_direct.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include <stdexcept>
#include <type_traits>

#include "conv_slots.hpp"
#include "simd.hpp"

namespace eigengrad::direct {
namespace {

#ifdef EIGENGRAD_AVX2

// Where a tile's sums go: sum (position i, channel j) to y[j * stride + i], plus bias[j] (may be null),
// added to what is there when accumulate; rows x chans of the tile are valid.
template <class T>
struct TileOut {
  T* y;
  index_t stride, rows, chans;
  const T* bias;
  bool accumulate;
};

// Writes the MR x 8 float sums acc[i] (position i, 8 channels) transposed: one 8 x 8 register
// transpose (rows 6, 7 are zero), then `rows` positions per channel. A full tile stores 4 + 2 floats
// (masked stores are microcoded and slow on AMD cores); a partial one goes through memory.
inline void store_transposed(const __m256 (&acc)[6], const TileOut<float>& out, index_t ch0) {
  __m256 r[8] = {acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], _mm256_setzero_ps(), _mm256_setzero_ps()};
  simd::transpose8(r);
  for (index_t j = 0; j < std::min<index_t>(8, out.chans - ch0); ++j) {
    float* d = out.y + (ch0 + j) * out.stride;
    __m256 v = r[j];
    if (out.bias) v = _mm256_add_ps(_mm256_set1_ps(out.bias[ch0 + j]), v);
    if (out.rows == 6) {
      __m128 v0 = _mm256_castps256_ps128(v), v1 = _mm256_extractf128_ps(v, 1);
      if (out.accumulate) {  // __m64 may alias floats; a double* would not
        v0 = _mm_add_ps(_mm_loadu_ps(d), v0);
        v1 = _mm_add_ps(_mm_loadl_pi(_mm_setzero_ps(), reinterpret_cast<const __m64*>(d + 4)), v1);
      }
      _mm_storeu_ps(d, v0);
      _mm_storel_pi(reinterpret_cast<__m64*>(d + 4), v1);
      continue;
    }
    alignas(32) float t[8];
    _mm256_store_ps(t, v);
    for (index_t i = 0; i < out.rows; ++i) d[i] = out.accumulate ? d[i] + t[i] : t[i];
  }
}

// Double: through a scratch tile (the float64 kernels are for checking, not speed).
inline void store_transposed(const __m256d (&acc)[6], const TileOut<double>& out, index_t ch0) {
  alignas(32) double t[6][4];
  for (int i = 0; i < 6; ++i) _mm256_store_pd(t[i], acc[i]);
  for (index_t j = 0; j < std::min<index_t>(4, out.chans - ch0); ++j) {
    double* d = out.y + (ch0 + j) * out.stride;
    const double b = out.bias ? out.bias[ch0 + j] : 0.0;
    for (index_t i = 0; i < out.rows; ++i) d[i] = (out.accumulate ? d[i] : 0.0) + (b + t[i][j]);
  }
}

#ifdef EIGENGRAD_AVX512
// d[i] (+)= v[i] for i < count <= 8: whole vectors of 8, 4, 2 and 1 floats (a partial tile's scratch
// copy was a tenth of a 10-row tile's store).
inline void store_first(float* d, __m256 v, index_t count, bool accumulate) {
  if (count == 8) {
    _mm256_storeu_ps(d, accumulate ? _mm256_add_ps(_mm256_loadu_ps(d), v) : v);
    return;
  }
  __m128 h = _mm256_castps256_ps128(v);
  if (count >= 4) {
    _mm_storeu_ps(d, accumulate ? _mm_add_ps(_mm_loadu_ps(d), h) : h);
    h = _mm256_extractf128_ps(v, 1), d += 4, count -= 4;
  }
  if (count >= 2) {  // __m64 may alias floats; a double* would not
    if (accumulate) h = _mm_add_ps(_mm_loadl_pi(_mm_setzero_ps(), reinterpret_cast<const __m64*>(d)), h);
    _mm_storel_pi(reinterpret_cast<__m64*>(d), h);
    h = _mm_movehl_ps(h, h), d += 2, count -= 2;
  }
  if (count == 1) _mm_store_ss(d, accumulate ? _mm_add_ss(_mm_load_ss(d), h) : h);
}

// Writes the MR x 16 float sums acc[i] (position i, 16 channels) transposed: each 8 positions x 8
// channels quarter through one 8 x 8 register transpose, then 8 (or the rest of the) positions per channel.
template <int MR>
inline void store_transposed(const __m512 (&acc)[MR], const TileOut<float>& out, index_t ch0) {
  const index_t chans = std::min<index_t>(16, out.chans - ch0);
  for (index_t i0 = 0; i0 < out.rows; i0 += 8) {
    const index_t count = std::min<index_t>(8, out.rows - i0);
    for (int half = 0; half < 2 && 8 * half < chans; ++half) {
      __m256 r[8];
      for (int i = 0; i < 8; ++i)
        r[i] = i0 + i < MR ? (half ? _mm512_extractf32x8_ps(acc[i0 + i], 1) : _mm512_castps512_ps256(acc[i0 + i]))
                           : _mm256_setzero_ps();
      simd::transpose8(r);
      for (index_t j = 0; j < std::min<index_t>(8, chans - 8 * half); ++j) {
        const index_t ch = ch0 + 8 * half + j;
        __m256 v = r[j];
        if (out.bias) v = _mm256_add_ps(_mm256_set1_ps(out.bias[ch]), v);
        store_first(out.y + ch * out.stride + i0, v, count, out.accumulate);
      }
    }
  }
}
#endif

// The register tile: MR output positions (or depths, in the weight gradient) x NR = NV vectors of
// output channels, MR NV accumulators + NV weight vectors + 1 broadcast in registers.
template <class S, int MR_, int NV>
struct Tile {
  using T = typename S::T;
  using V = typename S::V;
  static constexpr int MR = MR_;
  static constexpr int NR = NV * S::W;

  // sum (i, j) = sum over p < k of xs[i][off[p]] * w[p * NR + j], written to out.
  static void run(index_t k, const T* const* xs, const index_t* off, const T* w, const TileOut<T>& out) {
    V acc[NV][MR];  // acc[v][i]: channels [v W, (v + 1) W) of position i
    sums(k, xs, off, w, acc);
    for (int v = 0; v < NV && v * S::W < out.chans; ++v) store_transposed(acc[v], out, v * S::W);
  }

  // Not inlined: inside a caller's loops GCC spilled accumulators and base pointers to the stack. The
  // loops over i and v are unrolled whole, so the arrays live in registers.
  __attribute__((noinline)) static void sums(index_t k, const T* const* xs, const index_t* off, const T* w,
                                             V (&out)[NV][MR]) {
    const T* x[MR];
    V a[NV][MR];
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      x[i] = xs[i];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) a[v][i] = S::zero();
    }
    for (index_t p = 0; p < k; ++p, w += NR) {
      V wv[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) wv[v] = S::load(w + v * S::W);
      const index_t o = off[p];
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i) {
        const V b = S::set1(x[i][o]);
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) a[v][i] = S::fma(b, wv[v], a[v][i]);
      }
    }
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) out[v][i] = a[v][i];
  }
};

// The AVX2 tile (6 positions x 2 vectors: 12 accumulators + 2 weight vectors + 1 broadcast of 16 ymm).
template <class T>
using NarrowTile = Tile<typename simd::Of<T>::type, 6, 2>;

// The shape of one direct pass: source planes (n, cin, h, w) read through a padded copy with `top`
// rows and `left` columns of zeros before them (negative: rows / columns dropped), into (n, cout, oh, ow).
struct Pass {
  index_t n, cin, h, w, cout, kh, kw, groups, sh, sw, top, left, dh, dw, oh, ow;
  index_t rows = 0, cols = 0;  // the padded planes' size when several passes share them, else 0
  index_t hp() const { return std::max(rows, (oh - 1) * sh + (kh - 1) * dh + 1); }  // padded rows (read by the outputs)
  index_t wp() const { return std::max(cols, (ow - 1) * sw + (kw - 1) * dw + 1); }
  index_t cg() const { return cin / groups; }
  index_t og() const { return cout / groups; }
  index_t depth() const { return cg() * kh * kw; }
};

// The forward of g as a pass.
Pass forward_pass(const Conv2dGeometry& g) {
  return Pass{g.n, g.c, g.h, g.w, g.o, g.kh, g.kw, g.groups, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, g.oh, g.ow};
}

// Copies image planes [cin) of src into the padded planes dst (hp x wp each), zeros around them.
template <class T>
void pad_image(const T* src, T* dst, const Pass& s) {
  const index_t hp = s.hp(), wp = s.wp();
  const index_t c0 = std::clamp<index_t>(s.left, 0, wp), c1 = std::clamp<index_t>(s.left + s.w, c0, wp);
  for (index_t ci = 0; ci < s.cin; ++ci) {
    const T* plane = src + ci * s.h * s.w;
    T* out = dst + ci * hp * wp;
    for (index_t r = 0; r < hp; ++r, out += wp) {
      const index_t row = r - s.top;
      if (row < 0 || row >= s.h) {
        std::fill(out, out + wp, T(0));
        continue;
      }
      std::fill(out, out + c0, T(0));
      if (c1 > c0)  // else no column of the source is read (and c0 - left may point before the row)
        std::memcpy(out + c0, plane + row * s.w + (c0 - s.left), sizeof(T) * static_cast<std::size_t>(c1 - c0));
      std::fill(out + c1, out + wp, T(0));
    }
  }
}

// Weight panels: panel (gi, pn) is [depth][NR], entry (p, j) = weight(gi og + pn NR + j, p), 0 past og.
template <class K, class T = typename K::T, class Weight>
std::vector<T> pack_weights(const Pass& s, Weight&& weight) {
  constexpr index_t NR = K::NR;
  const index_t og = s.og(), k = s.depth(), panels = ceil_div(og, NR);
  std::vector<T> packed(static_cast<std::size_t>(s.groups * panels * k * NR), T(0));
  for (index_t gi = 0; gi < s.groups; ++gi)
    for (index_t pn = 0; pn < panels; ++pn) {
      T* dst = packed.data() + (gi * panels + pn) * k * NR;
      for (index_t j = 0; j < std::min(NR, og - pn * NR); ++j)
        for (index_t p = 0; p < k; ++p) dst[p * NR + j] = weight(gi * og + pn * NR + j, p);
    }
  return packed;
}

// off(p) for the depths of one group, and base(q) for the output positions (see the top of the file).
std::vector<index_t> depth_offsets(const Pass& s) {
  std::vector<index_t> off;
  off.reserve(static_cast<std::size_t>(s.depth()));
  for (index_t ci = 0; ci < s.cg(); ++ci)
    for (index_t a = 0; a < s.kh; ++a)
      for (index_t e = 0; e < s.kw; ++e) off.push_back((ci * s.hp() + a * s.dh) * s.wp() + e * s.dw);
  return off;
}
std::vector<index_t> position_bases(const Pass& s) {
  std::vector<index_t> base;
  base.reserve(static_cast<std::size_t>(s.oh * s.ow));
  for (index_t u = 0; u < s.oh; ++u)
    for (index_t v = 0; v < s.ow; ++v) base.push_back(u * s.sh * s.wp() + v * s.sw);
  return base;
}

// The tile over every group, channel panel and run of MR rows r in [r0, r1) of one padded image (or
// chunk of images) xpad: row r broadcasts from xg + starts[r] (xg: the group's first channel), the
// depth loop takes `len` steps of offsets `steps`, and panel (gi, pn) of the vector operand is the
// len x NR block `panels` + (gi * panels + pn) len NR. out(first channel, channels, r, rows) says where
// the sums go.
template <class K, class T, class Out>
void tiles(const T* xpad, const T* panels, index_t len, const index_t* steps, const index_t* starts, index_t r0,
           index_t r1, const Pass& s, Out&& out) {
  const index_t og = s.og(), count = ceil_div(og, index_t(K::NR));
  const T* xs[K::MR];
  for (index_t gi = 0; gi < s.groups; ++gi) {
    const T* xg = xpad + gi * s.cg() * s.hp() * s.wp();
    for (index_t pn = 0; pn < count; ++pn) {
      const T* w = panels + (gi * count + pn) * len * K::NR;
      const index_t ch0 = gi * og + pn * K::NR, chans = std::min<index_t>(K::NR, og - pn * K::NR);
      for (index_t r = r0; r < r1; r += K::MR) {
        const index_t rows = std::min<index_t>(K::MR, r1 - r);
        for (index_t i = 0; i < K::MR; ++i) xs[i] = xg + starts[r + std::min(i, rows - 1)];  // past rows: unused
        K::run(len, xs, steps, w, out(ch0, chans, r, rows));
      }
    }
  }
}

// Output positions [q0, q1) of one image: rows are positions (starts base), steps the depths (off).
template <class K, class T>
void image_tiles(const T* xpad, const T* packed, const T* bias, T* y, index_t q0, index_t q1, const Pass& s,
                 const std::vector<index_t>& off, const std::vector<index_t>& base) {
  const index_t plane = s.oh * s.ow;
  tiles<K>(xpad, packed, s.depth(), off.data(), base.data(), q0, q1, s,
        [&](index_t ch0, index_t chans, index_t q, index_t rows) {
          return TileOut<T>{y + ch0 * plane + q, plane, rows, chans, bias ? bias + ch0 : nullptr, false};
        });
}

// Runs the pass: the images (and, with fewer images than twice the threads, ranges of their positions)
// in one contiguous run per thread, which pads each of its images once into its own scratch.
template <class K, class T>
void run_pass(const T* src, const std::vector<T>& packed, const T* bias, T* y, const Pass& s) {
  constexpr index_t MR = K::MR;
  const index_t plane = s.oh * s.ow, tiles = ceil_div(plane, MR);
  const index_t split = std::min<index_t>(tiles, ceil_div(2 * available_threads(), std::max<index_t>(s.n, 1)));
  const index_t items = s.n * split;
  const std::vector<index_t> off = depth_offsets(s), base = position_bases(s);
  parallel_for(items, ceil_div(items, available_threads()), [&](index_t t0, index_t t1) {
    const auto xpad = conv_slots::buffer<T>(s.cin * s.hp() * s.wp());
    for (index_t t = t0; t < t1; ++t) {
      const index_t i = t / split;
      if (t == t0 || t % split == 0) pad_image(src + i * s.cin * s.h * s.w, xpad.get(), s);
      index_t q0, q1;
      split_units(tiles, split, t % split, MR, plane, q0, q1);
      image_tiles<K>(xpad.get(), packed.data(), bias, y + i * s.cout * plane, q0, q1, s, off, base);
    }
  });
}

// The weight gradient is the same tile with the roles turned: its "positions" are MR depths p (base
// pointers xpad + off(p)), its "depth" loop runs over the output positions t of a chunk of images
// (offsets chain(t) = image(t) padded + base(t)), and its weights are dy transposed into
// [t][NR channels] panels. Each chunk's tile sums are added into its slot's dwt (conv_slots.hpp).
constexpr index_t kGradColumns = 1024;  // output positions per chunk: long chains, chunk in L2

// Images per chunk: chunks of about kGradColumns positions, aiming at a multiple of the slots so that
// the slots get equal work.
index_t grad_chunk_images(const Pass& s) {
  const index_t columns = std::max<index_t>(s.n * s.oh * s.ow, 1);
  const index_t slots = conv_slots::kMaxSlots, chunks = slots * ceil_div(ceil_div(columns, kGradColumns), slots);
  return std::clamp<index_t>(ceil_div(s.n, chunks), 1, std::max<index_t>(s.n, 1));
}

// dyt panel (gi, pn) = [t][NR]: dy[image t / plane, gi og + pn NR + j, t % plane], zero past og.
template <class K, class T>
void pack_grad_panels(const T* dy, index_t images, T* dyt, const Pass& s) {
  constexpr index_t NR = K::NR;
  const index_t og = s.og(), panels = ceil_div(og, NR), plane = s.oh * s.ow, cols = images * plane;
  for (index_t gi = 0; gi < s.groups; ++gi)
    for (index_t pn = 0; pn < panels; ++pn) {
      T* dst = dyt + (gi * panels + pn) * cols * NR;
      const index_t chans = std::min(NR, og - pn * NR);
      for (index_t i = 0; i < images; ++i)
        for (index_t j = 0; j < NR; ++j) {
          T* d = dst + i * plane * NR + j;
          if (j >= chans) {
            for (index_t t = 0; t < plane; ++t) d[t * NR] = T(0);
            continue;
          }
          const T* src = dy + (i * s.cout + gi * og + pn * NR + j) * plane;
          for (index_t t = 0; t < plane; ++t) d[t * NR] = src[t];
        }
    }
}

// dw_sum (cout x depth) += the weight gradient of `images` images: rows are depths (starts off), steps
// the chunk's positions (chain), panels the packed dyt. With split_depths the threads share the depths.
template <class K, class T>
void grad_chunk(const T* xpad, const T* dyt, index_t images, T* dw_sum, const Pass& s, const std::vector<index_t>& off,
                const std::vector<index_t>& chain, bool split_depths) {
  constexpr index_t MR = K::MR;
  const index_t k = s.depth(), runs = ceil_div(k, MR), parts = split_depths ? std::min<index_t>(runs, available_threads()) : 1;
  parallel_for(parts, 1, [&](index_t part, index_t) {
    index_t p0, p1;
    split_units(runs, parts, part, MR, k, p0, p1);
    tiles<K>(xpad, dyt, images * s.oh * s.ow, chain.data(), off.data(), p0, p1, s,
          [&](index_t ch0, index_t chans, index_t p, index_t rows) {
            return TileOut<T>{dw_sum + ch0 * k + p, k, rows, chans, nullptr, true};
          });
  });
}

template <class K, class T>
void run_weight_grad(const T* dy, const T* x, T* dwt, const Pass& s) {
  const index_t k = s.depth(), plane = s.oh * s.ow, padded = s.cin * s.hp() * s.wp(), wsize = s.cout * k;
  const index_t size = grad_chunk_images(s), chunks = ceil_div(s.n, size), slots = conv_slots::count(chunks);
  const index_t panel_cols = s.groups * ceil_div(s.og(), index_t(K::NR)) * K::NR;
  const std::vector<index_t> off = depth_offsets(s), base = position_bases(s);
  std::vector<index_t> chain(static_cast<std::size_t>(size * plane));
  for (index_t t = 0; t < size * plane; ++t) chain[t] = (t / plane) * padded + base[t % plane];
  std::vector<T> sums(static_cast<std::size_t>(slots * wsize), T(0));
  struct Scratch {
    conv_slots::Buffer<T> xpad, dyt;
  };
  conv_slots::run(
      chunks,
      [&] {
        return Scratch{conv_slots::buffer<T>(size * padded), conv_slots::buffer<T>(size * plane * panel_cols)};
      },
      [&](index_t j, index_t slot, Scratch& sc, bool inner_parallel) {
        const index_t i0 = j * size, images = std::min(size, s.n - i0);
        for (index_t i = 0; i < images; ++i) pad_image(x + (i0 + i) * s.cin * s.h * s.w, sc.xpad.get() + i * padded, s);
        pack_grad_panels<K>(dy + i0 * s.cout * plane, images, sc.dyt.get(), s);
        grad_chunk<K>(sc.xpad.get(), sc.dyt.get(), images, sums.data() + slot * wsize, s, off, chain, inner_parallel);
      });
  std::fill(dwt, dwt + wsize, T(0));
  conv_slots::add_in_order(sums.data(), slots, wsize, dwt);
}

// The input gradient of a stride-s convolution, one phase at a time: the rows r = m s + phase of dx
// receive dy[m + (phase + p - a d) / s] w[a] from exactly the taps a with (phase + p - a d) divisible by
// s, so each phase is a stride-1 convolution of dy with those taps (flipped), spaced d / gcd(d, s) apart.
// (A transposed convolution's forward is this pass; its usual strides make four 2 x 2 phases of a 4 x 4
// kernel.)
struct PhaseAxis {
  std::vector<index_t> taps;  // kernel indices a in the pass's order: decreasing a, increasing dy row
  index_t top = 0, dil = 1;   // the pass's leading zero rows and tap spacing
  index_t out = 0;            // rows of dx in this phase
};
PhaseAxis phase_axis(index_t phase, index_t size, index_t k, index_t s, index_t p, index_t d) {
  PhaseAxis ax;
  ax.out = size > phase ? ceil_div(size - phase, s) : 0;
  for (index_t a = k - 1; a >= 0; --a)
    if ((phase + p - a * d) % s == 0) ax.taps.push_back(a);  // exact divisibility, whatever the sign
  if (!ax.taps.empty()) ax.top = -((phase + p - ax.taps[0] * d) / s);
  if (ax.taps.size() > 1) ax.dil = (ax.taps[0] - ax.taps[1]) * d / s;
  return ax;
}

// The fewest taps that any phase with outputs gets along an axis.
index_t fewest_phase_taps(index_t size, index_t k, index_t s, index_t p, index_t d) {
  index_t fewest = k;
  for (index_t phase = 0; phase < s; ++phase) {
    const PhaseAxis ax = phase_axis(phase, size, k, s, p, d);
    if (ax.out > 0) fewest = std::min(fewest, index_t(ax.taps.size()));
  }
  return fewest;
}

// One phase of a strided input gradient, prepared once per call: its stride-1 pass, whose padded
// planes are one buffer shared by every phase (so an image of dy is padded once for all of them), its
// packed weights, and its taps' depth offsets and position bases in that buffer.
template <class T>
struct Phase {
  index_t ph, pw;  // dx rows ph + m s_h, columns pw + n s_w
  PhaseAxis rows, cols;
  Pass pass;
  std::vector<T> packed;
  std::vector<index_t> off, base;
  bool reads() const { return !rows.taps.empty() && !cols.taps.empty(); }
};

template <class K, class T>
std::vector<Phase<T>> make_phases(const T* wt, const Conv2dGeometry& g) {
  std::vector<Phase<T>> phases;
  // the shared buffer's extent before (top, left; negative: rows dropped) and from (below, right) dy's origin
  constexpr index_t none = std::numeric_limits<index_t>::min();
  index_t top = none, left = none, below = none, right = none;
  for (index_t ph = 0; ph < g.sh; ++ph)
    for (index_t pw = 0; pw < g.sw; ++pw) {
      Phase<T> f{ph, pw, phase_axis(ph, g.h, g.kh, g.sh, g.ph, g.dh), phase_axis(pw, g.w, g.kw, g.sw, g.pw, g.dw), {}, {},
                 {}, {}};
      if (f.rows.out == 0 || f.cols.out == 0) continue;
      f.pass = Pass{g.n, g.o, g.oh, g.ow, g.c, index_t(f.rows.taps.size()), index_t(f.cols.taps.size()), g.groups, 1, 1,
                    f.rows.top, f.cols.top, f.rows.dil, f.cols.dil, f.rows.out, f.cols.out};
      if (f.reads()) {
        top = std::max(top, f.rows.top), left = std::max(left, f.cols.top);
        below = std::max(below, f.pass.hp() - f.rows.top), right = std::max(right, f.pass.wp() - f.cols.top);
      }
      phases.push_back(std::move(f));
    }
  const index_t cg = g.c / g.groups, og = g.o / g.groups;
  for (Phase<T>& f : phases) {
    if (!f.reads()) continue;
    // weight (ci, p = (q, a, e)) of the pass is wt[gi og + q, ci % cg, taps a, e]: an offset by ci plus one
    // by p, the latter tabulated (the divisions per element took 2% of a ConvTranspose2d call)
    const index_t kh = f.pass.kh, kw = f.pass.kw, khw = g.kh * g.kw;
    std::vector<index_t> by_depth;
    by_depth.reserve(static_cast<std::size_t>(f.pass.depth()));
    for (index_t q = 0; q < og; ++q)
      for (index_t a = 0; a < kh; ++a)
        for (index_t e = 0; e < kw; ++e) by_depth.push_back(q * cg * khw + f.rows.taps[a] * g.kw + f.cols.taps[e]);
    f.packed = pack_weights<K>(f.pass, [&](index_t ci, index_t p) {
      return wt[(ci / cg) * og * cg * khw + (ci % cg) * khw + by_depth[p]];
    });
    const index_t shift = (top - f.rows.top) * (left + right) + (left - f.cols.top);  // this phase's origin
    f.pass.rows = top + below, f.pass.cols = left + right, f.pass.top = top, f.pass.left = left;
    f.off = depth_offsets(f.pass);
    f.base = position_bases(f.pass);
    for (index_t& b : f.base) b += shift;
  }
  return phases;
}

// dx's positions of phase f in one image dxi (c planes), from its pass's output out (c, rows.out,
// cols.out), or zeros when the phase reads nothing.
template <class T>
void scatter_phase(const T* out, T* dxi, const Conv2dGeometry& g, const Phase<T>& f) {
  for (index_t c = 0; c < g.c; ++c)
    for (index_t mh = 0; mh < f.rows.out; ++mh) {
      T* d = dxi + c * g.h * g.w + (f.ph + mh * g.sh) * g.w + f.pw;
      const T* src = out + (c * f.rows.out + mh) * f.cols.out;
      for (index_t mw = 0; mw < f.cols.out; ++mw) d[mw * g.sw] = f.reads() ? src[mw] : T(0);
    }
}

// The phases of every image: (image, phase) items in one contiguous run per thread, which pads each of
// its images once and scatters each phase's output while it is in cache.
template <class K, class T>
void run_phases(const T* dy, T* dx, const Conv2dGeometry& g, const std::vector<Phase<T>>& phases) {
  const Phase<T>* reader = nullptr;
  index_t plane = 0;
  for (const Phase<T>& f : phases) {
    if (f.reads()) reader = &f;
    plane = std::max(plane, f.rows.out * f.cols.out);
  }
  const index_t count = index_t(phases.size()), items = g.n * count;
  parallel_for(items, ceil_div(items, available_threads()), [&](index_t t0, index_t t1) {
    const auto xpad = conv_slots::buffer<T>(reader ? g.o * reader->pass.hp() * reader->pass.wp() : 0);
    const auto out = conv_slots::buffer<T>(g.c * plane);
    for (index_t t = t0; t < t1; ++t) {
      const index_t i = t / count;
      const Phase<T>& f = phases[t % count];
      if (reader && (t == t0 || t % count == 0)) pad_image(dy + i * g.o * g.oh * g.ow, xpad.get(), reader->pass);
      if (f.reads())
        image_tiles<K>(xpad.get(), f.packed.data(), static_cast<const T*>(nullptr), out.get(), 0, f.rows.out * f.cols.out,
                    f.pass, f.off, f.base);
      scatter_phase(out.get(), dx + i * g.c * g.h * g.w, g, f);
    }
  });
}

// Calls f(tile) with the tile for a pass with `chans` output channels per group and `rows` tile rows
// (output positions, or depths in the weight gradient) per run. On AVX-512 (float), when the channels
// fill 32-wide panels: 8 or 10 rows x 32 channels in zmm registers (16 or 20 accumulators), whichever
// leaves fewer rows of its last tile empty, 8 on a tie. Measured in one process against the 6 x 16 AVX2
// tile on the ConvTranspose2d benchmark's passes: 1.1-1.3x; 12 and 14 rows (whose base pointers no
// longer fit the general registers) and 6 x 64 were slower, and so were FMAs with a broadcast memory
// operand instead of the broadcasts. Else the AVX2 tile. Each output is the same FMA chain in every
// tile, so the choice does not change a bit.
template <class T, class F>
void with_tile(index_t chans, index_t rows, F&& f) {
#ifdef EIGENGRAD_AVX512
  if constexpr (std::is_same_v<T, float>) {
    using Tile8 = Tile<simd::F32x16, 8, 2>;
    using Tile10 = Tile<simd::F32x16, 10, 2>;
    if (chans % Tile8::NR == 0)
      return ceil_div(rows, index_t(10)) * 10 < ceil_div(rows, index_t(8)) * 8 ? f(Tile10{}) : f(Tile8{});
  }
#else
  (void)rows;
#endif
  f(NarrowTile<T>{});
}

#else
// Only reached if a caller skipped applies(): a build without AVX2 has no direct kernel.
[[noreturn]] void not_built() { throw std::logic_error("eigengrad: direct convolution called in a build without AVX2"); }
#endif  // EIGENGRAD_AVX2

}  // namespace

#ifdef EIGENGRAD_AVX2
// Whether a direct pass with `chans` output channels per group and `depth` products per output pays,
// as measured against the im2col lowering in one process (9 to 576 deep, 8 to 128 channels):
// - its channel panels of NR must be at least `fill` full. The forward and the weight gradient won at
//   3/4 full; the input gradient lost at 3/4 (its lowering, a GEMM and a col2im, is cheaper), so 7/8.
// - a very short depth leaves the tile's transposed store as much work as its products.
// - a 1 x 1 stride-1 convolution without padding is a plain GEMM already.
template <class T>
bool pays(index_t chans, index_t depth, const Conv2dGeometry& g, double fill) {
  constexpr index_t NR = NarrowTile<T>::NR;
  const bool plain_gemm = g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0 &&
                          g.oh == g.h && g.ow == g.w;
  return chans > 0 && double(chans) >= fill * double(NR * ceil_div(chans, NR)) && depth >= 16 && !plain_gemm;
}
#endif

template <class T>
bool applies(const Conv2dGeometry& g) {
#ifdef EIGENGRAD_AVX2
  return pays<T>(g.o / g.groups, g.c / g.groups * g.kh * g.kw, g, 0.75);
#else
  (void)g;
  return false;
#endif
}

template <class T>
bool input_grad_applies(const Conv2dGeometry& g) {
#ifdef EIGENGRAD_AVX2
  // With a stride, the phases pay when each gets at least 2 taps along every strided axis (a 4 x 4 kernel
  // of stride 2: 1.1-1.4x the lowering; 3 x 3, 2 x 2 or 1 x 1 of stride 2: 0.56-0.92x, measured in one
  // process); the depth is that of the poorest phase.
  const index_t th = fewest_phase_taps(g.h, g.kh, g.sh, g.ph, g.dh), tw = fewest_phase_taps(g.w, g.kw, g.sw, g.pw, g.dw);
  if ((g.sh > 1 && th < 2) || (g.sw > 1 && tw < 2)) return false;
  return pays<T>(g.c / g.groups, g.o / g.groups * th * tw, g, 0.875);
#else
  (void)g;
  return false;
#endif
}

template <class T>
void forward(const T* x, const T* wt, const T* b, T* y, const Conv2dGeometry& g) {
#ifdef EIGENGRAD_AVX2
  const Pass s = forward_pass(g);
  const index_t k = s.depth();
  with_tile<T>(s.og(), s.oh * s.ow, [&](auto tile) {
    using K = decltype(tile);
    const std::vector<T> packed = pack_weights<K>(s, [&](index_t q, index_t p) { return wt[q * k + p]; });
    run_pass<K>(x, packed, b, y, s);
  });
#else
  (void)x, (void)wt, (void)b, (void)y, (void)g;
  not_built();
#endif
}

template <class T>
void input_grad(const T* dy, const T* wt, T* dx, const Conv2dGeometry& g) {
#ifdef EIGENGRAD_AVX2
  // dx[ci, r, t] = sum_{q, a, e} dy[q, (r + ph - a dh) / sh, (t + pw - e dw) / sw] wt[q, ci, a, e] over the
  // taps that divide: with stride 1 one convolution of dy padded by (k - 1) d - p with the weight flipped
  // in both axes, channels (ci of the group) x (q of it); with a stride, one such pass per phase of dx.
  // the rows of the phases' planes (the first phase has the most)
  const index_t rows = g.sh == 1 && g.sw == 1 ? g.h * g.w : ceil_div(g.h, g.sh) * ceil_div(g.w, g.sw);
  with_tile<T>(g.c / g.groups, rows, [&](auto tile) {
    using K = decltype(tile);
    const std::vector<Phase<T>> phases = make_phases<K>(wt, g);
    if (phases.empty()) return;  // dx has no position
    if (g.sh == 1 && g.sw == 1)  // one phase, written in place (run_pass also splits a small batch's positions)
      return run_pass<K>(dy, phases[0].packed, static_cast<const T*>(nullptr), dx, phases[0].pass);
    run_phases<K>(dy, dx, g, phases);
  });
#else
  (void)dy, (void)wt, (void)dx, (void)g;
  not_built();
#endif
}

template <class T>
void weight_grad(const T* dy, const T* x, T* dwt, const Conv2dGeometry& g) {
#ifdef EIGENGRAD_AVX2
  const Pass s = forward_pass(g);
  with_tile<T>(s.og(), s.depth(), [&](auto tile) { run_weight_grad<decltype(tile)>(dy, x, dwt, s); });
#else
  (void)dy, (void)x, (void)dwt, (void)g;
  not_built();
#endif
}

template bool applies<float>(const Conv2dGeometry&);
template bool applies<double>(const Conv2dGeometry&);
template bool input_grad_applies<float>(const Conv2dGeometry&);
template bool input_grad_applies<double>(const Conv2dGeometry&);
template void forward<float>(const float*, const float*, const float*, float*, const Conv2dGeometry&);
template void forward<double>(const double*, const double*, const double*, double*, const Conv2dGeometry&);
template void weight_grad<float>(const float*, const float*, float*, const Conv2dGeometry&);
template void weight_grad<double>(const double*, const double*, double*, const Conv2dGeometry&);
template void input_grad<float>(const float*, const float*, float*, const Conv2dGeometry&);
template void input_grad<double>(const double*, const double*, double*, const Conv2dGeometry&);

}  // namespace eigengrad::direct
