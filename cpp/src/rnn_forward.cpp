// Forward of one recurrent layer-direction over a whole sequence (see eigengrad/rnn.hpp).
//
// The input projection of every step does not depend on the recurrence, so it is one GEMM over all
// steps: (steps batch) x input times input x G hidden, with b_ih, written straight into the saved gates
// buffer (for an Elman RNN into y). Then the loop over time adds h W_hh^T + b_hh to the step's slab with an
// accumulating GEMM (batch x hidden times hidden x G hidden) and applies the gate math in place, so a step
// reads its pre-activations once and leaves behind exactly what the backward needs.
#include <algorithm>
#include <memory>

#include "eigengrad/gemm.hpp"
#include "eigengrad/rnn.hpp"
#include "rnn_cells.hpp"

namespace eigengrad {
namespace {
using namespace rnn_detail;

template <class T>
void copy_state(const T* src, T* dst, index_t count) {
  if (dst != nullptr && count > 0) std::copy(src, src + count, dst);
}

}  // namespace

template <class T>
void rnn_forward(const RnnShape& s, const T* x, const T* h0, const T* c0, const RnnParams<const T*>& p, T* y, T* h_n,
                 T* c_n, T* gates, T* aux) {
  const index_t N = s.batch, H = s.hidden, G = gate_count(s.cell) * H, A = aux_count(s.cell) * H;
  const index_t slab = N * H;  // one step of y
  const Order order{s.steps, s.reverse};
  const bool lstm = s.cell == RnnCell::lstm, gru = s.cell == RnnCell::gru;
  T* pre = gates != nullptr && (lstm || gru) ? gates : y;  // Elman RNN: the pre-activation is y's slab
  if (s.steps == 0 || N == 0) {
    copy_state(h0, h_n, slab);
    if (lstm) copy_state(c0, c_n, slab);
    return;
  }
  gemm<T>(x, p.w_ih, p.b_ih, pre, s.steps * N, G, s.input, false, true, false);
  // GRU keeps W_hh h + b_hh apart from the input side (r multiplies only its n part)
  std::unique_ptr<T[]> hh(gru ? new T[std::size_t(N * G)] : nullptr);
  for (index_t k = 0; k < s.steps; ++k) {
    const index_t t = order.at(k);
    const T* h_prev = order.first(t) ? h0 : y + order.prev(t) * slab;
    T* pre_t = pre + t * N * G;
    T* y_t = y + t * slab;
    if (gru) {
      gemm<T>(h_prev, p.w_hh, p.b_hh, hh.get(), N, G, H, false, true, false);
      for_rows(N, G, [&](index_t n) {
        gru_row_forward(pre_t + n * G, hh.get() + n * G, h_prev + n * H, aux + (t * N + n) * A, y_t + n * H, H);
      });
      continue;
    }
    gemm<T>(h_prev, p.w_hh, p.b_hh, pre_t, N, G, H, false, true, true);
    if (lstm) {
      const T* c_prev = order.first(t) ? c0 : aux + order.prev(t) * N * A;
      const index_t c_stride = order.first(t) ? H : A;  // c0 is (N, H); aux rows are [c, tanh c]
      for_rows(N, G, [&](index_t n) {
        lstm_row_forward(pre_t + n * G, c_prev + n * c_stride, aux + (t * N + n) * A, y_t + n * H, H);
      });
    } else {
      for_rows(N, H, [&](index_t n) { rnn_row_forward(y_t + n * H, H, s.cell == RnnCell::rnn_relu); });
    }
  }
  const index_t last = order.at(s.steps - 1);
  copy_state(y + last * slab, h_n, slab);
  if (lstm && c_n != nullptr) {
    for (index_t n = 0; n < N; ++n) std::copy(aux + (last * N + n) * A, aux + (last * N + n) * A + H, c_n + n * H);
  }
}

template void rnn_forward<float>(const RnnShape&, const float*, const float*, const float*,
                                 const RnnParams<const float*>&, float*, float*, float*, float*, float*);
template void rnn_forward<double>(const RnnShape&, const double*, const double*, const double*,
                                  const RnnParams<const double*>&, double*, double*, double*, double*, double*);

}  // namespace eigengrad
