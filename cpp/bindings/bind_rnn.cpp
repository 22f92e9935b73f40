// Recurrent layers: one layer-direction of an Elman RNN, LSTM or GRU over a whole sequence, forward and
// backward through time (eigengrad/rnn.hpp). Arrays are time-major: input (T, N, I), out (T, N, H).
// Optional arrays are None. Every array shares the input's dtype; outputs share no memory with anything.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "checks.hpp"
#include "eigengrad/rnn.hpp"

namespace eigengrad::bindings {
// This file's own namespace (bindings.cmake: the unity build must not mix two files' helpers).
namespace rnn_helpers {
namespace {

using Opt = std::optional<py::array>;

RnnCell parse_mode(const std::string& mode) {
  if (mode == "RNN_TANH") return RnnCell::rnn_tanh;
  if (mode == "RNN_RELU") return RnnCell::rnn_relu;
  if (mode == "LSTM") return RnnCell::lstm;
  if (mode == "GRU") return RnnCell::gru;
  throw py::value_error("mode: expected 'RNN_TANH', 'RNN_RELU', 'LSTM' or 'GRU', got '" + mode + "'");
}

void add(std::vector<Named>& list, const Opt& a, const char* name) {
  if (a) list.push_back({&*a, name});
}

// What forward and backward share: the mode, the input, the initial states and the parameters.
struct Layer {
  RnnShape shape{};
  py::array x, h0, w_ih, w_hh;
  Opt c0, b_ih, b_hh;
  std::vector<Named> inputs;

  Layer(const std::string& mode, const py::array& x_, const py::array& h0_, const py::object& c0_,
        const py::array& w_ih_, const py::array& w_hh_, const py::object& b_ih_, const py::object& b_hh_, bool reverse)
      : x(x_), h0(h0_), w_ih(w_ih_), w_hh(w_hh_), c0(optional_array(c0_, "c0")), b_ih(optional_array(b_ih_, "b_ih")),
        b_hh(optional_array(b_hh_, "b_hh")) {
    const RnnCell cell = parse_mode(mode);
    check_input(x, "input");
    check_ndim(x, "input", 3);
    check_input(w_hh, "w_hh");
    check_ndim(w_hh, "w_hh", 2);
    const index_t h = w_hh.shape(1), g = gate_count(cell) * h;
    if (h < 1) throw py::value_error("w_hh: expected at least one hidden unit, got shape " + shape_str(w_hh));
    shape = RnnShape{cell, x.shape(0), x.shape(1), x.shape(2), h, reverse};
    check_like(w_hh, "w_hh", x, "input", {g, h}, false);
    check_like(w_ih, "w_ih", x, "input", {g, shape.input}, false);
    if (bool(b_ih) != bool(b_hh)) throw py::value_error("b_ih, b_hh: expected both or neither");
    if (b_ih) check_like(*b_ih, "b_ih", x, "input", {g}, false);
    if (b_hh) check_like(*b_hh, "b_hh", x, "input", {g}, false);
    check_like(h0, "h0", x, "input", {shape.batch, h}, false);
    if (cell == RnnCell::lstm && !c0) throw py::value_error("c0: required for mode 'LSTM'");
    if (cell != RnnCell::lstm && c0) throw py::value_error("c0: only for mode 'LSTM', got an array");
    if (c0) check_like(*c0, "c0", x, "input", {shape.batch, h}, false);
    inputs = {{&x, "input"}, {&h0, "h0"}, {&w_ih, "w_ih"}, {&w_hh, "w_hh"}};
    add(inputs, c0, "c0");
    add(inputs, b_ih, "b_ih");
    add(inputs, b_hh, "b_hh");
  }
  index_t gates() const { return gate_count(shape.cell) * shape.hidden; }
  index_t aux() const { return aux_count(shape.cell) * shape.hidden; }
  std::vector<index_t> seq(index_t width) const { return {shape.steps, shape.batch, width}; }
  std::vector<index_t> state() const { return {shape.batch, shape.hidden}; }
  bool saves() const { return shape.cell == RnnCell::lstm || shape.cell == RnnCell::gru; }
  template <class T>
  RnnParams<const T*> params() const {
    return {cptr<T>(w_ih), cptr<T>(w_hh), opt_cptr<T>(b_ih), opt_cptr<T>(b_hh)};
  }
};

// The saved arrays: gates and aux for LSTM and GRU, None for RNN.
void check_saved(const Layer& l, const Opt& gates, const Opt& aux, bool out) {
  if (l.saves() != bool(gates) || l.saves() != bool(aux))
    throw py::value_error(l.saves() ? "gates, aux: required for LSTM and GRU" : "gates, aux: expected None for RNN");
  if (gates) check_like(*gates, "gates", l.x, "input", l.seq(l.gates()), out);
  if (aux) check_like(*aux, "aux", l.x, "input", l.seq(l.aux()), out);
}

template <class T>
void run_forward(const Layer& l, py::array& y, Opt& h_n, Opt& c_n, Opt& gates, Opt& aux) {
  const RnnParams<const T*> p = l.params<T>();
  const T *xp = cptr<T>(l.x), *h0 = cptr<T>(l.h0), *c0 = opt_cptr<T>(l.c0);
  T *yp = mptr<T>(y), *hn = opt_mptr<T>(h_n), *cn = opt_mptr<T>(c_n), *gp = opt_mptr<T>(gates), *ap = opt_mptr<T>(aux);
  py::gil_scoped_release release;
  rnn_forward<T>(l.shape, xp, h0, c0, p, yp, hn, cn, gp, ap);
}

void forward_binding(const std::string& mode, const py::array& x, const py::array& h0, const py::object& c0,
                     const py::array& w_ih, const py::array& w_hh, const py::object& b_ih, const py::object& b_hh,
                     py::array out, const py::object& h_n_, const py::object& c_n_, const py::object& gates_,
                     const py::object& aux_, bool reverse) {
  const Layer l(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse);
  Opt h_n = optional_array(h_n_, "h_n"), c_n = optional_array(c_n_, "c_n");
  Opt gates = optional_array(gates_, "gates"), aux = optional_array(aux_, "aux");
  check_like(out, "out", x, "input", l.seq(l.shape.hidden), true);
  if (h_n) check_like(*h_n, "h_n", x, "input", l.state(), true);
  if (c_n && l.shape.cell != RnnCell::lstm) throw py::value_error("c_n: only for mode 'LSTM', got an array");
  if (c_n) check_like(*c_n, "c_n", x, "input", l.state(), true);
  check_saved(l, gates, aux, true);
  std::vector<Named> outputs{{&out, "out"}};
  add(outputs, h_n, "h_n");
  add(outputs, c_n, "c_n");
  add(outputs, gates, "gates");
  add(outputs, aux, "aux");
  check_overlaps(outputs, l.inputs);
  if (is_float32(x)) run_forward<float>(l, out, h_n, c_n, gates, aux);
  else run_forward<double>(l, out, h_n, c_n, gates, aux);
}

// The gradients the backward may write, None where not wanted.
struct Grads {
  Opt dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh;
};

template <class T>
void run_backward(const Layer& l, const py::array& y, const Opt& gates, const Opt& aux, const py::array& dy,
                  const Opt& dh_n, const Opt& dc_n, Grads& g, py::array& work) {
  const RnnParams<const T*> p = l.params<T>();
  const RnnParams<T*> dp{opt_mptr<T>(g.dw_ih), opt_mptr<T>(g.dw_hh), opt_mptr<T>(g.db_ih), opt_mptr<T>(g.db_hh)};
  const T *xp = cptr<T>(l.x), *h0 = cptr<T>(l.h0), *c0 = opt_cptr<T>(l.c0), *yp = cptr<T>(y);
  const T *gp = opt_cptr<T>(gates), *ap = opt_cptr<T>(aux), *dyp = cptr<T>(dy), *dhn = opt_cptr<T>(dh_n), *dcn = opt_cptr<T>(dc_n);
  T *dx = opt_mptr<T>(g.dx), *dh0 = opt_mptr<T>(g.dh0), *dc0 = opt_mptr<T>(g.dc0), *wp = mptr<T>(work);
  py::gil_scoped_release release;
  rnn_backward<T>(l.shape, xp, h0, c0, p, yp, gp, ap, dyp, dhn, dcn, dx, dh0, dc0, dp, wp);
}

void backward_binding(const std::string& mode, const py::array& x, const py::array& h0, const py::object& c0,
                      const py::array& w_ih, const py::array& w_hh, const py::object& b_ih, const py::object& b_hh,
                      const py::array& out, const py::object& gates_, const py::object& aux_,
                      const py::array& grad_out, const py::object& grad_h_n, const py::object& grad_c_n,
                      const py::object& grad_input, const py::object& grad_h0, const py::object& grad_c0,
                      const py::object& grad_w_ih, const py::object& grad_w_hh, const py::object& grad_b_ih,
                      const py::object& grad_b_hh, py::array work, bool reverse) {
  const Layer l(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse);
  const bool lstm = l.shape.cell == RnnCell::lstm;
  Opt gates = optional_array(gates_, "gates"), aux = optional_array(aux_, "aux");
  Opt dh_n = optional_array(grad_h_n, "grad_h_n"), dc_n = optional_array(grad_c_n, "grad_c_n");
  check_like(out, "out", x, "input", l.seq(l.shape.hidden), false);
  check_saved(l, gates, aux, false);
  check_like(grad_out, "grad_out", x, "input", l.seq(l.shape.hidden), false);
  if (dh_n) check_like(*dh_n, "grad_h_n", x, "input", l.state(), false);
  if (dc_n && !lstm) throw py::value_error("grad_c_n: only for mode 'LSTM', got an array");
  if (dc_n) check_like(*dc_n, "grad_c_n", x, "input", l.state(), false);
  Grads g{optional_array(grad_input, "grad_input"), optional_array(grad_h0, "grad_h0"),
          optional_array(grad_c0, "grad_c0"),       optional_array(grad_w_ih, "grad_w_ih"),
          optional_array(grad_w_hh, "grad_w_hh"),   optional_array(grad_b_ih, "grad_b_ih"),
          optional_array(grad_b_hh, "grad_b_hh")};
  if (g.dc0 && !lstm) throw py::value_error("grad_c0: only for mode 'LSTM', got an array");
  if ((g.db_ih || g.db_hh) && !l.b_ih) throw py::value_error("grad_b_ih, grad_b_hh: the layer has no bias");
  const index_t gh = l.gates();
  const std::vector<std::pair<Opt*, std::pair<const char*, std::vector<index_t>>>> outs{
      {&g.dx, {"grad_input", l.seq(l.shape.input)}}, {&g.dh0, {"grad_h0", l.state()}},
      {&g.dc0, {"grad_c0", l.state()}},              {&g.dw_ih, {"grad_w_ih", {gh, l.shape.input}}},
      {&g.dw_hh, {"grad_w_hh", {gh, l.shape.hidden}}}, {&g.db_ih, {"grad_b_ih", {gh}}},
      {&g.db_hh, {"grad_b_hh", {gh}}}};
  check_output(work, "work");
  check_dtype_as(work, "work", x, "input");
  if (work.size() != work_size(l.shape))
    throw py::value_error("work: expected " + std::to_string(work_size(l.shape)) + " elements (steps * batch * " +
                          (l.shape.cell == RnnCell::gru ? "gates * hidden * 2" : "(gates * hidden + input + hidden)") +
                          "), got " + std::to_string(work.size()));
  std::vector<Named> inputs = l.inputs, outputs{{&work, "work"}};
  inputs.push_back({&out, "out"});
  inputs.push_back({&grad_out, "grad_out"});
  add(inputs, gates, "gates");
  add(inputs, aux, "aux");
  add(inputs, dh_n, "grad_h_n");
  add(inputs, dc_n, "grad_c_n");
  for (const auto& [opt, spec] : outs) {
    if (!*opt) continue;
    check_like(**opt, spec.first, x, "input", spec.second, true);
    outputs.push_back({&**opt, spec.first});
  }
  check_overlaps(outputs, inputs);
  if (is_float32(x)) run_backward<float>(l, out, gates, aux, grad_out, dh_n, dc_n, g, work);
  else run_backward<double>(l, out, gates, aux, grad_out, dh_n, dc_n, g, work);
}

}  // namespace
}  // namespace rnn_helpers

void bind_rnn(py::module_& m) {
  using namespace rnn_helpers;
  m.def("rnn_forward", &forward_binding, py::arg("mode"), py::arg("input"), py::arg("h0"), py::arg("c0"),
        py::arg("w_ih"), py::arg("w_hh"), py::arg("b_ih"), py::arg("b_hh"), py::arg("out"), py::arg("h_n"),
        py::arg("c_n"), py::arg("gates"), py::arg("aux"), py::arg("reverse"),
        "One layer-direction of an RNN ('RNN_TANH', 'RNN_RELU'), LSTM or GRU over input (T, N, I), time-major. "
        "Writes out (T, N, H), h_n and c_n (N, H) when given, and for LSTM/GRU the arrays the backward needs: "
        "gates (T, N, G H) and aux (T, N, A H) (LSTM: G = 4, A = 2; GRU: G = 3, A = 1).");
  m.def("rnn_backward", &backward_binding, py::arg("mode"), py::arg("input"), py::arg("h0"), py::arg("c0"),
        py::arg("w_ih"), py::arg("w_hh"), py::arg("b_ih"), py::arg("b_hh"), py::arg("out"), py::arg("gates"),
        py::arg("aux"), py::arg("grad_out"), py::arg("grad_h_n"), py::arg("grad_c_n"), py::arg("grad_input"),
        py::arg("grad_h0"), py::arg("grad_c0"), py::arg("grad_w_ih"), py::arg("grad_w_hh"), py::arg("grad_b_ih"),
        py::arg("grad_b_hh"), py::arg("work"), py::arg("reverse"),
        "Backward through time of rnn_forward from the gradients of out, h_n, c_n (None: zero); writes the "
        "gradients that are not None (overwritten, not accumulated). work: scratch, C-contiguous, any shape, of "
        "T * N * 2 G H elements for GRU, T * N * (G H + I + H) for RNN and LSTM.");
}

}  // namespace eigengrad::bindings
