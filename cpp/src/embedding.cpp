// Embedding: the gather of table rows, the deterministic scatter-add of their gradient (see
// embedding_rows.hpp) and PyTorch's renormalisation of the looked-up rows (embedding.hpp).
#include "eigengrad/embedding.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "embedding_rows.hpp"

namespace eigengrad {

template <class T, class I>
void embedding_forward(const T* weight, const I* idx, index_t n, index_t dim, T* out) {
  parallel_for(n, embedding_rows::row_grain(dim), [&](index_t j0, index_t j1) {
    for (index_t j = j0; j < j1; ++j)
      std::memcpy(out + j * dim, weight + index_t(idx[j]) * dim, sizeof(T) * static_cast<std::size_t>(dim));
  });
}

template <class T, class I>
void embedding_backward(const T* dy, const I* idx, index_t n, index_t num, index_t dim, index_t padding_idx,
                        bool scale_grad_by_freq, T* dweight) {
  const auto buckets = embedding_rows::bucket(idx, n, num, [&](index_t j) { return index_t(idx[j]) != padding_idx; });
  embedding_rows::scatter(buckets, num, dim, dweight, [&](index_t, const index_t* pos, index_t count, T* d) {
    // With scale_grad_by_freq every contribution is scaled before it is added (PyTorch's add with alpha);
    // the count is the bucket's size: the padding row, the only one left out, has no gradient.
    const T s = scale_grad_by_freq ? T(1.0 / double(count)) : T(1);
    const T* first = dy + pos[0] * dim;
    for (index_t k = 0; k < dim; ++k) d[k] = s * first[k];
    for (index_t c = 1; c < count; ++c) {
      const T* src = dy + pos[c] * dim;
      for (index_t k = 0; k < dim; ++k) d[k] += s * src[k];
    }
  });
}

namespace {

// The norm_type-norm of a row of dim values, in double, added in order.
template <class T>
double row_norm(const T* x, index_t dim, double p) {
  if (std::isinf(p)) {
    // a NaN propagates (as PyTorch's norm): std::max/min would drop it, and scale a row PyTorch leaves alone
    double best = p > 0 ? 0.0 : std::numeric_limits<double>::infinity();
    for (index_t k = 0; k < dim; ++k) {
      const double a = std::abs(double(x[k]));
      if ((p > 0 ? a > best : a < best) || a != a) best = a;
    }
    return best;
  }
  double sum = 0.0;
  for (index_t k = 0; k < dim; ++k) {
    const double a = std::abs(double(x[k]));
    sum += p == 0.0 ? double(a != 0.0) : p == 1.0 ? a : p == 2.0 ? a * a : std::pow(a, p);
  }
  return p == 0.0 || p == 1.0 ? sum : p == 2.0 ? std::sqrt(sum) : std::pow(sum, 1.0 / p);
}

}  // namespace

template <class T, class I>
void embedding_renorm(T* weight, const I* idx, index_t n, index_t num, index_t dim, double max_norm, double norm_type) {
  std::vector<index_t> rows;  // every row idx holds, once, in increasing order
  {
    std::vector<unsigned char> seen(static_cast<std::size_t>(num), 0);
    for (index_t j = 0; j < n; ++j) seen[static_cast<std::size_t>(idx[j])] = 1;
    for (index_t r = 0; r < num; ++r)
      if (seen[r]) rows.push_back(r);
  }
  parallel_for(index_t(rows.size()), embedding_rows::row_grain(dim), [&](index_t i0, index_t i1) {
    for (index_t i = i0; i < i1; ++i) {
      T* x = weight + rows[i] * dim;
      const double norm = row_norm(x, dim, norm_type);
      if (!(norm > max_norm)) continue;
      const T s = T(max_norm / (norm + 1e-7));  // PyTorch multiplies in T by the scale cast to T
      for (index_t k = 0; k < dim; ++k) x[k] *= s;
    }
  });
}

#define EIGENGRAD_EMBEDDING_INSTANTIATE(T, I)                                                                  \
  template void embedding_forward<T, I>(const T*, const I*, index_t, index_t, T*);                            \
  template void embedding_backward<T, I>(const T*, const I*, index_t, index_t, index_t, index_t, bool, T*);   \
  template void embedding_renorm<T, I>(T*, const I*, index_t, index_t, index_t, double, double);
EIGENGRAD_EMBEDDING_INSTANTIATE(float, std::int32_t)
EIGENGRAD_EMBEDDING_INSTANTIATE(float, std::int64_t)
EIGENGRAD_EMBEDDING_INSTANTIATE(double, std::int32_t)
EIGENGRAD_EMBEDDING_INSTANTIATE(double, std::int64_t)
#undef EIGENGRAD_EMBEDDING_INSTANTIATE

}  // namespace eigengrad
