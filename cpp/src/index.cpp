#include "eigengrad/index.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>

namespace eigengrad {
namespace {

constexpr index_t kInnerBlock = 1024;  // columns of one unit of scatter work

// Units of scatter work: (o, block of inner columns); each owns the output columns of its block.
template <class Body>
void for_column_blocks(index_t outer, index_t inner, index_t work_per_column, Body&& body) {
  const index_t blocks = ceil_div(std::max<index_t>(inner, 1), kInnerBlock);
  const index_t per_unit = std::max<index_t>(1, work_per_column * std::min(inner, kInnerBlock));
  parallel_for(outer * blocks, std::max<index_t>(1, kElementwiseGrain / per_unit), [&](index_t b, index_t e) {
    for (index_t u = b; u < e; ++u) {
      const index_t o = u / blocks, i0 = (u % blocks) * kInnerBlock;
      body(o, i0, std::min(inner, i0 + kInnerBlock));
    }
  });
}

template <class T>
inline T apply(ScatterOp op, T a, T b) {
  switch (op) {
    case ScatterOp::Assign: return b;
    case ScatterOp::Add: return a + b;
    case ScatterOp::Multiply: return a * b;
    case ScatterOp::Max: return (b > a || b != b) ? b : a;
    case ScatterOp::Min: return (b < a || b != b) ? b : a;
  }
  return b;
}

template <class T, ScatterOp Op>
void scatter_loop(T* out, index_t outer, index_t n, index_t inner, const std::int64_t* idx, index_t m, const T* src) {
  for_column_blocks(outer, inner, m, [&](index_t o, index_t i0, index_t i1) {
    T* plane = out + o * n * inner;
    for (index_t j = 0; j < m; ++j) {
      const index_t row = (o * m + j) * inner;
      for (index_t i = i0; i < i1; ++i) {
        T& dst = plane[idx[row + i] * inner + i];
        dst = apply(Op, dst, src[row + i]);
      }
    }
  });
}

}  // namespace

template <class I>
index_t first_bad_index(const I* idx, index_t count, index_t n, index_t lo) {
  std::atomic<index_t> first{-1};
  const std::uint64_t base = std::uint64_t(lo), width = std::uint64_t(n) - base;  // v in [lo, n): v - lo < width
  parallel_for(count, kElementwiseGrain, [&](index_t b, index_t e) {
    std::uint64_t bad = 0;  // a branchless pass first (it vectorises), the search only in a chunk that failed
    for (index_t k = b; k < e; ++k) bad |= std::uint64_t(std::uint64_t(std::int64_t(idx[k])) - base >= width);
    if (bad == 0) return;
    for (index_t k = b; k < e; ++k) {
      if (idx[k] < lo || idx[k] >= n) {
        index_t cur = first.load();
        while ((cur < 0 || k < cur) && !first.compare_exchange_weak(cur, k)) {
        }
        return;
      }
    }
  });
  return first.load();
}

template index_t first_bad_index<std::int32_t>(const std::int32_t*, index_t, index_t, index_t);
template index_t first_bad_index<std::int64_t>(const std::int64_t*, index_t, index_t, index_t);

// Rows r = o * m + j of an (outer, m, inner) array, in [b, e), as (o, j) without a division per row.
template <class Body>
void for_rows(index_t b, index_t e, index_t m, Body&& body) {
  index_t o = b / m, j = b % m;
  for (index_t r = b; r < e; ++r) {
    body(r, o, j);
    if (++j == m) {
      j = 0;
      ++o;
    }
  }
}

template <class T>
void gather(const T* x, index_t outer, index_t n, index_t inner, const std::int64_t* idx, index_t m, T* out) {
  const index_t grain = std::max<index_t>(1, kElementwiseGrain / std::max<index_t>(inner, 1));
  parallel_for(outer * m, grain, [&](index_t b, index_t e) {
    for_rows(b, e, m, [&](index_t r, index_t o, index_t) {
      const T* plane = x + o * n * inner;
      const std::int64_t* ir = idx + r * inner;
      T* dst = out + r * inner;
      for (index_t i = 0; i < inner; ++i) dst[i] = plane[ir[i] * inner + i];
    });
  });
}

template <class T>
void index_select(const T* x, index_t outer, index_t n, index_t inner, const std::int64_t* idx, index_t m, T* out) {
  const index_t grain = std::max<index_t>(1, kElementwiseGrain / std::max<index_t>(inner, 1));
  parallel_for(outer * m, grain, [&](index_t b, index_t e) {
    for_rows(b, e, m, [&](index_t r, index_t o, index_t j) {
      std::memcpy(out + r * inner, x + (o * n + idx[j]) * inner, std::size_t(inner) * sizeof(T));
    });
  });
}

template <class T>
void scatter(T* out, index_t outer, index_t n, index_t inner, const std::int64_t* idx, index_t m, const T* src,
             ScatterOp op) {
  switch (op) {
    case ScatterOp::Assign: scatter_loop<T, ScatterOp::Assign>(out, outer, n, inner, idx, m, src); break;
    case ScatterOp::Add: scatter_loop<T, ScatterOp::Add>(out, outer, n, inner, idx, m, src); break;
    case ScatterOp::Multiply: scatter_loop<T, ScatterOp::Multiply>(out, outer, n, inner, idx, m, src); break;
    case ScatterOp::Max: scatter_loop<T, ScatterOp::Max>(out, outer, n, inner, idx, m, src); break;
    case ScatterOp::Min: scatter_loop<T, ScatterOp::Min>(out, outer, n, inner, idx, m, src); break;
  }
}

template <class T>
void index_add(T* out, index_t outer, index_t n, index_t inner, const std::int64_t* idx, index_t m, const T* src,
               T alpha) {
  for_column_blocks(outer, inner, m, [&](index_t o, index_t i0, index_t i1) {
    for (index_t j = 0; j < m; ++j) {
      T* dst = out + (o * n + idx[j]) * inner;
      const T* s = src + (o * m + j) * inner;
      if (alpha == T(1)) {  // the gradient of index_select: a plain sum (no multiply to fuse into an FMA)
        for (index_t i = i0; i < i1; ++i) dst[i] += s[i];
      } else {
        for (index_t i = i0; i < i1; ++i) dst[i] += alpha * s[i];
      }
    }
  });
}

// Data movement: one instantiation per element size.
#define EIGENGRAD_MOVE(T)                                                                                     \
  template void gather<T>(const T*, index_t, index_t, index_t, const std::int64_t*, index_t, T*);            \
  template void index_select<T>(const T*, index_t, index_t, index_t, const std::int64_t*, index_t, T*);
EIGENGRAD_MOVE(std::uint8_t)
EIGENGRAD_MOVE(std::uint16_t)
EIGENGRAD_MOVE(std::uint32_t)
EIGENGRAD_MOVE(std::uint64_t)
#undef EIGENGRAD_MOVE

#define EIGENGRAD_SCATTER(T)                                                                                    \
  template void scatter<T>(T*, index_t, index_t, index_t, const std::int64_t*, index_t, const T*, ScatterOp);  \
  template void index_add<T>(T*, index_t, index_t, index_t, const std::int64_t*, index_t, const T*, T);
EIGENGRAD_SCATTER(float)
EIGENGRAD_SCATTER(double)
EIGENGRAD_SCATTER(std::int64_t)
EIGENGRAD_SCATTER(std::int32_t)
#undef EIGENGRAD_SCATTER
template void scatter<std::uint8_t>(std::uint8_t*, index_t, index_t, index_t, const std::int64_t*, index_t,
                                    const std::uint8_t*, ScatterOp);
template void scatter<std::uint16_t>(std::uint16_t*, index_t, index_t, index_t, const std::int64_t*, index_t,
                                     const std::uint16_t*, ScatterOp);

}  // namespace eigengrad
