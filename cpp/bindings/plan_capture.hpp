// eg.compile's native executor (bind_plan.cpp) records kernel calls instead of running them. A capturable
// binding checks its arguments, then hands the kernel call to launch(): outside a capture launch runs it
// with the GIL released (as every binding does); inside one it appends it to the plan slot being bound, so
// that the checks run once, when the plan is bound, and a replay runs the stored calls without Python.
//
// A launched call captures raw pointers, sizes and scalars by value, never Python objects or a value read
// from an array at check time (an earlier op of the plan may write that array).
#pragma once
#include <pybind11/pybind11.h>

#include <functional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

namespace eigengrad::bindings {

namespace py = pybind11;

using KernelCall = std::function<void()>;

// The slot a capture on this thread fills, or null outside a capture.
std::vector<KernelCall>*& capture_slot();

template <class F>
void launch(F&& call) {
  if (std::vector<KernelCall>* slot = capture_slot()) {
    slot->emplace_back(std::forward<F>(call));
    return;
  }
  pybind11::gil_scoped_release release;
  call();
}

// The bindings whose every kernel call goes through launch() and whose work is only that call: the ones the
// executor may capture (a binding outside this set would run its kernel at bind time).
std::unordered_set<std::string>& capturable_names();

// Of those, the ones whose checks read the contents of an array (class indices in range): the executor binds
// them again at every replay, so that the checks see that replay's values, as in eager mode.
std::unordered_set<std::string>& value_checked_names();

// m.def, and the name joins capturable_names().
template <class F, class... Extra>
void def_capturable(pybind11::module_& m, const char* name, F&& f, const Extra&... extra) {
  m.def(name, std::forward<F>(f), extra...);
  capturable_names().insert(name);
}

// def_capturable, and the name joins value_checked_names().
template <class F, class... Extra>
void def_value_checked(pybind11::module_& m, const char* name, F&& f, const Extra&... extra) {
  def_capturable(m, name, std::forward<F>(f), extra...);
  value_checked_names().insert(name);
}

}  // namespace eigengrad::bindings
