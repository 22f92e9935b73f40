#include "eigengrad/optim.hpp"

namespace eigengrad {
namespace {

// One pass per element, every branch hoisted out of the loop so the compiler vectorises each variant.
// Only IEEE add/multiply (no contraction), so scalar and vector code give the same bits.
template <class T, bool kDecay, bool kMomentum, bool kNesterov>
void sgd_chunk(T* __restrict p, const T* __restrict gr, T* __restrict buf, index_t n, T lr, T sign, T wd, T mu, T damp, bool first) {
  for (index_t i = 0; i < n; ++i) {
    T g = sign * gr[i];
    if constexpr (kDecay) g += wd * p[i];
    if constexpr (kMomentum) {
      const T b = first ? g : mu * buf[i] + damp * g;
      buf[i] = b;
      g = kNesterov ? g + mu * b : b;
    }
    p[i] -= lr * g;
  }
}

}  // namespace

template <class T>
void sgd_step(T* param, const T* grad, T* momentum_buffer, index_t n, const SgdOptions& opt) {
  const T lr = T(opt.lr), mu = T(opt.momentum), damp = T(1.0 - opt.dampening), wd = T(opt.weight_decay);
  const T sign = opt.maximize ? T(-1) : T(1);
  const bool first = opt.first_step;
  // The variant is chosen once per call; each is a plain loop the compiler vectorises.
  using Chunk = void (*)(T*, const T*, T*, index_t, T, T, T, T, T, bool);
  const bool decay = wd != T(0), momentum = mu != T(0), nesterov = momentum && opt.nesterov;
  Chunk chunk = nullptr;
  if (!momentum) chunk = decay ? &sgd_chunk<T, true, false, false> : &sgd_chunk<T, false, false, false>;
  else if (!nesterov) chunk = decay ? &sgd_chunk<T, true, true, false> : &sgd_chunk<T, false, true, false>;
  else chunk = decay ? &sgd_chunk<T, true, true, true> : &sgd_chunk<T, false, true, true>;
  parallel_for(n, kElementwiseGrain, [&](index_t b, index_t e) {
    chunk(param + b, grad + b, momentum_buffer ? momentum_buffer + b : nullptr, e - b, lr, sign, wd, mu, damp, first);
  }, Schedule::kShared);  // as the other optimizers' for_chunks (parallel.hpp)
}

template void sgd_step<float>(float*, const float*, float*, index_t, const SgdOptions&);
template void sgd_step<double>(double*, const double*, double*, index_t, const SgdOptions&);

}  // namespace eigengrad
