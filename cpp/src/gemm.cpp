#include "eigengrad/gemm.hpp"

#include <Eigen/Core>

namespace eigengrad {
namespace {

template <class T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using ConstMap = Eigen::Map<const RowMatrix<T>>;

// Tiles of C are computed independently by Eigen's single-threaded GEMM. The tiling depends only on
// (m, n, k), so each element of C is summed in the same order on any number of threads.
constexpr index_t kTileRows = 128;
constexpr index_t kTileCols = 256;
constexpr double kParallelFlops = 2.0 * 64 * 64 * 64;  // below this, threads cost more than they save

template <class T, class OpA, class OpB>
void gemm_tiled(const OpA& op_a, const OpB& op_b, const T* bias, T* c, index_t m, index_t n, index_t k,
                bool accumulate) {
  Eigen::Map<RowMatrix<T>> C(c, m, n);
  const index_t tiles_m = ceil_div(m, kTileRows);
  const index_t tiles_n = ceil_div(n, kTileCols);
  auto tile = [&](index_t t) {
    const index_t r0 = (t / tiles_n) * kTileRows, c0 = (t % tiles_n) * kTileCols;
    const index_t rows = std::min(kTileRows, m - r0), cols = std::min(kTileCols, n - c0);
    auto Ct = C.block(r0, c0, rows, cols);
    if (bias != nullptr) {
      Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>> b(bias + c0, cols);
      if (accumulate) Ct.rowwise() += b; else Ct.rowwise() = b;
    } else if (!accumulate) {
      if (k == 0) Ct.setZero();
      else { Ct.noalias() = op_a.middleRows(r0, rows) * op_b.middleCols(c0, cols); return; }
    }
    if (k > 0) Ct.noalias() += op_a.middleRows(r0, rows) * op_b.middleCols(c0, cols);
  };
  const index_t tiles = tiles_m * tiles_n;
  const bool small = 2.0 * double(m) * double(n) * double(k) < kParallelFlops;
  if (small) {
    for (index_t t = 0; t < tiles; ++t) tile(t);
  } else {
    parallel_for(tiles, 1, [&](index_t b, index_t e) { for (index_t t = b; t < e; ++t) tile(t); });
  }
}

}  // namespace

template <class T>
void gemm(const T* a, const T* b, const T* bias, T* c, index_t m, index_t n, index_t k, bool trans_a,
          bool trans_b, bool accumulate) {
  if (m == 0 || n == 0) return;
  ConstMap<T> A(a, trans_a ? k : m, trans_a ? m : k);
  ConstMap<T> B(b, trans_b ? n : k, trans_b ? k : n);
  if (!trans_a && !trans_b) gemm_tiled<T>(A, B, bias, c, m, n, k, accumulate);
  else if (!trans_a && trans_b) gemm_tiled<T>(A, B.transpose(), bias, c, m, n, k, accumulate);
  else if (trans_a && !trans_b) gemm_tiled<T>(A.transpose(), B, bias, c, m, n, k, accumulate);
  else gemm_tiled<T>(A.transpose(), B.transpose(), bias, c, m, n, k, accumulate);
}

template void gemm<float>(const float*, const float*, const float*, float*, index_t, index_t, index_t, bool,
                          bool, bool);
template void gemm<double>(const double*, const double*, const double*, double*, index_t, index_t, index_t,
                           bool, bool, bool);

}  // namespace eigengrad
