// eg.compile's guard (compile/guard.py): probes of the Python objects a compiled step depends on, each with
// what it read when the guard was made. check() reads them again and says which first differs. A replay
// whose guard holds skips the full observation of the modules, optimizers and names the step reads, which
// costs 30-100 us of Python a call (more when the step's kernels have evicted those objects from the caches);
// the probes read the same objects from C in a few microseconds.
#include <pybind11/pybind11.h>

#include <cstddef>
#include <string>
#include <vector>

namespace py = pybind11;

namespace eigengrad::bindings {

// This file's own namespace (bindings.cmake: the unity build must not mix two files' helpers).
namespace guard_helpers {
namespace {

// Where a probe reads: the object itself, its attribute `key`, the dict's item `key`, or the cell's content.
enum class Access : int { kSelf = 0, kAttr = 1, kItem = 2, kCell = 3 };
// What it checks of what it read: the same object; an equal value of the same type; the same items (a dict's
// values, a list's or tuple's elements, identical and in order); the same truth; None or not; for a tuple of
// dicts, whether all hold item `key` with equal values or all lack it (a group's step counts); absent (an
// attribute, item or cell content that was absent when the guard was made must stay absent); the same length.
enum class Test : int { kIs = 0, kEq = 1, kItems = 2, kTruth = 3, kNone = 4, kAgree = 5, kMissing = 6, kLen = 7 };

struct Probe {
  Access access;
  Test test;
  py::object obj, key, expected;  // (strong references: an object the guard holds cannot die and lend its address)
  bool flag = false;              // kTruth, kNone, kAgree: the expected answer
  Py_ssize_t length = 0;          // kLen
};

// An ordinary exception raised while a probe reads (an attribute that is gone, a __eq__ that refuses) means
// "differs": it is cleared. One that is not an Exception (KeyboardInterrupt, SystemExit) propagates.
void clear_ordinary_error() {
  if (PyErr_Occurred() == nullptr) return;
  if (!PyErr_ExceptionMatches(PyExc_Exception)) throw py::error_already_set();
  PyErr_Clear();
}

// What probe p reads now, as a new reference, or an empty object when it is absent (the error cleared).
py::object read(const Probe& p) {
  PyObject* o = p.obj.ptr();
  PyObject* v = nullptr;
  switch (p.access) {
    case Access::kSelf:
      return p.obj;
    case Access::kAttr:
      v = PyObject_GetAttr(o, p.key.ptr());
      if (v == nullptr) clear_ordinary_error();
      return py::reinterpret_steal<py::object>(v);
    case Access::kItem:  // (the dict's own lookup: an OrderedDict's or defaultdict's too, without __missing__)
      v = PyDict_GetItemWithError(o, p.key.ptr());
      if (v == nullptr) clear_ordinary_error();
      return py::reinterpret_borrow<py::object>(v);
    case Access::kCell:
      return py::reinterpret_borrow<py::object>(PyCell_GET(o));
  }
  return py::object();
}

// The items kItems compares: a dict's values or a list's or tuple's elements, as a tuple; empty if neither.
py::object items_of(PyObject* v) {
  if (PyDict_Check(v)) {
    py::tuple out(PyDict_Size(v));
    Py_ssize_t pos = 0, k = 0;
    PyObject *key, *value;
    while (PyDict_Next(v, &pos, &key, &value)) out[k++] = py::reinterpret_borrow<py::object>(value);
    return std::move(out);
  }
  if (PyList_Check(v) || PyTuple_Check(v)) return py::reinterpret_steal<py::object>(PySequence_Tuple(v));
  return py::object();
}

bool same_items(PyObject* v, PyObject* expected) {
  const Py_ssize_t n = PyTuple_GET_SIZE(expected);
  if (PyDict_Check(v)) {
    if (PyDict_Size(v) != n) return false;
    Py_ssize_t pos = 0, k = 0;
    PyObject *key, *value;
    while (PyDict_Next(v, &pos, &key, &value))
      if (value != PyTuple_GET_ITEM(expected, k++)) return false;
    return true;
  }
  if (PyList_Check(v) || PyTuple_Check(v)) {
    if (PySequence_Fast_GET_SIZE(v) != n) return false;
    PyObject** items = PySequence_Fast_ITEMS(v);
    for (Py_ssize_t k = 0; k < n; ++k)
      if (items[k] != PyTuple_GET_ITEM(expected, k)) return false;
    return true;
  }
  return false;
}

// Python's ==, with its identity shortcut; an exception counts as "differs".
bool equal(PyObject* a, PyObject* b) {
  const int r = PyObject_RichCompareBool(a, b, Py_EQ);
  if (r < 0) clear_ordinary_error();
  return r == 1;
}

// Whether the dicts of tuple v all lack item key, or all hold it with values equal to the first's.
bool agree(PyObject* v, PyObject* key) {
  if (!PyTuple_Check(v)) return false;
  py::object first;  // (strong references: an __eq__ below runs Python, which may change the dicts)
  for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(v); ++k) {
    PyObject* d = PyTuple_GET_ITEM(v, k);
    if (!PyDict_Check(d)) return false;
    PyObject* found = PyDict_GetItemWithError(d, key);
    if (found == nullptr && PyErr_Occurred()) {
      clear_ordinary_error();
      return false;
    }
    py::object x = py::reinterpret_borrow<py::object>(found);
    if (k == 0) {
      first = x;
    } else if (bool(x) != bool(first) || (x && !equal(x.ptr(), first.ptr()))) {
      return false;
    }
  }
  return true;
}

int truth(PyObject* v) {
  const int t = PyObject_IsTrue(v);
  if (t < 0) clear_ordinary_error();
  return t;
}

class Guard {
 public:
  // Add a probe of what it reads now: `access` and `test` as the enums above (compile/guard.py names them).
  void add(int access, const py::object& obj, const py::object& key, int test) {
    if (access < 0 || access > 3) throw py::value_error("access: expected 0..3, got " + std::to_string(access));
    if (test < 0 || test > 7) throw py::value_error("test: expected 0..7, got " + std::to_string(test));
    Probe p{Access(access), Test(test), obj, key, py::object()};
    if (p.access == Access::kItem && !PyDict_Check(obj.ptr()))
      throw py::type_error("obj: expected a dict for an item probe, got " + std::string(Py_TYPE(obj.ptr())->tp_name));
    if (p.access == Access::kCell && !PyCell_Check(obj.ptr()))
      throw py::type_error("obj: expected a cell for a cell probe, got " + std::string(Py_TYPE(obj.ptr())->tp_name));
    if (p.test == Test::kAgree && p.access != Access::kSelf)
      throw py::value_error("test: the agree test reads the object itself (access 0)");
    py::object now = read(p);
    if (!now) {
      p.test = Test::kMissing;  // (absent now: must stay absent)
    } else if (p.test == Test::kIs || p.test == Test::kEq) {
      p.expected = now;
    } else if (p.test == Test::kItems) {
      p.expected = items_of(now.ptr());
      if (!p.expected) throw py::type_error("obj: the items test reads a dict, list or tuple");
    } else if (p.test == Test::kTruth) {
      const int t = truth(now.ptr());
      if (t < 0) throw py::type_error("obj: the truth test read a value without a truth value");
      p.flag = t == 1;
    } else if (p.test == Test::kNone) {
      p.flag = now.ptr() == Py_None;
    } else if (p.test == Test::kAgree) {
      p.flag = agree(now.ptr(), key.ptr());
    } else if (p.test == Test::kLen) {
      p.length = PyObject_Length(now.ptr());
      if (p.length < 0) throw py::error_already_set();
    }
    probes_.push_back(std::move(p));
  }

  // The index of the first probe that no longer reads what it read when it was added, or -1 when all hold.
  py::ssize_t check() const {
    for (std::size_t i = 0; i < probes_.size(); ++i)
      if (!holds(probes_[i])) return py::ssize_t(i);
    return -1;
  }

  std::size_t size() const { return probes_.size(); }

  // The garbage collector's view of the references the guard holds: a step kept on the object it reads
  // (`self.fn = eg.compile(self.step)`) makes a cycle through the guard, which must be collectable.
  int traverse(visitproc visit, void* arg) const {
    for (const Probe& p : probes_) {
      Py_VISIT(p.obj.ptr());
      Py_VISIT(p.key.ptr());
      Py_VISIT(p.expected.ptr());
    }
    return 0;
  }
  void clear() { probes_.clear(); }

 private:
  static bool holds(const Probe& p) {
    py::object v = read(p);
    if (p.test == Test::kMissing) return !v;
    if (!v) return false;
    PyObject* x = v.ptr();
    switch (p.test) {
      case Test::kIs:
        return x == p.expected.ptr();
      case Test::kEq:
        return Py_TYPE(x) == Py_TYPE(p.expected.ptr()) && equal(x, p.expected.ptr());
      case Test::kItems:
        return same_items(x, p.expected.ptr());
      case Test::kTruth:
        return truth(x) == int(p.flag);
      case Test::kNone:
        return (x == Py_None) == p.flag;
      case Test::kAgree:
        return agree(x, p.key.ptr()) == p.flag;
      case Test::kLen: {
        const Py_ssize_t n = PyObject_Length(x);
        if (n < 0) clear_ordinary_error();
        return n == p.length;
      }
      case Test::kMissing:
        break;
    }
    return false;
  }

  std::vector<Probe> probes_;
};

}  // namespace
}  // namespace guard_helpers

void bind_guard(py::module_& m) {
  using namespace guard_helpers;
  py::class_<Guard>(m, "Guard",
                    "eg.compile's guard: probes of Python objects (an attribute, a dict's item, a cell's content, "
                    "or the object itself), each with what it read when added; check() reads them again.",
                    py::custom_type_setup([](PyHeapTypeObject* heap_type) {  // (pybind11's documented recipe)
                      PyTypeObject* type = &heap_type->ht_type;
                      type->tp_flags |= Py_TPFLAGS_HAVE_GC;
                      type->tp_traverse = [](PyObject* self, visitproc visit, void* arg) {
                        Py_VISIT(Py_TYPE(self));
                        if (!py::detail::is_holder_constructed(self)) return 0;
                        return py::cast<const Guard&>(py::handle(self)).traverse(visit, arg);
                      };
                      type->tp_clear = [](PyObject* self) {
                        if (py::detail::is_holder_constructed(self)) py::cast<Guard&>(py::handle(self)).clear();
                        return 0;
                      };
                    }))
      .def(py::init<>())
      .def("add", &Guard::add, py::arg("access"), py::arg("obj"), py::arg("key"), py::arg("test"),
           "Add a probe of what it reads now. access: 0 the object, 1 its attribute key, 2 the dict's item key, "
           "3 the cell's content; test: 0 the same object, 1 an equal value of the same type, 2 the same items "
           "(a dict's values, a sequence's elements), 3 the same truth, 4 None or not, 5 a tuple of dicts whose "
           "item key all agree (or all lack it), 6 absent, 7 the same length. A read that is absent now must "
           "stay absent.")
      .def("check", &Guard::check,
           "The index of the first probe that reads something else now, or -1 when every probe holds.")
      .def("__len__", &Guard::size);
}

}  // namespace eigengrad::bindings
