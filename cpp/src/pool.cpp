// 2-D pooling kernels (see pool.hpp). Each parallel task is a run of whole planes, so the backward's
// scatter-adds into dx never race and their order is fixed.
#include "eigengrad/pool.hpp"
#include "eigengrad/simd_block.hpp"

#include <algorithm>
#include <cstring>
#include <cmath>
#include <limits>
#include <vector>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace eigengrad {
namespace {

// Planes per task: about kElementwiseGrain / 4 input elements.
index_t plane_grain(const Pool2dGeometry& g) {
  return std::max<index_t>(1, (kElementwiseGrain / 4) / std::max<index_t>(g.h * g.w, 1));
}

// Calls body(x plane offset, y plane offset) for every plane, in parallel over runs of planes.
template <class Body>
void for_planes(const Pool2dGeometry& g, Body&& body) {
  const index_t in = g.h * g.w, out = g.oh * g.ow;
  parallel_for(g.planes, plane_grain(g), [&](index_t p0, index_t p1) {
    for (index_t p = p0; p < p1; ++p) body(p * in, p * out);
  });
}

// The taps [lo, hi) of a window starting at input index start (step dil) that fall inside [0, size).
struct Taps {
  index_t lo, hi;
};
Taps taps(index_t start, index_t k, index_t dil, index_t size) {
  index_t lo = start >= 0 ? 0 : (-start + dil - 1) / dil;
  index_t hi = size - start <= 0 ? 0 : std::min(k, (size - start + dil - 1) / dil);
  return {std::min(lo, hi), hi};
}

// The average pool's windows along one axis: [start, end) clipped to the input, and the window's
// length within the padded input [-pad, size + pad) (PyTorch's pool_size factor).
struct AvgSpan {
  index_t lo, hi, full;
};
std::vector<AvgSpan> avg_spans(index_t out, index_t stride, index_t pad, index_t k, index_t size) {
  std::vector<AvgSpan> t(static_cast<std::size_t>(out));
  for (index_t u = 0; u < out; ++u) {
    const index_t start = u * stride - pad, end = std::min(start + k, size + pad);
    t[u] = {std::max<index_t>(start, 0), std::min(end, size), end - start};
  }
  return t;
}

// The divisor of window (rs, cs) (see pool.hpp); 0 when the window holds no input position.
inline double avg_divisor(const AvgSpan& rs, const AvgSpan& cs, bool count_include_pad, index_t divisor_override) {
  const index_t inside = std::max<index_t>(rs.hi - rs.lo, 0) * std::max<index_t>(cs.hi - cs.lo, 0);
  if (inside == 0) return 0.0;
  return double(divisor_override > 0 ? divisor_override : count_include_pad ? rs.full * cs.full : inside);
}

// Adaptive pooling's window [start, end) of output index u of out over an input of size n.
inline index_t adaptive_start(index_t u, index_t n, index_t out) { return (u * n) / out; }
inline index_t adaptive_end(index_t u, index_t n, index_t out) { return ((u + 1) * n + out - 1) / out; }

// PyTorch's max-pool update test `val > best || isnan(val)` as a mask (-1 or 0) without a branch: with
// random data a branch here mispredicts about half the time and costs more than the rest of the loop.
#if defined(__SSE2__)
inline std::int64_t max_takes(float val, float best) {
  const __m128 v = _mm_set_ss(val), b = _mm_set_ss(best);
  return -std::int64_t(_mm_movemask_ps(_mm_or_ps(_mm_cmpgt_ss(v, b), _mm_cmpunord_ss(v, v))) & 1);
}
inline std::int64_t max_takes(double val, double best) {
  const __m128d v = _mm_set_sd(val), b = _mm_set_sd(best);
  return -std::int64_t(_mm_movemask_pd(_mm_or_pd(_mm_cmpgt_sd(v, b), _mm_cmpunord_sd(v, v))) & 1);
}
inline float select(std::int64_t mask, float a, float b) {
  const __m128 m = _mm_castsi128_ps(_mm_set1_epi32(int(mask)));
  return _mm_cvtss_f32(_mm_or_ps(_mm_and_ps(m, _mm_set_ss(a)), _mm_andnot_ps(m, _mm_set_ss(b))));
}
inline double select(std::int64_t mask, double a, double b) {
  const __m128d m = _mm_castsi128_pd(_mm_set1_epi64x(mask));
  return _mm_cvtsd_f64(_mm_or_pd(_mm_and_pd(m, _mm_set_sd(a)), _mm_andnot_pd(m, _mm_set_sd(b))));
}
#else
template <class T>
std::int64_t max_takes(T val, T best) { return -std::int64_t(val > best || val != val); }
template <class T>
T select(std::int64_t mask, T a, T b) { return mask ? a : b; }
#endif

// The taps inside the input of every window along one axis, computed once per call (not per plane).
std::vector<Taps> axis_taps(index_t out, index_t stride, index_t pad, index_t k, index_t dil, index_t size) {
  std::vector<Taps> t(static_cast<std::size_t>(out));
  for (index_t u = 0; u < out; ++u) t[u] = taps(u * stride - pad, k, dil, size);
  return t;
}

// Output v of row u (row taps ra, column taps ce): PyTorch's rule, start at the first tap inside the
// input with -inf, a larger value or any NaN takes over (so the last NaN's index is kept and all -inf
// keeps the first tap).
template <class T>
inline void max_window(const T* xp, index_t r, index_t c, const Taps& ra, const Taps& ce, const Pool2dGeometry& g,
                       T& best_out, std::int64_t& at_out) {
  T best = -std::numeric_limits<T>::infinity();
  std::int64_t at = ra.lo < ra.hi && ce.lo < ce.hi ? (r + ra.lo * g.dh) * g.w + c + ce.lo * g.dw : -1;
  for (index_t a = ra.lo; a < ra.hi; ++a) {
    const index_t row = (r + a * g.dh) * g.w + c;
    for (index_t e = ce.lo; e < ce.hi; ++e) {
      const index_t pos = row + e * g.dw;
      const T val = xp[pos];
      const std::int64_t take = max_takes(val, best);  // 0 or -1
      best = select(take, val, best);
      at ^= (at ^ pos) & take;
    }
  }
  best_out = best, at_out = at;
}

// The windows of a plane, computed once per call: `inner` lists the outputs whose taps all lie inside
// the input (the flat output index and the input index of the first tap), `edge` the others.
struct MaxPlan {
  std::vector<std::int32_t> inner_out, inner_start, taps;  // taps: offsets a dh w + e dw
  std::vector<index_t> edge_out;
  std::vector<std::pair<std::size_t, std::size_t>> runs;  // [begin, end) of inner: consecutive outputs of a row
};
MaxPlan max_plan(const Pool2dGeometry& g, const std::vector<Taps>& rt, const std::vector<Taps>& ct) {
  MaxPlan p;
  // A window lies inside the input only if its dilated extent fits: otherwise every output is an edge
  // one, and the tap table (kh kw entries, up to 2^62 for a huge kernel) is not built.
  const bool fits = (g.kh - 1) * g.dh < g.h && (g.kw - 1) * g.dw < g.w;
  if (!fits) {
    for (index_t o = 0; o < g.oh * g.ow; ++o) p.edge_out.push_back(o);
    return p;
  }
  for (index_t a = 0; a < g.kh; ++a)
    for (index_t e = 0; e < g.kw; ++e) p.taps.push_back(std::int32_t(a * g.dh * g.w + e * g.dw));
  for (index_t u = 0; u < g.oh; ++u)
    for (index_t v = 0; v < g.ow; ++v) {
      const bool inner = rt[u].lo == 0 && rt[u].hi == g.kh && ct[v].lo == 0 && ct[v].hi == g.kw;
      if (!inner) {
        p.edge_out.push_back(u * g.ow + v);
        continue;
      }
      const std::size_t k = p.inner_out.size();
      if (k == 0 || p.inner_out[k - 1] != std::int32_t(u * g.ow + v - 1) || v == 0) p.runs.push_back({k, k});
      p.inner_out.push_back(std::int32_t(u * g.ow + v));
      p.inner_start.push_back(std::int32_t((u * g.sh - g.ph) * g.w + v * g.sw - g.pw));
      p.runs.back().second = k + 1;
    }
  return p;
}

// Eight inner windows i .. i + 7 of the plan: max_window's rule lane by lane, the select chains of eight
// windows side by side, their taps gathered (any eight windows) or, for eight consecutive windows of a row
// with a column stride of 1 or 2, read with contiguous loads (stride 2: sixteen values, the even ones kept).
// AMD cores gather about one element per cycle, which made MaxPool2d(2) cost more than the BatchNorm before
// it (the CNN example's fused BatchNorm -> ReLU -> MaxPool2d: 4.7 ms, BatchNorm alone 2.0, one thread).
// The same values in the same order either way: the same bits. Return false when AVX2 is not available.
template <class T>
bool max_inner8(const T*, const MaxPlan&, std::size_t, T*, std::int64_t*) { return false; }
template <class T>
bool max_run8(const T*, const MaxPlan&, std::size_t, T*, std::int64_t*, index_t, int) { return false; }
#if defined(__AVX2__)
// The select chains over the taps; value(t, pos) gives a tap's eight values (pos: their input indices).
template <class Values>
inline void max8(const MaxPlan& p, std::size_t i, Values&& value, __m256& best, __m256i& a0, __m256i& a1) {
  const __m256i start = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p.inner_start.data() + i));
  best = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  __m256i at = _mm256_add_epi32(start, _mm256_set1_epi32(p.taps[0]));
  for (std::int32_t t : p.taps) {
    const __m256i pos = _mm256_add_epi32(start, _mm256_set1_epi32(t));
    const __m256 val = value(t, pos);
    const __m256 take = _mm256_or_ps(_mm256_cmp_ps(val, best, _CMP_GT_OQ), _mm256_cmp_ps(val, val, _CMP_UNORD_Q));
    best = _mm256_blendv_ps(best, val, take);
    at = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(at), _mm256_castsi256_ps(pos), take));
  }
  a0 = _mm256_cvtepi32_epi64(_mm256_castsi256_si128(at));
  a1 = _mm256_cvtepi32_epi64(_mm256_extracti128_si256(at, 1));
}

template <>
bool max_inner8<float>(const float* xp, const MaxPlan& p, std::size_t i, float* yp, std::int64_t* ip) {
  __m256 best;
  __m256i a0, a1;
  max8(p, i, [&](std::int32_t, __m256i pos) { return _mm256_i32gather_ps(xp, pos, 4); }, best, a0, a1);
  alignas(32) float b[8];
  alignas(32) std::int64_t a[8];
  _mm256_store_ps(b, best);
  _mm256_store_si256(reinterpret_cast<__m256i*>(a), a0);
  _mm256_store_si256(reinterpret_cast<__m256i*>(a + 4), a1);
  for (int l = 0; l < 8; ++l) yp[p.inner_out[i + l]] = b[l], ip[p.inner_out[i + l]] = a[l];
  return true;
}

// Windows i .. i + n - 1 (n <= 8), consecutive in a row (p.runs) and sw apart, sw = 1 or 2 (else false: the
// caller gathers them). Lanes past n compute windows that are not stored.
template <>
bool max_run8<float>(const float* xp, const MaxPlan& p, std::size_t i, float* yp, std::int64_t* ip, index_t sw,
                     int n) {
  const std::int32_t s0 = p.inner_start[i], o0 = p.inner_out[i];
  if (sw != 1 && sw != 2) return false;
  __m256 best;
  __m256i a0, a1;
  max8(p, i, [&](std::int32_t t, __m256i) {
    const float* at = xp + s0 + t;
    if (sw == 1) return _mm256_loadu_ps(at);
    const __m256 even = _mm256_shuffle_ps(_mm256_loadu_ps(at), _mm256_loadu_ps(at + 8), _MM_SHUFFLE(2, 0, 2, 0));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(even), _MM_SHUFFLE(3, 1, 2, 0)));
  }, best, a0, a1);
  if (n == 8) {
    _mm256_storeu_ps(yp + o0, best);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(ip + o0), a0);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(ip + o0 + 4), a1);
    return true;
  }
#if defined(__AVX512VL__)
  const __mmask8 keep = static_cast<__mmask8>((1u << n) - 1u);
  _mm256_mask_storeu_ps(yp + o0, keep, best);
  _mm256_mask_storeu_epi64(ip + o0, keep & 15, a0);
  _mm256_mask_storeu_epi64(ip + o0 + 4, keep >> 4, a1);
#else  // (AVX2's masked stores are microcoded on AMD cores: through memory)
  alignas(32) float b[8];
  alignas(32) std::int64_t a[8];
  _mm256_store_ps(b, best);
  _mm256_store_si256(reinterpret_cast<__m256i*>(a), a0);
  _mm256_store_si256(reinterpret_cast<__m256i*>(a + 4), a1);
  std::memcpy(yp + o0, b, sizeof(float) * std::size_t(n));
  std::memcpy(ip + o0, a, sizeof(std::int64_t) * std::size_t(n));
#endif
  return true;
}
#endif

}  // namespace

template <class T>
struct MaxPool2dPlanes<T>::Tables {
  std::vector<Taps> rt, ct;
  bool fits_int32;
  MaxPlan plan;
};

template <class T>
MaxPool2dPlanes<T>::MaxPool2dPlanes(const Pool2dGeometry& g) : g_(g) {
  auto t = std::make_unique<Tables>();
  t->rt = axis_taps(g.oh, g.sh, g.ph, g.kh, g.dh, g.h);
  t->ct = axis_taps(g.ow, g.sw, g.pw, g.kw, g.dw, g.w);
  t->fits_int32 = g.h * g.w < (index_t(1) << 31) && g.oh * g.ow < (index_t(1) << 31);
  if (t->fits_int32) t->plan = max_plan(g, t->rt, t->ct);
  tables_ = std::move(t);
}

template <class T>
MaxPool2dPlanes<T>::~MaxPool2dPlanes() = default;

template <class T>
void MaxPool2dPlanes<T>::operator()(const T* xp, T* yp, std::int64_t* ip) const {
  const Pool2dGeometry& g = g_;
  const Tables& t = *tables_;
  if (!t.fits_int32) {  // every window through the general path
    for (index_t o = 0; o < g.oh * g.ow; ++o) {
      const index_t u = o / g.ow, v = o % g.ow;
      max_window(xp, u * g.sh - g.ph, v * g.sw - g.pw, t.rt[u], t.ct[v], g, yp[o], ip[o]);
    }
    return;
  }
  const MaxPlan& plan = t.plan;
  const Taps full_r{0, g.kh}, full_c{0, g.kw};
  auto window = [&](std::size_t k) {
    const index_t o = plan.inner_out[k], u = o / g.ow, v = o % g.ow;
    max_window(xp, u * g.sh - g.ph, v * g.sw - g.pw, full_r, full_c, g, yp[o], ip[o]);
  };
  // runs of a row eight at a time, the last eight overlapping the ones before (the same values written again);
  // a load that would pass the plane's end, through the gathers
  const index_t plane = g.h * g.w, reach = plan.taps.empty() ? 0 : plan.taps.back() + 8 * g.sw;
  auto run8 = [&](std::size_t k, int n = 8) {
    return index_t(plan.inner_start[k]) + reach <= plane && max_run8<T>(xp, plan, k, yp, ip, g.sw, n);
  };
  // windows of shorter runs (adjacent in the plan), eight at a time through the gathers
  auto gathered = [&](std::size_t b, std::size_t e) {
    while (b + 8 <= e && max_inner8<T>(xp, plan, b, yp, ip)) b += 8;
    for (; b < e; ++b) window(b);
  };
  std::size_t short_from = 0;
  for (const auto& [b, e] : plan.runs) {
    if (e - b < 4) continue;  // (a run of 4 to 7: one masked run)
    gathered(short_from, b);
    std::size_t k = b;
    for (; k + 8 <= e && run8(k); k += 8) {}
    if (k < e && (e - b >= 8 ? run8(e - 8) : run8(k, int(e - k)))) k = e;
    gathered(k, e);
    short_from = e;
  }
  gathered(short_from, plan.inner_out.size());
  for (index_t o : plan.edge_out) {
    const index_t u = o / g.ow, v = o % g.ow;
    max_window(xp, u * g.sh - g.ph, v * g.sw - g.pw, t.rt[u], t.ct[v], g, yp[o], ip[o]);
  }
}

template <class T>
void max_pool2d_forward(const T* x, T* y, std::int64_t* idx, const Pool2dGeometry& g) {
  const MaxPool2dPlanes<T> pool(g);
  for_planes(g, [&](index_t xo, index_t yo) { pool(x + xo, y + yo, idx + yo); });
}

template <class T>
void max_pool2d_backward(const T* dy, const std::int64_t* idx, T* dx, const Pool2dGeometry& g) {
  const index_t out = g.oh * g.ow;
  for_planes(g, [&](index_t xo, index_t yo) {
    T* d = dx + xo;
    std::fill(d, d + g.h * g.w, T(0));
    for (index_t s = 0; s < out; ++s)
      if (idx[yo + s] >= 0) d[idx[yo + s]] += dy[yo + s];
  });
}

template <class T>
void max_pool2d_relu_backward(const T* dy, const std::int64_t* idx, const T* y, T* dx, const Pool2dGeometry& g) {
  const index_t out = g.oh * g.ow;
  for_planes(g, [&](index_t xo, index_t yo) {
    T* d = dx + xo;
    std::fill(d, d + g.h * g.w, T(0));
    // The ReLU's mask as a select, not a branch (mispredicted where the ReLU's zeros are scattered): a masked
    // window adds +0 to its position, which holds +0 (every window choosing a position sees the same y
    // there), as relu_backward would leave it.
    for (index_t s = 0; s < out; ++s) {
      const std::int64_t i = idx[yo + s];
      const T gs = dy[yo + s];
      if (i >= 0) d[i] += y[yo + s] <= T(0) ? T(0) : gs;
    }
  });
}

namespace {

// The divisor of every output (oh * ow, row-major) of a plane; 0 for a window without input positions.
template <class T>
std::vector<T> avg_divisors(const std::vector<AvgSpan>& rs, const std::vector<AvgSpan>& cs, bool count_include_pad,
                            index_t divisor_override) {
  std::vector<T> d;
  d.reserve(rs.size() * cs.size());
  for (const AvgSpan& r : rs)
    for (const AvgSpan& c : cs) d.push_back(T(avg_divisor(r, c, count_include_pad, divisor_override)));
  return d;
}

}  // namespace

template <class T>
void avg_pool2d_forward(const T* x, T* y, const Pool2dGeometry& g, bool count_include_pad, index_t divisor_override) {
  const std::vector<AvgSpan> rs = avg_spans(g.oh, g.sh, g.ph, g.kh, g.h), cs = avg_spans(g.ow, g.sw, g.pw, g.kw, g.w);
  const std::vector<T> div = avg_divisors<T>(rs, cs, count_include_pad, divisor_override);
  const index_t ow = g.ow, w = g.w;
  for_planes(g, [&](index_t xo, index_t yo) {
    const T* xp = x + xo;
    T* yp = y + yo;
    for (std::size_t u = 0; u < rs.size(); ++u)
      for (std::size_t v = 0; v < cs.size(); ++v) {
        T sum = T(0);
        for (index_t r = rs[u].lo; r < rs[u].hi; ++r)
          for (index_t c = cs[v].lo; c < cs[v].hi; ++c) sum += xp[r * w + c];
        const T d = div[u * ow + v];
        yp[u * ow + v] = d > 0 ? sum / d : T(0);
      }
  });
}

template <class T>
void avg_pool2d_backward(const T* dy, T* dx, const Pool2dGeometry& g, bool count_include_pad, index_t divisor_override) {
  const std::vector<AvgSpan> rs = avg_spans(g.oh, g.sh, g.ph, g.kh, g.h), cs = avg_spans(g.ow, g.sw, g.pw, g.kw, g.w);
  const std::vector<T> div = avg_divisors<T>(rs, cs, count_include_pad, divisor_override);
  const index_t ow = g.ow, w = g.w, hw = g.h * g.w;
  for_planes(g, [&](index_t xo, index_t yo) {
    T* d = dx + xo;
    const T* gp = dy + yo;
    std::fill(d, d + hw, T(0));
    for (std::size_t u = 0; u < rs.size(); ++u)
      for (std::size_t v = 0; v < cs.size(); ++v) {
        const T dv = div[u * ow + v];
        if (!(dv > 0)) continue;
        const T share = gp[u * ow + v] / dv;
        for (index_t r = rs[u].lo; r < rs[u].hi; ++r)
          for (index_t c = cs[v].lo; c < cs[v].hi; ++c) d[r * w + c] += share;
      }
  });
}

template <class T>
void adaptive_avg_pool2d_forward(const T* x, T* y, const Pool2dGeometry& g) {
  // Each window row is summed over fixed_order_sum's 8 double lanes: a single running sum in T was one
  // add per 4 cycles (a dependency chain; AdaptiveAvgPool1d(1) on 32 x 64 x 256 took 1.6x PyTorch).
  for_planes(g, [&](index_t xo, index_t yo) {
    for (index_t u = 0; u < g.oh; ++u) {
      const index_t r0 = adaptive_start(u, g.h, g.oh), r1 = adaptive_end(u, g.h, g.oh);
      for (index_t v = 0; v < g.ow; ++v) {
        const index_t c0 = adaptive_start(v, g.w, g.ow), c1 = adaptive_end(v, g.w, g.ow);
        double sum = 0.0;
        for (index_t r = r0; r < r1; ++r) {
          const T* row = x + xo + r * g.w + c0;
          sum += fixed_order_sum(row, c1 - c0);
        }
        y[yo + u * g.ow + v] = T(sum / double((r1 - r0) * (c1 - c0)));
      }
    }
  });
}

template <class T>
void adaptive_avg_pool2d_backward(const T* dy, T* dx, const Pool2dGeometry& g) {
  for_planes(g, [&](index_t xo, index_t yo) {
    T* d = dx + xo;
    std::fill(d, d + g.h * g.w, T(0));
    for (index_t u = 0; u < g.oh; ++u) {
      const index_t r0 = adaptive_start(u, g.h, g.oh), r1 = adaptive_end(u, g.h, g.oh);
      for (index_t v = 0; v < g.ow; ++v) {
        const index_t c0 = adaptive_start(v, g.w, g.ow), c1 = adaptive_end(v, g.w, g.ow);
        const T share = dy[yo + u * g.ow + v] / T((r1 - r0) * (c1 - c0));
        for (index_t r = r0; r < r1; ++r)
          for (index_t c = c0; c < c1; ++c) d[r * g.w + c] += share;
      }
    }
  });
}

template <class T>
void adaptive_max_pool2d_forward(const T* x, T* y, std::int64_t* idx, const Pool2dGeometry& g) {
  // max_window's rule with a plain branch: an adaptive window is usually large (a global pool reads a
  // whole plane) and its running maximum changes a few times, so the branch predicts well, where the
  // branch-free select of max_window (made for 2 x 2 windows) cost 3x PyTorch's time.
  for_planes(g, [&](index_t xo, index_t yo) {
    const T* xp = x + xo;
    for (index_t u = 0; u < g.oh; ++u) {
      const index_t r0 = adaptive_start(u, g.h, g.oh), r1 = adaptive_end(u, g.h, g.oh);
      for (index_t v = 0; v < g.ow; ++v) {
        const index_t c0 = adaptive_start(v, g.w, g.ow), c1 = adaptive_end(v, g.w, g.ow);
        T best = -std::numeric_limits<T>::infinity();
        std::int64_t at = r0 * g.w + c0;
        for (index_t r = r0; r < r1; ++r)
          for (index_t c = c0; c < c1; ++c) {
            const T val = xp[r * g.w + c];
            if (val > best || val != val) best = val, at = r * g.w + c;
          }
        y[yo + u * g.ow + v] = best, idx[yo + u * g.ow + v] = at;
      }
    }
  });
}

#define EIGENGRAD_POOL_INSTANTIATE(T)                                                                       \
  template class MaxPool2dPlanes<T>;                                                                        \
  template void max_pool2d_forward<T>(const T*, T*, std::int64_t*, const Pool2dGeometry&);                 \
  template void max_pool2d_backward<T>(const T*, const std::int64_t*, T*, const Pool2dGeometry&);           \
  template void max_pool2d_relu_backward<T>(const T*, const std::int64_t*, const T*, T*, const Pool2dGeometry&); \
  template void avg_pool2d_forward<T>(const T*, T*, const Pool2dGeometry&, bool, index_t);                 \
  template void avg_pool2d_backward<T>(const T*, T*, const Pool2dGeometry&, bool, index_t);                \
  template void adaptive_avg_pool2d_forward<T>(const T*, T*, const Pool2dGeometry&);                       \
  template void adaptive_avg_pool2d_backward<T>(const T*, T*, const Pool2dGeometry&);                      \
  template void adaptive_max_pool2d_forward<T>(const T*, T*, std::int64_t*, const Pool2dGeometry&);
EIGENGRAD_POOL_INSTANTIATE(float)
EIGENGRAD_POOL_INSTANTIATE(double)
#undef EIGENGRAD_POOL_INSTANTIATE

}  // namespace eigengrad
