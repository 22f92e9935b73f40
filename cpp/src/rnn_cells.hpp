// The elementwise part of one time step of a recurrent cell, one batch row at a time, forward and backward
// (see eigengrad/rnn.hpp for the equations and the buffer layout). Private to rnn_forward.cpp and
// rnn_backward.cpp.
//
// A row's hidden units are processed in fixed-size blocks of B elements (Eigen fixed-size arrays: every
// element goes through the same SIMD code, the last block zero-padded), so the bits of tanh / logistic do
// not depend on where a row starts in memory; and all gates of a block are computed together, so the
// pre-activations are read once while they are in registers.
#pragma once
#include <Eigen/Core>
#include <algorithm>

#include "eigengrad/parallel.hpp"
#include "eigengrad/sigmoid_tanh.hpp"

namespace eigengrad::rnn_detail {

template <class T>
constexpr int kBlock = 64 / int(sizeof(T));  // two AVX2 packets: 16 floats, 8 doubles

template <class T>
using Block = Eigen::Array<T, kBlock<T>, 1>;

// m <= B elements from p, zero padded.
template <class T>
inline Block<T> load(const T* p, index_t m) {
  if (m == kBlock<T>) return Eigen::Map<const Block<T>>(p);
  Block<T> a = Block<T>::Zero();
  std::copy(p, p + m, a.data());
  return a;
}

template <class T>
inline void store(const Block<T>& a, T* p, index_t m) {
  if (m == kBlock<T>) {
    Eigen::Map<Block<T>> dst(p);
    dst = a;
  } else {
    std::copy(a.data(), a.data() + m, p);
  }
}

// body(j, m) for the blocks [j, j + m) of [0, h).
template <class Body>
inline void for_blocks(index_t h, index_t width, Body&& body) {
  for (index_t j = 0; j < h; j += width) body(j, std::min(width, h - j));
}

template <class T>
inline Block<T> sigmoid(const Block<T>& a) { return accurate_sigmoid(a); }

template <class T>
inline Block<T> tanh(const Block<T>& a) { return accurate_tanh(a); }

// --- forward: gate pre-activations (in place) -> activations, new state ------------------------------

// Elman RNN: pre (h) is y's row, activated in place.
template <class T>
void rnn_row_forward(T* pre, index_t h, bool relu) {
  for_blocks(h, kBlock<T>, [&](index_t j, index_t m) {
    const Block<T> a = load(pre + j, m);
    store<T>(relu ? Block<T>(a.max(T(0))) : tanh<T>(a), pre + j, m);
  });
}

// LSTM: g (4h) holds the pre-activations [i, f, g, o] and receives the activations; c_prev (h);
// writes aux = [c, tanh c] (2h) and y (h).
template <class T>
void lstm_row_forward(T* g, const T* c_prev, T* aux, T* y, index_t h) {
  for_blocks(h, kBlock<T>, [&](index_t j, index_t m) {
    const Block<T> i = sigmoid(load(g + j, m)), f = sigmoid(load(g + h + j, m));
    const Block<T> gg = tanh<T>(load(g + 2 * h + j, m)), o = sigmoid(load(g + 3 * h + j, m));
    const Block<T> c = f * load(c_prev + j, m) + i * gg;
    const Block<T> tc = tanh<T>(c);
    store(i, g + j, m);
    store(f, g + h + j, m);
    store(gg, g + 2 * h + j, m);
    store(o, g + 3 * h + j, m);
    store(c, aux + j, m);
    store(tc, aux + h + j, m);
    store<T>(o * tc, y + j, m);
  });
}

// GRU: g (3h) holds W_i x + b_i for [r, z, n] and receives the activations; hh (3h) = W_h h + b_h; h_prev (h).
// Writes aux = W_hn h + b_hn (h) and y = (h_prev - n) z + n (h), PyTorch's order of operations.
template <class T>
void gru_row_forward(T* g, const T* hh, const T* h_prev, T* aux, T* y, index_t h) {
  for_blocks(h, kBlock<T>, [&](index_t j, index_t m) {
    const Block<T> r = sigmoid<T>(load(g + j, m) + load(hh + j, m));
    const Block<T> z = sigmoid<T>(load(g + h + j, m) + load(hh + h + j, m));
    const Block<T> hn = load(hh + 2 * h + j, m);
    const Block<T> n = tanh<T>(Block<T>(load(g + 2 * h + j, m) + r * hn));
    store(r, g + j, m);
    store(z, g + h + j, m);
    store(n, g + 2 * h + j, m);
    store(hn, aux + j, m);
    store<T>((load(h_prev + j, m) - n) * z + n, y + j, m);
  });
}

// --- backward: dh (the gradient carried from the later step) + dy -> gate gradients -------------------

// Elman RNN: dpre = (dh + dy) act'(y), act' from the output (tanh: 1 - y^2; relu: not y <= 0, so a NaN passes).
template <class T>
void rnn_row_backward(const T* y, const T* dh, const T* dy, T* dpre, index_t h, bool relu) {
  for_blocks(h, kBlock<T>, [&](index_t j, index_t m) {
    const Block<T> yy = load(y + j, m), d = load(dh + j, m) + load(dy + j, m);
    store<T>(relu ? Block<T>((yy <= T(0)).select(Block<T>::Zero(), d)) : Block<T>(d * (T(1) - yy.square())),
             dpre + j, m);
  });
}

// LSTM: gates [i, f, g, o] (4h), aux [c, tanh c] (2h), c_prev (h); dc (h) is the carried cell gradient,
// replaced by the gradient of c_prev. Writes dpre (4h).
template <class T>
void lstm_row_backward(const T* gates, const T* aux, const T* c_prev, const T* dh, const T* dy, T* dc, T* dpre,
                       index_t h) {
  for_blocks(h, kBlock<T>, [&](index_t j, index_t m) {
    const Block<T> i = load(gates + j, m), f = load(gates + h + j, m);
    const Block<T> g = load(gates + 2 * h + j, m), o = load(gates + 3 * h + j, m);
    const Block<T> tc = load(aux + h + j, m);
    const Block<T> d = load(dh + j, m) + load(dy + j, m);
    const Block<T> dct = load(dc + j, m) + d * o * (T(1) - tc.square());
    store<T>(dct * g * i * (T(1) - i), dpre + j, m);
    store<T>(dct * load(c_prev + j, m) * f * (T(1) - f), dpre + h + j, m);
    store<T>(dct * i * (T(1) - g.square()), dpre + 2 * h + j, m);
    store<T>(d * tc * o * (T(1) - o), dpre + 3 * h + j, m);
    store<T>(dct * f, dc + j, m);
  });
}

// GRU: gates [r, z, n] (3h), aux = W_hn h + b_hn (h), h_prev (h). Writes the gradients of the input-side
// pre-activations di (3h) and of the hidden-side ones dhh (3h: equal for r, z; r dpre_n for n), and
// replaces dh by its direct part (dh + dy) z (the product with W_hh is added by the caller).
template <class T>
void gru_row_backward(const T* gates, const T* aux, const T* h_prev, T* dh, const T* dy, T* di, T* dhh, index_t h) {
  for_blocks(h, kBlock<T>, [&](index_t j, index_t m) {
    const Block<T> r = load(gates + j, m), z = load(gates + h + j, m), n = load(gates + 2 * h + j, m);
    const Block<T> d = load(dh + j, m) + load(dy + j, m);
    const Block<T> dpn = d * (T(1) - z) * (T(1) - n.square());
    const Block<T> dpr = dpn * load(aux + j, m) * r * (T(1) - r);
    const Block<T> dpz = d * (load(h_prev + j, m) - n) * z * (T(1) - z);
    store(dpr, di + j, m);
    store(dpz, di + h + j, m);
    store(dpn, di + 2 * h + j, m);
    store(dpr, dhh + j, m);
    store(dpz, dhh + h + j, m);
    store<T>(dpn * r, dhh + 2 * h + j, m);
    store<T>(d * z, dh + j, m);
  });
}

// The time step processed at position k of the loop, and the hidden state step t starts from.
struct Order {
  index_t steps;
  bool reverse;
  index_t at(index_t k) const { return reverse ? steps - 1 - k : k; }
  bool first(index_t t) const { return t == (reverse ? steps - 1 : 0); }
  index_t prev(index_t t) const { return reverse ? t + 1 : t - 1; }
};

// Rows [0, batch) of one step, in parallel over fixed chunks of rows (the split depends on the shape only).
template <class Body>
void for_rows(index_t batch, index_t row_size, Body&& body) {
  const index_t grain = std::max<index_t>(1, (index_t(1) << 13) / std::max<index_t>(row_size, 1));
  parallel_for(batch, grain, [&](index_t b, index_t e) {
    for (index_t n = b; n < e; ++n) body(n);
  });
}

}  // namespace eigengrad::rnn_detail
