// Scaled dot-product attention: the fused forward and backward kernels (attention.hpp).
// q (B, Hq, L, E), k (B, Hk, S, E), v (B, Hk, S, Ev), out (B, Hq, L, Ev), lse (B, Hq, L), C-contiguous.
// The mask is None or a 4-D array of shape (B, Hq, L, S), bool or of q's dtype, read through its strides
// (a broadcast view with zero strides is read in place, never copied).
#include <cmath>
#include <string>

#include "checks.hpp"
#include "eigengrad/attention.hpp"

namespace eigengrad::bindings {
// This file's own namespace (bindings.cmake: the unity build must not mix two files' helpers).
namespace attention_helpers {
namespace {

std::string dims(index_t a, index_t b, index_t c, index_t d) {
  return "(" + std::to_string(a) + ", " + std::to_string(b) + ", " + std::to_string(c) + ", " + std::to_string(d) + ")";
}

AttentionShape shape_of(const py::array& q, const py::array& k, const py::array& v) {
  for (auto [a, name] : {std::pair<const py::array*, const char*>{&q, "query"}, {&k, "key"}, {&v, "value"}}) {
    check_input(*a, name);
    check_ndim(*a, name, 4);
    if (a != &q) check_dtype_as(*a, name, q, "query");
  }
  const AttentionShape s{q.shape(0), q.shape(1), k.shape(1), q.shape(2), k.shape(2), q.shape(3), v.shape(3)};
  if (k.shape(0) != s.batch || k.shape(3) != s.dk)
    throw py::value_error("key: expected shape " + dims(s.batch, s.kv_heads, s.lk, s.dk) + " (batch and head size of "
                          "query " + shape_str(q) + "), got " + shape_str(k));
  if (v.shape(0) != s.batch || v.shape(1) != s.kv_heads || v.shape(2) != s.lk)
    throw py::value_error("value: expected shape " + dims(s.batch, s.kv_heads, s.lk, s.dv) + " (batch, heads and length "
                          "of key " + shape_str(k) + "), got " + shape_str(v));
  if (s.kv_heads == 0 ? s.heads != 0 : s.heads % s.kv_heads != 0)
    throw py::value_error("key: the number of heads " + std::to_string(s.kv_heads) +
                          " must divide the number of query heads " + std::to_string(s.heads));
  return s;
}

template <class T>
AttentionMask<T> mask_of(const std::optional<py::array>& m, const py::array& q, const AttentionShape& s) {
  AttentionMask<T> mask;
  if (!m) return mask;
  const bool keep = m->dtype().equal(py::dtype::of<bool>());
  if (!keep && !m->dtype().equal(q.dtype()))
    throw py::type_error("attn_mask: expected a bool array or dtype " + dtype_str(q) + " (the dtype of query), got " +
                         dtype_str(*m));
  check_ndim(*m, "attn_mask", 4);
  check_shape(*m, "attn_mask", {s.batch, s.heads, s.lq, s.lk});
  // read through its strides (any layout, broadcast views included), but element by element: aligned
  if (!(m->flags() & py::detail::npy_api::NPY_ARRAY_ALIGNED_))
    throw py::value_error("attn_mask: expected an aligned array, got data at an address that is not a multiple of "
                          "its item size; pass a copy");
  index_t st[4];
  for (int d = 0; d < 4; ++d) {
    if (m->strides(d) % m->itemsize() != 0)
      throw py::value_error("attn_mask: expected strides that are multiples of the item size, got " +
                            std::to_string(m->strides(d)) + " bytes in dimension " + std::to_string(d));
    st[d] = m->strides(d) / m->itemsize();
  }
  if (keep) mask.keep = static_cast<const std::uint8_t*>(m->data());
  else mask.bias = cptr<T>(*m);
  mask.sb = st[0], mask.sh = st[1], mask.si = st[2], mask.sj = st[3];
  return mask;
}

AttentionOptions options_of(double scale, bool causal, std::uint64_t seed, std::uint64_t offset,
                            std::uint64_t threshold, double keep_scale) {
  if (threshold > (std::uint64_t(1) << 32))
    throw py::value_error("threshold: expected 0 <= threshold <= 2**32, got " + std::to_string(threshold));
  // an infinite or NaN scale makes every score inf or NaN: no softmax to compute
  if (!std::isfinite(scale)) throw py::value_error("scale: expected a finite number, got " + std::to_string(scale));
  AttentionOptions o;
  o.scale = scale, o.causal = causal, o.seed = seed, o.offset = offset, o.threshold = threshold;
  o.keep_scale = keep_scale;
  return o;
}

// An output of q's dtype and the given shape (the overlap rule is each binding's check_overlaps call).
void check_out(const py::array& a, const char* name, const py::array& q, const std::vector<index_t>& shape) {
  check_like(a, name, q, "query", shape, /*out=*/true);
}

// The kept weights (B, Hq, L, S) of q's dtype, or None; only for shapes that keep them.
std::optional<py::array> weights_of(const py::object& weights, const py::array& q, const AttentionShape& s,
                                    const AttentionOptions& opt, bool out) {
  auto w = optional_array(weights, "weights");
  if (!w) return w;
  if (!attention_keeps_weights(s, opt))
    throw py::value_error("weights: expected None for key length " + std::to_string(s.lk) +
                          " (attention_keeps_weights is False for it)");
  check_like(*w, "weights", q, "query", {s.batch, s.heads, s.lq, s.lk}, out);
  return w;
}

void forward_binding(const py::array& q, const py::array& k, const py::array& v, const py::object& attn_mask,
                     py::array out, py::array lse, const py::object& weights, double scale, bool causal,
                     std::uint64_t seed, std::uint64_t offset, std::uint64_t threshold, double keep_scale) {
  const AttentionShape s = shape_of(q, k, v);
  auto m = optional_array(attn_mask, "attn_mask");
  const AttentionOptions opt = options_of(scale, causal, seed, offset, threshold, keep_scale);
  check_out(out, "out", q, {s.batch, s.heads, s.lq, s.dv});
  check_out(lse, "lse", q, {s.batch, s.heads, s.lq});
  auto w = weights_of(weights, q, s, opt, /*out=*/true);
  check_overlaps({{&out, "out"}, {&lse, "lse"}, {opt_addr(w), "weights"}},
                 {{&q, "query"}, {&k, "key"}, {&v, "value"}, {opt_addr(m), "attn_mask"}});
  auto run = [&](auto tag) {
    using T = decltype(tag);
    const AttentionMask<T> mask = mask_of<T>(m, q, s);
    const T *qp = cptr<T>(q), *kp = cptr<T>(k), *vp = cptr<T>(v);
    T *op = mptr<T>(out), *lp = mptr<T>(lse), *wp = opt_mptr<T>(w);
    py::gil_scoped_release release;
    attention_forward<T>(qp, kp, vp, mask, opt, op, lp, wp, s);
  };
  if (is_float32(q)) run(float{});
  else run(double{});
}

void backward_binding(const py::array& q, const py::array& k, const py::array& v, const py::array& out,
                      const py::array& lse, const py::object& weights, const py::array& grad_out,
                      const py::object& attn_mask, py::array dq,
                      py::array dk, py::array dv, const py::object& grad_mask, double scale, bool causal,
                      std::uint64_t seed, std::uint64_t offset, std::uint64_t threshold, double keep_scale) {
  const AttentionShape s = shape_of(q, k, v);
  auto m = optional_array(attn_mask, "attn_mask");
  auto dm = optional_array(grad_mask, "grad_mask");
  const AttentionOptions opt = options_of(scale, causal, seed, offset, threshold, keep_scale);
  check_like(out, "out", q, "query", {s.batch, s.heads, s.lq, s.dv});
  check_like(lse, "lse", q, "query", {s.batch, s.heads, s.lq});
  check_like(grad_out, "grad_out", q, "query", {s.batch, s.heads, s.lq, s.dv});
  check_out(dq, "grad_query", q, {s.batch, s.heads, s.lq, s.dk});
  check_out(dk, "grad_key", q, {s.batch, s.kv_heads, s.lk, s.dk});
  check_out(dv, "grad_value", q, {s.batch, s.kv_heads, s.lk, s.dv});
  if (dm) check_out(*dm, "grad_mask", q, {s.batch, s.heads, s.lq, s.lk});
  auto w = weights_of(weights, q, s, opt, /*out=*/false);
  check_overlaps({{&dq, "grad_query"}, {&dk, "grad_key"}, {&dv, "grad_value"}, {opt_addr(dm), "grad_mask"}},
                 {{&q, "query"}, {&k, "key"}, {&v, "value"}, {&out, "out"}, {&lse, "lse"}, {&grad_out, "grad_out"},
                  {opt_addr(m), "attn_mask"}, {opt_addr(w), "weights"}});
  auto run = [&](auto tag) {
    using T = decltype(tag);
    const AttentionMask<T> mask = mask_of<T>(m, q, s);
    const T *qp = cptr<T>(q), *kp = cptr<T>(k), *vp = cptr<T>(v), *op = cptr<T>(out), *lp = cptr<T>(lse),
            *gp = cptr<T>(grad_out), *wp = opt_cptr<T>(w);
    T *dqp = mptr<T>(dq), *dkp = mptr<T>(dk), *dvp = mptr<T>(dv), *dmp = opt_mptr<T>(dm);
    py::gil_scoped_release release;
    attention_backward<T>(qp, kp, vp, op, lp, wp, gp, mask, opt, dqp, dkp, dvp, dmp, s);
  };
  if (is_float32(q)) run(float{});
  else run(double{});
}

}  // namespace
}  // namespace attention_helpers

void bind_attention(py::module_& m) {
  using namespace attention_helpers;
  m.def("attention_forward", &forward_binding, py::arg("query"), py::arg("key"), py::arg("value"),
        py::arg("attn_mask"), py::arg("out"), py::arg("lse"), py::arg("weights"), py::arg("scale"), py::arg("causal"),
        py::arg("seed"), py::arg("offset"), py::arg("threshold"), py::arg("keep_scale"),
        "Fused scaled dot-product attention: out = softmax(scale q k^T + mask) v (dropout on the weights when "
        "threshold < 2**32), the rows' log-sum-exp lse and, when weights is an array, the weights before "
        "dropout (only where attention_keeps_weights).");
  m.def("attention_keeps_weights", [](index_t lk, bool causal) {
          AttentionShape s{0, 0, 0, 0, lk, 0, 0};
          AttentionOptions opt;
          opt.causal = causal;
          return attention_keeps_weights(s, opt);
        }, py::arg("key_length"), py::arg("causal"),
        "Whether attention_forward can keep the weights for keys of this length (they fit one key block).");
  m.def("attention_backward", &backward_binding, py::arg("query"), py::arg("key"), py::arg("value"), py::arg("out"),
        py::arg("lse"), py::arg("weights"), py::arg("grad_out"), py::arg("attn_mask"), py::arg("grad_query"), py::arg("grad_key"),
        py::arg("grad_value"), py::arg("grad_mask"), py::arg("scale"), py::arg("causal"), py::arg("seed"),
        py::arg("offset"), py::arg("threshold"), py::arg("keep_scale"),
        "Gradients of attention_forward (same mask and options): grad_query, grad_key, grad_value and, when "
        "given, grad_mask (B, Hq, L, S), the gradient of an additive mask.");
}

}  // namespace eigengrad::bindings
