// Embedding kernels: lookups, their gradient, max_norm renormalisation and EmbeddingBag.
// weight (num, dim) float32/float64; indices 1-D int64 or int32 (the Python layer flattens them); bags
// as starts (bags + 1) int64. Every index is checked against [0, num) before a kernel reads the table:
// an index outside raises IndexError naming it, its position and the range.
#include <string>

#include "checks.hpp"
#include "eigengrad/embedding.hpp"
#include "eigengrad/index.hpp"

namespace eigengrad::bindings {
// This file's own namespace (bindings.cmake: the unity build must not mix two files' helpers).
namespace embedding_helpers {
namespace {

template <class I>
const I* iptr(const py::array& a) { return static_cast<const I*>(a.data()); }

// f(I{}) with I the index type of idx (int64 or int32); idx must be 1-D and C-contiguous.
template <class F>
void dispatch_index(const py::array& idx, F&& f) {
  check_ndim(idx, "indices", 1);
  check_contiguous(idx, "indices");
  if (idx.dtype().equal(py::dtype::of<std::int64_t>())) return f(std::int64_t{});
  if (idx.dtype().equal(py::dtype::of<std::int32_t>())) return f(std::int32_t{});
  throw py::type_error("indices: expected an int64 or int32 array, got dtype " + dtype_str(idx));
}

// The first index outside [0, num) (scanned with the GIL released) raises IndexError.
template <class I>
void check_range(const py::array& idx, index_t num) {
  const I* ip = iptr<I>(idx);
  const index_t n = idx.size();
  index_t bad;
  {
    py::gil_scoped_release release;
    bad = first_bad_index(ip, n, num);
  }
  if (bad >= 0)
    throw py::index_error("indices: index " + std::to_string(ip[bad]) + " at position " + std::to_string(bad) +
                          " is out of range: expected 0 <= index < " + std::to_string(num) + " (the rows of weight)");
}

// Checks every index of idx against [0, num), then calls f(I{}, T{}): I the index type, T the element
// type of a (the caller releases the GIL around its kernel).
template <class F>
void with_checked_indices(const py::array& idx, index_t num, const py::array& a, F&& f) {
  dispatch_index(idx, [&](auto itag) {
    check_range<decltype(itag)>(idx, num);
    dispatch_float(a, [&](auto tag) { f(itag, tag); });
  });
}

void check_weight(const py::array& w, const char* name) {
  check_input(w, name);
  check_ndim(w, name, 2);
}

// A float output of w's dtype and the given shape (the overlap rule is each binding's check_overlaps call).
void check_out(py::array& out, const char* name, const py::array& w, const char* w_name,
               const std::vector<index_t>& shape) {
  check_like(out, name, w, w_name, shape, /*out=*/true);
}

void check_starts(const py::array& starts, index_t n) {
  check_int64(starts, "offsets");
  check_ndim(starts, "offsets", 1);
  if (starts.size() < 1) throw py::value_error("offsets: expected at least one bag boundary, got none");
  const auto* s = static_cast<const std::int64_t*>(starts.data());
  const index_t bags = starts.size() - 1;
  if (s[0] < 0) throw py::value_error("offsets: expected offsets[0] >= 0, got " + std::to_string(s[0]));
  for (index_t b = 0; b < bags; ++b)
    if (s[b + 1] < s[b])
      throw py::value_error("offsets: expected a non-decreasing sequence, got " + std::to_string(s[b]) + " then " +
                            std::to_string(s[b + 1]) + " at bag " + std::to_string(b));
  if (s[bags] > n)
    throw py::value_error("offsets: the last bag ends at " + std::to_string(s[bags]) + ", past the " +
                          std::to_string(n) + " indices");
}

BagMode bag_mode(int mode) {
  if (mode < 0 || mode > 2) throw py::value_error("mode: expected 0 (sum), 1 (mean) or 2 (max), got " + std::to_string(mode));
  return static_cast<BagMode>(mode);
}

void forward_binding(const py::array& weight, const py::array& idx, py::array out) {
  check_weight(weight, "weight");
  const index_t num = weight.shape(0), dim = weight.shape(1);
  check_out(out, "out", weight, "weight", {index_t(idx.size()), dim});
  check_overlaps({{&out, "out"}}, {{&weight, "weight"}, {&idx, "indices"}});
  with_checked_indices(idx, num, weight, [&](auto itag, auto tag) {
    using I = decltype(itag);
    using T = decltype(tag);
    const T* wp = cptr<T>(weight);
    T* op = mptr<T>(out);
    py::gil_scoped_release release;
    embedding_forward<T, I>(wp, iptr<I>(idx), idx.size(), dim, op);
  });
}

void backward_binding(const py::array& dy, const py::array& idx, py::array dweight, index_t padding_idx,
                      bool scale_grad_by_freq) {
  check_output(dweight, "grad_weight");
  check_ndim(dweight, "grad_weight", 2);
  const index_t num = dweight.shape(0), dim = dweight.shape(1);
  check_like(dy, "grad_out", dweight, "grad_weight", {index_t(idx.size()), dim});
  check_overlaps({{&dweight, "grad_weight"}}, {{&dy, "grad_out"}, {&idx, "indices"}});
  with_checked_indices(idx, num, dweight, [&](auto itag, auto tag) {
    using I = decltype(itag);
    using T = decltype(tag);
    const T* gp = cptr<T>(dy);
    T* dp = mptr<T>(dweight);
    py::gil_scoped_release release;
    embedding_backward<T, I>(gp, iptr<I>(idx), idx.size(), num, dim, padding_idx, scale_grad_by_freq, dp);
  });
}

void renorm_binding(py::array weight, const py::array& idx, double max_norm, double norm_type) {
  check_output(weight, "weight");  // in place: never a copy
  check_ndim(weight, "weight", 2);
  if (!(max_norm >= 0)) throw py::value_error("max_norm: expected a non-negative number, got " + std::to_string(max_norm));
  const index_t num = weight.shape(0), dim = weight.shape(1);
  check_overlaps({{&weight, "weight"}}, {{&idx, "indices"}});
  with_checked_indices(idx, num, weight, [&](auto itag, auto tag) {
    using I = decltype(itag);
    using T = decltype(tag);
    T* wp = mptr<T>(weight);
    py::gil_scoped_release release;
    embedding_renorm<T, I>(wp, iptr<I>(idx), idx.size(), num, dim, max_norm, norm_type);
  });
}

void bag_forward_binding(const py::array& weight, const py::array& idx, const py::array& starts,
                         const py::object& per_sample_weights, py::array out, py::array bag_size,
                         const py::object& max_indices, int mode, index_t padding_idx) {
  check_weight(weight, "weight");
  const BagMode m = bag_mode(mode);
  const index_t num = weight.shape(0), dim = weight.shape(1);
  check_starts(starts, idx.size());
  const index_t bags = starts.size() - 1;
  check_out(out, "out", weight, "weight", {bags, dim});
  check_int64(bag_size, "bag_size");
  check_writeable(bag_size, "bag_size");
  check_shape(bag_size, "bag_size", {bags});
  auto psw = optional_array(per_sample_weights, "per_sample_weights");
  if (psw) {
    if (m != BagMode::sum) throw py::value_error("per_sample_weights: only supported with mode 'sum'");
    check_like(*psw, "per_sample_weights", weight, "weight", {index_t(idx.size())});
  }
  auto at = optional_array(max_indices, "max_indices");
  if ((m == BagMode::max) != bool(at))
    throw py::value_error("max_indices: expected an array with mode 'max' and None otherwise");
  if (at) {
    check_int64(*at, "max_indices");
    check_writeable(*at, "max_indices");
    check_shape(*at, "max_indices", {bags, dim});
  }
  check_overlaps({{&out, "out"}, {&bag_size, "bag_size"}, {opt_addr(at), "max_indices"}},
                 {{&weight, "weight"}, {&idx, "indices"}, {&starts, "offsets"}, {opt_addr(psw), "per_sample_weights"}});
  with_checked_indices(idx, num, weight, [&](auto itag, auto tag) {
    using I = decltype(itag);
    using T = decltype(tag);
    const T *wp = cptr<T>(weight), *pp = opt_cptr<T>(psw);
    T* op = mptr<T>(out);
    auto* bp = static_cast<std::int64_t*>(bag_size.mutable_data());
    auto* ap = at ? static_cast<std::int64_t*>(at->mutable_data()) : nullptr;
    const auto* sp = static_cast<const std::int64_t*>(starts.data());
    py::gil_scoped_release release;
    embedding_bag_forward<T, I>(wp, iptr<I>(idx), sp, bags, dim, pp, m, padding_idx, op, bp, ap);
  });
}

void bag_backward_binding(const py::array& dy, const py::array& idx, const py::array& starts,
                          const py::object& per_sample_weights, const py::array& bag_size,
                          const py::object& max_indices, py::array dweight, int mode, index_t padding_idx,
                          bool scale_grad_by_freq) {
  const BagMode m = bag_mode(mode);
  check_output(dweight, "grad_weight");
  check_ndim(dweight, "grad_weight", 2);
  const index_t num = dweight.shape(0), dim = dweight.shape(1), n = idx.size();
  check_starts(starts, n);
  const index_t bags = starts.size() - 1;
  check_like(dy, "grad_out", dweight, "grad_weight", {bags, dim});
  check_int64(bag_size, "bag_size");
  check_shape(bag_size, "bag_size", {bags});
  auto psw = optional_array(per_sample_weights, "per_sample_weights");
  if (psw) check_like(*psw, "per_sample_weights", dweight, "grad_weight", {n});
  auto at = optional_array(max_indices, "max_indices");
  check_overlaps({{&dweight, "grad_weight"}}, {{&dy, "grad_out"}, {&idx, "indices"}, {&starts, "offsets"},
                                              {opt_addr(psw), "per_sample_weights"}, {&bag_size, "bag_size"},
                                              {opt_addr(at), "max_indices"}});
  if (m == BagMode::max) {
    if (!at) throw py::value_error("max_indices: expected the forward's max_indices with mode 'max', got None");
    check_int64(*at, "max_indices");
    check_shape(*at, "max_indices", {bags, dim});
    const auto* ap = static_cast<const std::int64_t*>(at->data());
    for (index_t e = 0; e < bags * dim; ++e)  // a row outside the table would write out of bounds
      if (ap[e] < -1 || ap[e] >= num)
        throw py::index_error("max_indices: expected values in [-1, " + std::to_string(num) + "), got " +
                              std::to_string(ap[e]));
  }
  with_checked_indices(idx, num, dweight, [&](auto itag, auto tag) {
    using I = decltype(itag);
    using T = decltype(tag);
    const T *gp = cptr<T>(dy), *pp = opt_cptr<T>(psw);
    T* dp = mptr<T>(dweight);
    const auto* sp = static_cast<const std::int64_t*>(starts.data());
    const auto* bp = static_cast<const std::int64_t*>(bag_size.data());
    const auto* ap = at ? static_cast<const std::int64_t*>(at->data()) : nullptr;
    py::gil_scoped_release release;
    embedding_bag_backward<T, I>(gp, iptr<I>(idx), n, sp, bags, num, dim, pp, bp, ap, m, padding_idx,
                                 scale_grad_by_freq, dp);
  });
}

void bag_psw_backward_binding(const py::array& dy, const py::array& weight, const py::array& idx,
                              const py::array& starts, py::array dpsw, index_t padding_idx) {
  check_weight(weight, "weight");
  const index_t num = weight.shape(0), dim = weight.shape(1), n = idx.size();
  check_starts(starts, n);
  const index_t bags = starts.size() - 1;
  check_like(dy, "grad_out", weight, "weight", {bags, dim});
  check_out(dpsw, "grad_per_sample_weights", weight, "weight", {n});
  check_overlaps({{&dpsw, "grad_per_sample_weights"}},
                 {{&dy, "grad_out"}, {&weight, "weight"}, {&idx, "indices"}, {&starts, "offsets"}});
  with_checked_indices(idx, num, weight, [&](auto itag, auto tag) {
    using I = decltype(itag);
    using T = decltype(tag);
    const T *gp = cptr<T>(dy), *wp = cptr<T>(weight);
    T* dp = mptr<T>(dpsw);
    const auto* sp = static_cast<const std::int64_t*>(starts.data());
    py::gil_scoped_release release;
    embedding_bag_psw_backward<T, I>(gp, wp, iptr<I>(idx), n, sp, bags, dim, padding_idx, dp);
  });
}

}  // namespace
}  // namespace embedding_helpers

void bind_embedding(py::module_& m) {
  using namespace embedding_helpers;
  using py::arg;
  m.def("embedding_forward", &forward_binding, arg("weight"), arg("indices"), arg("out"),
        "out (n, dim) = the rows indices (n,) of weight (num, dim); IndexError for an index outside [0, num).");
  m.def("embedding_backward", &backward_binding, arg("grad_out"), arg("indices"), arg("grad_weight"),
        arg("padding_idx"), arg("scale_grad_by_freq"),
        "grad_weight (num, dim) = the deterministic scatter-add of grad_out (n, dim) into the rows indices; "
        "padding_idx < 0: none.");
  m.def("embedding_renorm", &renorm_binding, arg("weight"), arg("indices"), arg("max_norm"), arg("norm_type"),
        "In place: every row of weight that indices holds whose norm exceeds max_norm is scaled to max_norm.");
  m.def("embedding_bag_forward", &bag_forward_binding, arg("weight"), arg("indices"), arg("offsets"),
        arg("per_sample_weights"), arg("out"), arg("bag_size"), arg("max_indices"), arg("mode"), arg("padding_idx"),
        "Bags [offsets[b], offsets[b + 1]) of indices reduced by mode 0 sum, 1 mean, 2 max into out (bags, dim); "
        "bag_size (bags,) int64, max_indices (bags, dim) int64 with mode 2 (else None).");
  m.def("embedding_bag_backward", &bag_backward_binding, arg("grad_out"), arg("indices"), arg("offsets"),
        arg("per_sample_weights"), arg("bag_size"), arg("max_indices"), arg("grad_weight"), arg("mode"),
        arg("padding_idx"), arg("scale_grad_by_freq"), "grad_weight (num, dim) of embedding_bag_forward.");
  m.def("embedding_bag_per_sample_weights_backward", &bag_psw_backward_binding, arg("grad_out"), arg("weight"),
        arg("indices"), arg("offsets"), arg("grad_per_sample_weights"), arg("padding_idx"),
        "grad_per_sample_weights (n,) of a 'sum' embedding_bag_forward.");
}

}  // namespace eigengrad::bindings
