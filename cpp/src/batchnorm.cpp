// Batch normalisation: per-channel statistics over (n, s), forward and closed-form backward.
//
// Work is cut the same way for the statistics (forward) and the gradient sums (backward): the m = n * s
// values of every channel are split into pieces (runs of rows, or parts of a long span), and a task is
// one piece of one channel (s > 1: contiguous spans, summed over 16 lanes), or one piece of a block of
// up to 256 adjacent channels (s == 1, x is (n, c): channels are the contiguous dimension, so the rows
// are read in order and the per-channel sums are arrays the rows are added into, four rows at a time).
// Each task writes its own partial result; partials are combined per channel in piece order, so the
// result depends only on the shape, never on the thread count.
#include <algorithm>
#include <cmath>
#include <vector>

#include "eigengrad/dropout.hpp"
#include "eigengrad/norm.hpp"
#include "eigengrad/pool.hpp"
#include "norm_common.hpp"

namespace eigengrad {
namespace {
using namespace norm_detail;

constexpr index_t kColumns = 256;  // channels per task when s == 1

// How the values of every channel are cut into pieces.
struct Pieces {
  index_t n, c, s;
  index_t rows = 1;      // rows per piece
  index_t parts = 1;     // parts per span (> 1 only when s > kPiece)
  index_t part_len = 0;  // elements per part
  index_t count = 0;     // pieces
  index_t units = 0;     // tasks per piece: blocks of channels (s == 1) or channels
  index_t unit_size = 0; // elements of one task

  Pieces(index_t n_, index_t c_, index_t s_) : n(n_), c(c_), s(s_) {
    part_len = s;
    if (s == 1) {
      const index_t width = std::min(std::max<index_t>(c, 1), kColumns);
      rows = std::max<index_t>(4, kPiece / width);  // a piece of a block stays in L2 for the second pass
      units = ceil_div(c, kColumns);
      unit_size = rows * width;
    } else if (s <= kPiece) {
      rows = std::max<index_t>(1, kPiece / std::max<index_t>(s, 1));
      units = c;
      unit_size = rows * s;
    } else {
      parts = ceil_div(s, kPiece);
      part_len = kPiece;
      units = c;
      unit_size = kPiece;
    }
    count = n > 0 && s > 0 ? ceil_div(n, rows) * parts : 0;
  }
  index_t row_begin(index_t p) const { return (p / parts) * rows; }
  index_t row_end(index_t p) const { return std::min(n, row_begin(p) + rows); }
  index_t col_begin(index_t p) const { return (p % parts) * part_len; }
  index_t col_end(index_t p) const { return std::min(s, col_begin(p) + part_len); }

  // body(piece, unit) for every task, in parallel; tasks of one chunk are ~kElementwiseGrain elements.
  template <class Body>
  void for_each_task(Body&& body) const {
    const index_t tasks = count * units;
    const index_t grain = std::max<index_t>(1, kElementwiseGrain / std::max<index_t>(unit_size, 1));
    parallel_for(tasks, grain, [&](index_t b, index_t e) {
      for (index_t t = b; t < e; ++t) body(t / units, t % units);
    });
  }
};

// Column sums over rows [r0, r1) of x (n, c), channels [c0, c1) (s == 1). Rows are taken four at a
// time ((x0 + x1) + (x2 + x3), then into the sum), so the sums are read and written once per four rows.

// acc[j] += x[r, c0 + j]
template <class T>
void columns_sum(const T* x, index_t c, index_t r0, index_t r1, index_t c0, index_t c1, double* acc) {
  const index_t w = c1 - c0;
  index_t r = r0;
  for (; r + 4 <= r1; r += 4) {
    const T *a = x + r * c + c0, *b = a + c, *e = b + c, *f = e + c;
    for (index_t j = 0; j < w; ++j) acc[j] += (double(a[j]) + double(b[j])) + (double(e[j]) + double(f[j]));
  }
  for (; r < r1; ++r) {
    const T* a = x + r * c + c0;
    for (index_t j = 0; j < w; ++j) acc[j] += double(a[j]);
  }
}

// acc[j] += (x[r, c0 + j] - mu[j])^2
template <class T>
void columns_centred(const T* x, index_t c, index_t r0, index_t r1, index_t c0, index_t c1, const double* mu,
                     double* acc) {
  const index_t w = c1 - c0;
  index_t r = r0;
  for (; r + 4 <= r1; r += 4) {
    const T *a = x + r * c + c0, *b = a + c, *e = b + c, *f = e + c;
    for (index_t j = 0; j < w; ++j) {
      const double da = double(a[j]) - mu[j], db = double(b[j]) - mu[j];
      const double de = double(e[j]) - mu[j], df = double(f[j]) - mu[j];
      acc[j] += (da * da + db * db) + (de * de + df * df);
    }
  }
  for (; r < r1; ++r) {
    const T* a = x + r * c + c0;
    for (index_t j = 0; j < w; ++j) {
      const double da = double(a[j]) - mu[j];
      acc[j] += da * da;
    }
  }
}

// su[j] += dy[r, c0 + j], sv[j] += dy[r, c0 + j] * (x[r, c0 + j] - mu[j])
template <class T>
void columns_grad(const T* dy, const T* x, index_t c, index_t r0, index_t r1, index_t c0, index_t c1,
                  const double* mu, double* su, double* sv) {
  const index_t w = c1 - c0;
  index_t r = r0;
  for (; r + 4 <= r1; r += 4) {
    const index_t o = r * c + c0;
    const T *ga = dy + o, *gb = ga + c, *ge = gb + c, *gf = ge + c;
    const T *a = x + o, *b = a + c, *e = b + c, *f = e + c;
    for (index_t j = 0; j < w; ++j) {
      const double g0 = double(ga[j]), g1 = double(gb[j]), g2 = double(ge[j]), g3 = double(gf[j]);
      su[j] += (g0 + g1) + (g2 + g3);
      sv[j] += (g0 * (double(a[j]) - mu[j]) + g1 * (double(b[j]) - mu[j])) +
               (g2 * (double(e[j]) - mu[j]) + g3 * (double(f[j]) - mu[j]));
    }
  }
  for (; r < r1; ++r) {
    const T *ga = dy + r * c + c0, *a = x + r * c + c0;
    for (index_t j = 0; j < w; ++j) {
      const double g0 = double(ga[j]);
      su[j] += g0;
      sv[j] += g0 * (double(a[j]) - mu[j]);
    }
  }
}

// Per-channel moments of the batch: partial moments per task, merged per channel in piece order.
template <class T>
std::vector<Moments> channel_moments(const T* x, index_t n, index_t c, index_t s) {
  const Pieces pc(n, c, s);
  std::vector<Moments> part(std::size_t(pc.count * c));
  pc.for_each_task([&](index_t p, index_t u) {
    const index_t r0 = pc.row_begin(p), r1 = pc.row_end(p);
    Moments* out = part.data() + p * c;
    if (s == 1) {
      const index_t c0 = u * kColumns, c1 = std::min(c, c0 + kColumns), w = c1 - c0;
      const double cnt = double(r1 - r0);
      double sum[kColumns] = {}, m2[kColumns] = {};
      columns_sum(x, c, r0, r1, c0, c1, sum);
      for (index_t j = 0; j < w; ++j) sum[j] /= cnt;  // the piece's mean
      columns_centred(x, c, r0, r1, c0, c1, sum, m2);
      for (index_t j = 0; j < w; ++j) out[c0 + j] = Moments{cnt, sum[j], m2[j]};
    } else {
      const index_t k0 = pc.col_begin(p), k1 = pc.col_end(p);
      out[u] = span_moments<T>(r1 - r0, k1 - k0, [&](index_t r) { return x + ((r0 + r) * c + u) * s + k0; });
    }
  });
  std::vector<Moments> total(static_cast<std::size_t>(c));
  for (index_t ch = 0; ch < c; ++ch)
    for (index_t p = 0; p < pc.count; ++p) merge(total[std::size_t(ch)], part[std::size_t(p * c + ch)]);
  return total;
}

// Per-channel sums of dy and of dy * (x - mean), in double: partial sums per task, added in piece order.
template <class T>
void channel_grad_sums(const T* dy, const T* x, const double* mean, index_t n, index_t c, index_t s,
                       std::vector<double>& sum_dy, std::vector<double>& sum_dy_xc) {
  const Pieces pc(n, c, s);
  std::vector<double> pu(std::size_t(pc.count * c)), pv(std::size_t(pc.count * c));
  pc.for_each_task([&](index_t p, index_t u) {
    const index_t r0 = pc.row_begin(p), r1 = pc.row_end(p);
    double* ou = pu.data() + p * c;
    double* ov = pv.data() + p * c;
    if (s == 1) {
      const index_t c0 = u * kColumns, c1 = std::min(c, c0 + kColumns);
      std::fill(ou + c0, ou + c1, 0.0);
      std::fill(ov + c0, ov + c1, 0.0);
      columns_grad(dy, x, c, r0, r1, c0, c1, mean + c0, ou + c0, ov + c0);
    } else {
      const index_t k0 = pc.col_begin(p), k1 = pc.col_end(p);
      Lanes su, sv;
      zero(su);
      zero(sv);
      for (index_t r = r0; r < r1; ++r) {
        const index_t off = ((r * c) + u) * s + k0;
        add_grad(su, sv, dy + off, x + off, static_cast<const T*>(nullptr), k1 - k0, mean[u]);
      }
      ou[u] = total(su);
      ov[u] = total(sv);
    }
  });
  sum_dy.assign(std::size_t(c), 0.0);
  sum_dy_xc.assign(std::size_t(c), 0.0);
  for (index_t p = 0; p < pc.count; ++p)
    for (index_t ch = 0; ch < c; ++ch) {
      sum_dy[std::size_t(ch)] += pu[std::size_t(p * c + ch)];
      sum_dy_xc[std::size_t(ch)] += pv[std::size_t(p * c + ch)];
    }
}

// Per-channel coefficients in T of out = a * (x - mean) + b [+ g * dy], applied as a * (x - hi) + b'
// with hi = T(mean) and b' = b - a * (mean - hi): x - hi is exact (or exact to T's rounding of a
// difference of the size of x) and the rest of the mean is folded into the offset, so a float32 output
// keeps its precision when |mean| >> std, at no cost per element.
template <class T>
struct Coefs {
  std::vector<T> hi, a, b, g;
  explicit Coefs(index_t c)
      : hi(static_cast<std::size_t>(c)), a(static_cast<std::size_t>(c)), b(static_cast<std::size_t>(c)),
        g(static_cast<std::size_t>(c)) {}
  void set(index_t ch, double mean, double a_, double b_, double g_ = 0.0) {
    const std::size_t j = std::size_t(ch);
    hi[j] = T(mean);
    a[j] = T(a_);
    b[j] = T(b_ - a_ * (mean - double(hi[j])));
    g[j] = T(g_);
  }
};

// One plane of the forward: o = aj * (x - h) + bj (shared by apply_coefs and the fused BatchNorm -> ReLU ->
// MaxPool, so both compute the same bits).
template <class T>
inline void affine_plane(const T* xr, T* o, index_t s, T h, T aj, T bj) {
  for (index_t i = 0; i < s; ++i) o[i] = aj * (xr[i] - h) + bj;
}

// relu_forward's max(y, 0) in place over [b, e) (NaN and -0 kept, as Eigen's max does there).
template <class T>
inline void relu_span(T* y, index_t b, index_t e) {
  for (index_t i = b; i < e; ++i) y[i] = y[i] < T(0) ? T(0) : y[i];
}

// Elementwise over x (n, c, s): out = a_j * (x - hi_j) + b_j, plus g_j * dy when dy is given. Then
// done(begin, end) on the flat element range each chunk wrote, while it is in cache (a fused epilogue).
template <class T, class Done>
void apply_coefs(const T* x, const T* dy, T* out, const Coefs<T>& k, index_t n, index_t c, index_t s, Done&& done) {
  const T *hi = k.hi.data(), *a = k.a.data(), *b = k.b.data(), *g = k.g.data();
  if (s == 1) {
    parallel_for(n, std::max<index_t>(1, kElementwiseGrain / std::max<index_t>(c, 1)), [&](index_t r0, index_t r1) {
      for (index_t r = r0; r < r1; ++r) {
        const T* xr = x + r * c;
        T* o = out + r * c;
        if (dy != nullptr) {
          const T* d = dy + r * c;
          for (index_t j = 0; j < c; ++j) o[j] = g[j] * d[j] + a[j] * (xr[j] - hi[j]) + b[j];
        } else {
          for (index_t j = 0; j < c; ++j) o[j] = a[j] * (xr[j] - hi[j]) + b[j];
        }
      }
      done(r0 * c, r1 * c);
    });
    return;
  }
  parallel_for(n * c, std::max<index_t>(1, kElementwiseGrain / std::max<index_t>(s, 1)), [&](index_t q0, index_t q1) {
    for (index_t q = q0; q < q1; ++q) {
      const index_t ch = q % c;
      const T h = hi[ch], aj = a[ch], bj = b[ch], gj = g[ch];
      const T* xr = x + q * s;
      T* o = out + q * s;
      if (dy != nullptr) {
        const T* d = dy + q * s;
        for (index_t i = 0; i < s; ++i) o[i] = gj * d[i] + aj * (xr[i] - h) + bj;
      } else {
        affine_plane(xr, o, s, h, aj, bj);
      }
    }
    done(q0 * s, q1 * s);
  });
}

template <class T>
void apply_coefs(const T* x, const T* dy, T* out, const Coefs<T>& k, index_t n, index_t c, index_t s) {
  apply_coefs(x, dy, out, k, n, c, s, [](index_t, index_t) {});
}

// dx = a_j * dy (eval-mode backward).
template <class T>
void scale_channels(const T* dy, T* dx, const std::vector<T>& a, index_t n, index_t c, index_t s) {
  const T* ap = a.data();
  if (s == 1) {
    parallel_for(n, std::max<index_t>(1, kElementwiseGrain / std::max<index_t>(c, 1)), [&](index_t r0, index_t r1) {
      for (index_t r = r0; r < r1; ++r)
        for (index_t j = 0; j < c; ++j) dx[r * c + j] = ap[j] * dy[r * c + j];
    });
    return;
  }
  parallel_for(n * c, std::max<index_t>(1, kElementwiseGrain / std::max<index_t>(s, 1)), [&](index_t q0, index_t q1) {
    for (index_t q = q0; q < q1; ++q) {
      const T aj = ap[q % c];
      for (index_t i = 0; i < s; ++i) dx[q * s + i] = aj * dy[q * s + i];
    }
  });
}

template <class T>
double param(const T* p, index_t j, double fallback) {
  return p != nullptr ? double(p[j]) : fallback;
}

// Output coefficients of the forward from the statistics: a = invstd * w, b = bias.
template <class T>
Coefs<T> forward_coefs(const T* weight, const T* bias, const double* mean, const double* invstd, index_t c) {
  Coefs<T> k(c);
  for (index_t j = 0; j < c; ++j) k.set(j, mean[j], invstd[j] * param(weight, j, 1.0), param(bias, j, 0.0));
  return k;
}

// The training statistics: save_mean, save_invstd and the running statistics' update.
template <class T>
void train_statistics(const T* x, double* save_mean, double* save_invstd, T* running_mean, T* running_var,
                      double momentum, double eps, index_t n, index_t c, index_t s) {
  const index_t m = n * s;
  const std::vector<Moments> mom = channel_moments(x, n, c, s);
  // Separate loops over the channels, so that the divisions and square roots vectorise.
  std::vector<double> m2(static_cast<std::size_t>(c));
  for (index_t j = 0; j < c; ++j) {
    save_mean[j] = mom[std::size_t(j)].mean;
    m2[std::size_t(j)] = mom[std::size_t(j)].m2;
  }
  const double mm = double(std::max<index_t>(m, 1));
  for (index_t j = 0; j < c; ++j) save_invstd[j] = 1.0 / std::sqrt(m2[std::size_t(j)] / mm + eps);
  if (m > 0 && running_mean != nullptr) {
    for (index_t j = 0; j < c; ++j) running_mean[j] = T(momentum * save_mean[j] + (1.0 - momentum) * double(running_mean[j]));
  }
  if (m > 0 && running_var != nullptr) {
    const double m1 = double(m - 1);
    for (index_t j = 0; j < c; ++j)
      running_var[j] = T(momentum * (m2[std::size_t(j)] / m1) + (1.0 - momentum) * double(running_var[j]));
  }
}
}  // namespace

template <class T>
void batch_norm_forward_train(const T* x, const T* weight, const T* bias, T* y, double* save_mean,
                              double* save_invstd, T* running_mean, T* running_var, double momentum, double eps,
                              index_t n, index_t c, index_t s) {
  train_statistics(x, save_mean, save_invstd, running_mean, running_var, momentum, eps, n, c, s);
  apply_coefs(x, static_cast<const T*>(nullptr), y, forward_coefs(weight, bias, save_mean, save_invstd, c), n, c, s);
}

template <class T>
void batch_norm_relu_dropout_forward(const T* x, const T* weight, const T* bias, T* y, double* save_mean,
                                     double* save_invstd, T* running_mean, T* running_var, double momentum,
                                     double eps, index_t n, index_t c, index_t s, std::uint8_t* mask,
                                     std::uint64_t seed, std::uint64_t offset, std::uint64_t threshold, T scale) {
  train_statistics(x, save_mean, save_invstd, running_mean, running_var, momentum, eps, n, c, s);
  apply_coefs(x, static_cast<const T*>(nullptr), y, forward_coefs(weight, bias, save_mean, save_invstd, c), n, c, s,
              [&](index_t b, index_t e) { relu_dropout_span(y + b, mask + b, b, e - b, seed, offset, threshold, scale); });
}

template <class T>
void batch_norm_relu_forward(const T* x, const T* weight, const T* bias, T* y, double* save_mean, double* save_invstd,
                             T* running_mean, T* running_var, double momentum, double eps, index_t n, index_t c,
                             index_t s) {
  train_statistics(x, save_mean, save_invstd, running_mean, running_var, momentum, eps, n, c, s);
  apply_coefs(x, static_cast<const T*>(nullptr), y, forward_coefs(weight, bias, save_mean, save_invstd, c), n, c, s,
              [&](index_t b, index_t e) { relu_span(y, b, e); });
}

template <class T>
void batch_norm_relu_max_pool2d_forward(const T* x, const T* weight, const T* bias, T* y, std::int64_t* idx,
                                        double* save_mean, double* save_invstd, T* running_mean, T* running_var,
                                        double momentum, double eps, index_t n, index_t c, const Pool2dGeometry& g) {
  const index_t s = g.h * g.w, out = g.oh * g.ow;
  train_statistics(x, save_mean, save_invstd, running_mean, running_var, momentum, eps, n, c, s);
  if (n * c == 0 || out == 0) return;  // nothing to pool (and no window tables to build: their size follows g)
  if (s == 0) {  // no input position: max_pool2d_forward's zero output (as its binding gives for an empty input)
    std::fill(y, y + n * c * out, T(0));
    return;
  }
  const Coefs<T> k = forward_coefs(weight, bias, save_mean, save_invstd, c);
  const MaxPool2dPlanes<T> pool(g);
  // planes as apply_coefs would split them; each normalised and ReLU'd into a buffer that stays in cache,
  // then pooled: the BatchNorm -> ReLU output is never written to memory
  parallel_for(n * c, std::max<index_t>(1, kElementwiseGrain / std::max<index_t>(s, 1)), [&](index_t q0, index_t q1) {
    std::vector<T> plane(static_cast<std::size_t>(s));
    for (index_t q = q0; q < q1; ++q) {
      const std::size_t ch = std::size_t(q % c);
      affine_plane(x + q * s, plane.data(), s, k.hi[ch], k.a[ch], k.b[ch]);
      relu_span(plane.data(), 0, s);
      pool(plane.data(), y + q * out, idx + q * out);
    }
  });
}

template <class T>
void batch_norm_forward_eval(const T* x, const T* weight, const T* bias, const T* running_mean,
                             const T* running_var, T* y, double* save_mean, double* save_invstd, double eps,
                             index_t n, index_t c, index_t s) {
  for (index_t j = 0; j < c; ++j) {
    save_mean[j] = double(running_mean[j]);
    save_invstd[j] = 1.0 / std::sqrt(double(running_var[j]) + eps);
  }
  apply_coefs(x, static_cast<const T*>(nullptr), y, forward_coefs(weight, bias, save_mean, save_invstd, c), n, c, s);
}

template <class T>
void batch_norm_backward(const T* dy, const T* x, const double* mean, const double* invstd, const T* weight, T* dx,
                         T* dweight, T* dbias, bool training, index_t n, index_t c, index_t s) {
  const index_t m = n * s;
  std::vector<double> sum_dy, sum_dy_xc;
  const bool need_sums = dweight != nullptr || dbias != nullptr || (training && dx != nullptr);
  if (need_sums) {
    channel_grad_sums(dy, x, mean, n, c, s, sum_dy, sum_dy_xc);
    for (index_t j = 0; j < c; ++j) {
      if (dbias != nullptr) dbias[j] = T(sum_dy[std::size_t(j)]);
      if (dweight != nullptr) dweight[j] = T(sum_dy_xc[std::size_t(j)] * invstd[j]);
    }
  }
  if (dx == nullptr || m == 0) return;
  if (!training) {
    std::vector<T> a(static_cast<std::size_t>(c));
    for (index_t j = 0; j < c; ++j) a[std::size_t(j)] = T(param(weight, j, 1.0) * invstd[j]);
    scale_channels(dy, dx, a, n, c, s);
    return;
  }
  // dx = g * dy + a * (x - mean) + b with g = w * invstd, a = -g * invstd^2 * sum(dy (x - mean)) / m,
  // b = -g * sum(dy) / m.
  Coefs<T> k(c);
  for (index_t j = 0; j < c; ++j) {
    const double is = invstd[j], g = param(weight, j, 1.0) * is;
    k.set(j, mean[j], -g * is * is * sum_dy_xc[std::size_t(j)] / double(m), -g * sum_dy[std::size_t(j)] / double(m), g);
  }
  apply_coefs(x, dy, dx, k, n, c, s);
}

#define EIGENGRAD_INSTANTIATE_BATCH_NORM(T)                                                                   \
  template void batch_norm_forward_train<T>(const T*, const T*, const T*, T*, double*, double*, T*, T*, double, \
                                            double, index_t, index_t, index_t);                                \
  template void batch_norm_relu_dropout_forward<T>(const T*, const T*, const T*, T*, double*, double*, T*, T*,   \
                                                   double, double, index_t, index_t, index_t, std::uint8_t*,      \
                                                   std::uint64_t, std::uint64_t, std::uint64_t, T);               \
  template void batch_norm_relu_forward<T>(const T*, const T*, const T*, T*, double*, double*, T*, T*, double,     \
                                           double, index_t, index_t, index_t);                                     \
  template void batch_norm_relu_max_pool2d_forward<T>(const T*, const T*, const T*, T*, std::int64_t*, double*,   \
                                                      double*, T*, T*, double, double, index_t, index_t,          \
                                                      const Pool2dGeometry&);                                     \
  template void batch_norm_forward_eval<T>(const T*, const T*, const T*, const T*, const T*, T*, double*,       \
                                           double*, double, index_t, index_t, index_t);                        \
  template void batch_norm_backward<T>(const T*, const T*, const double*, const double*, const T*, T*, T*, T*,  \
                                       bool, index_t, index_t, index_t);
EIGENGRAD_INSTANTIATE_BATCH_NORM(float)
EIGENGRAD_INSTANTIATE_BATCH_NORM(double)

}  // namespace eigengrad
