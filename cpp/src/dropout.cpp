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
// products (vpmuludq). Bitwise the same as philox4x32(ctr, 0, seed) of random.cpp for each lane. Four
// independent registers of lanes per batch (16 lanes each with AVX-512, 8 with AVX2).
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
constexpr int kLanes = 64;
#else
constexpr int kLanes = 32;
#endif
constexpr int kWords = 4 * kLanes;  // elements per batch of blocks

// words[4 l + k] = word k of block (first + l), l < kLanes: element order of the draw.
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
// As the AVX2 version below, sixteen lanes per register: 1.9-2.1x its rate on the Xeon host.
inline void mulhilo16(__m512i a, __m512i k, __m512i& hi, __m512i& lo) {
  const __m512i even = _mm512_mul_epu32(a, k);
  const __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), k);
  hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
  lo = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
}

inline void philox_batch(std::uint64_t first, std::uint64_t seed, std::uint32_t* words) {
  constexpr int G = kLanes / 16;
  __m512i c0[G], c1[G], c2[G], c3[G];
  const __m512i step = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (int g = 0; g < G; ++g) {
    const std::uint64_t base = first + std::uint64_t(16 * g);
    alignas(64) std::uint32_t lo[16], hi[16];
    if (std::uint32_t(base) <= 0xFFFFFFFFu - 15u) {  // no carry into the high word within the set
      c0[g] = _mm512_add_epi32(_mm512_set1_epi32(int(std::uint32_t(base))), step);
      c1[g] = _mm512_set1_epi32(int(std::uint32_t(base >> 32)));
    } else {
      for (int l = 0; l < 16; ++l) {
        lo[l] = std::uint32_t(base + std::uint64_t(l));
        hi[l] = std::uint32_t((base + std::uint64_t(l)) >> 32);
      }
      c0[g] = _mm512_load_si512(lo);
      c1[g] = _mm512_load_si512(hi);
    }
    c2[g] = _mm512_setzero_si512();
    c3[g] = _mm512_setzero_si512();
  }
  const __m512i m0 = _mm512_set1_epi32(int(kMul0)), m1 = _mm512_set1_epi32(int(kMul1));
  std::uint32_t k0 = std::uint32_t(seed), k1 = std::uint32_t(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    const __m512i key0 = _mm512_set1_epi32(int(k0)), key1 = _mm512_set1_epi32(int(k1));
    for (int g = 0; g < G; ++g) {
      __m512i hi0, lo0, hi1, lo1;
      mulhilo16(c0[g], m0, hi0, lo0);
      mulhilo16(c2[g], m1, hi1, lo1);
      c0[g] = _mm512_xor_si512(_mm512_xor_si512(hi1, c1[g]), key0);
      c2[g] = _mm512_xor_si512(_mm512_xor_si512(hi0, c3[g]), key1);
      c1[g] = lo1;
      c3[g] = lo0;
    }
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
  for (int g = 0; g < G; ++g) {
    // per 128-bit lane i (blocks 4i .. 4i+3), as AVX2: l0 = block 4i's four words, l1 = 4i+1, ...
    const __m512i a = _mm512_unpacklo_epi32(c0[g], c1[g]), b = _mm512_unpackhi_epi32(c0[g], c1[g]);
    const __m512i c = _mm512_unpacklo_epi32(c2[g], c3[g]), d = _mm512_unpackhi_epi32(c2[g], c3[g]);
    const __m512i l0 = _mm512_unpacklo_epi64(a, c), l1 = _mm512_unpackhi_epi64(a, c);
    const __m512i l2 = _mm512_unpacklo_epi64(b, d), l3 = _mm512_unpackhi_epi64(b, d);
    // then a 4 x 4 transpose of 128-bit lanes: output vector i = (l0, l1, l2, l3) of lane i
    const __m512i t0 = _mm512_shuffle_i32x4(l0, l1, 0x44), t1 = _mm512_shuffle_i32x4(l2, l3, 0x44);
    const __m512i t2 = _mm512_shuffle_i32x4(l0, l1, 0xEE), t3 = _mm512_shuffle_i32x4(l2, l3, 0xEE);
    std::uint32_t* out = words + 64 * g;
    _mm512_storeu_si512(out + 0, _mm512_shuffle_i32x4(t0, t1, 0x88));
    _mm512_storeu_si512(out + 16, _mm512_shuffle_i32x4(t0, t1, 0xDD));
    _mm512_storeu_si512(out + 32, _mm512_shuffle_i32x4(t2, t3, 0x88));
    _mm512_storeu_si512(out + 48, _mm512_shuffle_i32x4(t2, t3, 0xDD));
  }
}
#elif defined(__AVX2__)
// The eight lanes in one AVX2 register per Philox word. _mm256_mul_epu32 multiplies the even 32-bit
// lanes into 64-bit products; the odd lanes are shifted down and multiplied the same way.
inline void mulhilo8(__m256i a, __m256i k, __m256i& hi, __m256i& lo) {
  const __m256i even = _mm256_mul_epu32(a, k);
  const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), k);
  hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
  lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
}

// kGroups independent sets of eight lanes per batch: the rounds of one set form a dependency chain (the
// multiply's latency); interleaving four sets keeps the multiplier busy.
inline void philox_batch(std::uint64_t first, std::uint64_t seed, std::uint32_t* words) {
  constexpr int G = kLanes / 8;
  __m256i c0[G], c1[G], c2[G], c3[G];
  const __m256i step = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  for (int g = 0; g < G; ++g) {
    const std::uint64_t base = first + std::uint64_t(8 * g);
    alignas(32) std::uint32_t lo[8], hi[8];
    if (std::uint32_t(base) <= 0xFFFFFFFFu - 7u) {  // no carry into the high word within the set
      c0[g] = _mm256_add_epi32(_mm256_set1_epi32(int(std::uint32_t(base))), step);
      c1[g] = _mm256_set1_epi32(int(std::uint32_t(base >> 32)));
    } else {
      for (int l = 0; l < 8; ++l) {
        lo[l] = std::uint32_t(base + std::uint64_t(l));
        hi[l] = std::uint32_t((base + std::uint64_t(l)) >> 32);
      }
      c0[g] = _mm256_load_si256(reinterpret_cast<const __m256i*>(lo));
      c1[g] = _mm256_load_si256(reinterpret_cast<const __m256i*>(hi));
    }
    c2[g] = _mm256_setzero_si256();
    c3[g] = _mm256_setzero_si256();
  }
  const __m256i m0 = _mm256_set1_epi32(int(kMul0)), m1 = _mm256_set1_epi32(int(kMul1));
  std::uint32_t k0 = std::uint32_t(seed), k1 = std::uint32_t(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    const __m256i key0 = _mm256_set1_epi32(int(k0)), key1 = _mm256_set1_epi32(int(k1));
    for (int g = 0; g < G; ++g) {
      __m256i hi0, lo0, hi1, lo1;
      mulhilo8(c0[g], m0, hi0, lo0);
      mulhilo8(c2[g], m1, hi1, lo1);
      c0[g] = _mm256_xor_si256(_mm256_xor_si256(hi1, c1[g]), key0);
      c2[g] = _mm256_xor_si256(_mm256_xor_si256(hi0, c3[g]), key1);
      c1[g] = lo1;
      c3[g] = lo0;
    }
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
  for (int g = 0; g < G; ++g) {
    // transpose the four words of eight blocks into element order: (c0 c1 c2 c3) per lane
    const __m256i a = _mm256_unpacklo_epi32(c0[g], c1[g]), b = _mm256_unpackhi_epi32(c0[g], c1[g]);
    const __m256i c = _mm256_unpacklo_epi32(c2[g], c3[g]), d = _mm256_unpackhi_epi32(c2[g], c3[g]);
    const __m256i l0 = _mm256_unpacklo_epi64(a, c), l1 = _mm256_unpackhi_epi64(a, c);
    const __m256i l2 = _mm256_unpacklo_epi64(b, d), l3 = _mm256_unpackhi_epi64(b, d);
    // l0 = lanes (0, 4), l1 = (1, 5), l2 = (2, 6), l3 = (3, 7): 128-bit halves
    __m256i* out = reinterpret_cast<__m256i*>(words + 32 * g);
    _mm256_storeu_si256(out + 0, _mm256_permute2x128_si256(l0, l1, 0x20));
    _mm256_storeu_si256(out + 1, _mm256_permute2x128_si256(l2, l3, 0x20));
    _mm256_storeu_si256(out + 2, _mm256_permute2x128_si256(l0, l1, 0x31));
    _mm256_storeu_si256(out + 3, _mm256_permute2x128_si256(l2, l3, 0x31));
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
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
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

#define EIGENGRAD_DROPOUT(T)                                                                                         \
  template void dropout_forward<T>(const T*, T*, std::uint8_t*, index_t, std::uint64_t, std::uint64_t,               \
                                   std::uint64_t, T);                                                                \
  template void alpha_dropout_forward<T>(const T*, T*, std::uint8_t*, index_t, std::uint64_t, std::uint64_t,         \
                                         std::uint64_t, T, T, T);                                                    \
  template void feature_dropout_forward<T>(const T*, T*, std::uint8_t*, index_t, index_t, std::uint64_t,             \
                                           std::uint64_t, std::uint64_t, T);                                         \
  template void masked_scale<T>(const T*, const std::uint8_t*, T*, index_t, index_t, T);
EIGENGRAD_DROPOUT(float)
EIGENGRAD_DROPOUT(double)
#undef EIGENGRAD_DROPOUT

}  // namespace eigengrad
