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

#ifdef EIGENGRAD_AVX2
// Interior pixels [s, s + 4) of xp row `out` from the float rows q0 .. q0 + 3: a 4 x 4 transpose of pairs
// (two floats moved as one double).
inline void pairs_block4(const float* const* rows, index_t q0, index_t s, index_t pw, float* out, index_t stride) {
  __m256d r[4];
  for (int k = 0; k < 4; ++k) r[k] = _mm256_loadu_pd(reinterpret_cast<const double*>(rows[q0 + k] + 2 * s - pw));
  const __m256d t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);
  const __m256d t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
  const __m256d c[4] = {_mm256_permute2f128_pd(t0, t2, 0x20), _mm256_permute2f128_pd(t1, t3, 0x20),
                        _mm256_permute2f128_pd(t0, t2, 0x31), _mm256_permute2f128_pd(t1, t3, 0x31)};
  for (int k = 0; k < 4; ++k) _mm256_storeu_pd(reinterpret_cast<double*>(out + (s + k) * stride + 2 * q0), c[k]);
}

// The reverse: pixels [s, s + 4) of the channels-last row `in` into the float rows q0 .. q0 + 3 (each
// plus bias[q / 2] when bias is not null).
inline void pairs_unblock4(const float* in, index_t stride, index_t q0, index_t s, index_t pw, float* const* rows,
                           const float* bias) {
  __m256d r[4];
  for (int k = 0; k < 4; ++k) r[k] = _mm256_loadu_pd(reinterpret_cast<const double*>(in + (s + k) * stride + 2 * q0));
  const __m256d t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);
  const __m256d t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
  const __m256d c[4] = {_mm256_permute2f128_pd(t0, t2, 0x20), _mm256_permute2f128_pd(t1, t3, 0x20),
                        _mm256_permute2f128_pd(t0, t2, 0x31), _mm256_permute2f128_pd(t1, t3, 0x31)};
  for (int k = 0; k < 4; ++k) {
    float* row = rows[q0 + k];
    if (row == nullptr) continue;
    __m256 v = _mm256_castpd_ps(c[k]);
    if (bias) v = _mm256_add_ps(v, _mm256_set1_ps(bias[(q0 + k) / 2]));
    _mm256_storeu_ps(row + 2 * s - pw, v);
  }
}
#endif

// What the Winograd run reads of one image x's phases: z, padded to hp x wp (zero past z) and channels last,
// xp[r, s, (ci, a, b)] = x[ci, 2 r + a - ph, 2 s + b - pw] (zero outside the image). In one pass: the two
// values of phases b = 0, 1 are adjacent in x's row and in xp, so a pair moves as one, and xp's pixel (r, s)
// takes its 2 c pairs from the 2 c rows q = (ci, a) of x: a transpose of pairs, in 4 x 4 blocks. (Gathering
// z plane by plane, element by element, and then transposing it took 12% of a ConvTranspose2d forward +
// backward at 7 x 7 -> 14 x 14, 128 -> 64 channels.)
template <class T>
void gather_channels_last(const T* x, T* xp, const Conv2dGeometry& g, index_t hp, index_t wp) {
  const index_t pairs = 2 * g.c, zh = g.oh + 1, zw = g.ow + 1, plane = g.h * g.w, stride = 2 * pairs;
  // the pixels s whose two values 2 s - pw, 2 s + 1 - pw both lie inside the row
  const index_t sa = std::min(zw, (g.pw + 1) / 2), sb = std::max(sa, std::min(zw, (g.w + g.pw) / 2));
  const std::vector<T> zeros(static_cast<std::size_t>(g.w), T(0));  // the rows outside the image
  std::vector<const T*> rows(static_cast<std::size_t>(pairs));     // row q = (ci, a) of x
  for (index_t r = 0; r < hp; ++r) {
    T* out = xp + r * wp * stride;
    if (r >= zh) {
      std::fill(out, out + wp * stride, T(0));
      continue;
    }
    for (index_t q = 0; q < pairs; ++q) {
      const index_t j = 2 * r + q % 2 - g.ph, next = j + 2;
      rows[std::size_t(q)] = j >= 0 && j < g.h ? x + (q / 2) * plane + j * g.w : zeros.data();
      // the next pixel row's x rows, while this one is copied: the image is new to the cache, its 2 c
      // rows (strided) too many streams for the hardware prefetcher
      if (next >= 0 && next < g.h) {
        const T* p = x + (q / 2) * plane + next * g.w;
        __builtin_prefetch(p);
        __builtin_prefetch(p + g.w - 1);
      }
    }
    index_t q4 = 0;  // pairs [0, q4) of every interior pixel done in blocks (the last block overlaps the one
                     // before it when the pixels are not a multiple of 4: it writes the same values again)
#ifdef EIGENGRAD_AVX2
    if constexpr (std::is_same_v<T, float>) {
      if (sb - sa >= 4) {
        q4 = pairs / 4 * 4;
        for (index_t s = sa; s < sb; s += 4)
          for (index_t q = 0; q < q4; q += 4) pairs_block4(rows.data(), q, std::min(s, sb - 4), g.pw, out, stride);
      }
    }
#endif
    for (index_t u = sa; u < sb; ++u)  // the rest of the interior
      for (index_t q = q4; q < pairs; ++q) {
        const T* src = rows[std::size_t(q)] + 2 * u - g.pw;
        out[u * stride + 2 * q] = src[0];
        out[u * stride + 2 * q + 1] = src[1];
      }
    for (index_t u = 0; u < wp; ++u) {  // the edges: a value outside the row, or past z
      if (u >= sa && u < sb) continue;
      T* d = out + u * stride;
      const index_t k0 = 2 * u - g.pw, k1 = k0 + 1;
      const bool in0 = u < zw && k0 >= 0 && k0 < g.w, in1 = u < zw && k1 >= 0 && k1 < g.w;
      for (index_t q = 0; q < pairs; ++q) {
        d[2 * q] = in0 ? rows[std::size_t(q)][k0] : T(0);
        d[2 * q + 1] = in1 ? rows[std::size_t(q)][k1] : T(0);
      }
    }
  }
}

// One image x from its z given as the Winograd run leaves it: channels last, pixel (u, v) of z at
// zc[(u ld + v) 4 c + (ci, a, b)]; every element of x that has a z element gets it (plus bias[ci] when bias is
// not null), the rest (rows and columns no window reaches) 0 or the bias. The reverse of gather_channels_last,
// in 4 x 4 transposes of pairs (store_planes into z's planes and then a scatter of them, element by element,
// took 5.5% of a ConvTranspose2d 7 x 7 -> 14 x 14 forward + backward).
template <class T>
void scatter_channels_last(const T* zc, index_t ld, T* x, const Conv2dGeometry& g, const T* bias) {
  const index_t pairs = 2 * g.c, zh = g.oh + 1, zw = g.ow + 1, plane = g.h * g.w, stride = 2 * pairs;
  const index_t sa = std::min(zw, (g.pw + 1) / 2), sb = std::max(sa, std::min(zw, (g.w + g.pw) / 2));
  const bool covered = g.h + g.ph <= 2 * zh && g.w + g.pw <= 2 * zw;  // every element has a z element
  if (!covered)
    for (index_t ci = 0; ci < g.c; ++ci) std::fill(x + ci * plane, x + (ci + 1) * plane, bias ? bias[ci] : T(0));
  std::vector<T*> rows(static_cast<std::size_t>(pairs));  // row q = (ci, a) of x, null outside the image
  for (index_t u = 0; u < zh; ++u) {
    const T* in = zc + u * ld * stride;
    for (index_t q = 0; q < pairs; ++q) {
      const index_t j = 2 * u + q % 2 - g.ph;
      rows[std::size_t(q)] = j >= 0 && j < g.h ? x + (q / 2) * plane + j * g.w : nullptr;
    }
    index_t q4 = 0;  // as in gather_channels_last
#ifdef EIGENGRAD_AVX2
    if constexpr (std::is_same_v<T, float>) {
      if (sb - sa >= 4) {
        q4 = pairs / 4 * 4;
        for (index_t s = sa; s < sb; s += 4)
          for (index_t q = 0; q < q4; q += 4) pairs_unblock4(in, stride, q, std::min(s, sb - 4), g.pw, rows.data(), bias);
      }
    }
#endif
    for (index_t q = q4; q < pairs; ++q) {  // the rest of the interior
      T* row = rows[std::size_t(q)];
      if (row == nullptr) continue;
      const T b = bias ? bias[q / 2] : T(0);
      for (index_t v = sa; v < sb; ++v) {
        row[2 * v - g.pw] = in[v * stride + 2 * q] + b;
        row[2 * v + 1 - g.pw] = in[v * stride + 2 * q + 1] + b;
      }
    }
    for (index_t v = 0; v < zw; ++v) {  // the edges: a value outside the row
      if (v >= sa && v < sb) continue;
      for (index_t e = 0; e < 2; ++e) {
        const index_t k = 2 * v + e - g.pw;
        if (k < 0 || k >= g.w) continue;
        for (index_t q = 0; q < pairs; ++q)
          if (T* row = rows[std::size_t(q)]) row[k] = in[v * stride + 2 * q + e] + (bias ? bias[q / 2] : T(0));
      }
    }
  }
}

}  // namespace eigengrad::winograd::phases
