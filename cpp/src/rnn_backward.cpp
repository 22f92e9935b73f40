// Backward through time of one recurrent layer-direction (see eigengrad/rnn.hpp).
//
// The loop runs the steps in the reverse of the forward's order. Each step turns the carried hidden (and
// cell) gradient plus the step's output gradient into the gradients of the gate pre-activations, kept for
// all steps (dG, steps x batch x G hidden), and carries dh_prev = dG_hh W_hh (one GEMM per step) to the step
// before. Everything that does not feed the recurrence waits until the loop is done and is one GEMM over
// all steps: dx = dG W_ih, dW_ih = dG^T x, dW_hh = dG_hh^T h_prev; bias gradients are column sums of dG.
// For RNN and LSTM the input- and hidden-side gradients are the same array, which allows two fusions:
// dx_t joins the per-step product ([dh_prev | dx_t] = dG_t [W_hh | W_ih]: dx with few inputs would otherwise
// be a narrow GEMM that spends most of its time packing dG), and both weight gradients are one GEMM over the
// rows [x_t | h_prev] (dG, the largest operand, is packed once). GRU's two arrays differ in the n gate (the
// hidden side is multiplied by r), so GRU runs the products separately.
#include <algorithm>
#include <memory>
#include <vector>

#include "eigengrad/gemm.hpp"
#include "eigengrad/rnn.hpp"
#include "rnn_cells.hpp"

namespace eigengrad {
namespace {
using namespace rnn_detail;

// out[j] = sum over the rows of a (rows, cols), in double, rows in order; columns in parallel chunks.
template <class T>
void column_sums(const T* a, index_t rows, index_t cols, T* out) {
  constexpr index_t kCols = 256;
  parallel_for(cols, kCols, [&](index_t c0, index_t c1) {
    double acc[kCols] = {};
    for (index_t r = 0; r < rows; ++r) {
      const T* row = a + r * cols;
      for (index_t j = c0; j < c1; ++j) acc[j - c0] += double(row[j]);
    }
    for (index_t j = c0; j < c1; ++j) out[j] = T(acc[j - c0]);
  });
}

// dW_hh = sum over steps t of dG_hh[t]^T h_prev(t): h0 for the first step of the order, else the slab of y
// before it, which for all other steps together is one contiguous run of y.
template <class T>
void hidden_weight_grad(const RnnShape& s, const T* dg_hh, const T* h0, const T* y, T* dw_hh) {
  const index_t N = s.batch, H = s.hidden, G = gate_count(s.cell) * H;
  if (s.steps == 0) return std::fill(dw_hh, dw_hh + G * H, T(0));
  const index_t first = s.reverse ? s.steps - 1 : 0;
  gemm<T>(dg_hh + first * N * G, h0, nullptr, dw_hh, G, H, N, true, false, false);
  if (s.steps < 2) return;
  const T* dg_rest = dg_hh + (s.reverse ? 0 : N * G);  // the steps after the first, in time order
  const T* y_prev = y + (s.reverse ? N * H : 0);        // their previous states
  gemm<T>(dg_rest, y_prev, nullptr, dw_hh, G, H, (s.steps - 1) * N, true, false, true);
}

// Cells with one gate-gradient array (RNN, LSTM): [dW_ih | dW_hh] = dG^T [x | h_prev] as one GEMM, so the
// transposed packing of dG (steps batch x G, the largest operand) is done once instead of once per weight.
// xh: scratch of steps * batch * (input + hidden) elements.
template <class T>
void joint_weight_grads(const RnnShape& s, const T* dg, const T* x, const T* h0, const T* y, T* xh, T* dw_ih,
                        T* dw_hh) {
  const index_t N = s.batch, H = s.hidden, I = s.input, G = gate_count(s.cell) * H, W = I + H;
  const Order order{s.steps, s.reverse};
  parallel_for(s.steps * N, 256, [&](index_t b, index_t e) {
    for (index_t r = b; r < e; ++r) {
      const index_t t = r / N, n = r % N;
      const T* hp = order.first(t) ? h0 + n * H : y + (order.prev(t) * N + n) * H;
      std::copy(x + r * I, x + (r + 1) * I, xh + r * W);
      std::copy(hp, hp + H, xh + r * W + I);
    }
  });
  std::vector<T> both(std::size_t(G * W));
  gemm<T>(dg, xh, nullptr, both.data(), G, W, s.steps * N, true, false, false);
  for (index_t g = 0; g < G; ++g) {
    std::copy(both.data() + g * W, both.data() + g * W + I, dw_ih + g * I);
    std::copy(both.data() + g * W + I, both.data() + (g + 1) * W, dw_hh + g * H);
  }
}

// The per-step product of a cell with one gate-gradient array, when dx is wanted: [dh_prev | dx_t] =
// dG_t [W_hh | W_ih], one GEMM that packs dG_t once for both (dx no longer needs a narrow GEMM of its own).
template <class T>
struct JointStep {
  index_t N, H, I, G;
  std::vector<T> w, out;  // [W_hh | W_ih] (G x (H + I)); the step's product (N x (H + I))
  JointStep(const RnnShape& s, const T* w_ih, const T* w_hh)
      : N(s.batch), H(s.hidden), I(s.input), G(gate_count(s.cell) * s.hidden), w(std::size_t(G * (H + I))),
        out(std::size_t(N * (H + I))) {
    for (index_t g = 0; g < G; ++g) {
      std::copy(w_hh + g * H, w_hh + (g + 1) * H, w.data() + g * (H + I));
      std::copy(w_ih + g * I, w_ih + (g + 1) * I, w.data() + g * (H + I) + H);
    }
  }
  // dh (N x H) and dx_t (N x I) from dG_t (N x G)
  void run(const T* dg_t, T* dh, T* dx_t) {
    gemm<T>(dg_t, w.data(), nullptr, out.data(), N, H + I, G, false, false, false);
    for (index_t n = 0; n < N; ++n) {
      const T* row = out.data() + n * (H + I);
      std::copy(row, row + H, dh + n * H);
      std::copy(row + H, row + H + I, dx_t + n * I);
    }
  }
};

template <class T>
void fill_state(T* dst, const T* src, index_t count) {
  if (dst == nullptr) return;
  if (src != nullptr) std::copy(src, src + count, dst);
  else std::fill(dst, dst + count, T(0));
}

}  // namespace

template <class T>
void rnn_backward(const RnnShape& s, const T* x, const T* h0, const T* c0, const RnnParams<const T*>& p, const T* y,
                  const T* gates, const T* aux, const T* dy, const T* dh_n, const T* dc_n, T* dx, T* dh0, T* dc0,
                  const RnnParams<T*>& dp, T* work) {
  const index_t N = s.batch, H = s.hidden, G = gate_count(s.cell) * H, A = aux_count(s.cell) * H;
  const index_t slab = N * H, rows = s.steps * N;
  const Order order{s.steps, s.reverse};
  const bool lstm = s.cell == RnnCell::lstm, gru = s.cell == RnnCell::gru;
  // the carried gradients
  std::vector<T> dh(std::size_t(slab), T(0)), dc(lstm ? std::size_t(slab) : 0, T(0));
  fill_state(dh.data(), dh_n, slab);
  if (lstm) fill_state(dc.data(), dc_n, slab);
  T* const dg = work;                          // the input-side gate gradients of every step
  T* const dg_hh = gru ? work + rows * G : dg;  // GRU: the hidden-side ones
  std::unique_ptr<JointStep<T>> joint(!gru && dx != nullptr ? new JointStep<T>(s, p.w_ih, p.w_hh) : nullptr);
  for (index_t k = s.steps - 1; k >= 0 && N > 0; --k) {
    const index_t t = order.at(k);
    const bool first = order.first(t);
    const T* h_prev = first ? h0 : y + order.prev(t) * slab;
    const T* dy_t = dy + t * slab;
    T* dg_t = dg + t * N * G;
    if (lstm) {
      const T* c_prev = first ? c0 : aux + order.prev(t) * N * A;
      const index_t c_stride = first ? H : A;
      for_rows(N, G, [&](index_t n) {
        lstm_row_backward(gates + (t * N + n) * G, aux + (t * N + n) * A, c_prev + n * c_stride,
                          dh.data() + n * H, dy_t + n * H, dc.data() + n * H, dg_t + n * G, H);
      });
    } else if (gru) {
      for_rows(N, G, [&](index_t n) {
        gru_row_backward(gates + (t * N + n) * G, aux + (t * N + n) * A, h_prev + n * H, dh.data() + n * H,
                         dy_t + n * H, dg_t + n * G, dg_hh + (t * N + n) * G, H);
      });
    } else {
      for_rows(N, H, [&](index_t n) {
        rnn_row_backward(y + t * slab + n * H, dh.data() + n * H, dy_t + n * H, dg_t + n * G, H,
                         s.cell == RnnCell::rnn_relu);
      });
    }
    // dh_prev = (GRU: dh z) + dG_hh[t] W_hh
    if (joint) joint->run(dg_t, dh.data(), dx + t * N * s.input);
    else gemm<T>(dg_hh + t * N * G, p.w_hh, nullptr, dh.data(), N, H, G, false, false, gru);
  }
  fill_state(dh0, dh.data(), slab);
  if (lstm) fill_state(dc0, dc.data(), slab);
  if (dx != nullptr && !joint) gemm<T>(dg, p.w_ih, nullptr, dx, rows, s.input, G, false, false, false);
  if (!gru && dp.w_ih != nullptr && dp.w_hh != nullptr) {
    joint_weight_grads<T>(s, dg, x, h0, y, work + rows * G, dp.w_ih, dp.w_hh);
  } else {
    if (dp.w_ih != nullptr) gemm<T>(dg, x, nullptr, dp.w_ih, G, s.input, rows, true, false, false);
    if (dp.w_hh != nullptr) hidden_weight_grad<T>(s, dg_hh, h0, y, dp.w_hh);
  }
  if (dp.b_ih != nullptr) column_sums<T>(dg, rows, G, dp.b_ih);
  if (dp.b_hh != nullptr) {
    if (gru) column_sums<T>(dg_hh, rows, G, dp.b_hh);
    else if (dp.b_ih != nullptr) std::copy(dp.b_ih, dp.b_ih + G, dp.b_hh);
    else column_sums<T>(dg, rows, G, dp.b_hh);
  }
}

template void rnn_backward<float>(const RnnShape&, const float*, const float*, const float*,
                                  const RnnParams<const float*>&, const float*, const float*, const float*,
                                  const float*, const float*, const float*, float*, float*, float*,
                                  const RnnParams<float*>&, float*);
template void rnn_backward<double>(const RnnShape&, const double*, const double*, const double*,
                                   const RnnParams<const double*>&, const double*, const double*, const double*,
                                   const double*, const double*, const double*, double*, double*, double*,
                                   const RnnParams<double*>&, double*);

}  // namespace eigengrad
