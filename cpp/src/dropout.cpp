#include "eigengrad/dropout.hpp"

#include <algorithm>

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace eigengrad {
namespace {
constexpr std::uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
constexpr std::uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;

// Lanes of Philox blocks computed together: structure-of-arrays so GCC vectorises the 32x32->64 bit
// products (vpmuludq). Bitwise the same as philox4x32(ctr, 0, seed) of random.cpp for each lane. A batch
// is four independent registers of lanes per Philox word (16 lanes each with AVX-512, 8 with AVX2): the
// rounds of one register form a dependency chain (the multiply's latency), four keep the multiplier busy.
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
#define EIGENGRAD_PHILOX_AVX512 1
constexpr int kLanes = 64;
#else
constexpr int kLanes = 32;
#endif
constexpr int kWords = 4 * kLanes;  // elements per batch of blocks

#if defined(EIGENGRAD_PHILOX_AVX512) || defined(__AVX2__)
// The operations the rounds need on one register of W 32-bit lanes. mul_epu32 multiplies the even lanes
// into 64-bit products; the odd lanes are shifted down and multiplied the same way (mulhilo).
#if defined(EIGENGRAD_PHILOX_AVX512)
struct Lanes {
  using V = __m512i;
  static constexpr int W = 16;
  static V set1(std::uint32_t x) { return _mm512_set1_epi32(int(x)); }
  static V iota() { return _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15); }
  static V add(V a, V b) { return _mm512_add_epi32(a, b); }
  static V bxor(V a, V b) { return _mm512_xor_si512(a, b); }
  static V load(const std::uint32_t* p) { return _mm512_loadu_si512(p); }
  static void mulhilo(V a, V k, V& hi, V& lo) {
    const V even = _mm512_mul_epu32(a, k), odd = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), k);
    hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
    lo = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
  }
};
#else
struct Lanes {
  using V = __m256i;
  static constexpr int W = 8;
  static V set1(std::uint32_t x) { return _mm256_set1_epi32(int(x)); }
  static V iota() { return _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7); }
  static V add(V a, V b) { return _mm256_add_epi32(a, b); }
  static V bxor(V a, V b) { return _mm256_xor_si256(a, b); }
  static V load(const std::uint32_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static void mulhilo(V a, V k, V& hi, V& lo) {
    const V even = _mm256_mul_epu32(a, k), odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), k);
    hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
    lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
  }
};
#endif

constexpr int kGroups = kLanes / Lanes::W;  // registers per Philox word

// The ten rounds for blocks first .. first + kLanes - 1: c0..c3[g] receive words 0..3 of blocks
// first + g W .. first + g W + W - 1, lane by lane.
inline void philox_rounds(std::uint64_t first, std::uint64_t seed, Lanes::V* c0, Lanes::V* c1, Lanes::V* c2,
                          Lanes::V* c3) {
  using L = Lanes;
  constexpr int W = L::W;
  for (int g = 0; g < kGroups; ++g) {
    const std::uint64_t base = first + std::uint64_t(W * g);
    if (std::uint32_t(base) <= 0xFFFFFFFFu - std::uint32_t(W - 1)) {  // no carry into the high word within the set
      c0[g] = L::add(L::set1(std::uint32_t(base)), L::iota());
      c1[g] = L::set1(std::uint32_t(base >> 32));
    } else {
      std::uint32_t lo[W], hi[W];
      for (int l = 0; l < W; ++l) {
        lo[l] = std::uint32_t(base + std::uint64_t(l));
        hi[l] = std::uint32_t((base + std::uint64_t(l)) >> 32);
      }
      c0[g] = L::load(lo);
      c1[g] = L::load(hi);
    }
    c2[g] = c3[g] = L::set1(0);
  }
  const L::V m0 = L::set1(kMul0), m1 = L::set1(kMul1);
  std::uint32_t k0 = std::uint32_t(seed), k1 = std::uint32_t(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    const L::V key0 = L::set1(k0), key1 = L::set1(k1);
    for (int g = 0; g < kGroups; ++g) {
      L::V hi0, lo0, hi1, lo1;
      L::mulhilo(c0[g], m0, hi0, lo0);
      L::mulhilo(c2[g], m1, hi1, lo1);
      c0[g] = L::bxor(L::bxor(hi1, c1[g]), key0);
      c2[g] = L::bxor(L::bxor(hi0, c3[g]), key1);
      c1[g] = lo1;
      c3[g] = lo0;
    }
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
}

// words[4 l + k] = word k of block (first + l), l < kLanes: element order of the draw. Per 128-bit lane i
// (blocks 4i .. 4i+3) the unpacks give l0 = block 4i's four words, l1 = 4i+1, l2 = 4i+2, l3 = 4i+3; the
// 128-bit lanes are then put in element order (AVX-512: 1.9-2.1x the AVX2 rate on the Xeon host).
inline void philox_batch(std::uint64_t first, std::uint64_t seed, std::uint32_t* words) {
  Lanes::V c0[kGroups], c1[kGroups], c2[kGroups], c3[kGroups];
  philox_rounds(first, seed, c0, c1, c2, c3);
  for (int g = 0; g < kGroups; ++g) {
#if defined(EIGENGRAD_PHILOX_AVX512)
    const __m512i a = _mm512_unpacklo_epi32(c0[g], c1[g]), b = _mm512_unpackhi_epi32(c0[g], c1[g]);
    const __m512i c = _mm512_unpacklo_epi32(c2[g], c3[g]), d = _mm512_unpackhi_epi32(c2[g], c3[g]);
    const __m512i l0 = _mm512_unpacklo_epi64(a, c), l1 = _mm512_unpackhi_epi64(a, c);
    const __m512i l2 = _mm512_unpacklo_epi64(b, d), l3 = _mm512_unpackhi_epi64(b, d);
    // a 4 x 4 transpose of 128-bit lanes: output vector i = (l0, l1, l2, l3) of lane i
    const __m512i t0 = _mm512_shuffle_i32x4(l0, l1, 0x44), t1 = _mm512_shuffle_i32x4(l2, l3, 0x44);
    const __m512i t2 = _mm512_shuffle_i32x4(l0, l1, 0xEE), t3 = _mm512_shuffle_i32x4(l2, l3, 0xEE);
    std::uint32_t* out = words + 64 * g;
    _mm512_storeu_si512(out + 0, _mm512_shuffle_i32x4(t0, t1, 0x88));
    _mm512_storeu_si512(out + 16, _mm512_shuffle_i32x4(t0, t1, 0xDD));
    _mm512_storeu_si512(out + 32, _mm512_shuffle_i32x4(t2, t3, 0x88));
    _mm512_storeu_si512(out + 48, _mm512_shuffle_i32x4(t2, t3, 0xDD));
#else
    const __m256i a = _mm256_unpacklo_epi32(c0[g], c1[g]), b = _mm256_unpackhi_epi32(c0[g], c1[g]);
    const __m256i c = _mm256_unpacklo_epi32(c2[g], c3[g]), d = _mm256_unpackhi_epi32(c2[g], c3[g]);
    const __m256i l0 = _mm256_unpacklo_epi64(a, c), l1 = _mm256_unpackhi_epi64(a, c);
    const __m256i l2 = _mm256_unpacklo_epi64(b, d), l3 = _mm256_unpackhi_epi64(b, d);
    // the two 128-bit halves: (l0, l1) then (l2, l3) of the low half, then of the high half
    __m256i* out = reinterpret_cast<__m256i*>(words + 32 * g);
    _mm256_storeu_si256(out + 0, _mm256_permute2x128_si256(l0, l1, 0x20));
    _mm256_storeu_si256(out + 1, _mm256_permute2x128_si256(l2, l3, 0x20));
    _mm256_storeu_si256(out + 2, _mm256_permute2x128_si256(l0, l1, 0x31));
    _mm256_storeu_si256(out + 3, _mm256_permute2x128_si256(l2, l3, 0x31));
#endif
  }
}
#else
inline void philox_batch(std::uint64_t first, std::uint64_t seed, std::uint32_t* words) {
  std::uint32_t c0[kLanes], c1[kLanes], c2[kLanes], c3[kLanes];
  for (int l = 0; l < kLanes; ++l) {
    const std::uint64_t ctr = first + std::uint64_t(l);
    c0[l] = std::uint32_t(ctr);
    c1[l] = std::uint32_t(ctr >> 32);
    c2[l] = 0;
    c3[l] = 0;
  }
  std::uint32_t k0 = std::uint32_t(seed), k1 = std::uint32_t(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    for (int l = 0; l < kLanes; ++l) {
      const std::uint64_t p0 = std::uint64_t(kMul0) * c0[l];
      const std::uint64_t p1 = std::uint64_t(kMul1) * c2[l];
      const std::uint32_t n0 = std::uint32_t(p1 >> 32) ^ c1[l] ^ k0;
      const std::uint32_t n2 = std::uint32_t(p0 >> 32) ^ c3[l] ^ k1;
      c1[l] = std::uint32_t(p1);
      c3[l] = std::uint32_t(p0);
      c0[l] = n0;
      c2[l] = n2;
    }
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
  for (int l = 0; l < kLanes; ++l) {
    words[4 * l] = c0[l];
    words[4 * l + 1] = c1[l];
    words[4 * l + 2] = c2[l];
    words[4 * l + 3] = c3[l];
  }
}
#endif

}  // namespace

void bernoulli_mask_span(std::uint8_t* mask, index_t first, index_t n, std::uint64_t seed, std::uint64_t offset,
                         std::uint64_t threshold) {
  const std::uint32_t all = threshold >= (std::uint64_t(1) << 32) ? 1u : 0u;
  const std::uint32_t thr = std::uint32_t(threshold);
  const index_t end = first + n;
  alignas(64) std::uint32_t words[kWords];
  // batches of kWords elements starting on a Philox block (a multiple of 4 elements)
  for (index_t i = first - first % 4; i < end; i += kWords) {
    philox_batch(offset + std::uint64_t(i / 4), seed, words);
    const index_t lo = std::max(i, first), hi = std::min(i + kWords, end);
    std::uint8_t* out = mask - first;
#if defined(EIGENGRAD_PHILOX_AVX512)
    if (lo == i && hi == i + kWords) {  // a whole batch: sixteen unsigned compares at a time, to 0/1 bytes
      const __m512i t = _mm512_set1_epi32(int(thr));
      const __m128i one = _mm_set1_epi8(1), fill = _mm_set1_epi8(char(all));
      for (int w = 0; w < kWords; w += 16) {
        const __mmask16 keep = _mm512_cmplt_epu32_mask(_mm512_load_si512(words + w), t);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i + w), _mm_or_si128(_mm_maskz_mov_epi8(keep, one), fill));
      }
      continue;
    }
#endif
    for (index_t j = lo; j < hi; ++j) out[j] = std::uint8_t(all | std::uint32_t(words[j - i] < thr));
  }
}

namespace {

// Calls body(b, e) after mask[b, e) is drawn, per chunk of parallel_for. Chunks start at multiples of
// kElementwiseGrain (a multiple of kWords), so the draw does not depend on the thread count.
template <class Body>
void draw(std::uint8_t* mask, index_t n, std::uint64_t seed, std::uint64_t offset, std::uint64_t threshold,
          Body&& body) {
  static_assert(kElementwiseGrain % kWords == 0, "chunks must start on a Philox block");
  parallel_for(n, kElementwiseGrain, [&](index_t b, index_t e) {
    bernoulli_mask_span(mask + b, b, e - b, seed, offset, threshold);
    body(b, e);
  });
}
}  // namespace

void bernoulli_mask(std::uint8_t* mask, index_t n, std::uint64_t seed, std::uint64_t offset, std::uint64_t threshold) {
  draw(mask, n, seed, offset, threshold, [](index_t, index_t) {});
}

template <class T>
void dropout_forward(const T* x, T* y, std::uint8_t* mask, index_t n, std::uint64_t seed, std::uint64_t offset,
                     std::uint64_t threshold, T scale) {
  // y = x * (mask * scale), branch-free (a branch on a random mask mispredicts half the time)
  draw(mask, n, seed, offset, threshold, [&](index_t b, index_t e) {
    for (index_t i = b; i < e; ++i) y[i] = x[i] * (T(mask[i]) * scale);
  });
}

template <class T>
void alpha_dropout_forward(const T* x, T* y, std::uint8_t* mask, index_t n, std::uint64_t seed, std::uint64_t offset,
                           std::uint64_t threshold, T a, T b_keep, T b_drop) {
  draw(mask, n, seed, offset, threshold, [&](index_t b, index_t e) {
    for (index_t i = b; i < e; ++i) {
      const T k = T(mask[i]);
      y[i] = x[i] * (k * a) + (mask[i] ? b_keep : b_drop);
    }
  });
}

template <class T>
void masked_scale(const T* gy, const std::uint8_t* mask, T* gx, index_t rows, index_t inner, T scale) {
  if (inner == 1) {
    parallel_for(rows, kElementwiseGrain, [&](index_t b, index_t e) {
      for (index_t i = b; i < e; ++i) gx[i] = gy[i] * (T(mask[i]) * scale);
    });
    return;
  }
  const index_t grain = std::max<index_t>(1, kElementwiseGrain / std::max<index_t>(inner, 1));
  parallel_for(rows, grain, [&](index_t b, index_t e) {
    for (index_t r = b; r < e; ++r) {
      const T s = T(mask[r]) * scale;
      const T* src = gy + r * inner;
      T* dst = gx + r * inner;
      for (index_t j = 0; j < inner; ++j) dst[j] = src[j] * s;
    }
  });
}

template <class T>
void feature_dropout_forward(const T* x, T* y, std::uint8_t* mask, index_t rows, index_t inner, std::uint64_t seed,
                             std::uint64_t offset, std::uint64_t threshold, T scale) {
  bernoulli_mask(mask, rows, seed, offset, threshold);
  masked_scale(x, mask, y, rows, inner, scale);
}

template <class T>
void relu_dropout_span(T* y, std::uint8_t* mask, index_t first, index_t n, std::uint64_t seed, std::uint64_t offset,
                       std::uint64_t threshold, T scale) {
  bernoulli_mask_span(mask, first, n, seed, offset, threshold);
  for (index_t i = 0; i < n; ++i) {
    const T v = y[i];
    const T r = v < T(0) ? T(0) : v;  // std::max(v, 0), which Eigen's max in relu_forward computes
    const std::uint8_t keep = mask[i];
    y[i] = r * (T(keep) * scale);  // dropout_forward's arithmetic
    mask[i] = std::uint8_t(keep | (r <= T(0) ? 0 : 2));  // (relu_backward's rule: a NaN passes)
  }
}

template <class T>
void relu_dropout_backward(const T* gy, const std::uint8_t* mask, T* gx, index_t n, T scale) {
  parallel_for(n, kElementwiseGrain, [&](index_t b, index_t e) {
    for (index_t i = b; i < e; ++i) {
      const std::uint8_t m = mask[i];
      const T g = gy[i] * (T(m & 1) * scale);  // masked_scale
      gx[i] = (m & 2) ? g : T(0);              // relu_backward's select
    }
  });
}

#define EIGENGRAD_DROPOUT(T)                                                                                         \
  template void dropout_forward<T>(const T*, T*, std::uint8_t*, index_t, std::uint64_t, std::uint64_t,               \
                                   std::uint64_t, T);                                                                \
  template void alpha_dropout_forward<T>(const T*, T*, std::uint8_t*, index_t, std::uint64_t, std::uint64_t,         \
                                         std::uint64_t, T, T, T);                                                    \
  template void feature_dropout_forward<T>(const T*, T*, std::uint8_t*, index_t, index_t, std::uint64_t,             \
                                           std::uint64_t, std::uint64_t, T);                                         \
  template void masked_scale<T>(const T*, const std::uint8_t*, T*, index_t, index_t, T);                        \
  template void relu_dropout_span<T>(T*, std::uint8_t*, index_t, index_t, std::uint64_t, std::uint64_t,          \
                                     std::uint64_t, T);                                                          \
  template void relu_dropout_backward<T>(const T*, const std::uint8_t*, T*, index_t, T);
EIGENGRAD_DROPOUT(float)
EIGENGRAD_DROPOUT(double)
#undef EIGENGRAD_DROPOUT

}  // namespace eigengrad
