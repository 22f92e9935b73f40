// eg.compile's native executor (bind_plan.cpp) records kernel calls instead of running them. A capturable
// binding checks its arguments, then hands the kernel call to launch(): outside a capture launch runs it
// with the GIL released (as every binding does); inside one it appends it to the plan slot being bound, so
// that the checks run once, when the plan is bound, and a replay runs the stored calls without Python.
//
// A launched call captures raw pointers, sizes and scalars by value, never Python objects or a value read
// from an array at check time (an earlier op of the plan may write that array): checks of array contents
// (class indices in range) run inside the launched call, before the kernel.
#pragma once
#include <pybind11/pybind11.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

namespace eigengrad::bindings {

namespace py = pybind11;

using KernelCall = std::function<void()>;

// A random draw's Philox key and first counter, as a plan slot holds them between replays.
struct DrawRegister {
  std::uint64_t seed, offset;
};

// Scalar options a captured call reads when it runs (an optimizer's learning rate, betas and step count: a
// scheduler or the user changes them between replays, and the executor sets them at every one,
// PlanExecutor.set_scalars). A fixed scalar decides which buffers the call uses (AMSGrad's maximum, SGD's
// momentum buffer when it has none): it can only be set to the value it was bound with.
struct ScalarRegister {
  std::vector<std::string> names;
  std::vector<double> values;
  std::vector<bool> fixed;
};

// One named scalar of launch_scalars().
struct Scalar {
  const char* name;
  double value;
  bool fixed = false;
};

// What a capture on this thread fills: the slot's calls (null outside a capture), its draw register and its
// scalar register.
struct Capture {
  std::vector<KernelCall>* calls = nullptr;
  DrawRegister* draw = nullptr;
  ScalarRegister* scalars = nullptr;
  bool drawn = false;  // a launch_drawn() call was captured
};
Capture& capture();

template <class F>
void launch(F&& call) {
  if (std::vector<KernelCall>* calls = capture().calls) {
    calls->emplace_back(std::forward<F>(call));
    return;
  }
  pybind11::gil_scoped_release release;
  call();
}

// A kernel that uses a random draw: call(seed, offset). A captured one reads the slot's draw register when it
// runs (the executor sets it at every replay, as the generator advances; it starts at this seed and offset).
template <class F>
void launch_drawn(std::uint64_t seed, std::uint64_t offset, F&& call) {
  Capture& c = capture();
  if (c.calls) {
    DrawRegister* d = c.draw;
    *d = {seed, offset};
    c.drawn = true;
    c.calls->emplace_back([d, call = std::forward<F>(call)] { call(d->seed, d->offset); });
    return;
  }
  pybind11::gil_scoped_release release;
  call(seed, offset);
}

// A kernel whose scalar options may change between replays: call(s) with s[i] the value of scalars[i]. A
// captured one reads the slot's scalar register when it runs (it starts at these values).
template <class F>
void launch_scalars(std::initializer_list<Scalar> scalars, F&& call) {
  std::vector<double> values;
  for (const Scalar& s : scalars) values.push_back(s.value);
  Capture& c = capture();
  if (c.calls) {
    ScalarRegister* r = c.scalars;
    r->names.clear();
    r->fixed.clear();
    for (const Scalar& s : scalars) r->names.emplace_back(s.name), r->fixed.push_back(s.fixed);
    r->values = std::move(values);
    c.calls->emplace_back([r, call = std::forward<F>(call)] { call(r->values.data()); });
    return;
  }
  pybind11::gil_scoped_release release;
  call(values.data());
}

// The bindings whose every kernel call goes through launch() and whose work is only that call: the ones the
// executor may capture (a binding outside this set would run its kernel at bind time).
std::unordered_set<std::string>& capturable_names();

// m.def, and the name joins capturable_names().
template <class F, class... Extra>
void def_capturable(pybind11::module_& m, const char* name, F&& f, const Extra&... extra) {
  m.def(name, std::forward<F>(f), extra...);
  capturable_names().insert(name);
}


}  // namespace eigengrad::bindings
