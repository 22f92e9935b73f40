// eg.compile's fused Linear -> ReLU -> Dropout: the GEMM with an elementwise epilogue (gemm.hpp).
#include "eigengrad/dropout.hpp"
#include "eigengrad/gemm.hpp"

namespace eigengrad {

template <class T>
void gemm_relu_dropout(const T* a, const T* b, const T* bias, T* c, index_t m, index_t n, index_t k, bool trans_a,
                       bool trans_b, std::uint8_t* mask, std::uint64_t seed, std::uint64_t offset,
                       std::uint64_t threshold, T scale) {
  gemm<T>(a, b, bias, c, m, n, k, trans_a, trans_b, false, [&](index_t r0, index_t r1, index_t c0, index_t c1) {
    for (index_t r = r0; r < r1; ++r) {
      const index_t first = r * n + c0;
      relu_dropout_span(c + first, mask + first, first, c1 - c0, seed, offset, threshold, scale);
    }
  });
}

#define EIGENGRAD_GEMM_EPILOGUE(T)                                                                                  \
  template void gemm_relu_dropout<T>(const T*, const T*, const T*, T*, index_t, index_t, index_t, bool, bool,      \
                                     std::uint8_t*, std::uint64_t, std::uint64_t, std::uint64_t, T);
EIGENGRAD_GEMM_EPILOGUE(float)
EIGENGRAD_GEMM_EPILOGUE(double)
#undef EIGENGRAD_GEMM_EPILOGUE

}  // namespace eigengrad
