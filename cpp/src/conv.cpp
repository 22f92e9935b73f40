// 2-D convolution lowered to eigengrad's GEMM (see conv.hpp for the layout and the formula), for the
// shapes the direct kernel (conv_direct.cpp) does not take: few channels per group, a short depth, 1 x 1
// without padding, a strided input gradient, or a build without AVX2.
//
// Why im2col + GEMM: the GEMM is the fastest code we have; unfolding the patches costs one pass over
// K x columns (cheap next to the GEMM's og x K x columns multiply-adds once K reaches a few dozen).
// Chunks of images sized to L2 (see kChunkBytes) keep the unfold, the GEMM's packing and the col2im in
// cache. With stride 1 and "same" width (the usual 3x3 case) a patch row is one shifted copy of the
// input plane (flat_rows), which made the unfold and col2im of 14 x 14 maps several times cheaper than
// copying 14-element rows.
#include "eigengrad/conv.hpp"

#include <algorithm>
#include <cstring>
#include <memory>

#include "conv_direct.hpp"
#include "conv_slots.hpp"
#include "conv_winograd.hpp"

#include "eigengrad/gemm.hpp"
#include "eigengrad/simd_block.hpp"

namespace eigengrad {
namespace {

// A chunk aims at this many GEMM columns (images x oh x ow) ...
constexpr index_t kChunkColumns = 2048;
// ... and keeps its patch matrix within about one core's L2 cache: unfolding, packing and the GEMM
// then work in L2, and the weight gradient's chunk sums stay few. (At the CNN example's 32 -> 64 on
// 14 x 14 this is 2 images a chunk; 1 and 11 images measured 5-10% slower.)
constexpr index_t kChunkBytes = index_t(1) << 19;

// Images per chunk: a function of the shape only (so the weight gradient's chunk sums are too).
template <class T>
index_t chunk_images(const Conv2dGeometry& g) {
  const index_t p = std::max<index_t>(g.oh * g.ow, 1), k = std::max<index_t>(g.c * g.kh * g.kw, 1);
  index_t b = ceil_div(kChunkColumns, p);
  b = std::min(b, std::max<index_t>(1, kChunkBytes / index_t(sizeof(T)) / (k * p)));
  return std::clamp<index_t>(b, 1, std::max<index_t>(g.n, 1));
}

using conv_slots::buffer;

// Output positions v in [lo, hi) read input index v * stride + off inside [0, size); out is the
// number of output positions.
struct Span {
  index_t lo, hi;
};
Span valid_span(index_t off, index_t stride, index_t size, index_t out) {
  index_t lo = off >= 0 ? 0 : ceil_div(-off, stride);   // v stride + off >= 0
  index_t hi = size - off <= 0 ? 0 : ceil_div(size - off, stride);  // v stride + off < size
  lo = std::min(lo, out);
  hi = std::clamp(hi, lo, out);
  return {lo, hi};
}

// With stride 1 and ow == w, output position j = u ow + v of row (a, e) reads input element j + shift of
// the plane, so a row of cols is one shifted copy (or add) of the plane; the positions whose input is
// padding are fixed up per row afterwards.
bool flat_rows(const Conv2dGeometry& g) { return g.sh == 1 && g.sw == 1 && g.ow == g.w; }

// Sets the columns outside [cols.lo, cols.hi) of the rows [rows.lo, rows.hi) of one cols row to zero.
// Column by column with stride ow: these are a few elements per row (the padding), and a fill per row
// would be a library call per 1-2 elements.
template <class T>
void zero_edges(T* dst, const Span& rows, const Span& cols, index_t ow) {
  for (index_t v = 0; v < cols.lo; ++v)
    for (index_t u = rows.lo; u < rows.hi; ++u) dst[u * ow + v] = T(0);
  for (index_t v = cols.hi; v < ow; ++v)
    for (index_t u = rows.lo; u < rows.hi; ++u) dst[u * ow + v] = T(0);
}

// Unfolds one input channel plane xc (h x w) into its kh * kw rows of cols, starting at dst (row
// stride ld): row (a, e), position p = u ow + v holds xp[u sh + a dh, v sw + e dw], zero in the padding.
template <class T>
void im2col_channel(const T* xc, T* dst, index_t ld, const Conv2dGeometry& g) {
  const index_t p = g.oh * g.ow;
  for (index_t a = 0; a < g.kh; ++a) {
    const Span rows = valid_span(a * g.dh - g.ph, g.sh, g.h, g.oh);
    for (index_t e = 0; e < g.kw; ++e, dst += ld) {
      const index_t off = e * g.dw - g.pw;
      const Span cols = valid_span(off, g.sw, g.w, g.ow);
      if (rows.lo == rows.hi || cols.lo == cols.hi) {
        std::fill(dst, dst + p, T(0));
      } else if (flat_rows(g)) {
        const index_t shift = (a * g.dh - g.ph) * g.w + off;
        const index_t j0 = rows.lo * g.ow + cols.lo, j1 = (rows.hi - 1) * g.ow + cols.hi;
        std::fill(dst, dst + j0, T(0));
        const T* __restrict__ from = xc;  // distinct buffers: lets the compiler vectorise without checks
        T* __restrict__ to = dst;
        for (index_t j = j0; j < j1; ++j) to[j] = from[j + shift];
        std::fill(dst + j1, dst + p, T(0));
        zero_edges(dst, rows, cols, g.ow);
      } else {
        std::fill(dst, dst + rows.lo * g.ow, T(0));
        for (index_t u = rows.lo; u < rows.hi; ++u) {
          T* o = dst + u * g.ow;
          const T* src = xc + (u * g.sh + a * g.dh - g.ph) * g.w + off;
          std::fill(o, o + cols.lo, T(0));
          for (index_t v = cols.lo; v < cols.hi; ++v) o[v] = src[v * g.sw];
          std::fill(o + cols.hi, o + g.ow, T(0));
        }
        std::fill(dst + rows.hi * g.ow, dst + p, T(0));
      }
    }
  }
}

// The adjoint of im2col_channel: adds the kh * kw rows of dcols starting at src into the plane dxc,
// in a fixed order (a, e, u, v). The positions of src that read padding are set to zero on the way
// (src is scratch), so that the flat layout can add whole rows at once.
template <class T>
void col2im_channel(T* src, index_t ld, T* dxc, const Conv2dGeometry& g) {
  for (index_t a = 0; a < g.kh; ++a) {
    const Span rows = valid_span(a * g.dh - g.ph, g.sh, g.h, g.oh);
    for (index_t e = 0; e < g.kw; ++e, src += ld) {
      const index_t off = e * g.dw - g.pw;
      const Span cols = valid_span(off, g.sw, g.w, g.ow);
      if (rows.lo == rows.hi || cols.lo == cols.hi) continue;
      if (flat_rows(g)) {
        const index_t shift = (a * g.dh - g.ph) * g.w + off;
        const index_t j0 = rows.lo * g.ow + cols.lo, j1 = (rows.hi - 1) * g.ow + cols.hi;
        zero_edges(src, rows, cols, g.ow);  // adding +0 leaves the neighbouring row's values as they are
        const T* __restrict__ from = src;
        T* __restrict__ to = dxc;
        for (index_t j = j0; j < j1; ++j) to[j + shift] += from[j];
        continue;
      }
      for (index_t u = rows.lo; u < rows.hi; ++u) {
        const T* s = src + u * g.ow;
        T* d = dxc + (u * g.sh + a * g.dh - g.ph) * g.w + off;
        if (g.sw == 1) {
          for (index_t v = cols.lo; v < cols.hi; ++v) d[v] += s[v];
        } else {
          for (index_t v = cols.lo; v < cols.hi; ++v) d[v * g.sw] += s[v];
        }
      }
    }
  }
}

// Planes (image, channel) per parallel task: about kElementwiseGrain / 8 elements each.
index_t plane_grain(index_t plane) { return std::max<index_t>(1, (kElementwiseGrain / 8) / std::max<index_t>(plane, 1)); }

// cols (K x nb p) of the nb images starting at x.
template <class T>
void unfold(const T* x, index_t nb, T* cols, const Conv2dGeometry& g) {
  const index_t p = g.oh * g.ow, ld = nb * p, hw = g.h * g.w, khw = g.kh * g.kw;
  parallel_for(nb * g.c, plane_grain(hw), [&](index_t t0, index_t t1) {
    for (index_t t = t0; t < t1; ++t) {
      const index_t i = t / g.c, ci = t % g.c;
      im2col_channel(x + t * hw, cols + ci * khw * ld + i * p, ld, g);
    }
  });
}

// dx (nb images) = col2im(dcols); every plane is overwritten (and dcols' padding positions zeroed).
template <class T>
void fold(T* dcols, index_t nb, T* dx, const Conv2dGeometry& g) {
  const index_t p = g.oh * g.ow, ld = nb * p, hw = g.h * g.w, khw = g.kh * g.kw;
  parallel_for(nb * g.c, plane_grain(hw), [&](index_t t0, index_t t1) {
    for (index_t t = t0; t < t1; ++t) {
      const index_t i = t / g.c, ci = t % g.c;
      T* d = dx + t * hw;
      std::fill(d, d + hw, T(0));
      col2im_channel(dcols + ci * khw * ld + i * p, ld, d, g);
    }
  });
}

// Between the image-major layout (nb, o, p) of y / dy and the GEMM's (o, nb p):
// to_gemm: m[q, i p + s] = a[i, q, s]; from_gemm: a[i, q, s] = m[q, i p + s] + (bias ? bias[q] : 0).
template <class T>
void to_gemm_layout(const T* a, index_t nb, T* m, index_t o, index_t p) {
  parallel_for(nb * o, plane_grain(p), [&](index_t t0, index_t t1) {
    for (index_t t = t0; t < t1; ++t) {
      const index_t i = t / o, q = t % o;
      std::memcpy(m + q * nb * p + i * p, a + t * p, sizeof(T) * p);
    }
  });
}
template <class T>
void from_gemm_layout(const T* m, const T* bias, index_t nb, T* a, index_t o, index_t p) {
  parallel_for(nb * o, plane_grain(p), [&](index_t t0, index_t t1) {
    for (index_t t = t0; t < t1; ++t) {
      const index_t i = t / o, q = t % o;
      const T* src = m + q * nb * p + i * p;
      T* dst = a + t * p;
      const T bq = bias ? bias[q] : T(0);
      for (index_t s = 0; s < p; ++s) dst[s] = src[s] + bq;
    }
  });
}

// wt_g^T (kg x og) of every group g, one after the other. Made once per backward: the GEMM then packs
// it from contiguous rows in every chunk (packing a transposed operand reads it with a stride of kg).
template <class T>
conv_slots::Buffer<T> transposed_groups(const T* wt, index_t groups, index_t og, index_t kg) {
  auto t = buffer<T>(groups * og * kg);
  for (index_t gi = 0; gi < groups; ++gi)
    for (index_t q = 0; q < og; ++q)
      for (index_t r = 0; r < kg; ++r) t[gi * kg * og + r * og + q] = wt[(gi * og + q) * kg + r];
  return t;
}

struct ChunkPlan {
  index_t size, count, slots;  // images per chunk, chunks, slots
};
template <class T>
ChunkPlan chunk_plan(const Conv2dGeometry& g) {
  const index_t size = chunk_images<T>(g), count = ceil_div(g.n, size);
  return {size, count, conv_slots::count(count)};
}

// y of the chunk of nb images starting at image i0; cols and prod are the slot's scratch.
template <class T>
void forward_chunk(const T* x, const T* wt, const T* b, T* y, index_t i0, index_t nb, T* cols, T* prod,
                   const Conv2dGeometry& g) {
  const index_t p = g.oh * g.ow, kg = g.c * g.kh * g.kw / g.groups, og = g.o / g.groups, ld = nb * p;
  T* yc = y + i0 * g.o * p;
  T* out = nb > 1 ? prod : yc;  // one image: the GEMM's (o, p) layout is y's
  unfold(x + i0 * g.c * g.h * g.w, nb, cols, g);
  for (index_t gi = 0; gi < g.groups; ++gi)
    gemm<T>(wt + gi * og * kg, cols + gi * kg * ld, nullptr, out + gi * og * ld, og, ld, kg, false, false, false);
  if (nb > 1 || b != nullptr) from_gemm_layout(out, b, nb, yc, g.o, p);
}

}  // namespace

template <class T>
Conv2dAlgorithms conv2d_algorithms(const Conv2dGeometry& g) {
  // Winograd where its shape fits and pays; else the direct kernel where it pays (both measured against the
  // lowering, see their files); the lowering takes everything
  return {winograd::applies<T>(g) ? "winograd" : direct::applies<T>(g) ? "direct" : "lowering",
          winograd::input_grad_applies<T>(g) ? "winograd" : direct::input_grad_applies<T>(g) ? "direct" : "lowering",
          winograd::weight_grad_applies<T>(g) ? "winograd" : direct::applies<T>(g) ? "direct" : "lowering"};
}

namespace {
bool is(const char* algorithm, const char* name) { return std::strcmp(algorithm, name) == 0; }
}  // namespace

template <class T>
void conv2d_forward(const T* x, const T* wt, const T* b, T* y, const Conv2dGeometry& g) {
  const index_t p = g.oh * g.ow, k = g.c * g.kh * g.kw;
  if (g.n == 0 || p == 0 || g.o == 0) return;
  const char* algorithm = conv2d_algorithms<T>(g).forward;
  if (is(algorithm, "winograd")) return winograd::forward(x, wt, b, y, g);
  if (is(algorithm, "direct")) return direct::forward(x, wt, b, y, g);
  const ChunkPlan plan = chunk_plan<T>(g);
  struct Scratch {
    conv_slots::Buffer<T> cols, prod;
  };
  conv_slots::run(
      plan.count, [&] { return Scratch{buffer<T>(k * plan.size * p), buffer<T>(plan.size > 1 ? g.o * plan.size * p : 0)}; },
      [&](index_t j, index_t, Scratch& sc, bool) {
        const index_t i0 = j * plan.size;
        forward_chunk(x, wt, b, y, i0, std::min(plan.size, g.n - i0), sc.cols.get(), sc.prod.get(), g);
      });
}

namespace {

// The backward of one chunk: dw_sum += dy_g . cols_g^T (when dw_sum), dx of the chunk (when dx).
// cols, dyg are the slot's scratch; wtt is wt_g^T of every group (transposed_groups).
template <class T>
void backward_chunk(const T* dy, const T* x, const T* wtt, T* dx, T* dw_sum, index_t i0, index_t nb, T* cols, T* dyg,
                    const Conv2dGeometry& g) {
  const index_t p = g.oh * g.ow, kg = g.c * g.kh * g.kw / g.groups, og = g.o / g.groups, ld = nb * p;
  const T* dyc = dy + i0 * g.o * p;
  if (nb > 1) {
    to_gemm_layout(dyc, nb, dyg, g.o, p);
    dyc = dyg;
  }
  if (dw_sum) {
    unfold(x + i0 * g.c * g.h * g.w, nb, cols, g);
    for (index_t gi = 0; gi < g.groups; ++gi)  // dwt_g (og x kg) += dy_g (og x ld) . cols_g^T
      gemm<T>(dyc + gi * og * ld, cols + gi * kg * ld, nullptr, dw_sum + gi * og * kg, og, kg, ld, false, true, true);
  }
  if (dx) {
    for (index_t gi = 0; gi < g.groups; ++gi)  // dcols_g (kg x ld) = wt_g^T . dy_g, into the cols scratch
      gemm<T>(wtt + gi * kg * og, dyc + gi * og * ld, nullptr, cols + gi * kg * ld, kg, ld, og, false, false, false);
    fold(cols, nb, dx + i0 * g.c * g.h * g.w, g);
  }
}

}  // namespace

template <class T>
void conv2d_bias_grad(const T* dy, T* db, index_t n, index_t o, index_t plane) {
  parallel_for(o, 1, [&](index_t q0, index_t q1) {
    for (index_t q = q0; q < q1; ++q) {
      double total = 0.0;
      for (index_t i = 0; i < n; ++i) {
        const T* row = dy + (i * o + q) * plane;
        total += fixed_order_sum(row, plane);
      }
      db[q] = T(total);
    }
  });
}

template <class T>
void conv2d_backward(const T* dy, const T* x, const T* wt, T* dx, T* dwt, T* db, const Conv2dGeometry& g) {
  const index_t p = g.oh * g.ow, k = g.c * g.kh * g.kw, kg = k / g.groups, og = g.o / g.groups, wsize = g.o * kg;
  if (db) conv2d_bias_grad(dy, db, g.n, g.o, p);
  if (g.n == 0 || p == 0 || g.o == 0) {
    if (dx) std::fill(dx, dx + g.n * g.c * g.h * g.w, T(0));
    if (dwt) std::fill(dwt, dwt + wsize, T(0));
    return;
  }
  // Winograd (conv_winograd.cpp) and the direct kernel take what they pay for; the chunks below do the rest.
  const Conv2dAlgorithms algorithms = conv2d_algorithms<T>(g);
  if (dx && is(algorithms.input_grad, "winograd")) {
    winograd::input_grad(dy, wt, static_cast<const T*>(nullptr), dx, g);
    dx = nullptr;
  }
  if (dx && is(algorithms.input_grad, "direct")) {
    direct::input_grad(dy, wt, dx, g);
    dx = nullptr;
  }
  if (dwt && is(algorithms.weight_grad, "winograd")) {
    winograd::weight_grad(dy, x, dwt, g);
    dwt = nullptr;
  }
  if (dwt && is(algorithms.weight_grad, "direct")) {
    direct::weight_grad(dy, x, dwt, g);
    dwt = nullptr;
  }
  if (!dx && !dwt) return;
  const ChunkPlan plan = chunk_plan<T>(g);
  auto wtt = dx ? transposed_groups(wt, g.groups, og, kg) : nullptr;
  auto dw_slots = buffer<T>(dwt ? plan.slots * wsize : 0);  // each slot's weight-gradient sum
  if (dwt) std::fill(dw_slots.get(), dw_slots.get() + plan.slots * wsize, T(0));
  struct Scratch {
    conv_slots::Buffer<T> cols, dyg;  // the patches for dwt, then reused for dcols; dy in the GEMM's layout
  };
  conv_slots::run(
      plan.count, [&] { return Scratch{buffer<T>(k * plan.size * p), buffer<T>(plan.size > 1 ? g.o * plan.size * p : 0)}; },
      [&](index_t j, index_t slot, Scratch& sc, bool) {
        const index_t i0 = j * plan.size;
        T* dw_sum = dwt ? dw_slots.get() + slot * wsize : nullptr;
        backward_chunk(dy, x, wtt.get(), dx, dw_sum, i0, std::min(plan.size, g.n - i0), sc.cols.get(), sc.dyg.get(), g);
      });
  if (dwt) {
    std::fill(dwt, dwt + wsize, T(0));
    conv_slots::add_in_order(dw_slots.get(), plan.slots, wsize, dwt);
  }
}

template Conv2dAlgorithms conv2d_algorithms<float>(const Conv2dGeometry&);
template Conv2dAlgorithms conv2d_algorithms<double>(const Conv2dGeometry&);
template void conv2d_forward<float>(const float*, const float*, const float*, float*, const Conv2dGeometry&);
template void conv2d_forward<double>(const double*, const double*, const double*, double*, const Conv2dGeometry&);
template void conv2d_backward<float>(const float*, const float*, const float*, float*, float*, float*,
                                     const Conv2dGeometry&);
template void conv2d_bias_grad<float>(const float*, float*, index_t, index_t, index_t);
template void conv2d_bias_grad<double>(const double*, double*, index_t, index_t, index_t);
template void conv2d_backward<double>(const double*, const double*, const double*, double*, double*, double*,
                                      const Conv2dGeometry&);

}  // namespace eigengrad
