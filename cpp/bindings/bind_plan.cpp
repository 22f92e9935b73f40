// eg.compile's native executor: a plan's kernel calls, checked and captured once (plan_capture.hpp), run in
// order with the GIL released. Python keeps the order of the plan's other steps (its Python ops, random
// draws) and rebinds a slot whose arguments change between replays.
#include <pybind11/stl.h>

#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "plan_capture.hpp"

namespace eigengrad::bindings {

Capture& capture() {
  thread_local Capture c;
  return c;
}

std::unordered_set<std::string>& capturable_names() {
  static std::unordered_set<std::string> names;
  return names;
}


// This file's own namespace (bindings.cmake: the unity build must not mix two files' helpers).
namespace plan_helpers {
namespace {

class PlanExecutor {
 public:
  explicit PlanExecutor(std::int64_t n) : slots_(checked_size(n)), draws_(slots_.size()), scalars_(slots_.size()) {}

  // Bind slot i: call fn(*args, **kwargs), a capturable binding of this module, with its kernel calls
  // captured into the slot (replacing what the slot held). The binding's checks run now. Returns whether
  // the calls read the slot's draw register (set_draw).
  bool bind(std::size_t i, const py::object& fn, const py::args& args, const py::kwargs& kwargs) {
    check_index(i);
    const std::string name = py::str(fn.attr("__name__"));
    if (!capturable_names().count(name))
      throw py::value_error("fn: " + name + " is not a capturable kernel (see capturable_kernels())");
    std::vector<KernelCall> calls;
    DrawRegister draw = draws_[i];
    ScalarRegister scalars = scalars_[i];
    struct Guard {  // the capture ends however fn returns
      Capture& c;
      ~Guard() { c = Capture{}; }
    } guard{capture()};
    guard.c = Capture{&calls, &draws_[i], &scalars_[i], false};
    try {
      fn(*args, **kwargs);
    } catch (...) {
      draws_[i] = draw;  // a failed bind leaves the slot as it was
      scalars_[i] = std::move(scalars);
      throw;
    }
    slots_[i] = std::move(calls);
    return guard.c.drawn;
  }

  // The draw the next run of slot i uses (its kernel's seed and first counter).
  void set_draw(std::size_t i, std::uint64_t seed, std::uint64_t offset) {
    check_index(i);
    draws_[i] = {seed, offset};
  }

  // The scalar options (name=value) the kernels of slots `slots` use at the next runs; every slot's kernel
  // must have each of them (launch_scalars), and a fixed one must keep its value. Nothing is set unless all are.
  void set_scalars(const std::vector<std::size_t>& slots, const py::kwargs& kwargs) {
    std::vector<std::pair<std::string, double>> given;
    for (const auto& [k, v] : kwargs) given.emplace_back(py::cast<std::string>(k), py::cast<double>(v));
    std::vector<std::pair<double*, double>> writes;
    for (std::size_t i : slots) {
      check_index(i);
      ScalarRegister& r = scalars_[i];
      for (const auto& [name, value] : given) {
        const auto at = std::find(r.names.begin(), r.names.end(), name);
        if (at == r.names.end())
          throw py::value_error("set_scalars: the kernel of slot " + std::to_string(i) + " has no scalar option '" +
                                name + "'");
        const std::size_t k = std::size_t(at - r.names.begin());
        if (r.fixed[k] && !(r.values[k] == value))
          throw py::value_error("set_scalars: '" + name + "' of slot " + std::to_string(i) +
                                " decides which buffers its kernel uses: it was bound as " +
                                std::to_string(r.values[k]) + ", got " + std::to_string(value));
        writes.emplace_back(&r.values[k], value);
      }
    }
    for (auto& [where, value] : writes) *where = value;
  }

  // The scalar options of slot i's kernel as they stand: {name: value}.
  py::dict scalars(std::size_t i) const {
    check_index(i);
    py::dict out;
    const ScalarRegister& r = scalars_[i];
    for (std::size_t k = 0; k < r.names.size(); ++k) out[py::str(r.names[k])] = r.values[k];
    return out;
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
  std::vector<DrawRegister> draws_;  // one per slot, never resized: the captured calls hold their addresses
  std::vector<ScalarRegister> scalars_;  // likewise
};

}  // namespace
}  // namespace plan_helpers

void bind_plan(py::module_& m) {
  using namespace plan_helpers;
  py::class_<PlanExecutor>(m, "PlanExecutor",
                           "eg.compile's native executor: n slots of captured kernel calls, run in order "
                           "without the GIL (compile/plan.py binds and drives it).")
      .def(py::init<std::int64_t>(), py::arg("n"))
      .def("bind", &PlanExecutor::bind, py::arg("i"), py::arg("fn"),
           "Bind slot i to fn(*args, **kwargs), a capturable kernel: its checks run now, its kernel calls at run(). "
           "Returns whether they read the slot's draw register.")
      .def("set_draw", &PlanExecutor::set_draw, py::arg("i"), py::arg("seed"), py::arg("offset"),
           "The random draw (seed, first counter) the kernel of slot i uses at the next runs.")
      .def("set_scalars", &PlanExecutor::set_scalars, py::arg("slots"),
           "Set the scalar options (keyword arguments) the kernels of these slots use at the next runs (an "
           "optimizer's hyperparameters and step count); all or nothing.")
      .def("scalars", &PlanExecutor::scalars, py::arg("i"), "The scalar options of slot i's kernel: {name: value}.")
      .def("run", &PlanExecutor::run, py::arg("start"), py::arg("stop"),
           "Run the kernel calls of slots [start, stop) in order, the GIL released.")
      .def("__len__", &PlanExecutor::size);
  m.def(
      "capturable_kernels",
      [] {
        std::vector<std::string> out(capturable_names().begin(), capturable_names().end());
        std::sort(out.begin(), out.end());
        return out;
      },
      "The names of the bindings PlanExecutor.bind can capture, sorted.");
}

}  // namespace eigengrad::bindings
