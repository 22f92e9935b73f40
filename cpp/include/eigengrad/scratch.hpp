// The kernels' scratch buffers (a convolution's padded images, Winograd's transformed tiles, ...).
//
// A large scratch buffer taken fresh from the OS on every call costs a page fault and a zeroing per 4 KiB
// page on first write: at the ConvTranspose2d benchmark's shape, 13 MB of Winograd scratch took longer to
// fault in than its GEMMs ran. So at import the kernel module takes eigengrad._memory's cache of recycled
// buffers (_C.recycle_scratch() calls set_allocator), the one that already recycles the kernels' output arrays,
// and scratch comes from it and goes back to it; the cache's limit and empty_cache() govern both. Until then,
// scratch is operator new's.
#pragma once
#include <cstddef>

namespace eigengrad::scratch {

// eigengrad._memory's entry points (its "scratch_allocator" capsule holds one of these): get(bytes) returns
// memory for any object type or null; put() takes back what get() returned.
struct Allocator {
  void* (*get)(std::size_t bytes);
  void (*put)(void* p);
};

// Installs a (null: operator new again). Set once at import, before any kernel runs.
void set_allocator(const Allocator* a);

// Frees a buffer through the allocator that made it.
struct Deleter {
  void (*put)(void*) = nullptr;
  void operator()(void* p) const noexcept {
    if (p != nullptr) put(p);
  }
};

// `bytes` of uninitialised memory (at least one byte); throws std::bad_alloc.
void* get(std::size_t bytes, Deleter& deleter);

}  // namespace eigengrad::scratch
