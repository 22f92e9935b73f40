// Adamax and RAdam: Adam's moments with another denominator (the infinity norm; the rectified
// variance). Each follows torch.optim's single-tensor code operation by operation (its lerp form,
// the addcdiv/addcmul association, Python's left-to-right products), so float64 runs agree with
// PyTorch to rounding.
#include <cmath>

#include "eigengrad/optim.hpp"
#include "optim_common.hpp"

namespace eigengrad {
using namespace optim_detail;
namespace {

template <class T>
struct AdamaxScalars {
  T sign, wd, w1, one_minus_w1, beta2, eps, neg_clr;
};

template <class T, bool kDecay, bool kSmallW>
void adamax_chunk(T* __restrict p, const T* __restrict gr, T* __restrict m, T* __restrict u, index_t n,
                  const AdamaxScalars<T> s) {
  for (index_t i = 0; i < n; ++i) {
    T g = s.sign * gr[i];
    if constexpr (kDecay) g = g + s.wd * p[i];
    const T mi = lerp<kSmallW>(m[i], g, s.w1, s.one_minus_w1);
    m[i] = mi;
    const T decayed = u[i] * s.beta2, fresh = std::abs(g) + s.eps;
    // torch.maximum: NaN wins
    const T ui = (decayed != decayed || decayed > fresh) ? decayed : fresh;
    u[i] = ui;
    p[i] = p[i] + s.neg_clr * mi / ui;  // addcdiv_(m, u, value=-clr)
  }
}

template <class T>
struct RAdamScalars {
  T bc1, lr, eps, bc2_sqrt, rect;
};

template <class T, Decay kDecay, bool kRectified, bool kSmallW>
void radam_chunk(T* __restrict p, const T* __restrict gr, T* __restrict m, T* __restrict v, index_t n,
                 const MomentScalars<T> ms, const RAdamScalars<T> s) {
  for (index_t i = 0; i < n; ++i) {
    T pi = p[i], g = gr[i], mi = m[i], vi = v[i];
    adam_moments<kDecay, kSmallW>(pi, g, mi, vi, ms);
    m[i] = mi;
    v[i] = vi;
    T update = mi / s.bc1 * s.lr;
    if constexpr (kRectified) {
      // PyTorch: bias_correction2 ** 0.5 / (sqrt(v) + eps) is Tensor.__rtruediv__, a reciprocal times
      // the scalar; then the products left to right
      const T adaptive = (T(1) / (std::sqrt(vi) + s.eps)) * s.bc2_sqrt;
      update = update * adaptive * s.rect;
    }
    p[i] = pi - update;
  }
}

}  // namespace

template <class T>
void adamax_step(T* param, const T* grad, T* exp_avg, T* exp_inf, index_t n, const AdamaxOptions& o) {
  const double clr = o.lr / (1.0 - std::pow(o.beta1, double(o.step)));
  const T w1 = T(1.0 - o.beta1);
  const AdamaxScalars<T> s{T(o.maximize ? -1 : 1), T(o.weight_decay), w1, T(1) - w1, T(o.beta2), T(o.eps),
                           T(-clr)};
  with_bool(o.weight_decay != 0.0, [&](auto decay) {
    with_bool(std::abs(1.0 - o.beta1) < 0.5, [&](auto small) {
      for_chunks(n, [&](index_t b, index_t e) {
        adamax_chunk<T, decltype(decay)::value, decltype(small)::value>(param + b, grad + b, exp_avg + b,
                                                                         exp_inf + b, e - b, s);
      });
    });
  });
}

template <class T>
void radam_step(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, index_t n, const RAdamOptions& o) {
  const double t = double(o.step);
  const double bc1 = 1.0 - std::pow(o.beta1, t), bc2 = 1.0 - std::pow(o.beta2, t);
  const double rho_inf = 2.0 / (1.0 - o.beta2) - 1.0;
  const double rho_t = rho_inf - 2.0 * t * std::pow(o.beta2, t) / bc2;
  const bool rectified = rho_t > 5.0;
  const double rect =
      rectified ? std::sqrt((rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
                : 1.0;
  const auto ms = moment_scalars<T>(o.lr, o.beta1, o.beta2, o.weight_decay, o.maximize);
  const RAdamScalars<T> s{T(bc1), T(o.lr), T(o.eps), T(std::sqrt(bc2)), T(rect)};
  with_decay(o.weight_decay, o.decoupled_weight_decay, [&](auto decay) {
    with_bool(rectified, [&](auto rectify) {
      with_bool(std::abs(1.0 - o.beta1) < 0.5, [&](auto small) {
        for_chunks(n, [&](index_t b, index_t e) {
          radam_chunk<T, decltype(decay)::value, decltype(rectify)::value, decltype(small)::value>(
              param + b, grad + b, exp_avg + b, exp_avg_sq + b, e - b, ms, s);
        });
      });
    });
  });
}

template void adamax_step<float>(float*, const float*, float*, float*, index_t, const AdamaxOptions&);
template void adamax_step<double>(double*, const double*, double*, double*, index_t, const AdamaxOptions&);
template void radam_step<float>(float*, const float*, float*, float*, index_t, const RAdamOptions&);
template void radam_step<double>(double*, const double*, double*, double*, index_t, const RAdamOptions&);

}  // namespace eigengrad
