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
// outputs fill the 4 x 4 tiles); each image is gathered into or scattered from a slot's own copy, in cache.
#pragma once
#include <algorithm>

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

// z's row s range [lo, hi) that holds x columns (k = 2 s + b - pw in [0, w)) for column phase b.
struct Span {
  index_t lo, hi;
};
inline Span columns(index_t b, const Conv2dGeometry& g) {
  const index_t zw = g.ow + 1;
  const index_t lo = std::max<index_t>(0, (g.pw - b + 1) >> 1), hi = std::min(zw, ((g.w - 1 + g.pw - b) >> 1) + 1);
  return {std::min(lo, zw), std::max(hi, std::min(lo, zw))};
}

// Calls f(xrow, zrow0, zrow1, span0, span1) for every z row pair (column phases 0 and 1) of one image's z
// (4 c, oh + 1, ow + 1) with xrow the row of the image (c, h, w) of x it holds, or null where that row falls
// outside the image.
template <class T, class X, class F>
void each_row(X* x, T* z, const Conv2dGeometry& g, F&& f) {
  const index_t zh = g.oh + 1, zw = g.ow + 1;
  const Span s0 = columns(0, g), s1 = columns(1, g);
  for (index_t ci = 0; ci < g.c; ++ci)
    for (index_t a = 0; a < 2; ++a)
      for (index_t r = 0; r < zh; ++r) {
        const index_t j = 2 * r + a - g.ph;
        T* z0 = z + ((4 * ci + 2 * a) * zh + r) * zw;
        f(j >= 0 && j < g.h ? x + (ci * g.h + j) * g.w : nullptr, z0, z0 + zh * zw, s0, s1);
      }
}

// z of one image x.
template <class T>
void gather(const T* x, T* z, const Conv2dGeometry& g) {
  const index_t zw = g.ow + 1;
  each_row(x, z, g, [&](const T* xr, T* z0, T* z1, Span s0, Span s1) {
    std::fill(z0, z0 + zw, T(0));
    std::fill(z1, z1 + zw, T(0));
    if (xr == nullptr) return;
    for (index_t s = s0.lo; s < s0.hi; ++s) z0[s] = xr[2 * s - g.pw];
    for (index_t s = s1.lo; s < s1.hi; ++s) z1[s] = xr[2 * s + 1 - g.pw];
  });
}

// One image x from its z: every element that landed in z, 0 for the rest (rows and columns no window reaches),
// plus bias[ci] on channel ci when bias is not null.
template <class T>
void scatter(const T* z, T* x, const Conv2dGeometry& g, const T* bias) {
  const bool covered = g.h + g.ph <= 2 * (g.oh + 1) && g.w + g.pw <= 2 * (g.ow + 1);  // every element has a z element
  if (!covered)
    for (index_t ci = 0; ci < g.c; ++ci)
      std::fill(x + ci * g.h * g.w, x + (ci + 1) * g.h * g.w, bias ? bias[ci] : T(0));
  each_row(x, z, g, [&](T* xr, const T* z0, const T* z1, Span s0, Span s1) {
    if (xr == nullptr) return;
    if (bias == nullptr) {
      for (index_t s = s0.lo; s < s0.hi; ++s) xr[2 * s - g.pw] = z0[s];
      for (index_t s = s1.lo; s < s1.hi; ++s) xr[2 * s + 1 - g.pw] = z1[s];
      return;
    }
    const T b = bias[(xr - x) / (g.h * g.w)];
    for (index_t s = s0.lo; s < s0.hi; ++s) xr[2 * s - g.pw] = z0[s] + b;
    for (index_t s = s1.lo; s < s1.hi; ++s) xr[2 * s + 1 - g.pw] = z1[s] + b;
  });
}

}  // namespace eigengrad::winograd::phases
