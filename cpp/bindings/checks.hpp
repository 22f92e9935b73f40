// Argument checks shared by the bindings: every binding checks, then releases the GIL, then calls one
// kernel. Errors name the argument, what it got and what was expected.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace eigengrad::bindings {

namespace py = pybind11;
using index_t = std::int64_t;

std::string shape_str(const py::array& a);
std::string dtype_str(const py::array& a);

// A float32 or float64 array, the dtype of which selects the kernel instantiation.
bool is_float32(const py::array& a);
void check_float(const py::array& a, const char* name);
void check_dtype_as(const py::array& a, const char* name, const py::array& like, const char* like_name);
void check_int64(const py::array& a, const char* name);
// C-contiguous and aligned (every element at a multiple of its size).
void check_contiguous(const py::array& a, const char* name);
// A dropout mask: uint8, C-contiguous (writeable when the kernel writes it).
void check_mask(const py::array& mask, const char* name, bool writeable);
// A Bernoulli draw's keep threshold: 0 <= threshold <= 2^32.
void check_threshold(std::uint64_t threshold);
void check_writeable(const py::array& a, const char* name);
void check_ndim(const py::array& a, const char* name, int ndim);
void check_shape(const py::array& a, const char* name, const std::vector<index_t>& shape);
void check_same_shape(const py::array& a, const char* name, const py::array& like, const char* like_name);
// An array argument and its name, for the overlap rule (a null array, an absent optional, is skipped).
struct Named {
  const py::array* array;
  const char* name;
};
// An output that may be exactly the named input (same memory, shape and strides): the kernel supports
// working in place there.
struct InPlace {
  const char* output;
  const char* input;
};

// The overlap rule of every binding: no output shares any byte with an input or with another output,
// except an output that is exactly one of its InPlace inputs. Partial overlap is always refused (a
// kernel would read what it already wrote). Inputs may overlap each other. ValueError names both.
void check_overlaps(const std::vector<Named>& outputs, const std::vector<Named>& inputs,
                    const std::vector<InPlace>& in_place = {});

// A float input: float dtype, C-contiguous.
inline void check_input(const py::array& a, const char* name) {
  check_float(a, name);
  check_contiguous(a, name);
}
// A float output or in-place buffer: float dtype, C-contiguous, writeable.
inline void check_output(const py::array& a, const char* name) {
  check_input(a, name);
  check_writeable(a, name);
}

// The arguments of an elementwise forward: x and out (writeable, like x; it may be x itself, in place).
void check_elementwise_forward(const py::array& x, const py::array& out);

// The arguments of an elementwise backward: grad_out, a saved array `saved` of the same dtype and
// shape, and grad_in (writeable, like grad_out; it may be grad_out or saved itself, in place).
void check_elementwise_backward(const py::array& grad_out, const py::array& saved, const char* saved_name,
                                const py::array& grad_in);

// An array of like's dtype and the given shape: an input (float, C-contiguous), or an output (also writeable).
void check_like(const py::array& a, const char* name, const py::array& like, const char* like_name,
                const std::vector<index_t>& shape, bool out = false);

template <class T>
const T* cptr(const py::array& a) { return static_cast<const T*>(a.data()); }
template <class T>
T* mptr(py::array& a) { return static_cast<T*>(a.mutable_data()); }

// The class indices of a loss, checked when its kernel runs (eg.compile's executor binds the kernel once and
// runs it at every replay, after the plan wrote or the caller passed new targets): each in [0, c) or equal
// to ignore_index, else ValueError naming the first one out of range. t null: nothing to check.
// An argument's values index out of range (a class index): Python's eigengrad._errors.ArgumentIndexError
// (an IndexError, ValueError and RuntimeError), the class eager mode's frontend raises before the kernel,
// so that a compiled step's replay, where only the kernel's check runs, raises the same.
struct IndexArgumentError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// Registers the translation above (module.cpp, once).
void register_error_translators();

struct TargetCheck {
  const std::int64_t* t = nullptr;
  index_t n = 0, c = 0;
  std::int64_t ignore_index = 0;
  void operator()() const;
};
// target: int64 (n,), C-contiguous; returns the check of its values, for the launched call to run first.
TargetCheck check_targets(const py::array& target, index_t n, index_t c, std::int64_t ignore_index);

// An optional array argument: None, or an array (checked by the caller).
std::optional<py::array> optional_array(const py::object& o, const char* name);
template <class T>
const T* opt_cptr(const std::optional<py::array>& a) { return a ? cptr<T>(*a) : nullptr; }
template <class T>
T* opt_mptr(std::optional<py::array>& a) { return a ? mptr<T>(*a) : nullptr; }
inline const py::array* opt_addr(const std::optional<py::array>& a) { return a ? &*a : nullptr; }

// f(T{}) with T the element type of a float array (float32: float, float64: double).
template <class F>
void dispatch_float(const py::array& a, F&& f) {
  if (is_float32(a)) f(float{});
  else f(double{});
}

// kernel(in's data as const T*, out's as T*) with the GIL released, T the dtype of in (the caller has
// checked that out shares it).
template <class Kernel>
void run_in_out(const py::array& in, py::array& out, Kernel&& kernel) {
  dispatch_float(in, [&](auto tag) {
    using T = decltype(tag);
    const T* ip = cptr<T>(in);
    T* op = mptr<T>(out);
    py::gil_scoped_release release;
    kernel(ip, op);
  });
}

}  // namespace eigengrad::bindings
