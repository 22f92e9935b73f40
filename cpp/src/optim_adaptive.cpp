// Adagrad, RMSprop and Adadelta: per-coordinate step sizes from running gradient statistics.
#include <cmath>

#include "eigengrad/optim.hpp"
#include "optim_common.hpp"

namespace eigengrad {
using namespace optim_detail;
namespace {

template <class T, bool kDecay>
void adagrad_chunk(T* __restrict p, const T* __restrict gr, T* __restrict sum, index_t n, T sign, T wd, T neg_clr,
                   T eps) {
  for (index_t i = 0; i < n; ++i) {
    T g = sign * gr[i];
    if constexpr (kDecay) g = g + wd * p[i];
    const T s = sum[i] + g * g;
    sum[i] = s;
    p[i] = p[i] + neg_clr * g / (std::sqrt(s) + eps);
  }
}

template <class T>
struct RmspropScalars {
  T sign, wd, alpha, w, one_minus_w, eps, momentum, neg_lr;
};

template <class T, bool kDecay, bool kCentered, bool kMomentum, bool kSmallW>
void rmsprop_chunk(T* __restrict p, const T* __restrict gr, T* __restrict v, T* __restrict ga, T* __restrict buf,
                   index_t n, const RmspropScalars<T> s) {
  for (index_t i = 0; i < n; ++i) {
    T g = s.sign * gr[i];
    if constexpr (kDecay) g = g + s.wd * p[i];
    const T vi = v[i] * s.alpha + s.w * g * g;
    v[i] = vi;
    T avg;
    if constexpr (kCentered) {
      const T gai = lerp<kSmallW>(ga[i], g, s.w, s.one_minus_w);
      ga[i] = gai;
      avg = std::sqrt(vi + T(-1) * gai * gai) + s.eps;
    } else {
      avg = std::sqrt(vi) + s.eps;
    }
    if constexpr (kMomentum) {
      const T b = buf[i] * s.momentum + g / avg;
      buf[i] = b;
      p[i] = p[i] + s.neg_lr * b;
    } else {
      p[i] = p[i] + s.neg_lr * g / avg;
    }
  }
}

template <class T, bool kDecay>
void adadelta_chunk(T* __restrict p, const T* __restrict gr, T* __restrict v, T* __restrict u, index_t n, T sign,
                    T wd, T rho, T w, T eps, T neg_lr) {
  for (index_t i = 0; i < n; ++i) {
    T g = sign * gr[i];
    if constexpr (kDecay) g = g + wd * p[i];
    const T vi = v[i] * rho + w * g * g;
    v[i] = vi;
    const T delta = std::sqrt(u[i] + eps) / std::sqrt(vi + eps) * g;
    u[i] = u[i] * rho + w * delta * delta;
    p[i] = p[i] + neg_lr * delta;
  }
}

}  // namespace

template <class T>
void adagrad_step(T* param, const T* grad, T* state_sum, index_t n, const AdagradOptions& o) {
  const double clr = o.lr / (1.0 + double(o.step - 1) * o.lr_decay);
  const T sign = T(o.maximize ? -1 : 1), wd = T(o.weight_decay), neg_clr = T(-clr), eps = T(o.eps);
  with_bool(o.weight_decay != 0.0, [&](auto decay) {
    for_chunks(n, [&](index_t b, index_t e) {
      adagrad_chunk<T, decltype(decay)::value>(param + b, grad + b, state_sum + b, e - b, sign, wd, neg_clr, eps);
    });
  });
}

template <class T>
void rmsprop_step(T* param, const T* grad, T* square_avg, T* grad_avg, T* momentum_buffer, index_t n,
                  const RmspropOptions& o) {
  const T w = T(1.0 - o.alpha);
  const RmspropScalars<T> s{T(o.maximize ? -1 : 1), T(o.weight_decay), T(o.alpha), w, T(1) - w, T(o.eps),
                            T(o.momentum), T(-o.lr)};
  with_bool(o.weight_decay != 0.0, [&](auto decay) {
    with_bool(o.centered, [&](auto centered) {
      with_bool(o.momentum > 0.0, [&](auto mom) {
        with_bool(std::abs(1.0 - o.alpha) < 0.5, [&](auto small) {
          for_chunks(n, [&](index_t b, index_t e) {
            rmsprop_chunk<T, decltype(decay)::value, decltype(centered)::value, decltype(mom)::value,
                          decltype(small)::value>(param + b, grad + b, square_avg + b,
                                                  centered ? grad_avg + b : nullptr,
                                                  mom ? momentum_buffer + b : nullptr, e - b, s);
          });
        });
      });
    });
  });
}

template <class T>
void adadelta_step(T* param, const T* grad, T* square_avg, T* acc_delta, index_t n, const AdadeltaOptions& o) {
  const T sign = T(o.maximize ? -1 : 1), wd = T(o.weight_decay), rho = T(o.rho), w = T(1.0 - o.rho);
  const T eps = T(o.eps), neg_lr = T(-o.lr);
  with_bool(o.weight_decay != 0.0, [&](auto decay) {
    for_chunks(n, [&](index_t b, index_t e) {
      adadelta_chunk<T, decltype(decay)::value>(param + b, grad + b, square_avg + b, acc_delta + b, e - b, sign, wd,
                                                rho, w, eps, neg_lr);
    });
  });
}

template void adagrad_step<float>(float*, const float*, float*, index_t, const AdagradOptions&);
template void adagrad_step<double>(double*, const double*, double*, index_t, const AdagradOptions&);
template void rmsprop_step<float>(float*, const float*, float*, float*, float*, index_t, const RmspropOptions&);
template void rmsprop_step<double>(double*, const double*, double*, double*, double*, index_t, const RmspropOptions&);
template void adadelta_step<float>(float*, const float*, float*, float*, index_t, const AdadeltaOptions&);
template void adadelta_step<double>(double*, const double*, double*, double*, index_t, const AdadeltaOptions&);

}  // namespace eigengrad
