// Pieces shared by the update-rule kernels (private to cpp/src).
#pragma once
#include <type_traits>
#include <utility>

#include "eigengrad/parallel.hpp"

namespace eigengrad::optim_detail {

// Calls f(std::true_type{}) or f(std::false_type{}): a runtime option becomes a compile-time one, so
// each variant of an update rule is a branch-free loop the compiler vectorises, chosen once per call.
template <class F>
void with_bool(bool b, F&& f) {
  if (b) std::forward<F>(f)(std::true_type{});
  else std::forward<F>(f)(std::false_type{});
}

// How weight decay enters a rule: not at all, as L2 in the gradient, or decoupled (AdamW).
enum class Decay { none, l2, decoupled };

template <class F>
void with_decay(double weight_decay, bool decoupled, F&& f) {
  if (weight_decay == 0.0) std::forward<F>(f)(std::integral_constant<Decay, Decay::none>{});
  else if (decoupled) std::forward<F>(f)(std::integral_constant<Decay, Decay::decoupled>{});
  else std::forward<F>(f)(std::integral_constant<Decay, Decay::l2>{});
}

// torch.lerp(a, b, w) = a + w (b - a) for |w| < 0.5, else b - (b - a)(1 - w): the form is chosen per
// call (kSmall), and one_minus_w is 1 - w, rounded once.
template <bool kSmall, class T>
inline T lerp(T a, T b, T w, T one_minus_w) {
  if constexpr (kSmall) return a + w * (b - a);
  else return b - (b - a) * one_minus_w;
}

// The first half of Adam's family (Adam/AdamW, NAdam, RAdam) for one element, in torch.optim's order:
// g = sign g; p = p (1 - lr wd) [decoupled] or g = g + wd p [L2]; m = lerp(m, g, 1 - beta1);
// v = beta2 v + (1 - beta2) g g. Updates p, g, m and v (the caller's registers) in place.
template <class T>
struct MomentScalars {
  T sign, wd, decay_factor, w1, one_minus_w1, beta2, w2;
};

template <Decay kDecay, bool kSmallW, class T>
inline void adam_moments(T& p, T& g, T& m, T& v, const MomentScalars<T>& s) {
  g = s.sign * g;
  if constexpr (kDecay == Decay::decoupled) p = p * s.decay_factor;
  if constexpr (kDecay == Decay::l2) g = g + s.wd * p;
  m = lerp<kSmallW>(m, g, s.w1, s.one_minus_w1);
  v = v * s.beta2 + s.w2 * g * g;
}

// The moment scalars of one call, rounded to T once (as PyTorch passes Python floats to T kernels).
template <class T>
MomentScalars<T> moment_scalars(double lr, double beta1, double beta2, double weight_decay, bool maximize) {
  const T w1 = T(1.0 - beta1);
  return {T(maximize ? -1 : 1), T(weight_decay), T(1.0 - lr * weight_decay), w1, T(1) - w1, T(beta2),
          T(1.0 - beta2)};
}

// Runs chunk(begin, end) over [0, n) in parallel with the elementwise grain, chunks shared one at a time
// (parallel.hpp, Schedule::kShared: the steps over the flat buffer measured faster so).
template <class Chunk>
void for_chunks(index_t n, Chunk&& chunk) {
  parallel_for(n, kElementwiseGrain, std::forward<Chunk>(chunk), Schedule::kShared);
}

}  // namespace eigengrad::optim_detail
