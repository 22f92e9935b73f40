// Scaled dot-product attention, fused: one kernel for the forward, one for the backward (FlashAttention,
// Dao et al. 2022; the loop order and the saved log-sum-exp of FlashAttention-2, Dao 2023).
//
// Buffers are C-contiguous, with B the (flattened) batch, Hq query heads, Hk key/value heads (Hq a
// multiple of Hk: query head h reads key/value head h / (Hq / Hk), grouped-query attention):
//   q (B, Hq, L, E)   k (B, Hk, S, E)   v (B, Hk, S, Ev)   out (B, Hq, L, Ev)   lse (B, Hq, L)
// For query row i of head (b, h), with x_j = scale * (q_i . k_j) + mask(b, h, i, j):
//   p_j = exp(x_j - lse_i),  lse_i = log sum_j exp(x_j),  out_i = sum_j p_j d_j / (1 - dropout) v_j
// where d_j is the dropout draw of element (b, h, i, j) (1 without dropout). A masked element has
// x_j = -inf; a row with every x_j = -inf gives out_i = 0 and lse_i = +inf (PyTorch's "safe softmax":
// zeros, and zero gradients).
//
// The mask is read through its element strides (sb, sh, si, sj) over (batch, query head, query, key),
// so a broadcast mask (a stride of 0) is never materialised:
//   keep:  bool (uint8) mask, 1 = takes part, 0 = x_j = -inf (PyTorch's bool attn_mask)
//   bias:  an additive float mask of T
//   causal: key j > query i is masked (the top-left aligned lower triangle, as PyTorch's is_causal)
// Dropout: element (b, h, i, j) is kept iff the dropout draw (dropout.hpp) of index
// ((b Hq + h) L + i) S + j keeps it, so the backward regenerates the same mask, on any number of threads.
//
// Blocks. A task owns query rows [i0, i0 + BM) of one head and walks the keys in blocks of BN, always
// in the same order: the scores of a block are one GEMM (q_i . k_j^T), the row maxima and sums are
// updated online (Milakov & Gimelshein 2018) and out_i += p v_j is a second GEMM. Only out and lse are
// stored; the backward recomputes the blocks. So the L x S attention matrix never exists for long
// sequences, and, each output element being summed by one task in a fixed order, the bits do not
// depend on the thread count.
//
// The backward (delta_i = sum_e dout_ie out_ie; ds_ij = p_ij (d_ij dp_ij / (1 - dropout) - delta_i),
// dp_ij = dout_i . v_j):
//   dv_j += (p d / (1 - dropout))^T dout_i,  dq_i += scale ds k_j,  dk_j += scale ds^T q_i
// A task owns one key/value head (b, g) and walks the query heads that read it, their query blocks and,
// per query block, the key blocks, in a fixed order; so dq, and dk and dv (summed over the heads of a
// group), are each summed by one task. dmask (optional, B, Hq, L, S) receives ds, the gradient of an
// additive mask.
//
// Kept weights. When every query row's keys fit in one key block (attention_keeps_weights), the forward
// can also write the weights p (before dropout) into a (B, Hq, L, S) buffer, and the backward given them
// skips its recomputation (the q_i k_j^T GEMM and the exp): one GEMM in seven and an exp pass fewer, for
// S x L weights per head that are short sequences' price (the caller decides whether to pay the memory).
#pragma once
#include <cstdint>

#include "eigengrad/parallel.hpp"

namespace eigengrad {

struct AttentionShape {
  index_t batch, heads, kv_heads;  // B, Hq, Hk
  index_t lq, lk;                  // L, S
  index_t dk, dv;                  // E, Ev
};

// At most one of keep and bias is set.
template <class T>
struct AttentionMask {
  const std::uint8_t* keep = nullptr;
  const T* bias = nullptr;
  index_t sb = 0, sh = 0, si = 0, sj = 0;  // element strides over (batch, query head, query, key)
};

struct AttentionOptions {
  double scale = 1.0;
  bool causal = false;
  // Dropout (threshold < 2^32): keep iff the draw's word < threshold; kept values are multiplied by
  // keep_scale = 1 / (1 - p).
  std::uint64_t seed = 0, offset = 0, threshold = std::uint64_t(1) << 32;
  double keep_scale = 1.0;
  bool dropout() const { return threshold < (std::uint64_t(1) << 32); }
};

// Whether the forward can keep the weights for this shape and these options (S fits one key block).
bool attention_keeps_weights(const AttentionShape& s, const AttentionOptions& opt);

// Writes out and lse, and the weights p (B, Hq, L, S) when weights is not null (only when
// attention_keeps_weights); reads q, k, v and the mask, none of which may overlap the outputs.
template <class T>
void attention_forward(const T* q, const T* k, const T* v, const AttentionMask<T>& mask, const AttentionOptions& opt,
                       T* out, T* lse, T* weights, const AttentionShape& s);

// Gradients given dout: dq (like q), dk (like k), dv (like v), and dmask (B, Hq, L, S) when not null.
// Reads q, k, v, out, lse and (when not null) the kept weights of the forward (same mask and options);
// outputs are overwritten and must not overlap the inputs or each other.
template <class T>
void attention_backward(const T* q, const T* k, const T* v, const T* out, const T* lse, const T* weights,
                        const T* dout, const AttentionMask<T>& mask, const AttentionOptions& opt, T* dq, T* dk, T* dv,
                        T* dmask, const AttentionShape& s);

}  // namespace eigengrad
