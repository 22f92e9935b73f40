// Fused scaled dot-product attention, forward and backward (see attention.hpp for the layout, the
// formulas and the blocking). The block products are eigengrad's packed GEMM, called on one thread
// per task inside one parallel region; the softmax work between them is per row, over fixed-size
// Eigen blocks for exp, so every element goes through the same packet code whatever the alignment.
#include "eigengrad/attention.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "attention_rows.hpp"
#include "eigengrad/dropout.hpp"
#include "eigengrad/gemm.hpp"
#include "eigengrad/simd_block.hpp"

namespace eigengrad {
namespace {

using namespace attention_detail;

// Rows per query block and keys per key block. Large blocks keep the GEMMs near their peak (packing
// is paid once per block: with 256 query rows a head's keys and values are packed once, not twice);
// BM x BN scores of T stay well inside L2. With is_causal both blocks are halved, so that more of the
// blocks above the diagonal are skipped whole (at sequence 256, head dim 64 on Zen 4, one thread: full
// attention 10% faster with 256 keys a block than 128 and 1.5% with 256 query rows than 128; causal 20%
// faster with 128 keys than 256, and 12% with 128 query rows than 256). Constants and options only, so
// the blocks (and the order of every sum) do not depend on the thread count.
template <class T>
struct Blocks {
  static constexpr index_t BM = 256, BN = 256;
  static index_t query_block(const AttentionOptions& opt) { return opt.causal ? BM / 2 : BM; }
  static index_t key_block(const AttentionOptions& opt) { return opt.causal ? BN / 2 : BN; }
};

// Per-thread scratch, kept between calls (one task at a time uses a thread's buffers).
template <class T>
T* scratch(int slot, index_t count) {
  thread_local std::vector<T> buffers[4];
  std::vector<T>& b = buffers[slot];
  if (b.size() < std::size_t(count)) b.resize(std::size_t(count));
  return b.data();
}
inline std::uint8_t* bits_scratch(index_t count) {
  thread_local std::vector<std::uint8_t> bits;
  if (bits.size() < std::size_t(count)) bits.resize(std::size_t(count));
  return bits.data();
}

// Where the rows of one head live.
template <class T>
struct Head {
  const T *q, *k, *v;  // (L, E), (S, E), (S, Ev) of this query head and its key/value head
  index_t b, h;        // batch and query head
};

template <class T>
Head<T> head(const T* q, const T* k, const T* v, index_t b, index_t h, const AttentionShape& s) {
  const index_t g = h / (s.heads / s.kv_heads), bh = b * s.heads + h, bg = b * s.kv_heads + g;
  return {q + bh * s.lq * s.dk, k + bg * s.lk * s.dk, v + bg * s.lk * s.dv, b, h};
}

// Whether every element of the block (rows [i0, i0 + bm), keys from j0) is above the causal diagonal.
inline bool causal_skip(const AttentionOptions& opt, index_t i0, index_t bm, index_t j0) {
  return opt.causal && j0 > i0 + bm - 1;
}

// The forward accumulates out_i += p v_j and the backward dq_i += ds k_j straight into out and dq (bm x
// head dim), with the probabilities (or the score gradient) as the left operand. (With the AVX2 GEMM's
// 6-row panels that operand's transposing pack ran at ~70% of its rate, so these were out^T = v_j^T p^T
// and dq^T = k_j^T ds^T in a (head dim x bm) buffer, transposed into place; with AVX-512's 12-row tiles
// the head dim of 64 left a 4-row edge tile, and the direct products were 3.5% faster fwd+bwd at
// sequence 256, head dim 64, with the same bits there: each element is the same FMA chain.) dk_j, dv_j (p^T
// and ds^T as left operands, packed without a transpose) accumulate straight into dk and dv.

// --- forward ------------------------------------------------------------------------------------

// The log-sum-exp of a row with running max m and sum l; a fully masked row (l = 0) gets +inf, so
// that the backward's p = exp(x - lse) is 0.
template <class T>
T row_lse(T m, T l) {
  return l == T(0) ? std::numeric_limits<T>::infinity() : m + std::log(l);
}

// The query block [i0, i0 + bm) against keys that fit one key block (S <= BN): every row's softmax is
// final after its one exp, so the probabilities are normalised before the product, out = p v, with no
// running rescale. The scores go straight into the kept weights when there is no dropout (they are
// the weights once normalised), else into scratch, copied to kept before the dropout draw.
template <class T>
void forward_one_block(const Head<T>& hd, const AttentionMask<T>& mask, const AttentionOptions& opt, index_t i0,
                       index_t bm, T* out, T* lse, T* kept, const AttentionShape& s) {
  const index_t n = s.lk;
  std::uint8_t* bits = opt.dropout() ? bits_scratch(n) : nullptr;
  T* p = kept && !bits ? kept : scratch<T>(0, bm * n);
  gemm<T>(hd.q + i0 * s.dk, hd.k, nullptr, p, bm, n, s.dk, false, true, false);
  for (index_t r = 0; r < bm; ++r) {
    T* row = p + r * n;
    const index_t i = i0 + r;
    T m = kNegInf<T>, l = T(0);
    online_softmax_row(row, n, scores(row, n, hd.b, hd.h, i, 0, mask, opt), m, l);
    normalize_row(row, n, l);
    lse[r] = row_lse(m, l);
    if (kept && kept != p) std::copy(row, row + n, kept + r * n);
    if (bits) {
      bernoulli_mask_span(bits, element_index(hd.b, hd.h, i, 0, s), n, opt.seed, opt.offset, opt.threshold);
      apply_dropout(row, bits, n, T(opt.keep_scale));
    }
  }
  gemm<T>(p, hd.v, nullptr, out, bm, s.dv, n, false, false, false);  // out = p v
}

// The query block [i0, i0 + bm) of one head: out rows (bm, Ev) and their lse, by the online softmax
// over key blocks (out is rescaled by alpha whenever a row's max grows, and divided by l at the end).
template <class T>
void forward_block(const Head<T>& hd, const AttentionMask<T>& mask, const AttentionOptions& opt, index_t i0,
                   index_t bm, T* out, T* lse, const AttentionShape& s) {
  const index_t BN = Blocks<T>::key_block(opt);
  T* sc = scratch<T>(0, bm * BN);
  T* m = scratch<T>(2, 3 * bm);      // running max, running sum, rescale factor
  T *l = m + bm, *alpha = l + bm;
  std::uint8_t* bits = opt.dropout() ? bits_scratch(BN) : nullptr;
  std::fill(m, m + bm, kNegInf<T>);
  std::fill(l, l + bm, T(0));
  const T* qi = hd.q + i0 * s.dk;
  bool first = true;
  for (index_t j0 = 0; j0 < s.lk; j0 += BN) {
    if (causal_skip(opt, i0, bm, j0)) break;  // later blocks are further right
    const index_t bn = std::min(BN, s.lk - j0);
    gemm<T>(qi, hd.k + j0 * s.dk, nullptr, sc, bm, bn, s.dk, false, true, false);
    for (index_t r = 0; r < bm; ++r) {
      T* row = sc + r * bn;
      const index_t i = i0 + r;
      alpha[r] = online_softmax_row(row, bn, scores(row, bn, hd.b, hd.h, i, j0, mask, opt), m[r], l[r]);
      if (bits) {
        bernoulli_mask_span(bits, element_index(hd.b, hd.h, i, j0, s), bn, opt.seed, opt.offset, opt.threshold);
        apply_dropout(row, bits, bn, T(opt.keep_scale));
      }
    }
    if (!first) scale_rows(out, bm, s.dv, alpha);
    gemm<T>(sc, hd.v + j0 * s.dv, nullptr, out, bm, s.dv, bn, false, false, !first);  // out += p v_j
    first = false;
  }
  for (index_t r = 0; r < bm; ++r) {
    alpha[r] = l[r] == T(0) ? T(0) : T(1) / l[r];
    lse[r] = row_lse(m[r], l[r]);
  }
  if (first) std::fill(out, out + bm * s.dv, T(0));  // no keys at all
  scale_rows(out, bm, s.dv, alpha);
}

// --- backward -----------------------------------------------------------------------------------

template <class T>
struct Grads {
  const T *out, *lse, *weights, *dout;  // weights: the kept weights, or null
  T *dq, *dk, *dv, *dmask;
};

// The probabilities of one (query block, key block) pair, recomputed from q, k and lse into p (bm x bn).
template <class T>
void recompute_probabilities(const Head<T>& hd, const T* lse, const AttentionMask<T>& mask,
                             const AttentionOptions& opt, index_t i0, index_t bm, index_t j0, index_t bn, T* p,
                             const AttentionShape& s) {
  gemm<T>(hd.q + i0 * s.dk, hd.k + j0 * s.dk, nullptr, p, bm, bn, s.dk, false, true, false);
  for (index_t r = 0; r < bm; ++r) {
    T* row = p + r * bn;
    scores(row, bn, hd.b, hd.h, i0 + r, j0, mask, opt);
    probabilities_row(row, bn, lse[r]);
  }
}

// One (query block, key block) pair of one head: dq_i += scale ds k_j (dqi, (bm, E)); dk_j and
// dv_j accumulate in dk, dv (or are written, kv_first: the first pair of the task that reaches key block
// j, so they need no zero fill); dmask is written. kept: the pair's kept weights (bm x bn), or null.
template <class T>
void backward_pair(const Head<T>& hd, const Grads<T>& gr, const T* delta, const AttentionMask<T>& mask,
                   const AttentionOptions& opt, index_t i0, index_t bm, index_t j0, index_t bn, T* dqi,
                   bool first, bool kv_first, const T* kept, const AttentionShape& s) {
  constexpr index_t BM = Blocks<T>::BM, BN = Blocks<T>::BN;
  const index_t bh = hd.b * s.heads + hd.h, bg = hd.b * s.kv_heads + hd.h / (s.heads / s.kv_heads);
  const T* p = kept ? kept : scratch<T>(0, BM * BN);
  T* dp = scratch<T>(1, BM * BN);
  const T* pd = p;  // the dropped-out probabilities, for dv
  std::uint8_t* bits = opt.dropout() ? bits_scratch(BM * BN) : nullptr;
  const T *qi = hd.q + i0 * s.dk, *kj = hd.k + j0 * s.dk, *vj = hd.v + j0 * s.dv;
  const T* doi = gr.dout + (bh * s.lq + i0) * s.dv;
  const T* lse = gr.lse + bh * s.lq + i0;
  T* dkj = gr.dk + (bg * s.lk + j0) * s.dk;
  T* dvj = gr.dv + (bg * s.lk + j0) * s.dv;
  if (!kept) recompute_probabilities(hd, lse, mask, opt, i0, bm, j0, bn, scratch<T>(0, BM * BN), s);
  if (bits) {
    T* dropped = scratch<T>(2, BM * BN);
    for (index_t r = 0; r < bm; ++r) {
      std::uint8_t* br = bits + r * bn;
      bernoulli_mask_span(br, element_index(hd.b, hd.h, i0 + r, j0, s), bn, opt.seed, opt.offset, opt.threshold);
      dropped_row(p + r * bn, br, bn, T(opt.keep_scale), dropped + r * bn);
    }
    pd = dropped;
  }
  gemm<T>(pd, doi, nullptr, dvj, bn, s.dv, bm, true, false, !kv_first);  // dv_j += pd^T dout_i
  gemm<T>(doi, vj, nullptr, dp, bm, bn, s.dv, false, true, false);  // dp = dout_i v_j^T
  for (index_t r = 0; r < bm; ++r) {
    T* dmask = gr.dmask ? gr.dmask + (bh * s.lq + i0 + r) * s.lk + j0 : nullptr;
    score_grad_row(p + r * bn, dp + r * bn, bits ? bits + r * bn : nullptr, bn, delta[r], T(opt.keep_scale),
                   T(opt.scale), dmask);
  }
  gemm<T>(dp, qi, nullptr, dkj, bn, s.dk, bm, true, false, !kv_first);  // dk_j += scale ds^T q_i
  gemm<T>(dp, kj, nullptr, dqi, bm, s.dk, bn, false, false, !first);     // dq_i += scale ds k_j
}

// The query block [i0, i0 + bm) of one head: dq_i, and its share of dk and dv of the head's key/value head.
// reached[j]: whether the task has written key block j's dk and dv yet.
template <class T>
void backward_block(const Head<T>& hd, const Grads<T>& gr, const AttentionMask<T>& mask,
                    const AttentionOptions& opt, index_t i0, index_t bm, std::vector<char>& reached,
                    const AttentionShape& s) {
  const T* kept = gr.weights ? gr.weights + (hd.b * s.heads + hd.h) * s.lq * s.lk + i0 * s.lk : nullptr;
  const index_t BN = Blocks<T>::key_block(opt);
  const index_t bh = hd.b * s.heads + hd.h;
  T* delta = scratch<T>(3, bm);
  T* dqi = gr.dq + (bh * s.lq + i0) * s.dk;
  for (index_t r = 0; r < bm; ++r) {
    const T *o = gr.out + (bh * s.lq + i0 + r) * s.dv, *d = gr.dout + (bh * s.lq + i0 + r) * s.dv;
    delta[r] = T(fixed_order_sum(s.dv, [&](index_t e) { return double(o[e]) * double(d[e]); }));
  }
  bool first = true;
  for (index_t j0 = 0; j0 < s.lk; j0 += BN) {
    if (causal_skip(opt, i0, bm, j0)) break;
    char& kv_reached = reached[std::size_t(j0 / BN)];
    backward_pair(hd, gr, delta, mask, opt, i0, bm, j0, std::min(BN, s.lk - j0), dqi, first, !kv_reached, kept, s);
    first = false;
    kv_reached = 1;
  }
  if (first) std::fill(dqi, dqi + bm * s.dk, T(0));
}

}  // namespace

bool attention_keeps_weights(const AttentionShape& s, const AttentionOptions& opt) {
  return s.lk <= Blocks<float>::key_block(opt) && Blocks<float>::key_block(opt) == Blocks<double>::key_block(opt);
}

template <class T>
void attention_forward(const T* q, const T* k, const T* v, const AttentionMask<T>& mask, const AttentionOptions& opt,
                       T* out, T* lse, T* weights, const AttentionShape& s) {
  if (!attention_keeps_weights(s, opt)) weights = nullptr;
  const index_t BM = Blocks<T>::query_block(opt);
  const index_t blocks = ceil_div(s.lq, BM), tasks = s.batch * s.heads * blocks;
  parallel_for(tasks, 1, [&](index_t t0, index_t t1) {
    for (index_t t = t0; t < t1; ++t) {
      const index_t bh = t / blocks, i0 = (t % blocks) * BM, bm = std::min(BM, s.lq - i0);
      const Head<T> hd = head(q, k, v, bh / s.heads, bh % s.heads, s);
      T *o = out + (bh * s.lq + i0) * s.dv, *l = lse + bh * s.lq + i0;
      if (s.lk > 0 && s.lk <= Blocks<T>::key_block(opt))
        forward_one_block(hd, mask, opt, i0, bm, o, l, weights ? weights + (bh * s.lq + i0) * s.lk : nullptr, s);
      else
        forward_block(hd, mask, opt, i0, bm, o, l, s);
    }
  });
}

template <class T>
void attention_backward(const T* q, const T* k, const T* v, const T* out, const T* lse, const T* weights,
                        const T* dout, const AttentionMask<T>& mask, const AttentionOptions& opt, T* dq, T* dk, T* dv,
                        T* dmask, const AttentionShape& s) {
  const index_t BM = Blocks<T>::query_block(opt), BN = Blocks<T>::key_block(opt);
  const index_t rep = s.heads / std::max<index_t>(s.kv_heads, 1);
  if (!attention_keeps_weights(s, opt)) weights = nullptr;
  const Grads<T> gr{out, lse, weights, dout, dq, dk, dv, dmask};
  // a task: one key/value head (b, g) and the rep query heads that read it, in order
  parallel_for(s.batch * s.kv_heads, 1, [&](index_t t0, index_t t1) {
    for (index_t t = t0; t < t1; ++t) {
      const index_t b = t / s.kv_heads, g = t % s.kv_heads;
      std::vector<char> reached(std::size_t(ceil_div(s.lk, BN)), 0);
      for (index_t h = g * rep; h < (g + 1) * rep; ++h) {
        const index_t bh = b * s.heads + h;
        if (dmask) std::fill(dmask + bh * s.lq * s.lk, dmask + (bh + 1) * s.lq * s.lk, T(0));
        const Head<T> hd = head(q, k, v, b, h, s);
        for (index_t i0 = 0; i0 < s.lq; i0 += BM)
          backward_block(hd, gr, mask, opt, i0, std::min(BM, s.lq - i0), reached, s);
      }
      for (index_t j0 = 0; j0 < s.lk; j0 += BN) {  // key blocks no query reached (causal, or no queries)
        if (reached[std::size_t(j0 / BN)]) continue;
        const index_t bn = std::min(BN, s.lk - j0);
        std::fill_n(dk + (t * s.lk + j0) * s.dk, bn * s.dk, T(0));
        std::fill_n(dv + (t * s.lk + j0) * s.dv, bn * s.dv, T(0));
      }
    }
  });
}

#define EIGENGRAD_ATTENTION(T)                                                                                  \
  template void attention_forward<T>(const T*, const T*, const T*, const AttentionMask<T>&,                     \
                                     const AttentionOptions&, T*, T*, T*, const AttentionShape&);               \
  template void attention_backward<T>(const T*, const T*, const T*, const T*, const T*, const T*, const T*,     \
                                      const AttentionMask<T>&, const AttentionOptions&, T*, T*, T*, T*,         \
                                      const AttentionShape&);
EIGENGRAD_ATTENTION(float)
EIGENGRAD_ATTENTION(double)
#undef EIGENGRAD_ATTENTION

}  // namespace eigengrad
