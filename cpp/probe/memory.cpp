// eigengrad._memory: NumPy arrays whose large buffers are recycled instead of returned to the OS.
//
// Why: a training step allocates the same large arrays every step (activations, their gradients, the GEMM
// outputs). glibc serves each from fresh pages (an mmap, or heap top it trims after the step frees it), and
// every 4 KiB page then costs a page fault and a zeroing on first write: at batch 1024 the 784-512-256-10
// MLP step took ~2,300 faults and ~2.5 ms of its 16 ms for them. This module keeps the freed buffers of
// kRecycleBytes or more and hands them back for the next array of the same rounded size.
//
// How: empty() allocates through a NumPy memory handler (NEP 49) that it installs only for that one call
// (PyDataMem_SetHandler is a context variable, restored before returning), so the user's own NumPy arrays
// never see it. The array owns its buffer like any other (flags.owndata, base None); NumPy records the
// handler in the array and calls its free when the array dies, which puts the buffer in the cache.
//
// The cache holds at most limit() bytes of free buffers; above it the least recently freed go back to the
// OS. empty_cache() frees every cached buffer. Compiled for the baseline target like _cpuinfo: no kernels.
//
// The kernels' scratch buffers come from the same cache: the module's scratch_allocator capsule holds its
// get/put (eigengrad/scratch.hpp's Allocator), which the package hands to the kernel module at import.
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define NPY_NO_DEPRECATED_API NPY_1_23_API_VERSION
#define NPY_TARGET_VERSION NPY_1_23_API_VERSION  // pyproject: numpy>=1.23 at run time
#include <numpy/arrayobject.h>

#include <cstdlib>
#include <cstring>
#ifdef _WIN32
#include <malloc.h>
#else
#include <pthread.h>
#endif
#include <atomic>
#include <list>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "eigengrad/scratch.hpp"

namespace {

constexpr std::size_t kRecycleBytes = std::size_t(1) << 18;  // below this, malloc's own free lists do well
constexpr std::size_t kRound = 4096;                          // sizes are cached by page
constexpr std::size_t kAlign = 64;                            // a cache line: the kernels' vector loads

// Where each new buffer starts in its page: the next of the 64 cache-line offsets, in a stride coprime with 64.
// glibc serves every large allocation from an mmap of its own, so each would start at the same offset of a
// page, and a kernel that streams several such buffers at once (the optimizer's flat parameters, gradients
// and moments; a GEMM's operands and output) would meet 4 KiB aliasing at every element (a load that looks
// like it depends on a store to another buffer). Measured on Zen 4: the compiled MLP step of issue 19 took
// 1.10-1.43x longer at batch 32 for the first model of a process (its buffers all at offset 16) than for a
// later one (whose buffers the heap had placed at scattered offsets).
constexpr std::size_t kPage = 4096;
std::size_t next_colour() {
  static std::atomic<std::size_t> n{0};
  return (n.fetch_add(1, std::memory_order_relaxed) * 17 % (kPage / kAlign)) * kAlign;
}

// The cache's own buffers: a page-aligned block a page longer than `size`, and the buffer at the next colour
// in it; `base` gets the block (what aligned_release frees). MSVC has no std::aligned_alloc.
void* aligned_get(std::size_t size, void** base) {
#ifdef _WIN32
  void* block = _aligned_malloc(size + kPage, kPage);
#else
  void* block = std::aligned_alloc(kPage, size + kPage);
#endif
  *base = block;
  return block == nullptr ? nullptr : static_cast<char*>(block) + next_colour();
}
void aligned_release(void* base) {
#ifdef _WIN32
  _aligned_free(base);
#else
  std::free(base);
#endif
}

struct Block {
  std::size_t size;  // rounded
  void* ptr;         // the buffer handed out
  void* base;        // the allocation that holds it
};

struct Cache {
  std::mutex lock;
  std::size_t limit = std::size_t(512) << 20;  // bytes of free buffers kept (backends.cpu.set_cache_limit)
  std::size_t cached = 0;                    // bytes of free buffers now kept
  std::size_t hits = 0, misses = 0;
  std::unordered_map<void*, Block> live;  // buffers handed out, by address
  // free buffers, most recently freed first; by_size points into it
  std::list<Block> lru;
  std::unordered_multimap<std::size_t, std::list<Block>::iterator> by_size;

  void drop_oldest_until(std::size_t target) {  // lock held
    while (cached > target && !lru.empty()) {
      const Block b = lru.back();
      auto range = by_size.equal_range(b.size);
      for (auto it = range.first; it != range.second; ++it)
        if (it->second->ptr == b.ptr) {
          by_size.erase(it);
          break;
        }
      lru.pop_back();
      cached -= b.size;
      aligned_release(b.base);
    }
  }
};

Cache& cache() {
  static Cache* c = new Cache();  // never destroyed: arrays may outlive the module at interpreter exit
  return *c;
}

#ifndef _WIN32
// A fork holds the lock across itself, so the child never inherits it taken: the kernels take scratch from
// the cache on their own threads, without the GIL, while another Python thread may fork (a DataLoader).
void lock_for_fork() { cache().lock.lock(); }
void unlock_after_fork() { cache().lock.unlock(); }
#endif

std::size_t rounded(std::size_t size) { return (size + kRound - 1) / kRound * kRound; }

void* cache_malloc(void*, std::size_t size) {
  if (size < kRecycleBytes) return std::malloc(size);
  const std::size_t r = rounded(size);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> g(c.lock);
    auto it = c.by_size.find(r);
    if (it != c.by_size.end()) {
      const Block b = *it->second;
      c.lru.erase(it->second);
      c.by_size.erase(it);
      c.cached -= r;
      c.live.emplace(b.ptr, b);
      ++c.hits;
      return b.ptr;
    }
    ++c.misses;
  }
  void* base = nullptr;
  void* p = aligned_get(r, &base);
  if (p == nullptr) return nullptr;
  std::lock_guard<std::mutex> g(c.lock);
  c.live.emplace(p, Block{r, p, base});
  return p;
}

void cache_free(void*, void* ptr, std::size_t) {
  if (ptr == nullptr) return;
  Cache& c = cache();
  std::lock_guard<std::mutex> g(c.lock);
  auto it = c.live.find(ptr);
  if (it == c.live.end()) return std::free(ptr);  // a small buffer: malloc's
  const Block b = it->second;
  c.live.erase(it);
  if (b.size > c.limit) return aligned_release(b.base);
  c.drop_oldest_until(c.limit - b.size);
  c.lru.push_front(b);
  c.by_size.emplace(b.size, c.lru.begin());
  c.cached += b.size;
}

void* cache_calloc(void* ctx, std::size_t n, std::size_t size) {
  if (size != 0 && n > SIZE_MAX / size) return nullptr;
  void* p = cache_malloc(ctx, n * size);
  if (p != nullptr) std::memset(p, 0, n * size);
  return p;
}

void* cache_realloc(void* ctx, void* ptr, std::size_t size) {
  if (ptr == nullptr) return cache_malloc(ctx, size);
  std::size_t old = 0;
  {
    Cache& c = cache();
    std::lock_guard<std::mutex> g(c.lock);
    auto it = c.live.find(ptr);
    if (it == c.live.end()) return std::realloc(ptr, size);  // malloc's, and stays malloc's
    old = it->second.size;
  }
  if (size <= old && size >= kRecycleBytes) return ptr;
  void* p = cache_malloc(ctx, size);
  if (p == nullptr) return nullptr;
  std::memcpy(p, ptr, old < size ? old : size);
  cache_free(ctx, ptr, old);
  return p;
}

void* scratch_get(std::size_t size) { return cache_malloc(nullptr, size); }
void scratch_put(void* p) { cache_free(nullptr, p, 0); }
eigengrad::scratch::Allocator scratch_allocator = {scratch_get, scratch_put};

PyDataMem_Handler handler = {
    "eigengrad_recycling",
    1,
    {nullptr, cache_malloc, cache_calloc, cache_realloc, cache_free},
};

PyObject* handler_capsule = nullptr;

// Whether an array of this shape and dtype is large enough to be recycled (an overflowing size is left to
// NumPy's own error).
bool recycled(const PyArray_Dims& dims, PyArray_Descr* descr) {
  std::size_t n = static_cast<std::size_t>(PyDataType_ELSIZE(descr));
  for (int i = 0; i < dims.len; ++i) {
    if (dims.ptr[i] < 0) return true;
    const std::size_t d = static_cast<std::size_t>(dims.ptr[i]);
    if (d != 0 && n > SIZE_MAX / d) return true;
    n *= d;
  }
  return n >= kRecycleBytes;
}

// empty(shape, dtype=None): like numpy.empty(shape, dtype) (C order), its buffer from the cache when large.
PyObject* empty(PyObject*, PyObject* args, PyObject* kwargs) {
  static const char* names[] = {"shape", "dtype", nullptr};
  PyObject *shape_obj, *dtype_obj = Py_None;  // None: float64, as numpy.empty
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O:empty", const_cast<char**>(names), &shape_obj, &dtype_obj))
    return nullptr;
  PyArray_Dims dims = {nullptr, 0};
  if (!PyArray_IntpConverter(shape_obj, &dims)) return nullptr;
  PyArray_Descr* descr = nullptr;
  if (!PyArray_DescrConverter(dtype_obj, &descr)) {
    PyDimMem_FREE(dims.ptr);
    return nullptr;
  }
  if (!recycled(dims, descr)) {  // no handler switch: two context-variable sets cost more than a small malloc
    PyObject* out = PyArray_Empty(dims.len, dims.ptr, descr, 0);  // steals descr
    PyDimMem_FREE(dims.ptr);
    return out;
  }
  PyObject* previous = PyDataMem_SetHandler(handler_capsule);
  if (previous == nullptr) {
    Py_DECREF(descr);
    PyDimMem_FREE(dims.ptr);
    return nullptr;
  }
  PyObject* out = PyArray_Empty(dims.len, dims.ptr, descr, 0);  // steals descr
  PyDimMem_FREE(dims.ptr);
  PyObject* restored = PyDataMem_SetHandler(previous);
  Py_DECREF(previous);
  if (restored == nullptr) {
    Py_XDECREF(out);
    return nullptr;
  }
  Py_DECREF(restored);
  return out;
}

PyObject* empty_cache(PyObject*, PyObject*) {
  Cache& c = cache();
  std::lock_guard<std::mutex> g(c.lock);
  c.drop_oldest_until(0);
  Py_RETURN_NONE;
}

PyObject* set_limit(PyObject*, PyObject* arg) {
  const unsigned long long v = PyLong_AsUnsignedLongLong(arg);
  if (v == static_cast<unsigned long long>(-1) && PyErr_Occurred()) return nullptr;
  Cache& c = cache();
  std::lock_guard<std::mutex> g(c.lock);
  c.limit = static_cast<std::size_t>(v);
  c.drop_oldest_until(c.limit);
  Py_RETURN_NONE;
}

PyObject* stats(PyObject*, PyObject*) {
  Cache& c = cache();
  std::lock_guard<std::mutex> g(c.lock);
  return Py_BuildValue("{s:K,s:K,s:K,s:K,s:K,s:K}", "cached_bytes", (unsigned long long)c.cached,
                       "cached_buffers", (unsigned long long)c.lru.size(), "live_buffers",
                       (unsigned long long)c.live.size(), "limit_bytes", (unsigned long long)c.limit, "hits",
                       (unsigned long long)c.hits, "misses", (unsigned long long)c.misses);
}

PyMethodDef methods[] = {
    {"empty", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(empty)), METH_VARARGS | METH_KEYWORDS,
     "empty(shape, dtype=float64): numpy.empty in C order, a large buffer recycled."},
    {"empty_cache", empty_cache, METH_NOARGS, "Return every cached free buffer to the OS."},
    {"set_limit", set_limit, METH_O, "set_limit(nbytes): keep at most nbytes of free buffers."},
    {"stats", stats, METH_NOARGS, "The cache's counters."},
    {nullptr, nullptr, 0, nullptr},
};

PyModuleDef module = {PyModuleDef_HEAD_INIT, "_memory", "Recycled buffers for eigengrad's large arrays.", -1,
                      methods};

}  // namespace

PyMODINIT_FUNC PyInit__memory() {
  import_array();
  handler_capsule = PyCapsule_New(&handler, "mem_handler", nullptr);
  if (handler_capsule == nullptr) return nullptr;
#ifndef _WIN32
  pthread_atfork(lock_for_fork, unlock_after_fork, unlock_after_fork);
#endif
  PyObject* m = PyModule_Create(&module);
  if (m == nullptr) return nullptr;
  PyObject* scratch = PyCapsule_New(&scratch_allocator, "eigengrad.scratch_allocator", nullptr);
  if (scratch == nullptr || PyModule_AddObject(m, "scratch_allocator", scratch) < 0) {
    Py_XDECREF(scratch);
    Py_DECREF(m);
    return nullptr;
  }
  return m;
}
