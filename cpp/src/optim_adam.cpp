// Adam, AdamW (Adam with decoupled weight decay) and NAdam: one fused pass per call.
#include <cmath>

#include "eigengrad/optim.hpp"
#include "optim_common.hpp"

namespace eigengrad {
using namespace optim_detail;
namespace {

// The per-call scalars of Adam after the moments, rounded to T once.
template <class T>
struct AdamScalars {
  T inv_bc2_sqrt, eps, neg_step_size;
};

template <class T, Decay kDecay, bool kAmsgrad, bool kSmallW>
void adam_chunk(T* __restrict p, const T* __restrict gr, T* __restrict m, T* __restrict v, T* __restrict vmax,
                index_t n, const MomentScalars<T> ms, const AdamScalars<T> s) {
  for (index_t i = 0; i < n; ++i) {
    T pi = p[i], g = gr[i], mi = m[i], vi = v[i];
    adam_moments<kDecay, kSmallW>(pi, g, mi, vi, ms);
    m[i] = mi;
    v[i] = vi;
    T vhat = vi;
    if constexpr (kAmsgrad) {
      // NaN propagates from either side, as torch.maximum does (a plain > would drop a NaN v)
      vhat = (vi != vi || vi > vmax[i]) ? vi : vmax[i];
      vmax[i] = vhat;
    }
    // times the reciprocal (PyTorch divides): one division per element instead of two, <= 1 ulp apart
    const T denom = std::sqrt(vhat) * s.inv_bc2_sqrt + s.eps;
    p[i] = pi + s.neg_step_size * mi / denom;
  }
}

template <class T, Decay kDecay, bool kSmallW>
void nadam_chunk(T* __restrict p, const T* __restrict gr, T* __restrict m, T* __restrict v, index_t n,
                 const MomentScalars<T> ms, T bc2, T eps, T coef_g, T coef_m) {
  for (index_t i = 0; i < n; ++i) {
    T pi = p[i], g = gr[i], mi = m[i], vi = v[i];
    adam_moments<kDecay, kSmallW>(pi, g, mi, vi, ms);
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
  const auto ms = moment_scalars<T>(o.lr, o.beta1, o.beta2, o.weight_decay, o.maximize);
  const AdamScalars<T> s{T(1.0 / std::sqrt(bc2)), T(o.eps), T(-(o.lr / bc1))};
  with_decay(o.weight_decay, o.decoupled_weight_decay, [&](auto decay) {
    with_bool(o.amsgrad, [&](auto ams) {
      with_bool(std::abs(1.0 - o.beta1) < 0.5, [&](auto small) {
        for_chunks(n, [&](index_t b, index_t e) {
          adam_chunk<T, decltype(decay)::value, decltype(ams)::value, decltype(small)::value>(
              param + b, grad + b, exp_avg + b, exp_avg_sq + b, ams ? max_exp_avg_sq + b : nullptr, e - b, ms, s);
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
  const auto ms = moment_scalars<T>(o.lr, o.beta1, o.beta2, o.weight_decay, o.maximize);
  with_decay(o.weight_decay, o.decoupled_weight_decay, [&](auto decay) {
    with_bool(std::abs(1.0 - o.beta1) < 0.5, [&](auto small) {
      for_chunks(n, [&](index_t b, index_t e) {
        nadam_chunk<T, decltype(decay)::value, decltype(small)::value>(
            param + b, grad + b, exp_avg + b, exp_avg_sq + b, e - b, ms, T(bc2), T(o.eps), T(coef_g), T(coef_m));
      });
    });
  });
}

template void adam_step<float>(float*, const float*, float*, float*, float*, index_t, const AdamOptions&);
template void adam_step<double>(double*, const double*, double*, double*, double*, index_t, const AdamOptions&);
template void nadam_step<float>(float*, const float*, float*, float*, index_t, const NAdamOptions&);
template void nadam_step<double>(double*, const double*, double*, double*, index_t, const NAdamOptions&);

}  // namespace eigengrad
