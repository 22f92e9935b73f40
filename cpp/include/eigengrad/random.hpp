// Counter-based random numbers: Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as
// 1, 2, 3", SC 2011). Element i of a draw depends only on (seed, offset + i), so a draw is the same
// on any number of threads and a generator's state is just (seed, offset).
#pragma once
#include <array>
#include <cstdint>

#include "eigengrad/parallel.hpp"

namespace eigengrad {

using PhiloxBlock = std::array<std::uint32_t, 4>;

// Ten rounds of Philox4x32 on counter (ctr_lo, ctr_hi) with the 64-bit key seed.
PhiloxBlock philox4x32(std::uint64_t ctr_lo, std::uint64_t ctr_hi, std::uint64_t seed);

// out[i] ~ U[low, high), from block (offset + i). Writes n elements.
template <class T>
void uniform_fill(T* out, index_t n, std::uint64_t seed, std::uint64_t offset, double low, double high);
// out[i] ~ N(mean, std^2) by Box-Muller on block (offset + i). Writes n elements.
template <class T>
void normal_fill(T* out, index_t n, std::uint64_t seed, std::uint64_t offset, double mean, double std);
// A uniformly random permutation of 0..n-1 (Fisher-Yates, step j drawing from block offset + j).
void randperm(std::int64_t* out, index_t n, std::uint64_t seed, std::uint64_t offset);

}  // namespace eigengrad
