// Fused optimizer update rules: one pass over a flat parameter buffer per call.
//
// Every rule follows PyTorch's single-tensor implementation (torch.optim, 2.x) operation by
// operation, so that float64 results agree to rounding. Kernels are stateless: moment buffers are
// caller-owned arrays laid out like the parameters, and the step count t (1 on the first step) is an
// argument, never a hidden counter. Each call reads grad and updates param and the state arrays in
// place over n elements; the arrays must not overlap. "g" below is the gradient, negated when
// maximize, and "+ wd p" is L2 weight decay added to it.
#pragma once
#include <cstdint>

#include "eigengrad/parallel.hpp"

namespace eigengrad {

struct SgdOptions {
  double lr = 1e-3;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
  bool maximize = false;
  bool first_step = true;  // the momentum buffer is initialised to the gradient, as PyTorch does
};

// SGD with momentum:
//   g = g + wd p
//   if momentum != 0: buf = first_step ? g : momentum buf + (1 - dampening) g
//                     g   = nesterov ? g + momentum buf : buf
//   p = p - lr g
// momentum_buffer may be null when momentum == 0.
template <class T>
void sgd_step(T* param, const T* grad, T* momentum_buffer, index_t n, const SgdOptions& opt);

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool decoupled_weight_decay = false;  // AdamW (Loshchilov & Hutter): p = p (1 - lr wd), no L2 term
  bool amsgrad = false;
  bool maximize = false;
  std::int64_t step = 1;
};

// Adam (Kingma & Ba 2015) and AdamW, with bias correction and optional AMSGrad (Reddi et al. 2018):
//   p = p (1 - lr wd)  [decoupled]    or    g = g + wd p  [L2]
//   m = lerp(m, g, 1 - beta1);  v = beta2 v + (1 - beta2) g^2
//   vhat = amsgrad ? (vmax = max(vmax, v)) : v
//   p = p - lr / (1 - beta1^t) * m / (sqrt(vhat) / sqrt(1 - beta2^t) + eps)
// max_exp_avg_sq may be null unless amsgrad.
template <class T>
void adam_step(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, index_t n,
               const AdamOptions& opt);

struct NAdamOptions {
  double lr = 2e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  double momentum_decay = 4e-3;
  bool decoupled_weight_decay = false;
  bool maximize = false;
  std::int64_t step = 1;
  double mu_product = 1.0;  // prod_{i <= t} mu_i, this step's mu included (the caller keeps it)
};

// NAdam (Dozat 2016), PyTorch's form with the momentum schedule mu_t = beta1 (1 - 0.5 * 0.96^(t psi)):
//   p = p (1 - lr wd) [decoupled]  or  g = g + wd p
//   m = lerp(m, g, 1 - beta1);  v = beta2 v + (1 - beta2) g^2;  d = sqrt(v / (1 - beta2^t)) + eps
//   p = p - lr (1 - mu_t) / (1 - prod_{i<=t} mu_i) g / d - lr mu_{t+1} / (1 - prod_{i<=t+1} mu_i) m / d
template <class T>
void nadam_step(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, index_t n, const NAdamOptions& opt);

struct AdamaxOptions {
  double lr = 2e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool maximize = false;
  std::int64_t step = 1;
};

// Adamax (Kingma & Ba 2015, section 7.1: Adam under the infinity norm):
//   g = g + wd p;  m = lerp(m, g, 1 - beta1);  u = max(beta2 u, |g| + eps)
//   p = p - lr / (1 - beta1^t) * m / u
template <class T>
void adamax_step(T* param, const T* grad, T* exp_avg, T* exp_inf, index_t n, const AdamaxOptions& opt);

struct RAdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool decoupled_weight_decay = false;
  bool maximize = false;
  std::int64_t step = 1;
};

// RAdam (Liu et al. 2020, "On the Variance of the Adaptive Learning Rate and Beyond"):
//   p = p (1 - lr wd) [decoupled]  or  g = g + wd p
//   m = lerp(m, g, 1 - beta1);  v = beta2 v + (1 - beta2) g^2;  mhat = m / (1 - beta1^t)
//   rho_inf = 2 / (1 - beta2) - 1;  rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)
//   rho_t > 5: r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
//              p = p - mhat lr (1 / (sqrt(v) + eps)) sqrt(1 - beta2^t) r
//   else:      p = p - mhat lr      (plain momentum while the variance estimate is unreliable)
template <class T>
void radam_step(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, index_t n, const RAdamOptions& opt);

struct AdagradOptions {
  double lr = 1e-2;
  double lr_decay = 0.0;
  double weight_decay = 0.0;
  double eps = 1e-10;
  bool maximize = false;
  std::int64_t step = 1;
};

// Adagrad (Duchi et al. 2011):
//   g = g + wd p;  s = s + g^2;  p = p - lr / (1 + (t - 1) lr_decay) g / (sqrt(s) + eps)
template <class T>
void adagrad_step(T* param, const T* grad, T* state_sum, index_t n, const AdagradOptions& opt);

struct RmspropOptions {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0.0;
  double momentum = 0.0;
  bool centered = false;
  bool maximize = false;
};

// RMSprop (Hinton, Lecture 6e; centered: Graves 2013):
//   g = g + wd p;  v = alpha v + (1 - alpha) g^2
//   centered: ga = lerp(ga, g, 1 - alpha), d = sqrt(v - ga^2) + eps;  else d = sqrt(v) + eps
//   momentum > 0: buf = momentum buf + g / d, p = p - lr buf;  else p = p - lr g / d
// grad_avg may be null unless centered, momentum_buffer unless momentum > 0.
template <class T>
void rmsprop_step(T* param, const T* grad, T* square_avg, T* grad_avg, T* momentum_buffer, index_t n,
                  const RmspropOptions& opt);

struct AdadeltaOptions {
  double lr = 1.0;
  double rho = 0.9;
  double eps = 1e-6;
  double weight_decay = 0.0;
  bool maximize = false;
};

// Adadelta (Zeiler 2012):
//   g = g + wd p;  v = rho v + (1 - rho) g^2
//   delta = sqrt(u + eps) / sqrt(v + eps) g;  u = rho u + (1 - rho) delta^2;  p = p - lr delta
template <class T>
void adadelta_step(T* param, const T* grad, T* square_avg, T* acc_delta, index_t n, const AdadeltaOptions& opt);

}  // namespace eigengrad
