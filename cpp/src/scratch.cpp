// The kernels' scratch allocator (eigengrad/scratch.hpp).
#include "eigengrad/scratch.hpp"

#include <atomic>
#include <new>

namespace eigengrad::scratch {
namespace {

void* new_get(std::size_t bytes) { return ::operator new(bytes, std::nothrow); }
void new_put(void* p) { ::operator delete(p); }

const Allocator kNew = {new_get, new_put};
std::atomic<const Allocator*> current{&kNew};

}  // namespace

void set_allocator(const Allocator* a) { current.store(a != nullptr ? a : &kNew); }

void* get(std::size_t bytes, Deleter& deleter) {
  const Allocator* a = current.load();
  void* p = a->get(bytes > 0 ? bytes : 1);
  if (p == nullptr) throw std::bad_alloc();
  deleter.put = a->put;
  return p;
}

}  // namespace eigengrad::scratch
