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

// Runs chunk(begin, end) over [0, n) in parallel with the elementwise grain.
template <class Chunk>
void for_chunks(index_t n, Chunk&& chunk) {
  parallel_for(n, kElementwiseGrain, std::forward<Chunk>(chunk));
}

}  // namespace eigengrad::optim_detail
