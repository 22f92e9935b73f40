// Finiteness test for anomaly detection: does a float array hold only finite values (no NaN, no +-inf)?
//
// An IEEE-754 value is NaN or infinite exactly when its exponent field is all ones. The test works on
// the bits: (bits & exponent_mask) + lowest_exponent_bit carries into the top bit only for an all-ones
// exponent, so a chunk is OR-ed together with integer and/add/or operations, which the compiler
// vectorises (a float comparison with an early exit per element would not vectorise, and must not be
// compiled with -ffast-math, which assumes NaN never occurs). The array is scanned in fixed chunks of
// kFiniteChunk elements; the scan stops after the first chunk that holds a non-finite value (other
// threads stop before their next chunk). The answer does not depend on the thread count.
#pragma once
#include "eigengrad/parallel.hpp"

namespace eigengrad {

constexpr index_t kFiniteChunk = kElementwiseGrain;

// True when every element of x[0 .. n) is finite (also when n == 0). Reads x only.
template <class T>
bool all_finite(const T* x, index_t n);

}  // namespace eigengrad
