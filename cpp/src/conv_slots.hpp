// Chunks of images shared between threads through a fixed number of slots, for the convolution
// passes that sum over chunks (the lowering in conv.cpp, the direct weight gradient in conv_direct.cpp).
//
// Chunk j belongs to slot j % slots. The slots run in parallel in one parallel region, the work of a
// slot on its thread, each slot with its own scratch and its own partial sum; the sums are added in slot
// order at the end. The slots depend on the shape only, so the bits do not depend on the thread count.
// (One parallel region per unfold / GEMM / copy of every chunk, some 300 per call at the CNN's shapes,
// made a 2-thread run on a busy machine 5-30x slower than 1 thread: every region waited for a
// preempted thread.)
#pragma once
#include <algorithm>
#include <cstddef>
#include <memory>
#include <type_traits>

#include "eigengrad/parallel.hpp"
#include "eigengrad/scratch.hpp"

namespace eigengrad::conv_slots {

constexpr index_t kMaxSlots = 8;

inline index_t count(index_t chunks) { return std::min(kMaxSlots, chunks); }

// An uninitialised buffer of `size` elements (at least one): a slot's scratch, the slots' partial sums. Written
// whole before it is read (a std::vector would zero it first: 5% of a ConvTranspose2d call went to memset);
// large ones are recycled (eigengrad/scratch.hpp).
template <class T>
using Buffer = std::unique_ptr<T[], scratch::Deleter>;

template <class T>
Buffer<T> buffer(index_t size) {
  static_assert(std::is_trivially_default_constructible_v<T> && std::is_trivially_destructible_v<T>);
  scratch::Deleter deleter;
  void* p = scratch::get(static_cast<std::size_t>(std::max<index_t>(size, 1)) * sizeof(T), deleter);
  return Buffer<T>(static_cast<T*>(p), deleter);
}

// Calls chunk(j, slot, scratch, inner_parallel) for every chunk j < chunks, a slot's chunks in
// increasing j; scratch is make_scratch()'s, one per slot. With fewer slots than threads (a small batch)
// the chunks run one after the other, and inner_parallel tells the chunk to share its own work.
template <class MakeScratch, class Chunk>
void run(index_t chunks, MakeScratch&& make_scratch, Chunk&& chunk) {
  const index_t slots = count(chunks);
  if (slots < available_threads()) {
    auto scratch = make_scratch();
    for (index_t j = 0; j < chunks; ++j) chunk(j, j % slots, scratch, true);
    return;
  }
  parallel_for(slots, 1, [&](index_t s0, index_t s1) {
    auto scratch = make_scratch();
    for (index_t s = s0; s < s1; ++s)
      for (index_t j = s; j < chunks; j += slots) chunk(j, s, scratch, false);
  });
}

// out[e] += parts[s * size + e] for e < size, slot s = 0, 1, ... in order.
template <class T>
void add_in_order(const T* parts, index_t slots, index_t size, T* out) {
  for (index_t s = 0; s < slots; ++s)
    for (index_t e = 0; e < size; ++e) out[e] += parts[s * size + e];
}

}  // namespace eigengrad::conv_slots
