// EmbeddingBag (see embedding.hpp): each bag's rows reduced (sum, mean or max) straight from the table,
// and the gradients: the table's by the bucketed scatter-add of embedding_rows.hpp (sum/mean) or by
// columns (max), the per-sample weights' as one dot product per position.
#include <algorithm>
#include <vector>

#include "eigengrad/embedding.hpp"
#include "embedding_rows.hpp"

namespace eigengrad {
namespace {

// The bag of every position < n (-1 for positions in no bag).
std::vector<index_t> bag_of_positions(const std::int64_t* starts, index_t bags, index_t n) {
  std::vector<index_t> bag(static_cast<std::size_t>(n), -1);
  for (index_t b = 0; b < bags; ++b)
    for (index_t j = starts[b]; j < starts[b + 1]; ++j) bag[j] = b;
  return bag;
}

// Bags per parallel task: about kElementwiseGrain / 2 rows read (assuming bags of ~8 rows).
index_t bag_grain(index_t dim) { return std::max<index_t>(1, embedding_rows::row_grain(dim) / 8); }

// Bag b of a sum or mean: out = sum of psw[j] w[idx[j]] (or / count); returns the count.
template <class T, class I>
index_t reduce_sum(const T* weight, const I* idx, index_t j0, index_t j1, index_t dim, const T* psw, bool mean,
                   index_t padding_idx, T* out) {
  std::fill(out, out + dim, T(0));
  index_t count = 0;
  for (index_t j = j0; j < j1; ++j) {
    if (index_t(idx[j]) == padding_idx) continue;
    const T* row = weight + index_t(idx[j]) * dim;
    const T s = psw ? psw[j] : T(1);
    if (psw) {
      for (index_t k = 0; k < dim; ++k) out[k] += s * row[k];
    } else {
      for (index_t k = 0; k < dim; ++k) out[k] += row[k];
    }
    ++count;
  }
  if (mean && count > 0)
    for (index_t k = 0; k < dim; ++k) out[k] /= T(count);
  return count;
}

// Bag b of a max: the first kept position initialises, a strictly larger value replaces (so a NaN stays
// only when it comes first: PyTorch's rule); at gets the row; an empty bag gives 0 and -1.
template <class T, class I>
index_t reduce_max(const T* weight, const I* idx, index_t j0, index_t j1, index_t dim, index_t padding_idx, T* out,
                   std::int64_t* at) {
  std::fill(out, out + dim, T(0));
  std::fill(at, at + dim, std::int64_t(-1));
  index_t count = 0;
  for (index_t j = j0; j < j1; ++j) {
    const index_t r = index_t(idx[j]);
    if (r == padding_idx) continue;
    const T* row = weight + r * dim;
    for (index_t k = 0; k < dim; ++k)
      if (count == 0 || row[k] > out[k]) out[k] = row[k], at[k] = r;
    ++count;
  }
  return count;
}

}  // namespace

template <class T, class I>
void embedding_bag_forward(const T* weight, const I* idx, const std::int64_t* starts, index_t bags, index_t dim,
                           const T* psw, BagMode mode, index_t padding_idx, T* out, std::int64_t* bag_size,
                           std::int64_t* max_idx) {
  parallel_for(bags, bag_grain(dim), [&](index_t b0, index_t b1) {
    for (index_t b = b0; b < b1; ++b)
      bag_size[b] = mode == BagMode::max
                        ? reduce_max(weight, idx, starts[b], starts[b + 1], dim, padding_idx, out + b * dim,
                                     max_idx + b * dim)
                        : reduce_sum(weight, idx, starts[b], starts[b + 1], dim, psw, mode == BagMode::mean,
                                     padding_idx, out + b * dim);
  });
}

namespace {

// dweight of a max bag: column blocks split between threads, each column taking the bags in order.
template <class T>
void max_backward(const T* dy, index_t bags, index_t num, index_t dim, const std::int64_t* max_idx, T* dweight) {
  constexpr index_t kColumns = 16;
  parallel_for(num * dim, kElementwiseGrain, [&](index_t e0, index_t e1) { std::fill(dweight + e0, dweight + e1, T(0)); });
  parallel_for(ceil_div(dim, kColumns), 1, [&](index_t c0, index_t c1) {
    const index_t k0 = c0 * kColumns, k1 = std::min(dim, c1 * kColumns);
    for (index_t b = 0; b < bags; ++b)
      for (index_t k = k0; k < k1; ++k) {
        const std::int64_t r = max_idx[b * dim + k];
        if (r >= 0) dweight[r * dim + k] += dy[b * dim + k];
      }
  });
}

}  // namespace

template <class T, class I>
void embedding_bag_backward(const T* dy, const I* idx, index_t n, const std::int64_t* starts, index_t bags,
                            index_t num, index_t dim, const T* psw, const std::int64_t* bag_size,
                            const std::int64_t* max_idx, BagMode mode, index_t padding_idx, bool scale_grad_by_freq,
                            T* dweight) {
  if (mode == BagMode::max) return max_backward(dy, bags, num, dim, max_idx, dweight);
  const std::vector<index_t> bag = bag_of_positions(starts, bags, n);
  std::vector<index_t> counts;  // of every row over all n positions (PyTorch's scale_grad_by_freq)
  if (scale_grad_by_freq) {
    counts.assign(static_cast<std::size_t>(num), 0);
    for (index_t j = 0; j < n; ++j) ++counts[static_cast<std::size_t>(idx[j])];
  }
  const auto buckets = embedding_rows::bucket(idx, n, num, [&](index_t j) {
    return bag[j] >= 0 && index_t(idx[j]) != padding_idx;
  });
  embedding_rows::scatter(buckets, num, dim, dweight, [&](index_t r, const index_t* pos, index_t count, T* d) {
    std::fill(d, d + dim, T(0));
    for (index_t c = 0; c < count; ++c) {
      const index_t j = pos[c], b = bag[j];
      double s = psw ? double(psw[j]) : 1.0;
      if (mode == BagMode::mean) s /= double(bag_size[b]);
      if (scale_grad_by_freq) s /= double(counts[r]);
      const T st = T(s);
      const T* src = dy + b * dim;
      for (index_t k = 0; k < dim; ++k) d[k] += st * src[k];
    }
  });
}

template <class T, class I>
void embedding_bag_psw_backward(const T* dy, const T* weight, const I* idx, index_t n, const std::int64_t* starts,
                                index_t bags, index_t dim, index_t padding_idx, T* dpsw) {
  const std::vector<index_t> bag = bag_of_positions(starts, bags, n);
  parallel_for(n, embedding_rows::row_grain(dim), [&](index_t j0, index_t j1) {
    for (index_t j = j0; j < j1; ++j) {
      if (bag[j] < 0 || index_t(idx[j]) == padding_idx) {
        dpsw[j] = T(0);
        continue;
      }
      const T* g = dy + bag[j] * dim;
      const T* w = weight + index_t(idx[j]) * dim;
      double sum = 0.0;
      for (index_t k = 0; k < dim; ++k) sum += double(g[k]) * double(w[k]);
      dpsw[j] = T(sum);
    }
  });
}

#define EIGENGRAD_BAG_INSTANTIATE(T, I)                                                                        \
  template void embedding_bag_forward<T, I>(const T*, const I*, const std::int64_t*, index_t, index_t, const T*, \
                                            BagMode, index_t, T*, std::int64_t*, std::int64_t*);              \
  template void embedding_bag_backward<T, I>(const T*, const I*, index_t, const std::int64_t*, index_t, index_t, \
                                             index_t, const T*, const std::int64_t*, const std::int64_t*,     \
                                             BagMode, index_t, bool, T*);                                      \
  template void embedding_bag_psw_backward<T, I>(const T*, const T*, const I*, index_t, const std::int64_t*,    \
                                                 index_t, index_t, index_t, T*);
EIGENGRAD_BAG_INSTANTIATE(float, std::int32_t)
EIGENGRAD_BAG_INSTANTIATE(float, std::int64_t)
EIGENGRAD_BAG_INSTANTIATE(double, std::int32_t)
EIGENGRAD_BAG_INSTANTIATE(double, std::int64_t)
#undef EIGENGRAD_BAG_INSTANTIATE

}  // namespace eigengrad
