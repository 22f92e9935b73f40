// What gemm.cpp (the packed kernels) and gemm_dot.cpp (narrow products in dot form) share: how a sum is
// combined with C and the bias, and the dot form's entry point.
#pragma once
#include "eigengrad/gemm.hpp"

#if defined(__GNUC__) && !defined(__clang__)
#define EIGENGRAD_UNROLL _Pragma("GCC unroll 16")
#elif defined(__clang__)
#define EIGENGRAD_UNROLL _Pragma("unroll")
#else
#define EIGENGRAD_UNROLL
#endif

// The micro-kernel's k step and row fetch, inlined into its loops whatever GCC's size heuristics say.
#if defined(__GNUC__)
#define EIGENGRAD_INLINE inline __attribute__((always_inline))
#else
#define EIGENGRAD_INLINE inline
#endif

namespace eigengrad::gemm_detail {

// C = ((C if load_c, else 0) + bias) + acc: one element, in the order the packed kernel's vector code uses.
template <class T>
inline T combine(T c_old, T acc, const T* bias, bool load_c) {
  if (!load_c && bias == nullptr) return acc;
  T t = load_c ? c_old : T(0);
  if (bias != nullptr) t = t + *bias;
  return t + acc;
}

// Whether C = A B^T (both operands contiguous in k) is computed by gemm_dot rather than packed (gemm.cpp):
// at most 16 columns, and k long enough that the one horizontal sum per element of C (about 5 vector
// operations) costs less than the packing it saves (transposing all of A, a cost per column of C that falls
// as n grows). Measured on Zen 4 at AVX-512 (packed / dot time): 10 columns 0.96x at k = 128, 1.2-1.6x at
// k = 256; 16 columns 0.84x at k = 128, 1.04x at k = 256; 4 columns 1.33x at k = 128; 1 column 3x at k = 64.
constexpr index_t kDotMaxCols = 16, kDotDepthPerCol = 16;
inline bool dot_form(index_t n, index_t k) { return n <= kDotMaxCols && k >= kDotDepthPerCol * n; }

// C (m x n) [+]= A (m x k, row-major) . B^T (B stored n x k, row-major) [+ bias] where dot_form(n, k), on
// several threads when `parallel`; the epilogue (if any) runs on each finished block of rows.
template <class T>
void gemm_dot(const T* a, const T* b, const T* bias, T* c, index_t m, index_t n, index_t k, bool accumulate,
              const GemmEpilogue* epilogue, bool parallel);

}  // namespace eigengrad::gemm_detail
