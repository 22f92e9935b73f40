// Normalisation layers: batch norm, layer norm, group norm, local response norm. Forward and backward,
// each fused: statistics and output in two passes, the backward in closed form.
//
// Statistics are accumulated in double whatever T is. The values of a channel (batch norm) or of a
// row (layer and group norm) are cut into pieces of at most ~2^15 elements whose boundaries depend
// only on the shape; a piece's mean and centred sum of squares come from two passes over the piece
// while it sits in cache (mean, then sum (x - mean) and sum (x - mean)^2, the corrected two-pass
// formula), and pieces are merged in piece order with Chan et al.'s pairwise update. So memory is read
// once, the variance does not lose digits when |mean| >> std (no sum-of-squares cancellation), and the
// bits do not depend on the thread count or on the arrays' alignment (sums run over fixed lanes).
//
// Outputs are computed in T from per-channel (or per-row) coefficients; the mean enters as
// (x - mean_hi) - mean_lo, mean_hi = T(mean), mean_lo = T(mean - mean_hi), so a large mean does not
// cost the float32 output its precision either.
//
// Shapes: batch and group norm view x as (n, c, s), s the product of the trailing dimensions
// (1 for (N, C) input); layer norm views x as (m, d) rows. Pointers marked "may be null" are optional
// inputs (weight = 1, bias = 0) or unwanted outputs. Output arrays never overlap the inputs.
#pragma once
#include <cstdint>

#include "eigengrad/parallel.hpp"
#include "eigengrad/pool.hpp"

namespace eigengrad {

// --- batch norm (per channel j over the m = n * s values x[i, j, k]) -------------------------------

// Training: batch statistics. save_mean[j] = mean, save_invstd[j] = 1 / sqrt(var + eps), var the
// biased variance; y = (x - mean) * invstd * weight[j] + bias[j]. When running_mean / running_var are
// not null they are updated in place: r = (1 - momentum) * r + momentum * stat, with the unbiased
// variance var * m / (m - 1) for running_var (m must then be > 1). With m == 0 y is empty,
// save_mean = 0, save_invstd = 1 / sqrt(eps) and the running statistics are left alone (PyTorch).
template <class T>
void batch_norm_forward_train(const T* x, const T* weight, const T* bias, T* y, double* save_mean,
                              double* save_invstd, T* running_mean, T* running_var, double momentum, double eps,
                              index_t n, index_t c, index_t s);

// eg.compile's fusion of batch_norm_forward_train, ReLU and dropout (a plan's BatchNorm -> ReLU -> Dropout):
// the same statistics and running-statistics update, then each chunk of the normalised output goes through
// relu_dropout_span (dropout.hpp) while it is still in cache: y = relu(bn(x)) * (keep ? scale : 0) and
// mask[i] = keep | (relu(bn(x)) > 0) << 1 (x.size() bytes). The same bits as the three kernels in turn.
template <class T>
void batch_norm_relu_dropout_forward(const T* x, const T* weight, const T* bias, T* y, double* save_mean,
                                     double* save_invstd, T* running_mean, T* running_var, double momentum,
                                     double eps, index_t n, index_t c, index_t s, std::uint8_t* mask,
                                     std::uint64_t seed, std::uint64_t offset, std::uint64_t threshold, T scale);

// The same for BatchNorm (training) -> ReLU without the dropout: y = relu(bn(x)), ReLU applied to each chunk
// as it is normalised (relu_forward's max: NaN and -0 kept). The same bits as the two kernels.
template <class T>
void batch_norm_relu_forward(const T* x, const T* weight, const T* bias, T* y, double* save_mean, double* save_invstd,
                             T* running_mean, T* running_var, double momentum, double eps, index_t n, index_t c,
                             index_t s);

// BatchNorm (training) -> ReLU -> MaxPool2d of a CNN block: the same statistics, then each (sample, channel)
// plane (g.h x g.w, n * c = g.planes) normalised and ReLU'd into a buffer and max-pooled from it while it is
// in cache (pool.hpp: MaxPool2dPlanes), writing only the pooled output y and its indices idx (planes, oh, ow):
// the same bits as batch_norm_relu_forward then max_pool2d_forward, without the BatchNorm -> ReLU output.
template <class T>
void batch_norm_relu_max_pool2d_forward(const T* x, const T* weight, const T* bias, T* y, std::int64_t* idx,
                                        double* save_mean, double* save_invstd, T* running_mean, T* running_var,
                                        double momentum, double eps, index_t n, index_t c, const Pool2dGeometry& g);

// Evaluation: y = (x - running_mean) / sqrt(running_var + eps) * weight + bias; save_mean and
// save_invstd receive the statistics used (for the backward).
template <class T>
void batch_norm_forward_eval(const T* x, const T* weight, const T* bias, const T* running_mean,
                             const T* running_var, T* y, double* save_mean, double* save_invstd, double eps,
                             index_t n, index_t c, index_t s);

// Backward, with xhat = (x - mean) * invstd and w = weight (1 when null):
//   dbias[j] = sum dy, dweight[j] = sum dy * xhat (over the channel's m values);
//   training: dx = w * invstd / m * (m * dy - sum dy - xhat * sum dy * xhat);
//   eval (the statistics are constants): dx = dy * w * invstd.
// dx, dweight, dbias may each be null (not wanted).
template <class T>
void batch_norm_backward(const T* dy, const T* x, const double* mean, const double* invstd, const T* weight, T* dx,
                         T* dweight, T* dbias, bool training, index_t n, index_t c, index_t s);

// --- layer norm (per row i of x (m, d)) ------------------------------------------------------------

// mean[i], rstd[i] = 1 / sqrt(var + eps) of row i (biased variance); y = (x - mean) * rstd * weight + bias
// (weight, bias of d elements, may be null).
template <class T>
void layer_norm_forward(const T* x, const T* weight, const T* bias, T* y, double* mean, double* rstd, double eps,
                        index_t m, index_t d);

// g = dy * weight; dx = rstd / d * (d * g - sum g - xhat * sum g * xhat) per row;
// dweight[j] = sum_i dy[i, j] * xhat[i, j], dbias[j] = sum_i dy[i, j]. Outputs may be null.
template <class T>
void layer_norm_backward(const T* dy, const T* x, const double* mean, const double* rstd, const T* weight, T* dx,
                         T* dweight, T* dbias, index_t m, index_t d);

// --- group norm (x (n, c, s), c = groups * cg; statistics per (sample, group)) ---------------------

// mean[i * groups + g], rstd[...] over the cg * s values of group g of sample i;
// y = (x - mean) * rstd * weight[j] + bias[j] for channel j (weight, bias of c elements, may be null).
template <class T>
void group_norm_forward(const T* x, const T* weight, const T* bias, T* y, double* mean, double* rstd, double eps,
                        index_t n, index_t c, index_t s, index_t groups);

// As layer norm over each group with the per-channel weight inside: g = dy * weight[j],
// dx = rstd / D * (D * g - sum g - xhat * sum g * xhat) (D = cg * s, sums over the group);
// dweight[j] = sum_{i,k} dy * xhat, dbias[j] = sum_{i,k} dy. Outputs may be null.
template <class T>
void group_norm_backward(const T* dy, const T* x, const double* mean, const double* rstd, const T* weight, T* dx,
                         T* dweight, T* dbias, index_t n, index_t c, index_t s, index_t groups);

// --- local response norm (across channels of x (n, c, s)) ------------------------------------------

// PyTorch's definition: div[i, j, k] = k + alpha * (sum of x[i, l, k]^2 for l in
// [j - size/2, j + (size-1)/2], zero outside [0, c)) / size; y = x / div^beta. div is saved for the backward.
template <class T>
void local_response_norm_forward(const T* x, T* y, T* div, index_t n, index_t c, index_t s, index_t size,
                                 double alpha, double beta, double k);

// dx[j] = dy[j] * div[j]^-beta - 2 alpha beta / size * x[j] * sum over the channels l whose window
// holds j of dy[l] * x[l] * div[l]^(-beta - 1).
template <class T>
void local_response_norm_backward(const T* dy, const T* x, const T* div, T* dx, index_t n, index_t c, index_t s,
                                  index_t size, double alpha, double beta);

}  // namespace eigengrad
