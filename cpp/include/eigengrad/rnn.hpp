// Recurrent layers: Elman RNN (tanh or ReLU), LSTM (Hochreiter & Schmidhuber 1997, with the forget gate of
// Gers et al. 2000) and GRU (Cho et al. 2014), PyTorch's equations and gate order. One call runs one layer in
// one direction over the whole sequence: the forward and the backward through time (BPTT) each loop over the
// time steps inside C++.
//
// Equations (x_t the input, h the previous hidden state, c the previous cell state; W_* rows of the stacked
// weights, b_* of the stacked biases; s = sigmoid):
//   RNN:  h' = act(W_ih x_t + b_ih + W_hh h + b_hh),  act = tanh or relu
//   LSTM: [i, f, g, o] = [s, s, tanh, s](W_ih x_t + b_ih + W_hh h + b_hh)     (gate order i, f, g, o)
//         c' = f * c + i * g,  h' = o * tanh(c')
//   GRU:  r = s(W_ir x_t + b_ir + W_hr h + b_hr),  z = s(W_iz x_t + b_iz + W_hz h + b_hz)   (gate order r, z, n)
//         n = tanh(W_in x_t + b_in + r * (W_hn h + b_hn)),  h' = (1 - z) * n + z * h
//
// Buffers are C-contiguous, indexed by time t in [0, steps) (never by processing order), row-major:
//   x (steps, batch, input); w_ih (G H, input); w_hh (G H, hidden); b_ih, b_hh (G H) or null (no bias);
//   h0, c0, h_n, c_n (batch, hidden); y (steps, batch, hidden), y[t] = the hidden state after step t;
//   G = gate_count(cell) = 1 (RNN), 4 (LSTM), 3 (GRU).
// Saved for the backward (written by the forward, read by the backward):
//   gates (steps, batch, G H): the gate activations i, f, g, o (LSTM) / r, z, n (GRU); unused for RNN (null);
//   aux (steps, batch, A H): LSTM A = 2, row = [c_t, tanh(c_t)]; GRU A = 1, row = W_hn h + b_hn; RNN A = 0.
// reverse = true runs t = steps - 1 down to 0 (the backward direction of a bidirectional layer); the
// previous state of step t is then y[t + 1] (h0 for t = steps - 1).
//
// Results do not depend on the thread count or on the buffers' alignment: the products are eigengrad's
// GEMM (fixed k-blocks), gate math runs over fixed-size blocks of each row, and bias gradients are summed
// over rows in a fixed order.
#pragma once
#include "eigengrad/parallel.hpp"

namespace eigengrad {

enum class RnnCell { rnn_tanh, rnn_relu, lstm, gru };

inline index_t gate_count(RnnCell cell) { return cell == RnnCell::lstm ? 4 : cell == RnnCell::gru ? 3 : 1; }
inline index_t aux_count(RnnCell cell) { return cell == RnnCell::lstm ? 2 : cell == RnnCell::gru ? 1 : 0; }

// The sizes of one layer-direction.
struct RnnShape {
  RnnCell cell;
  index_t steps, batch, input, hidden;
  bool reverse;
};

// The parameters (read only) or their gradients (written) of one layer-direction.
template <class P>
struct RnnParams {
  P w_ih, w_hh, b_ih, b_hh;  // b_ih, b_hh both null when the layer has no bias
};

// Forward. Reads x, h0, c0 (LSTM only), the parameters; writes y, h_n, c_n (LSTM), gates (LSTM, GRU), aux
// (LSTM, GRU). h_n and c_n may be null (not wanted). steps may be 0 (then h_n = h0, c_n = c0), batch may be 0.
template <class T>
void rnn_forward(const RnnShape& s, const T* x, const T* h0, const T* c0, const RnnParams<const T*>& p, T* y, T* h_n,
                 T* c_n, T* gates, T* aux);

// Backward through time. Reads the forward's inputs and outputs (x, h0, c0, w_ih, w_hh, y, gates, aux) and the
// gradients of y, h_n, c_n (dh_n, dc_n may be null: zero). Writes dx (steps, batch, input), dh0, dc0 (LSTM),
// and the parameter gradients (overwritten, not accumulated). Any output may be null (not wanted); bias
// gradients are written when the layer has a bias. work is scratch of work_size(s) elements (overwritten):
// the caller provides it, so that an allocator that recycles memory (NumPy's) spares the page faults of a
// fresh multi-megabyte buffer on every call.
//   RNN:  dpre = dh * act'(h'); dh_prev = dpre W_hh
//   LSTM: dc = dc' + dh o (1 - tanh^2 c'); do = dh tanh c'; di = dc g; df = dc c; dg = dc i; dc_prev = dc f
//   GRU:  dn = dh (1 - z); dz = dh (h - n); dpre_n = dn (1 - n^2); dr = dpre_n (W_hn h + b_hn);
//         dh_prev = dh z + [dpre_r, dpre_z, r dpre_n] W_hh
// then dx = dG_ih W_ih, dW_ih = dG_ih^T x, dW_hh = dG_hh^T h_prev (one GEMM each over all steps), db = row sums.
template <class T>
void rnn_backward(const RnnShape& s, const T* x, const T* h0, const T* c0, const RnnParams<const T*>& p, const T* y,
                  const T* gates, const T* aux, const T* dy, const T* dh_n, const T* dc_n, T* dx, T* dh0, T* dc0,
                  const RnnParams<T*>& dp, T* work);

// Elements of the backward's scratch: the gate gradients of all steps, twice for GRU (input and hidden side);
// for RNN and LSTM also the rows [x_t, h_prev] of all steps (the weight gradients are then one GEMM).
inline index_t work_size(const RnnShape& s) {
  const index_t rows = s.steps * s.batch;
  if (s.cell == RnnCell::gru) return 2 * rows * gate_count(s.cell) * s.hidden;
  return rows * (gate_count(s.cell) * s.hidden + s.input + s.hidden);
}

}  // namespace eigengrad
