// Packed, cache-blocked GEMM (the Goto/BLIS scheme) with a SIMD register-tile micro-kernel per instruction-set
// level (SSE2 at the baseline, AVX2+FMA, AVX-512) and a portable scalar fallback off x86.
//
// Why not Eigen's GEMM: on an AVX2 core its float GEMM ran at ~60-70% of OpenBLAS (its L1/L2 cache-size
// detection was right, so blocking was not the issue; its 3x8-wide x 4 register tile and per-tile
// repacking were). A register tile over operands packed once per thread runs close to OpenBLAS.
//
// Determinism. Every element of C is computed as
//     C = ((C if accumulating, else 0) + bias) + acc_0,  then  C = C + acc_b  for each later k-block b,
// where acc_b is a single FMA chain over the k-block b, started from zero. The k-blocks depend only on k
// (and the level), so the result does not depend on how rows and columns are cut into tiles or shared
// between threads: the thread partition may (and does) depend on the thread count, the bits do not.
#include "eigengrad/gemm.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <new>

#include "gemm_internal.hpp"
#include "simd.hpp"

namespace eigengrad {
namespace {

using gemm_detail::combine;

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

#ifdef EIGENGRAD_SSE2
// MR x (2 vectors) tile. AVX2 and SSE: MR = 6, so 12 accumulators + 2 B vectors + 1 broadcast fit the 16
// registers, and 12 independent FMA chains cover the FMA latency on two FMA pipes. AVX-512: MR = 12, 24
// accumulators of the 32 registers (each k step loads 2 vectors of B for 24 FMAs).
//
// a(i, p) is a[p*lda + i]: a packed micro-panel (lda = MR) or A itself when it is depth-major (lda = its
// row length; see a_in_place); b(p, j) is b[p*ldb + j]: a packed micro-panel (ldb = NR) or B itself when
// it is row-major (ldb = its row length; see gemm_block). Only rows x cols of the tile are
// stored. A tile of fewer rows runs the kernel of exactly that many rows, so an edge does not pay for the
// rows it does not have (a 10-unit layer's products are all edge: 12-row tiles wasted 1/6 of their FMAs).
template <class S, int MR_>
struct SimdKernel {
  using T = typename S::T;
  using V = typename S::V;
  static constexpr int MR = MR_;
  static constexpr int NR = 2 * S::W;

  static void run(index_t kc, const T* a, index_t lda, const T* b, index_t ldb, T* c, index_t ldc, Store<T> st,
                  int rows, int cols) {
    dispatch<MR>(kc, a, lda, b, ldb, c, ldc, st, rows, cols);
  }

 private:
  // run_rows<rows>: one instantiation per row count, found by recursion from MR down.
  template <int M>
  static void dispatch(index_t kc, const T* a, index_t lda, const T* b, index_t ldb, T* c, index_t ldc, Store<T> st,
                       int rows, int cols) {
    if constexpr (M > 1) {
      if (rows < M) return dispatch<M - 1>(kc, a, lda, b, ldb, c, ldc, st, rows, cols);
    }
    run_rows<M>(kc, a, lda, b, ldb, c, ldc, st, rows, cols);
  }

  template <int M>
  static void run_rows(index_t kc, const T* a, index_t lda, const T* b, index_t ldb, T* c, index_t ldc, Store<T> st,
                       int rows, int cols) {
    // The loops over i are unrolled so that acc[i] stays in registers (a loop left rolled makes GCC keep the
    // accumulators in memory and copy them around after the k loop).
    V acc[M][2];
    EIGENGRAD_UNROLL
    for (int i = 0; i < M; ++i) acc[i][0] = acc[i][1] = S::zero();
    // C is needed after the k loop (it is usually out of L1/L2). A long k loop hides a fetch of all its rows
    // at the start; a short one (a 10-unit layer's products) stalls on the line-fill buffers that burst
    // fills, so there row p is fetched during k step p (measured: k = 10 products 1.04-1.18x faster, the
    // largest MLP products 0.95-0.97x when every tile spread its fetches).
    index_t p = 0;
    if (kc >= kSpreadFetchBelow) {
      EIGENGRAD_UNROLL
      for (int i = 0; i < M; ++i) {
        if (i < rows) prefetch_row(c + i * ldc);
      }
    } else {
      for (; p < kc && p < rows; ++p, a += lda, b += ldb) {
        prefetch_row(c + p * ldc);
        k_step<M>(acc, a, b);
      }
      for (index_t i = p; i < rows; ++i) prefetch_row(c + i * ldc);  // k shorter than the tile
    }
    for (; p < kc; ++p, a += lda, b += ldb) k_step<M>(acc, a, b);
    if (cols == NR) {
      store_rows<M, S::W, S::W>(acc, c, ldc, st, rows);
    } else if (cols > S::W) {
      store_rows<M, S::W, -1>(acc, c, ldc, st, rows, cols - S::W);
    } else {
      store_rows<M, -1, 0>(acc, c, ldc, st, rows, cols);
    }
  }

  static constexpr index_t kSpreadFetchBelow = 64;  // k steps

  // The two cache lines of a row of the tile in C.
  static EIGENGRAD_INLINE void prefetch_row(const T* row) {
    _mm_prefetch(reinterpret_cast<const char*>(row), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(row + NR - 1), _MM_HINT_T0);
  }

  // One k step: acc[i][*] += a[i] * b[0 .. NR).
  template <int M>
  static EIGENGRAD_INLINE void k_step(V (&acc)[M][2], const T* a, const T* b) {
    const V b0 = S::load(b), b1 = S::load(b + S::W);
    EIGENGRAD_UNROLL
    for (int i = 0; i < M; ++i) {
      const V ai = S::set1(a[i]);
      acc[i][0] = S::fma(ai, b0, acc[i][0]);
      acc[i][1] = S::fma(ai, b1, acc[i][1]);
    }
  }

  // Combines a vector of sums with C (see the formula at the top of the file): n = W stores a whole vector,
  // 0 < n < W the first n lanes, n = 0 nothing. `bias` points at this vector's columns.
  static void put(T* c, V acc, const T* bias, bool load_c, int n) {
    if (n <= 0) return;
    if (!load_c && bias == nullptr) {
      if (n == S::W) S::store(c, acc);
      else S::store_partial(c, acc, n);
      return;
    }
    const bool full = n == S::W;
    V t = !load_c ? S::zero() : full ? S::load(c) : S::load_partial(c, n);
    if (bias != nullptr) t = S::add(t, full ? S::load(bias) : S::load_partial(bias, n));
    if (full) S::store(c, S::add(t, acc));
    else S::store_partial(c, S::add(t, acc), n);
  }

  // N0, N1: lanes of the two vectors stored (W, or -1: `n` of them at run time).
  template <int M, int N0, int N1>
  static void store_rows(const V (&acc)[M][2], T* c, index_t ldc, Store<T> st, int rows, int n = 0) {
    const int n0 = N0 < 0 ? n : N0, n1 = N1 < 0 ? n : N1;
    EIGENGRAD_UNROLL
    for (int i = 0; i < M; ++i) {
      if (i >= rows) continue;
      T* ci = c + i * ldc;
      put(ci, acc[i][0], st.bias, st.load_c, n0);
      put(ci + S::W, acc[i][1], st.bias ? st.bias + S::W : nullptr, st.load_c, n1);
    }
  }
};
#endif

// Portable kernel: small enough for SSE2's 16 registers once the compiler vectorises the j loops.
template <class T>
struct ScalarKernel {
  static constexpr int MR = 4;
  static constexpr int NR = 8;

  static void run(index_t kc, const T* a, index_t lda, const T* b, index_t ldb, T* c, index_t ldc, Store<T> st,
                  int rows, int cols) {
    T acc[MR][NR] = {};
    for (index_t p = 0; p < kc; ++p, a += lda, b += ldb)
      for (int i = 0; i < MR; ++i) {
        const T ai = i < rows ? a[i] : T(0);  // (A read in place has no rows past its tile's)
        for (int j = 0; j < NR; ++j) acc[i][j] += ai * b[j];
      }
    for (int i = 0; i < rows; ++i)
      for (int j = 0; j < cols; ++j)
        c[i * ldc + j] = combine(c[i * ldc + j], acc[i][j], st.bias ? st.bias + j : nullptr, st.load_c);
  }
};

// Kernel and blocking per element type and level. KC (k-block length) fixes the summation order, so it may
// depend on k (and the level) only. MC x KC of A is sized for L2, KC x NR of B for L1, KC x NC of B for L3.
template <class T>
struct Config;
#if defined(EIGENGRAD_AVX512)
template <>
struct Config<float> {
  using Kernel = SimdKernel<simd::F32x16, 12>;
  static constexpr index_t KC = 256, MC = 192, NC = 4096, kInPlaceRows = 48;
};
template <>
struct Config<double> {
  using Kernel = SimdKernel<simd::F64x8, 12>;
  static constexpr index_t KC = 256, MC = 96, NC = 4096, kInPlaceRows = 48;
};
#elif defined(EIGENGRAD_AVX2)
template <>
struct Config<float> {
  using Kernel = SimdKernel<simd::F32x8, 6>;
  static constexpr index_t KC = 256, MC = 168, NC = 4080, kInPlaceRows = 48;
};
template <>
struct Config<double> {
  using Kernel = SimdKernel<simd::F64x4, 6>;
  static constexpr index_t KC = 256, MC = 72, NC = 4080, kInPlaceRows = 48;
};
#elif defined(EIGENGRAD_SSE2)
template <>
struct Config<float> {
  using Kernel = SimdKernel<simd::F32x4, 6>;
  static constexpr index_t KC = 256, MC = 120, NC = 4096, kInPlaceRows = 48;
};
template <>
struct Config<double> {
  using Kernel = SimdKernel<simd::F64x2, 6>;
  static constexpr index_t KC = 256, MC = 60, NC = 4096, kInPlaceRows = 48;
};
#else
template <>
struct Config<float> {
  using Kernel = ScalarKernel<float>;
  static constexpr index_t KC = 256, MC = 128, NC = 4096, kInPlaceRows = 0;
};
template <>
struct Config<double> {
  using Kernel = ScalarKernel<double>;
  static constexpr index_t KC = 256, MC = 64, NC = 4096, kInPlaceRows = 0;
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

// The product tile at (i, j), rows x cols of it valid, for a k-block (first or not); b(p, j) = b[p*ldb + j].
// A row-major C gets the kernel's registers directly (only the valid part); a transposed C (the swapped
// case) goes through a scratch tile and is combined element by element, in the same order.
template <class T>
void tile(index_t kc, const T* a, index_t lda, const T* b, index_t ldb, const Output<T>& out, bool first, index_t i,
          index_t j, index_t rows, index_t cols) {
  using K = typename Config<T>::Kernel;
  T* c = out.c + i * out.rs + j * out.cs;
  const bool load_c = !first || out.accumulate;
  const T* bias = first ? out.bias : nullptr;
  if (out.cs == 1 && !out.bias_by_row) {
    K::run(kc, a, lda, b, ldb, c, out.rs, Store<T>{bias ? bias + j : nullptr, load_c}, int(rows), int(cols));
    return;
  }
  alignas(64) T buf[K::MR * K::NR];
  K::run(kc, a, lda, b, ldb, buf, K::NR, Store<T>{nullptr, false}, int(rows), K::NR);  // buf rows past `rows` stay unwritten, unread
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

// dst[p*R + r] = src[r*ld + p] for r < valid (0 for valid <= r < R) and a prefix of p; returns how many
// p it did. The generic version does none and leaves it to the scalar loop.
template <index_t R, class T>
index_t pack_transpose_fast(const T*, index_t, index_t, T*, index_t) {
  return 0;
}

#ifdef EIGENGRAD_AVX2
using simd::transpose8;

// Float panels of R rows, 8 values of p at a time, through 8 x 8 register transposes: groups of 8 rows,
// the last one partial when R is not a multiple of 8 (its missing rows read row R-1 again and are not
// stored; the partial rows go through a scratch row, as masked stores are microcoded on AMD cores). A
// panel's rows past `valid` (the last panel of an operand whose rows are not a multiple of R: attention's
// 128- and 256-row blocks, a batch of 32, in 12-row panels) read row valid-1 and are zeroed by a lane
// mask: the scalar loop had taken as long as the rest of such a block's packing.
template <index_t R>
index_t pack_transpose_fast_f32(const float* src, index_t ld, index_t kc, float* dst, index_t valid) {
  index_t p = 0;
  if (valid <= 0) return p;
  for (; p + 8 <= kc; p += 8) {
    for (index_t r0 = 0; r0 < R; r0 += 8) {
      __m256 v[8];
      for (index_t i = 0; i < 8; ++i) v[i] = _mm256_loadu_ps(src + std::min(r0 + i, valid - 1) * ld + p);
      transpose8(v);
      if (r0 + 8 > valid) {
        const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        const __m256 keep = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(int(valid - r0)), lane));
        for (index_t i = 0; i < 8; ++i) v[i] = _mm256_and_ps(v[i], keep);
      }
      const index_t rows = std::min<index_t>(8, R - r0);
      for (index_t i = 0; i < 8; ++i) {
        float* d = dst + (p + i) * R + r0;
        if (rows == 8) {
          _mm256_storeu_ps(d, v[i]);
        } else {
          alignas(32) float t[8];
          _mm256_store_ps(t, v[i]);
          std::memcpy(d, t, static_cast<std::size_t>(rows) * sizeof(float));
        }
      }
    }
  }
  return p;
}
template <>
index_t pack_transpose_fast<Config<float>::Kernel::NR, float>(const float* src, index_t ld, index_t kc, float* dst,
                                                               index_t valid) {
  return pack_transpose_fast_f32<Config<float>::Kernel::NR>(src, ld, kc, dst, valid);
}
template <>
index_t pack_transpose_fast<Config<float>::Kernel::MR, float>(const float* src, index_t ld, index_t kc, float* dst,
                                                               index_t valid) {
  return pack_transpose_fast_f32<Config<float>::Kernel::MR>(src, ld, kc, dst, valid);
}
#endif

// Packs panels [q0, q0 + nq) x depth [p0, p0 + kc) into micro-panels of R, padding past q_end.
template <index_t R, class T>
void pack(const Operand<T>& x, index_t q0, index_t nq, index_t q_end, index_t p0, index_t kc, T* dst) {
  if (!x.q_is_row) {
    // The R values of one depth are contiguous: the whole panels are copied depth by depth, each depth's
    // values of all of them one contiguous run of the source, read in order (panel by panel, each panel
    // re-walked the same kc rows at a stride: perf, one thread, dy^T @ x at batch 1024: the packing's share
    // of the product 9.6% -> 6.2%, of dy @ W 7.0% -> 5.1%). Fixed-size memcpy: inlined.
    const index_t whole = std::max<index_t>(0, std::min(q0 + nq, q_end) - q0) / R;
    for (index_t p = 0; p < kc; ++p) {
      const T* src = x.data + (p0 + p) * x.ld + q0;
      T* d = dst + p * R;
      for (index_t j = 0; j < whole; ++j) std::memcpy(d + j * R * kc, src + j * R, R * sizeof(T));
    }
    q0 += whole * R, nq -= whole * R, dst += whole * R * kc;
  }
  for (index_t q = q0; q < q0 + nq; q += R, dst += R * kc) {
    const index_t valid = std::min(R, q_end - q);
    if (x.q_is_row) {
      // Each of the R source rows is contiguous in p: a transpose.
      const T* src = x.data + q * x.ld + p0;
      index_t p = pack_transpose_fast<R>(src, x.ld, kc, dst, valid);
      for (; p < kc; ++p) {
        T* d = dst + p * R;
        for (index_t r = 0; r < valid; ++r) d[r] = src[r * x.ld + p];
        for (index_t r = valid; r < R; ++r) d[r] = T(0);
      }
    } else {
      // The last, partial panel (the whole ones are done above).
      const T* src = x.data + p0 * x.ld + q;
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
  const GemmEpilogue* epilogue;  // null: none; else called per finished block, in the user's coordinates
  bool swapped;                  // the problem is C^T: its rows are the user's columns
};

// Equal k-blocks of at most KC: the block boundaries (hence the summation order) depend on k only.
template <class T>
index_t k_block(index_t k) {
  const index_t blocks = ceil_div(k, Config<T>::KC);
  return ceil_div(k, blocks);
}

// Whether the kernel reads B in place instead of packing it: B row-major (the NR values of one depth are
// contiguous) and so few rows of A that each packed value would be used by at most a few tiles (packing
// writes and re-reads all of B for that). Measured on the MLP's batch-32 products.
template <class T>
bool b_in_place(const Operand<T>& B, index_t rows) {
  return !B.q_is_row && rows <= Config<T>::kInPlaceRows;
}

// Whether the kernel reads A in place instead of packing it: A stored depth-major (the MR values of one depth
// are contiguous, as in a packed micro-panel: op(A) = X^T of a row-major X) and so few columns of the product
// that each packed value would be used by at most two tiles (attention's backward: dv += p^T dout and
// dk += ds^T q, 64 columns). The kernel reads exactly its tile's rows, so nothing past A is read.
template <class T>
bool a_in_place(const Operand<T>& A, index_t cols) {
  return !A.q_is_row && cols <= 2 * Config<T>::Kernel::NR;
}

// Product rows [r0, r1) x columns [c0, c1), all of k, with this thread's packing buffers (Goto's loop
// nest: B's KC x NC block stays in L3, A's MC x KC block in L2, a KC x NR micro-panel of B in L1).
template <class T>
void gemm_block(const Problem<T>& pr, index_t r0, index_t r1, index_t c0, index_t c1) {
  using Cfg = Config<T>;
  constexpr index_t MR = Cfg::Kernel::MR, NR = Cfg::Kernel::NR;
  const index_t kb = k_block<T>(pr.k);
  const bool direct = b_in_place(pr.B, r1 - r0);
  const bool a_direct = a_in_place(pr.A, c1 - c0);
  const index_t nc_max = direct ? NR : std::min(Cfg::NC, ceil_div(c1 - c0, NR) * NR);
  const index_t mc_max = std::min(Cfg::MC, ceil_div(r1 - r0, MR) * MR);
  T* bp = scratch<T>(0, static_cast<std::size_t>(kb * nc_max));
  T* ap = scratch<T>(1, static_cast<std::size_t>(kb * mc_max));
  for (index_t jc = c0; jc < c1; jc += Cfg::NC) {
    const index_t nc = std::min(Cfg::NC, c1 - jc);
    for (index_t pc = 0; pc < pr.k; pc += kb) {
      const index_t kc = std::min(kb, pr.k - pc);
      if (!direct) pack<NR>(pr.B, jc, nc, c1, pc, kc, bp);
      for (index_t ic = r0; ic < r1; ic += Cfg::MC) {
        const index_t mc = std::min(Cfg::MC, r1 - ic);
        if (!a_direct) pack<MR>(pr.A, ic, mc, r1, pc, kc, ap);
        for (index_t jr = 0; jr < nc; jr += NR) {
          const index_t cols = std::min(NR, nc - jr);
          const T* b = bp + jr * kc;
          index_t ldb = NR;
          if (direct && cols == NR) {
            b = pr.B.data + pc * pr.B.ld + jc + jr, ldb = pr.B.ld;
          } else if (direct) {  // the last, partial panel: packed (the kernel loads whole vectors)
            pack<NR>(pr.B, jc + jr, cols, c1, pc, kc, bp);
            b = bp;
          }
          for (index_t ir = 0; ir < mc; ir += MR) {
            const T* a = a_direct ? pr.A.data + pc * pr.A.ld + ic + ir : ap + ir * kc;
            tile<T>(kc, a, a_direct ? pr.A.ld : MR, b, ldb, pr.out, pc == 0, ic + ir, jc + jr, std::min(MR, mc - ir),
                    cols);
          }
        }
        if (pr.epilogue != nullptr && pc + kc == pr.k) {  // this mc x nc block of C is final
          if (pr.swapped) (*pr.epilogue)(jc, jc + nc, ic, ic + mc);
          else (*pr.epilogue)(ic, ic + mc, jc, jc + nc);
        }
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

constexpr double kParallelFlops = 2.0e6;  // below this (~20 us on one core), threads cost more than they save

bool worth_threads(index_t m, index_t n, index_t k) {
  return 2.0 * double(m) * double(n) * double(k) >= kParallelFlops;
}

template <class T>
void gemm_packed(const Problem<T>& pr) {
  constexpr index_t MR = Config<T>::Kernel::MR, NR = Config<T>::Kernel::NR;
  const Grid g = worth_threads(pr.m, pr.n, pr.k) ? choose_grid<T>(pr.m, pr.n, pr.k, available_threads()) : Grid{1, 1};
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
          bool trans_b, bool accumulate, const GemmEpilogue& epilogue) {
  if (m == 0 || n == 0) return;
  const GemmEpilogue* epi = epilogue ? &epilogue : nullptr;
  if (k == 0) {
    gemm_empty_k(bias, c, m, n, accumulate);
    if (epi != nullptr) (*epi)(0, m, 0, n);
    return;
  }
  if (!trans_a && trans_b && gemm_detail::dot_form(n, k)) {
    gemm_detail::gemm_dot<T>(a, b, bias, c, m, n, k, accumulate, epi, worth_threads(m, n, k));
    return;
  }
  // Panels of op(A) are its rows; panels of op(B) are its columns.
  const Operand<T> A{a, trans_a ? m : k, !trans_a};
  const Operand<T> B{b, trans_b ? k : n, trans_b};
  if (swap_operands<T>(m, n))
    gemm_packed<T>(Problem<T>{B, A, n, m, k, Output<T>{c, 1, n, bias, true, accumulate}, epi, true});
  else
    gemm_packed<T>(Problem<T>{A, B, m, n, k, Output<T>{c, n, 1, bias, false, accumulate}, epi, false});
}

template <class T>
void gemm(const T* a, const T* b, const T* bias, T* c, index_t m, index_t n, index_t k, bool trans_a,
          bool trans_b, bool accumulate) {
  gemm<T>(a, b, bias, c, m, n, k, trans_a, trans_b, accumulate, GemmEpilogue{});
}

template void gemm<float>(const float*, const float*, const float*, float*, index_t, index_t, index_t, bool,
                          bool, bool);
template void gemm<float>(const float*, const float*, const float*, float*, index_t, index_t, index_t, bool,
                          bool, bool, const GemmEpilogue&);
template void gemm<double>(const double*, const double*, const double*, double*, index_t, index_t, index_t,
                           bool, bool, bool, const GemmEpilogue&);
template void gemm<double>(const double*, const double*, const double*, double*, index_t, index_t, index_t,
                           bool, bool, bool);

}  // namespace eigengrad
