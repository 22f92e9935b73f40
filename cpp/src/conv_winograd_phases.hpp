// A 4 x 4 stride-2 convolution (a DCGAN discriminator's, and through conv_transpose.cpp the generator's
// ConvTranspose2d(k=4, s=2)) as a 2 x 2 stride-1 one over its input's four phases, which Winograd F(4x4, 2x2)
// then takes (conv_winograd.cpp).
//
// With kernel row k = 2 m + a (m, a in {0, 1}) output row u reads input row 2 (u + m) + a - ph, so
//     y[q, u, v] = sum_{ci, a, b, m, l} wt[q, ci, 2m + a, 2l + b] z[(ci, a, b), u + m, v + l],
//     z[(ci, a, b), r, s] = x[ci, 2r + a - ph, 2s + b - pw]   (0 outside the image),
// a 2 x 2 unpadded convolution of z (4 c channels, (oh + 1) x (ow + 1)) with the weight read in that order.
// Every input element lands in at most one z element, so the input gradient scatters dz back (elements no
// window reaches get 0). The multiplies drop from 16 per output and channel pair to 25 / 16 (when the
// outputs fill the 4 x 4 tiles); each image is gathered straight into (scattered straight from) the padded
// channels-last block the Winograd transforms read (write).
#pragma once
#include <algorithm>
#include <type_traits>
#include <vector>

#include "simd.hpp"  // EIGENGRAD_AVX2 and the intrinsics

#include "eigengrad/conv.hpp"

namespace eigengrad::winograd::phases {

inline bool fits(const Conv2dGeometry& g) {
  return g.kh == 4 && g.kw == 4 && g.sh == 2 && g.sw == 2 && g.dh == 1 && g.dw == 1 && g.groups == 1;
}

// The 2 x 2 stride-1 convolution over the phases z of g's input.
inline Conv2dGeometry geometry(const Conv2dGeometry& g) {
  return {g.n, 4 * g.c, g.oh + 1, g.ow + 1, g.o, 2, 2, 1, 1, 1, 0, 0, 1, 1, g.oh, g.ow};
}

// The element of g's weight (o, c, 4, 4) that is tap (m, l) of output q and z channel zc = (ci, a, b).
inline index_t weight_index(index_t q, index_t zc, int m, int l, const Conv2dGeometry& g) {
  const index_t ci = zc / 4;
  const int a = int(zc / 2 % 2), b = int(zc % 2);
  return ((q * g.c + ci) * 4 + 2 * m + a) * 4 + 2 * l + b;
}

// One image's z channels last, pixel (r, s) holding the 2 c pairs q = (ci, a) of the values of phases b = 0, 1
// (adjacent in x's row and in z): which pixels of a row are whole pairs inside x's row, and which row of x a
// pair comes from.
struct PairLayout {
  index_t pairs, zh, zw, plane, stride;  // stride: the values of one pixel (4 c)
  index_t sa, sb;                        // the pixels s whose 2 s - pw, 2 s + 1 - pw both lie inside the row
  explicit PairLayout(const Conv2dGeometry& g)
      : pairs(2 * g.c), zh(g.oh + 1), zw(g.ow + 1), plane(g.h * g.w), stride(4 * g.c),
        sa(std::min(zw, (g.pw + 1) / 2)), sb(std::max(sa, std::min(zw, (g.w + g.pw) / 2))) {}
  // the offset in the image of the row of x that pair q of pixel row r reads, or -1 outside the image
  index_t row(index_t q, index_t r, const Conv2dGeometry& g) const {
    const index_t j = 2 * r + q % 2 - g.ph;
    return j >= 0 && j < g.h ? (q / 2) * plane + j * g.w : -1;
  }
  // f(q0, s) for the 4 x 4 blocks of pairs [0, 4 floor(pairs / 4)) of the interior pixels (the last block
  // overlaps the one before it when they are not a multiple of 4: it moves the same values again); returns
  // how many pairs of every interior pixel the blocks took (0 when fewer than 4 pixels)
  template <class F>
  index_t each_block(F&& f) const {
    if (sb - sa < 4) return 0;
    const index_t q4 = pairs / 4 * 4;
    for (index_t s = sa; s < sb; s += 4)
      for (index_t q = 0; q < q4; q += 4) f(q, std::min(s, sb - 4));
    return q4;
  }
};

#ifdef EIGENGRAD_AVX2
// Interior pixels [s, s + 4) of the channels-last row `out` from the float rows q0 .. q0 + 3 of x: a 4 x 4
// transpose of pairs (two floats moved as one double).
inline void pairs_block4(const float* const* rows, index_t q0, index_t s, index_t pw, float* out, index_t stride) {
  __m256d r[4];
  for (int k = 0; k < 4; ++k) r[k] = _mm256_loadu_pd(reinterpret_cast<const double*>(rows[q0 + k] + 2 * s - pw));
  simd::transpose4(r);
  for (int k = 0; k < 4; ++k) _mm256_storeu_pd(reinterpret_cast<double*>(out + (s + k) * stride + 2 * q0), r[k]);
}

// The reverse: pixels [s, s + 4) of the channels-last row `in` into the float rows q0 .. q0 + 3 (null: outside
// the image), each plus bias[q / 2] when bias is not null.
inline void pairs_unblock4(const float* in, index_t stride, index_t q0, index_t s, index_t pw, float* const* rows,
                           const float* bias) {
  __m256d r[4];
  for (int k = 0; k < 4; ++k) r[k] = _mm256_loadu_pd(reinterpret_cast<const double*>(in + (s + k) * stride + 2 * q0));
  simd::transpose4(r);
  for (int k = 0; k < 4; ++k) {
    float* row = rows[q0 + k];
    if (row == nullptr) continue;
    __m256 v = _mm256_castpd_ps(r[k]);
    if (bias) v = _mm256_add_ps(v, _mm256_set1_ps(bias[(q0 + k) / 2]));
    _mm256_storeu_ps(row + 2 * s - pw, v);
  }
}
#endif

// What the Winograd run reads of one image x's phases: z, padded to hp x wp (zero past z) and channels last,
// xp[r, s, (ci, a, b)] = x[ci, 2 r + a - ph, 2 s + b - pw] (zero outside the image), in one pass of 4 x 4
// transposes of pairs (PairLayout). (Gathering z plane by plane, element by element, and then transposing it
// took 12% of a ConvTranspose2d forward + backward at 7 x 7 -> 14 x 14, 128 -> 64 channels.)
template <class T>
void gather_channels_last(const T* x, T* xp, const Conv2dGeometry& g, index_t hp, index_t wp) {
  const PairLayout z(g);
  const std::vector<T> zeros(static_cast<std::size_t>(g.w), T(0));  // the rows outside the image
  std::vector<const T*> rows(static_cast<std::size_t>(z.pairs));   // row q = (ci, a) of x
  for (index_t r = 0; r < hp; ++r) {
    T* out = xp + r * wp * z.stride;
    if (r >= z.zh) {
      std::fill(out, out + wp * z.stride, T(0));
      continue;
    }
    for (index_t q = 0; q < z.pairs; ++q) {
      const index_t at = z.row(q, r, g), next = z.row(q, r + 1, g);
      rows[std::size_t(q)] = at >= 0 ? x + at : zeros.data();
      // the next pixel row's x rows, while this one is copied: the image is new to the cache, its 2 c
      // rows (strided) too many streams for the hardware prefetcher
      if (next >= 0) {
        __builtin_prefetch(x + next);
        __builtin_prefetch(x + next + g.w - 1);
      }
    }
    index_t q4 = 0;  // pairs [0, q4) of every interior pixel done in blocks
#ifdef EIGENGRAD_AVX2
    if constexpr (std::is_same_v<T, float>)
      q4 = z.each_block([&](index_t q, index_t s) { pairs_block4(rows.data(), q, s, g.pw, out, z.stride); });
#endif
    for (index_t u = z.sa; u < z.sb; ++u)  // the rest of the interior
      for (index_t q = q4; q < z.pairs; ++q) {
        const T* src = rows[std::size_t(q)] + 2 * u - g.pw;
        out[u * z.stride + 2 * q] = src[0];
        out[u * z.stride + 2 * q + 1] = src[1];
      }
    for (index_t u = 0; u < wp; ++u) {  // the edges: a value outside the row, or past z
      if (u >= z.sa && u < z.sb) continue;
      T* d = out + u * z.stride;
      const index_t k0 = 2 * u - g.pw, k1 = k0 + 1;
      const bool in0 = u < z.zw && k0 >= 0 && k0 < g.w, in1 = u < z.zw && k1 >= 0 && k1 < g.w;
      for (index_t q = 0; q < z.pairs; ++q) {
        d[2 * q] = in0 ? rows[std::size_t(q)][k0] : T(0);
        d[2 * q + 1] = in1 ? rows[std::size_t(q)][k1] : T(0);
      }
    }
  }
}

// One image x from its z given as the Winograd run leaves it: channels last, pixel (u, v) of z at
// zc[(u ld + v) 4 c + (ci, a, b)]; every element of x that has a z element gets it (plus bias[ci] when bias is
// not null), the rest (rows and columns no window reaches) 0 or the bias. The reverse of gather_channels_last
// (store_planes into z's planes and then a scatter of them, element by element, took 5.5% of a
// ConvTranspose2d 7 x 7 -> 14 x 14 forward + backward).
template <class T>
void scatter_channels_last(const T* zc, index_t ld, T* x, const Conv2dGeometry& g, const T* bias) {
  const PairLayout z(g);
  const bool covered = g.h + g.ph <= 2 * z.zh && g.w + g.pw <= 2 * z.zw;  // every element has a z element
  if (!covered)
    for (index_t ci = 0; ci < g.c; ++ci) std::fill(x + ci * z.plane, x + (ci + 1) * z.plane, bias ? bias[ci] : T(0));
  std::vector<T*> rows(static_cast<std::size_t>(z.pairs));  // row q = (ci, a) of x, null outside the image
  for (index_t u = 0; u < z.zh; ++u) {
    const T* in = zc + u * ld * z.stride;
    for (index_t q = 0; q < z.pairs; ++q) {
      const index_t at = z.row(q, u, g);
      rows[std::size_t(q)] = at >= 0 ? x + at : nullptr;
    }
    index_t q4 = 0;
#ifdef EIGENGRAD_AVX2
    if constexpr (std::is_same_v<T, float>)
      q4 = z.each_block([&](index_t q, index_t s) { pairs_unblock4(in, z.stride, q, s, g.pw, rows.data(), bias); });
#endif
    for (index_t q = q4; q < z.pairs; ++q) {  // the rest of the interior
      T* row = rows[std::size_t(q)];
      if (row == nullptr) continue;
      const T b = bias ? bias[q / 2] : T(0);
      for (index_t v = z.sa; v < z.sb; ++v) {
        row[2 * v - g.pw] = in[v * z.stride + 2 * q] + b;
        row[2 * v + 1 - g.pw] = in[v * z.stride + 2 * q + 1] + b;
      }
    }
    for (index_t v = 0; v < z.zw; ++v) {  // the edges: a value outside the row
      if (v >= z.sa && v < z.sb) continue;
      for (index_t e = 0; e < 2; ++e) {
        const index_t k = 2 * v + e - g.pw;
        if (k < 0 || k >= g.w) continue;
        for (index_t q = 0; q < z.pairs; ++q)
          if (T* row = rows[std::size_t(q)]) row[k] = in[v * z.stride + 2 * q + e] + (bias ? bias[q / 2] : T(0));
      }
    }
  }
}

}  // namespace eigengrad::winograd::phases
