// Embedding lookups (PyTorch's embedding and embedding_bag): the gather of table rows, the scatter-add
// of their gradient, the renormalisation of looked-up rows (max_norm) and the bags of EmbeddingBag.
//
// Buffers are C-contiguous:
//   weight (num, dim)   the table
//   idx    (n)          row numbers, int64 or int32 (I), every one in [0, num): callers check with
//                       first_bad_index() (index.hpp) before calling the other kernels
//   starts (bags + 1)   int64, bag b holds the positions [starts[b], starts[b + 1]) of idx; non-decreasing,
//                       starts[bags] <= n (positions past it belong to no bag)
//
// Determinism: a gradient row is written by one thread, which adds its contributions in increasing
// position j. The positions are bucketed by row with a stable counting sort (O(n + num)) and the rows
// are split between threads, so the bits do not depend on the thread count.
#pragma once
#include <cstdint>

#include "eigengrad/parallel.hpp"

namespace eigengrad {

// out[j] = weight[idx[j]] (rows of dim). out must not overlap weight.
template <class T, class I>
void embedding_forward(const T* weight, const I* idx, index_t n, index_t dim, T* out);

// dweight = 0, then dweight[idx[j]] += s dy[j] for every j with idx[j] != padding_idx (padding_idx < 0:
// none), s = 1 / (the number of positions holding idx[j]) with scale_grad_by_freq, else 1. dy is (n, dim).
template <class T, class I>
void embedding_backward(const T* dy, const I* idx, index_t n, index_t num, index_t dim, index_t padding_idx,
                        bool scale_grad_by_freq, T* dweight);

// PyTorch's embedding_renorm_: every row r that idx holds (once each) whose norm_type-norm exceeds
// max_norm is scaled in place by T(max_norm / (norm + 1e-7)). The norm is summed in double; norm_type may
// be any p > 0, inf (the largest |x|), -inf (the smallest), or 0 (the number of non-zeros).
template <class T, class I>
void embedding_renorm(T* weight, const I* idx, index_t n, index_t num, index_t dim, double max_norm, double norm_type);

enum class BagMode : int { sum = 0, mean = 1, max = 2 };

// EmbeddingBag: out[b] (dim) over the positions j of bag b whose idx[j] != padding_idx:
//   sum:  sum_j psw[j] weight[idx[j]]   (psw: per-sample weights (n), null for 1)
//   mean: sum_j weight[idx[j]] / count
//   max:  max_j weight[idx[j]] element by element (the first position initialises, a strictly larger
//         value replaces, PyTorch's rule); max_idx (bags, dim) gets the row it came from
// An empty bag (no position kept) gives zeros and max_idx -1. bag_size (bags) gets the kept counts.
template <class T, class I>
void embedding_bag_forward(const T* weight, const I* idx, const std::int64_t* starts, index_t bags, index_t dim,
                           const T* psw, BagMode mode, index_t padding_idx, T* out, std::int64_t* bag_size,
                           std::int64_t* max_idx);

// dweight (num, dim) of embedding_bag_forward given dy (bags, dim), overwritten:
//   sum/mean: dweight[idx[j]] += s_j dy[bag of j], s_j = psw[j] (sum) or 1 / bag_size (mean), divided by
//             the count of idx[j] over all n positions with scale_grad_by_freq;
//   max:      dweight[max_idx[b, d], d] += dy[b, d].
template <class T, class I>
void embedding_bag_backward(const T* dy, const I* idx, index_t n, const std::int64_t* starts, index_t bags,
                            index_t num, index_t dim, const T* psw, const std::int64_t* bag_size,
                            const std::int64_t* max_idx, BagMode mode, index_t padding_idx, bool scale_grad_by_freq,
                            T* dweight);

// dpsw[j] = <dy[bag of j], weight[idx[j]]> (summed in double), 0 for padding and for positions in no
// bag: the gradient of the per-sample weights of a 'sum' bag.
template <class T, class I>
void embedding_bag_psw_backward(const T* dy, const T* weight, const I* idx, index_t n, const std::int64_t* starts,
                                index_t bags, index_t dim, index_t padding_idx, T* dpsw);

}  // namespace eigengrad
