// Narrow products in dot form: C (m x n) = A (m x k) . B^T, B stored (n x k), both contiguous in k, with n at
// most 16 and k long (dot_form: x @ W^T of a classifier's output layer; a first convolution's weight gradient).
//
// Why not the packed kernel (gemm.cpp): it computes outer products, each element of A broadcast against a
// vector of output columns. With 10 columns it either wastes most of the vector or computes C^T, and then
// it packs (transposes) all of A for 10 columns of work: the packing was 37% of a 1024 x 256 x 10 product's
// time on Zen 4. Here the vector lanes run along k, so A and B are read where they are and every lane works.
//
// Order of the sum (it depends on k and the level only, so not on the threads): lane l of a vector
// accumulator sums A(i, p) B(j, p) over p = l, l + W, l + 2W, ... as one FMA chain (the last, partial vector
// zero-filled); the W lanes are then added by halving (simd.hpp, hsum); C = ((C if accumulating, else 0) +
// bias) + that sum. Off x86: one plain chain over p.
#include <algorithm>

#include "gemm_internal.hpp"
#include "simd.hpp"

namespace eigengrad::gemm_detail {
namespace {

#ifdef EIGENGRAD_SSE2
// Register blocks: RB rows of A against up to CB rows of B, RB * CB vector accumulators (AVX-512: 20 of its 32
// registers; the 16-register levels: 12, with 3 of B and 1 of A. Measured on the 10-unit layer at batch
// 32/128/1024 on Zen 4: 4 x 3 beat 3 x 3, 2 x 4, 2 x 5 and 5 x 2 at AVX2).
template <class S>
struct DotBlock {
  static constexpr bool kWide = S::W * sizeof(typename S::T) == 64;  // 512-bit vectors: 32 registers
  static constexpr int RB = 4;
  static constexpr int CB = kWide ? 5 : 3;
};

// sums[i][j] = A row i . B row j for i < RB, j < NB, over all of k. Rows of A past the matrix point at its
// last row (computed, not stored).
template <class S, int RB, int NB>
void dot_tile(const typename S::T* const (&a)[RB], const typename S::T* b, index_t ldb, index_t k,
              typename S::T (&sums)[RB][NB]) {
  using V = typename S::V;
  V acc[RB][NB];  // the loops over i and j are unrolled so that acc stays in registers
  EIGENGRAD_UNROLL
  for (int i = 0; i < RB; ++i) {
    EIGENGRAD_UNROLL
    for (int j = 0; j < NB; ++j) acc[i][j] = S::zero();
  }
  index_t p = 0;
  for (; p + S::W <= k; p += S::W) {
    V bv[NB];
    EIGENGRAD_UNROLL
    for (int j = 0; j < NB; ++j) bv[j] = S::load(b + j * ldb + p);
    EIGENGRAD_UNROLL
    for (int i = 0; i < RB; ++i) {
      const V av = S::load(a[i] + p);
      EIGENGRAD_UNROLL
      for (int j = 0; j < NB; ++j) acc[i][j] = S::fma(av, bv[j], acc[i][j]);
    }
  }
  if (p < k) {
    const int rest = static_cast<int>(k - p);
    V bv[NB];
    for (int j = 0; j < NB; ++j) bv[j] = S::load_partial(b + j * ldb + p, rest);
    for (int i = 0; i < RB; ++i) {
      const V av = S::load_partial(a[i] + p, rest);
      for (int j = 0; j < NB; ++j) acc[i][j] = S::fma(av, bv[j], acc[i][j]);
    }
  }
  for (int i = 0; i < RB; ++i)
    for (int j = 0; j < NB; ++j) sums[i][j] = S::hsum(acc[i][j]);
}

// Rows [r0, r1) of C, columns [j0, j0 + NB).
template <class S, int NB>
void dot_columns(const typename S::T* a, const typename S::T* b, const typename S::T* bias, typename S::T* c,
                 index_t r0, index_t r1, index_t n, index_t k, index_t j0, bool accumulate) {
  using T = typename S::T;
  constexpr int RB = DotBlock<S>::RB;
  for (index_t i0 = r0; i0 < r1; i0 += RB) {
    const T* rows[RB];
    for (int i = 0; i < RB; ++i) rows[i] = a + std::min<index_t>(i0 + i, r1 - 1) * k;
    T sums[RB][NB];
    dot_tile<S, RB, NB>(rows, b + j0 * k, k, k, sums);
    for (int i = 0; i < RB && i0 + i < r1; ++i) {
      T* ci = c + (i0 + i) * n + j0;
      for (int j = 0; j < NB; ++j) ci[j] = combine(ci[j], sums[i][j], bias ? bias + j0 + j : nullptr, accumulate);
    }
  }
}

// Column groups of near-equal width (10 columns: 5 + 5 on AVX-512, 4 + 3 + 3 on AVX2), each run by the
// block instantiated for its width.
template <class S, int NB = DotBlock<S>::CB>
void dot_group(const typename S::T* a, const typename S::T* b, const typename S::T* bias, typename S::T* c,
               index_t r0, index_t r1, index_t n, index_t k, index_t j0, index_t width, bool accumulate) {
  if constexpr (NB > 1) {
    if (width < NB) return dot_group<S, NB - 1>(a, b, bias, c, r0, r1, n, k, j0, width, accumulate);
  }
  dot_columns<S, NB>(a, b, bias, c, r0, r1, n, k, j0, accumulate);
}

template <class T>
void dot_rows(const T* a, const T* b, const T* bias, T* c, index_t r0, index_t r1, index_t n, index_t k,
              bool accumulate) {
  using S = typename simd::Widest<T>::type;
  constexpr index_t CB = DotBlock<S>::CB;
  const index_t groups = ceil_div(n, CB);
  for (index_t g = 0, j0 = 0; g < groups; ++g) {
    const index_t width = n / groups + (g < n % groups ? 1 : 0);
    dot_group<S>(a, b, bias, c, r0, r1, n, k, j0, width, accumulate);
    j0 += width;
  }
}
#else
template <class T>
void dot_rows(const T* a, const T* b, const T* bias, T* c, index_t r0, index_t r1, index_t n, index_t k,
              bool accumulate) {
  for (index_t i = r0; i < r1; ++i)
    for (index_t j = 0; j < n; ++j) {
      T s = T(0);
      for (index_t p = 0; p < k; ++p) s += a[i * k + p] * b[j * k + p];
      c[i * n + j] = combine(c[i * n + j], s, bias ? bias + j : nullptr, accumulate);
    }
}
#endif

constexpr index_t kRowsPerChunk = 24;  // a multiple of every level's RB: chunks cut no register block

}  // namespace

template <class T>
void gemm_dot(const T* a, const T* b, const T* bias, T* c, index_t m, index_t n, index_t k, bool accumulate,
              const GemmEpilogue* epilogue, bool parallel) {
  auto rows = [&](index_t r0, index_t r1) {
    dot_rows<T>(a, b, bias, c, r0, r1, n, k, accumulate);
    if (epilogue != nullptr) (*epilogue)(r0, r1, 0, n);
  };
  if (!parallel) return rows(0, m);
  parallel_for(m, kRowsPerChunk, rows);
}

template void gemm_dot<float>(const float*, const float*, const float*, float*, index_t, index_t, index_t, bool,
                              const GemmEpilogue*, bool);
template void gemm_dot<double>(const double*, const double*, const double*, double*, index_t, index_t, index_t,
                               bool, const GemmEpilogue*, bool);

}  // namespace eigengrad::gemm_detail
