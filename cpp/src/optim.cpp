#include "eigengrad/optim.hpp"

#include <Eigen/Core>

namespace eigengrad {
namespace {
template <class T>
using Vec = Eigen::Array<T, Eigen::Dynamic, 1>;
}

template <class T>
void sgd_step(T* param, const T* grad, T* momentum_buffer, index_t n, const SgdOptions& opt) {
  const T lr = T(opt.lr), mu = T(opt.momentum), damp = T(1.0 - opt.dampening), wd = T(opt.weight_decay);
  const T sign = opt.maximize ? T(-1) : T(1);
  parallel_for(n, kElementwiseGrain, [&](index_t b, index_t e) {
    Eigen::Map<Vec<T>> p(param + b, e - b);
    Eigen::Map<const Vec<T>> gr(grad + b, e - b);
    if (mu == T(0)) {
      if (wd == T(0)) p -= lr * (sign * gr);
      else p -= lr * (sign * gr + wd * p);
      return;
    }
    Eigen::Map<Vec<T>> buf(momentum_buffer + b, e - b);
    const Vec<T> g = wd == T(0) ? Vec<T>(sign * gr) : Vec<T>(sign * gr + wd * p);
    if (opt.first_step) buf = g; else buf = mu * buf + damp * g;
    if (opt.nesterov) p -= lr * (g + mu * buf); else p -= lr * buf;
  });
}

template void sgd_step<float>(float*, const float*, float*, index_t, const SgdOptions&);
template void sgd_step<double>(double*, const double*, double*, index_t, const SgdOptions&);

}  // namespace eigengrad
