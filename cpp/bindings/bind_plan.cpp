// eg.compile's native executor: a plan's kernel calls, checked and captured once (plan_capture.hpp), run in
// order with the GIL released. Python keeps the order of the plan's other steps (its Python ops, random
// draws) and rebinds a slot whose arguments change between replays.
#include <pybind11/stl.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "plan_capture.hpp"

namespace eigengrad::bindings {

std::vector<KernelCall>*& capture_slot() {
  thread_local std::vector<KernelCall>* slot = nullptr;
  return slot;
}

std::unordered_set<std::string>& capturable_names() {
  static std::unordered_set<std::string> names;
  return names;
}

std::unordered_set<std::string>& value_checked_names() {
  static std::unordered_set<std::string> names;
  return names;
}

namespace {

class PlanExecutor {
 public:
  explicit PlanExecutor(std::int64_t n) : slots_(checked_size(n)) {}

  // Bind slot i: call fn(*args, **kwargs), a capturable binding of this module, with its kernel calls
  // captured into the slot (replacing what the slot held). The binding's checks run now.
  void bind(std::size_t i, const py::object& fn, const py::args& args, const py::kwargs& kwargs) {
    check_index(i);
    const std::string name = py::str(fn.attr("__name__"));
    if (!capturable_names().count(name))
      throw py::value_error("fn: " + name + " is not a capturable kernel (see capturable_kernels())");
    std::vector<KernelCall> calls;
    struct Guard {  // the capture ends however fn returns
      std::vector<KernelCall>*& slot;
      ~Guard() { slot = nullptr; }
    } guard{capture_slot()};
    guard.slot = &calls;
    fn(*args, **kwargs);
    slots_[i] = std::move(calls);
  }

  // Run slots [start, stop) in order, without the GIL.
  void run(std::size_t start, std::size_t stop) {
    if (start > stop || stop > slots_.size())
      throw py::value_error("run: expected 0 <= start <= stop <= " + std::to_string(slots_.size()) + ", got " +
                            std::to_string(start) + ", " + std::to_string(stop));
    py::gil_scoped_release release;
    for (std::size_t i = start; i < stop; ++i)
      for (const KernelCall& call : slots_[i]) call();
  }

  std::size_t size() const { return slots_.size(); }

 private:
  static constexpr std::int64_t kMaxSlots = std::int64_t(1) << 24;
  static std::size_t checked_size(std::int64_t n) {
    if (n < 0 || n > kMaxSlots)
      throw py::value_error("n: expected a number of plan ops in [0, " + std::to_string(kMaxSlots) + "], got " +
                            std::to_string(n));
    return std::size_t(n);
  }
  void check_index(std::size_t i) const {
    if (i >= slots_.size())
      throw py::index_error("i: expected a slot below " + std::to_string(slots_.size()) + ", got " +
                            std::to_string(i));
  }
  std::vector<std::vector<KernelCall>> slots_;
};

}  // namespace

void bind_plan(py::module_& m) {
  py::class_<PlanExecutor>(m, "PlanExecutor",
                           "eg.compile's native executor: n slots of captured kernel calls, run in order "
                           "without the GIL (compile/plan.py binds and drives it).")
      .def(py::init<std::int64_t>(), py::arg("n"))
      .def("bind", &PlanExecutor::bind, py::arg("i"), py::arg("fn"),
           "Bind slot i to fn(*args, **kwargs), a capturable kernel: its checks run now, its kernel calls at run().")
      .def("run", &PlanExecutor::run, py::arg("start"), py::arg("stop"),
           "Run the kernel calls of slots [start, stop) in order, the GIL released.")
      .def("__len__", &PlanExecutor::size);
  m.def(
      "capturable_kernels",
      [] {
        std::map<std::string, bool> out;
        for (const std::string& name : capturable_names()) out[name] = value_checked_names().count(name) > 0;
        return out;
      },
      "{name: rebind at every replay} of the bindings PlanExecutor.bind can capture (True: its checks read "
      "array contents).");
}

}  // namespace eigengrad::bindings
