// Adam, AdamW (Adam with decoupled weight decay) and NAdam: one fused pass per call.
#include <cmath>

#include "eigengrad/optim.hpp"
#include "optim_common.hpp"

namespace eigengrad {
using namespace optim_detail;
namespace {

// The per-call scalars of Adam, rounded to T once (as PyTorch passes Python floats to T kernels).
template <class T>
struct AdamScalars {
  T sign, wd, decay_factor, w1, one_minus_w1, beta2, w2, inv_bc2_sqrt, eps, neg_step_size;
};

template <class T, Decay kDecay, bool kAmsgrad, bool kSmallW>
void adam_chunk(T* __restrict p, const T* __restrict gr, T* __restrict m, T* __restrict v, T* __restrict vmax,
                index_t n, const AdamScalars<T> s) {
  for (index_t i = 0; i < n; ++i) {
    T g = s.sign * gr[i];
    T pi = p[i];
    if constexpr (kDecay == Decay::decoupled) pi = pi * s.decay_factor;
    if constexpr (kDecay == Decay::l2) g = g + s.wd * pi;
    const T mi = lerp<kSmallW>(m[i], g, s.w1, s.one_minus_w1);
    const T vi = v[i] * s.beta2 + s.w2 * g * g;
    m[i] = mi;
    v[i] = vi;
    T vhat = vi;
    if constexpr (kAmsgrad) {
      vhat = vi > vmax[i] ? vi : vmax[i];
      vmax[i] = vhat;
    }
    // times the reciprocal (PyTorch divides): one division per element instead of two, <= 1 ulp apart
    const T denom = std::sqrt(vhat) * s.inv_bc2_sqrt + s.eps;
    p[i] = pi + s.neg_step_size * mi / denom;
  }
}

template <class T, Decay kDecay, bool kSmallW>
void nadam_chunk(T* __restrict p, const T* __restrict gr, T* __restrict m, T* __restrict v, index_t n, T sign,
                 T wd, T decay_factor, T w1, T one_minus_w1, T beta2, T w2, T bc2, T eps, T coef_g, T coef_m) {
  for (index_t i = 0; i < n; ++i) {
    T g = sign * gr[i];
    T pi = p[i];
    if constexpr (kDecay == Decay::decoupled) pi = pi * decay_factor;
    if constexpr (kDecay == Decay::l2) g = g + wd * pi;
    const T mi = lerp<kSmallW>(m[i], g, w1, one_minus_w1);
    const T vi = v[i] * beta2 + w2 * g * g;
    m[i] = mi;
    v[i] = vi;
    const T denom = std::sqrt(vi / bc2) + eps;
    pi = pi + coef_g * g / denom;  // two addcdiv_ calls in PyTorch, in this order
    p[i] = pi + coef_m * mi / denom;
  }
}

}  // namespace

template <class T>
void adam_step(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, index_t n,
               const AdamOptions& o) {
  const double t = double(o.step);
  const double bc1 = 1.0 - std::pow(o.beta1, t), bc2 = 1.0 - std::pow(o.beta2, t);
  const AdamScalars<T> s{T(o.maximize ? -1 : 1), T(o.weight_decay), T(1.0 - o.lr * o.weight_decay),
                         T(1.0 - o.beta1), T(1) - T(1.0 - o.beta1), T(o.beta2), T(1.0 - o.beta2),
                         T(1.0 / std::sqrt(bc2)), T(o.eps), T(-(o.lr / bc1))};
  with_decay(o.weight_decay, o.decoupled_weight_decay, [&](auto decay) {
    with_bool(o.amsgrad, [&](auto ams) {
      with_bool(std::abs(1.0 - o.beta1) < 0.5, [&](auto small) {
        for_chunks(n, [&](index_t b, index_t e) {
          adam_chunk<T, decltype(decay)::value, decltype(ams)::value, decltype(small)::value>(
              param + b, grad + b, exp_avg + b, exp_avg_sq + b, ams ? max_exp_avg_sq + b : nullptr, e - b, s);
        });
      });
    });
  });
}

template <class T>
void nadam_step(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, index_t n, const NAdamOptions& o) {
  const double t = double(o.step);
  const double bc2 = 1.0 - std::pow(o.beta2, t);
  const double mu = o.beta1 * (1.0 - 0.5 * std::pow(0.96, t * o.momentum_decay));
  const double mu_next = o.beta1 * (1.0 - 0.5 * std::pow(0.96, (t + 1.0) * o.momentum_decay));
  const double coef_g = -o.lr * (1.0 - mu) / (1.0 - o.mu_product);
  const double coef_m = (-o.lr * mu_next) / (1.0 - o.mu_product * mu_next);
  const T sign = T(o.maximize ? -1 : 1), w1 = T(1.0 - o.beta1);
  with_decay(o.weight_decay, o.decoupled_weight_decay, [&](auto decay) {
    with_bool(std::abs(1.0 - o.beta1) < 0.5, [&](auto small) {
      for_chunks(n, [&](index_t b, index_t e) {
        nadam_chunk<T, decltype(decay)::value, decltype(small)::value>(
            param + b, grad + b, exp_avg + b, exp_avg_sq + b, e - b, sign, T(o.weight_decay),
            T(1.0 - o.lr * o.weight_decay), w1, T(1) - w1, T(o.beta2), T(1.0 - o.beta2), T(bc2), T(o.eps),
            T(coef_g), T(coef_m));
      });
    });
  });
}

template void adam_step<float>(float*, const float*, float*, float*, float*, index_t, const AdamOptions&);
template void adam_step<double>(double*, const double*, double*, double*, double*, index_t, const AdamOptions&);
template void nadam_step<float>(float*, const float*, float*, float*, index_t, const NAdamOptions&);
template void nadam_step<double>(double*, const double*, double*, double*, index_t, const NAdamOptions&);

}  // namespace eigengrad
