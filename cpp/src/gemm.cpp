// Packed, cache-blocked GEMM (the Goto/BLIS scheme) with an AVX2+FMA register-tile micro-kernel and a
// portable scalar fallback.
//
// Why not Eigen's GEMM: on an AVX2 core its float GEMM ran at ~60-70% of OpenBLAS (its L1/L2 cache-size
// detection was right, so blocking was not the issue; its 3x8-wide x 4 register tile and per-tile
// repacking were). A 6x16 register tile over operands packed once per thread runs close to OpenBLAS.
//
// Determinism. Every element of C is computed as
//     C = ((C if accumulating, else 0) + bias) + acc_0,  then  C = C + acc_b  for each later k-block b,
// where acc_b is a single FMA chain over the k-block b, started from zero. The k-blocks depend only on k,
// so the result does not depend on how rows and columns are cut into tiles or shared between threads:
// the thread partition may (and does) depend on the thread count, the bits do not.
#include "eigengrad/gemm.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <new>

#include "simd_avx2.hpp"

namespace eigengrad {
namespace {

// ------------------------------------------------------------------------------------------------
// Micro-kernels: acc (MR x NR) = sum over p < kc of a[p*MR + i] * b[p*NR + j], then stored to C.
// `a` is an MR-row micro-panel and `b` an NR-column micro-panel, both packed p-major.
// ------------------------------------------------------------------------------------------------

// How an MR x NR accumulator tile is written to C (see the formula at the top of the file).
template <class T>
struct Store {
  const T* bias;  // NR values for this tile's columns, or nullptr
  bool load_c;    // add to what is in C (accumulate, or a later k-block)
};

// Combines one accumulator value with C, in the same order as the vector code.
template <class T>
inline T combine(T c_old, T acc, const T* bias, bool load_c) {
  if (!load_c && bias == nullptr) return acc;
  T t = load_c ? c_old : T(0);
  if (bias != nullptr) t = t + *bias;
  return t + acc;
}

#ifdef EIGENGRAD_AVX2
using simd::F32x8;
using simd::F64x4;

// 6 x (2 vectors) tile: 12 accumulators + 2 B vectors + 1 broadcast fit the 16 ymm registers, and 12
// independent FMA chains cover the FMA latency on two FMA pipes.
template <class S>
struct SimdKernel {
  using T = typename S::T;
  using V = typename S::V;
  static constexpr int MR = 6;
  static constexpr int NR = 2 * S::W;

  static void run(index_t kc, const T* a, const T* b, T* c, index_t ldc, Store<T> st) {
    // C is needed only after the k loop: start fetching it now (it is usually out of L1/L2).
    for (int i = 0; i < MR; ++i) {
      _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + NR - 1), _MM_HINT_T0);
    }
    V acc[MR][2];
    for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = S::zero();
    auto step = [&](const T* ap, const T* bp) {
      const V b0 = S::load(bp), b1 = S::load(bp + S::W);
      for (int i = 0; i < MR; ++i) {
        const V ai = S::set1(ap[i]);
        acc[i][0] = S::fma(ai, b0, acc[i][0]);
        acc[i][1] = S::fma(ai, b1, acc[i][1]);
      }
    };
    for (index_t p = 0; p < kc; ++p, a += MR, b += NR) step(a, b);
    const bool plain = !st.load_c && st.bias == nullptr;
    V bias0 = S::zero(), bias1 = S::zero();
    if (st.bias != nullptr) bias0 = S::load(st.bias), bias1 = S::load(st.bias + S::W);
    for (int i = 0; i < MR; ++i) {
      T* ci = c + i * ldc;
      if (plain) {
        S::store(ci, acc[i][0]);
        S::store(ci + S::W, acc[i][1]);
        continue;
      }
      V t0 = st.load_c ? S::load(ci) : S::zero(), t1 = st.load_c ? S::load(ci + S::W) : S::zero();
      if (st.bias != nullptr) t0 = S::add(t0, bias0), t1 = S::add(t1, bias1);
      S::store(ci, S::add(t0, acc[i][0]));
      S::store(ci + S::W, S::add(t1, acc[i][1]));
    }
  }
};
#endif

// Portable kernel: small enough for SSE2's 16 registers once the compiler vectorises the j loops.
template <class T>
struct ScalarKernel {
  static constexpr int MR = 4;
  static constexpr int NR = 8;

  static void run(index_t kc, const T* a, const T* b, T* c, index_t ldc, Store<T> st) {
    T acc[MR][NR] = {};
    for (index_t p = 0; p < kc; ++p, a += MR, b += NR)
      for (int i = 0; i < MR; ++i)
        for (int j = 0; j < NR; ++j) acc[i][j] += a[i] * b[j];
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j)
        c[i * ldc + j] = combine(c[i * ldc + j], acc[i][j], st.bias ? st.bias + j : nullptr, st.load_c);
  }
};

// Kernel and blocking per element type. KC (k-block length) fixes the summation order, so it may depend
// on k only. MC x KC of A is sized for L2, KC x NR of B for L1, KC x NC of B for L3.
template <class T>
struct Config;
#ifdef EIGENGRAD_AVX2
template <>
struct Config<float> {
  using Kernel = SimdKernel<F32x8>;
  static constexpr index_t KC = 256, MC = 168, NC = 4080;
};
template <>
struct Config<double> {
  using Kernel = SimdKernel<F64x4>;
  static constexpr index_t KC = 256, MC = 72, NC = 4080;
};
#else
template <>
struct Config<float> {
  using Kernel = ScalarKernel<float>;
  static constexpr index_t KC = 256, MC = 128, NC = 4096;
};
template <>
struct Config<double> {
  using Kernel = ScalarKernel<double>;
  static constexpr index_t KC = 256, MC = 64, NC = 4096;
};
#endif

// Where the product goes. Element (i, j) of the computed product is c[i*rs + j*cs]; its bias is
// bias[j], or bias[i] when bias_by_row. The plain case is rs = ldc, cs = 1; the swapped case (we
// computed C^T, see gemm()) is rs = 1, cs = ldc with the bias along the product's rows.
template <class T>
struct Output {
  T* c;
  index_t rs, cs;
  const T* bias;
  bool bias_by_row;
  bool accumulate;
};

// The product tile at (i, j), rows x cols of it valid, for a k-block (first or not). Full tiles of a
// row-major C go straight from the kernel's registers; others (the edges of C, or a transposed C) go
// through a scratch tile and are combined element by element, in the same order.
template <class T>
void tile(index_t kc, const T* a, const T* b, const Output<T>& out, bool first, index_t i, index_t j,
          index_t rows, index_t cols) {
  using K = typename Config<T>::Kernel;
  T* c = out.c + i * out.rs + j * out.cs;
  const bool load_c = !first || out.accumulate;
  const T* bias = first ? out.bias : nullptr;
  if (rows == K::MR && cols == K::NR && out.cs == 1 && !out.bias_by_row) {
    K::run(kc, a, b, c, out.rs, Store<T>{bias ? bias + j : nullptr, load_c});
    return;
  }
  alignas(64) T buf[K::MR * K::NR];
  K::run(kc, a, b, buf, K::NR, Store<T>{nullptr, false});
  for (index_t r = 0; r < rows; ++r)
    for (index_t s = 0; s < cols; ++s) {
      T& dst = c[r * out.rs + s * out.cs];
      const T* bv = bias ? bias + (out.bias_by_row ? i + r : j + s) : nullptr;
      dst = combine(dst, buf[r * K::NR + s], bv, load_c);
    }
}

// ------------------------------------------------------------------------------------------------
// Packing. An operand is seen as "panels x k": rows of op(A), or columns of op(B). A micro-panel of R
// panels is stored p-major, dst[p*R + r], zero-padded past the last panel so the kernel never branches.
// ------------------------------------------------------------------------------------------------

// op(X)(q, p) for panel index q and depth p; `rows_major` says q is X's leading (row) index in memory.
template <class T>
struct Operand {
  const T* data;
  index_t ld;
  bool q_is_row;  // element (q, p) at data[q*ld + p]; otherwise at data[p*ld + q]
};

// dst[p*R + r] = src[r*ld + p] for r < R and a prefix of p; returns how many p it did. The generic
// version does none and leaves it to the scalar loop.
template <index_t R, class T>
index_t pack_transpose_fast(const T*, index_t, index_t, T*) {
  return 0;
}

#ifdef EIGENGRAD_AVX2
using simd::transpose8;

// Float panels of 16 (B) or 6 (A) rows, 8 values of p at a time, through 8 x 8 register transposes.
// Rows past R (for R = 6) read row R-1 again and are not stored.
template <index_t R>
index_t pack_transpose_fast_f32(const float* src, index_t ld, index_t kc, float* dst) {
  static_assert(R % 8 == 0 || R < 8, "rows in groups of 8, or one partial group");
  const __m256i keep = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(int(R < 8 ? R : 8)), keep);
  index_t p = 0;
  for (; p + 8 <= kc; p += 8) {
    for (index_t r0 = 0; r0 < R; r0 += 8) {
      __m256 v[8];
      for (index_t i = 0; i < 8; ++i) v[i] = _mm256_loadu_ps(src + std::min(r0 + i, R - 1) * ld + p);
      transpose8(v);
      for (index_t i = 0; i < 8; ++i) {
        float* d = dst + (p + i) * R + r0;
        if (R < 8) _mm256_maskstore_ps(d, mask, v[i]);
        else _mm256_storeu_ps(d, v[i]);
      }
    }
  }
  return p;
}
template <>
index_t pack_transpose_fast<16, float>(const float* src, index_t ld, index_t kc, float* dst) {
  return pack_transpose_fast_f32<16>(src, ld, kc, dst);
}
template <>
index_t pack_transpose_fast<6, float>(const float* src, index_t ld, index_t kc, float* dst) {
  return pack_transpose_fast_f32<6>(src, ld, kc, dst);
}
#endif

// Packs panels [q0, q0 + nq) x depth [p0, p0 + kc) into micro-panels of R, padding past q_end.
template <index_t R, class T>
void pack(const Operand<T>& x, index_t q0, index_t nq, index_t q_end, index_t p0, index_t kc, T* dst) {
  for (index_t q = q0; q < q0 + nq; q += R, dst += R * kc) {
    const index_t valid = std::min(R, q_end - q);
    if (x.q_is_row) {
      // Each of the R source rows is contiguous in p: a transpose.
      const T* src = x.data + q * x.ld + p0;
      index_t p = valid == R ? pack_transpose_fast<R>(src, x.ld, kc, dst) : 0;
      for (; p < kc; ++p) {
        T* d = dst + p * R;
        for (index_t r = 0; r < valid; ++r) d[r] = src[r * x.ld + p];
        for (index_t r = valid; r < R; ++r) d[r] = T(0);
      }
    } else {
      // The R values of one depth p are contiguous: a copy per p.
      const T* src = x.data + p0 * x.ld + q;
      if (valid == R) {
        for (index_t p = 0; p < kc; ++p) std::memcpy(dst + p * R, src + p * x.ld, R * sizeof(T));  // fixed size: inlined
        continue;
      }
      for (index_t p = 0; p < kc; ++p) {
        T* d = dst + p * R;
        std::memcpy(d, src + p * x.ld, static_cast<std::size_t>(valid) * sizeof(T));
        for (index_t r = valid; r < R; ++r) d[r] = T(0);
      }
    }
  }
}

// Per-thread packing buffers, kept between calls (a thread's buffer is only touched by that thread).
template <class T>
T* scratch(int which, std::size_t count) {
  struct Buffer {
    std::unique_ptr<T[]> data;  // over-allocated by 64 bytes for alignment
    std::size_t size = 0;
  };
  thread_local Buffer buffers[2];
  Buffer& buf = buffers[which];
  if (buf.size < count) {
    buf.data.reset(new T[count + 64 / sizeof(T)]);
    buf.size = count;
  }
  void* p = buf.data.get();
  std::size_t space = (count + 64 / sizeof(T)) * sizeof(T);
  return static_cast<T*>(std::align(64, count * sizeof(T), p, space));
}

// ------------------------------------------------------------------------------------------------
// Driver
// ------------------------------------------------------------------------------------------------

// The product computed: (m x n) = op(A) (m x k) . op(B) (k x n), written through `out`.
template <class T>
struct Problem {
  Operand<T> A, B;
  index_t m, n, k;
  Output<T> out;
};

// Equal k-blocks of at most KC: the block boundaries (hence the summation order) depend on k only.
template <class T>
index_t k_block(index_t k) {
  const index_t blocks = ceil_div(k, Config<T>::KC);
  return ceil_div(k, blocks);
}

// Product rows [r0, r1) x columns [c0, c1), all of k, with this thread's packing buffers (Goto's loop
// nest: B's KC x NC block stays in L3, A's MC x KC block in L2, a KC x NR micro-panel of B in L1).
template <class T>
void gemm_block(const Problem<T>& pr, index_t r0, index_t r1, index_t c0, index_t c1) {
  using Cfg = Config<T>;
  constexpr index_t MR = Cfg::Kernel::MR, NR = Cfg::Kernel::NR;
  const index_t kb = k_block<T>(pr.k);
  const index_t nc_max = std::min(Cfg::NC, ceil_div(c1 - c0, NR) * NR);
  const index_t mc_max = std::min(Cfg::MC, ceil_div(r1 - r0, MR) * MR);
  T* bp = scratch<T>(0, static_cast<std::size_t>(kb * nc_max));
  T* ap = scratch<T>(1, static_cast<std::size_t>(kb * mc_max));
  for (index_t jc = c0; jc < c1; jc += Cfg::NC) {
    const index_t nc = std::min(Cfg::NC, c1 - jc);
    for (index_t pc = 0; pc < pr.k; pc += kb) {
      const index_t kc = std::min(kb, pr.k - pc);
      pack<NR>(pr.B, jc, nc, c1, pc, kc, bp);
      for (index_t ic = r0; ic < r1; ic += Cfg::MC) {
        const index_t mc = std::min(Cfg::MC, r1 - ic);
        pack<MR>(pr.A, ic, mc, r1, pc, kc, ap);
        for (index_t jr = 0; jr < nc; jr += NR)
          for (index_t ir = 0; ir < mc; ir += MR)
            tile<T>(kc, ap + ir * kc, bp + jr * kc, pr.out, pc == 0, ic + ir, jc + jr, std::min(MR, mc - ir),
                    std::min(NR, nc - jr));
      }
    }
  }
}

// How the threads share the product: a grid of tm x tn rectangles, cut on micro-tile boundaries. Picks
// the grid with the least work for the busiest thread, counting the packing each thread repeats.
struct Grid {
  index_t tm, tn;
};

template <class T>
Grid choose_grid(index_t m, index_t n, index_t k, int threads) {
  constexpr index_t MR = Config<T>::Kernel::MR, NR = Config<T>::Kernel::NR;
  const index_t pm = ceil_div(m, MR), pn = ceil_div(n, NR);
  constexpr double kPackCost = 16.0;  // packing an element costs about this many multiply-adds
  Grid best{1, 1};
  double best_cost = -1.0;
  for (index_t tm = 1; tm <= threads; ++tm) {
    const index_t tn = threads / tm;
    if (tm > pm || tn > pn) continue;
    const double rows = double(ceil_div(pm, tm) * MR), cols = double(ceil_div(pn, tn) * NR);
    const double cost = (rows * cols + kPackCost * (rows + cols)) * double(k);
    if (best_cost < 0 || cost < best_cost) best = Grid{tm, tn}, best_cost = cost;
  }
  return best;
}

constexpr double kParallelFlops = 2.0 * 64 * 64 * 64;  // below this, threads cost more than they save

template <class T>
void gemm_packed(const Problem<T>& pr) {
  constexpr index_t MR = Config<T>::Kernel::MR, NR = Config<T>::Kernel::NR;
  const bool small = 2.0 * double(pr.m) * double(pr.n) * double(pr.k) < kParallelFlops;
  const Grid g = small ? Grid{1, 1} : choose_grid<T>(pr.m, pr.n, pr.k, num_threads());
  const index_t pm = ceil_div(pr.m, MR), pn = ceil_div(pr.n, NR);
  parallel_for(g.tm * g.tn, 1, [&](index_t b, index_t e) {
    for (index_t t = b; t < e; ++t) {
      index_t r0, r1, c0, c1;
      split_units(pm, g.tm, t / g.tn, MR, pr.m, r0, r1);
      split_units(pn, g.tn, t % g.tn, NR, pr.n, c0, c1);
      if (r0 < r1 && c0 < c1) gemm_block<T>(pr, r0, r1, c0, c1);
    }
  });
}

// k == 0: C is only (C +) bias, or zero.
template <class T>
void gemm_empty_k(const T* bias, T* c, index_t m, index_t n, bool accumulate) {
  for (index_t i = 0; i < m; ++i) {
    T* ci = c + i * n;
    for (index_t j = 0; j < n; ++j) ci[j] = (accumulate ? ci[j] : T(0)) + (bias ? bias[j] : T(0));
  }
}

// Whether to compute C^T = op(B)^T op(A)^T instead: when n is so narrow that padding it to NR wastes
// more than padding m does (e.g. a 10-unit output layer). Depends on the shape only.
template <class T>
bool swap_operands(index_t m, index_t n) {
  constexpr index_t MR = Config<T>::Kernel::MR, NR = Config<T>::Kernel::NR;
  const double plain = double(ceil_div(m, MR) * MR) * double(ceil_div(n, NR) * NR);
  const double swapped = double(ceil_div(n, MR) * MR) * double(ceil_div(m, NR) * NR);
  return swapped < 0.8 * plain;
}

}  // namespace

template <class T>
void gemm(const T* a, const T* b, const T* bias, T* c, index_t m, index_t n, index_t k, bool trans_a,
          bool trans_b, bool accumulate) {
  if (m == 0 || n == 0) return;
  if (k == 0) return gemm_empty_k(bias, c, m, n, accumulate);
  // Panels of op(A) are its rows; panels of op(B) are its columns.
  const Operand<T> A{a, trans_a ? m : k, !trans_a};
  const Operand<T> B{b, trans_b ? k : n, trans_b};
  if (swap_operands<T>(m, n))
    gemm_packed<T>(Problem<T>{B, A, n, m, k, Output<T>{c, 1, n, bias, true, accumulate}});
  else
    gemm_packed<T>(Problem<T>{A, B, m, n, k, Output<T>{c, n, 1, bias, false, accumulate}});
}

template void gemm<float>(const float*, const float*, const float*, float*, index_t, index_t, index_t, bool,
                          bool, bool);
template void gemm<double>(const double*, const double*, const double*, double*, index_t, index_t, index_t,
                           bool, bool, bool);

}  // namespace eigengrad
