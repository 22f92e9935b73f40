#include "eigengrad/finite.hpp"

#include <atomic>
#include <cstdint>
#include <cstring>

namespace eigengrad {
namespace {

// The bit layout of T: the exponent field, its lowest bit, and the top (sign) bit that the carry reaches.
template <class T>
struct Bits;
template <>
struct Bits<float> {
  using U = std::uint32_t;
  static constexpr U exponent = 0x7f800000u, exponent_lsb = 0x00800000u, top = 0x80000000u;
};
template <>
struct Bits<double> {
  using U = std::uint64_t;
  static constexpr U exponent = 0x7ff0000000000000ull, exponent_lsb = 0x0010000000000000ull,
                     top = 0x8000000000000000ull;
};

// True when x[0 .. len) holds a NaN or an infinity: (e & exponent) + exponent_lsb sets the top bit only
// when the exponent field e is all ones. A branch-free OR over the chunk (memcpy is the aliasing-safe
// load of the bits; it compiles to a plain vector load).
template <class T>
bool has_nonfinite(const T* x, index_t len) {
  using B = Bits<T>;
  using U = typename B::U;
  U acc = 0;
  for (index_t i = 0; i < len; ++i) {
    U bits;
    std::memcpy(&bits, x + i, sizeof(U));
    acc |= (bits & B::exponent) + B::exponent_lsb;
  }
  return (acc & B::top) != 0;
}

}  // namespace

template <class T>
bool all_finite(const T* x, index_t n) {
  std::atomic<bool> found{false};
  parallel_for(n, kFiniteChunk, [&](index_t b, index_t e) {
    if (found.load(std::memory_order_relaxed)) return;  // early exit: a chunk already failed
    if (has_nonfinite(x + b, e - b)) found.store(true, std::memory_order_relaxed);
  });
  return !found.load(std::memory_order_relaxed);
}

template bool all_finite<float>(const float*, index_t);
template bool all_finite<double>(const double*, index_t);

}  // namespace eigengrad
