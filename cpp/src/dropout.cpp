#include "eigengrad/dropout.hpp"

#include <algorithm>

namespace eigengrad {
namespace {
constexpr std::uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
constexpr std::uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;

// Lanes of Philox blocks computed together: structure-of-arrays so GCC vectorises the 32x32->64 bit
// products (vpmuludq). Bitwise the same as philox4x32(ctr, 0, seed) of random.cpp for each lane.
constexpr int kLanes = 8;
constexpr int kWords = 4 * kLanes;  // elements per batch of blocks

// words[4 l + k] = word k of block (first + l), l < kLanes: element order of the draw.
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

// Calls body(i, m, keep) for batches [i, i + m) of the draw's elements, keep[j] in {0, 1} for element
// i + j. Chunks of parallel_for start at multiples of kElementwiseGrain (a multiple of kWords), so a
// batch always starts at a multiple of 4: element i is word i % 4 of block offset + i / 4.
template <class Body>
void draw(index_t n, std::uint64_t seed, std::uint64_t offset, std::uint64_t threshold, Body&& body) {
  static_assert(kElementwiseGrain % kWords == 0, "chunks must start on a Philox block");
  const bool keep_all = threshold >= (std::uint64_t(1) << 32);
  const std::uint32_t thr = std::uint32_t(threshold);
  parallel_for(n, kElementwiseGrain, [&](index_t b, index_t e) {
    alignas(64) std::uint32_t words[kWords];
    alignas(64) std::uint8_t keep[kWords];
    for (index_t i = b; i < e; i += kWords) {
      const int m = int(std::min<index_t>(kWords, e - i));
      philox_batch(offset + std::uint64_t(i / 4), seed, words);
      for (int j = 0; j < kWords; ++j) keep[j] = std::uint8_t(keep_all | (words[j] < thr));
      body(i, m, keep);
    }
  });
}
}  // namespace

void bernoulli_mask(std::uint8_t* mask, index_t n, std::uint64_t seed, std::uint64_t offset, std::uint64_t threshold) {
  draw(n, seed, offset, threshold, [&](index_t i, int m, const std::uint8_t* keep) {
    for (int j = 0; j < m; ++j) mask[i + j] = keep[j];
  });
}

template <class T>
void dropout_forward(const T* x, T* y, std::uint8_t* mask, index_t n, std::uint64_t seed, std::uint64_t offset,
                     std::uint64_t threshold, T scale) {
  draw(n, seed, offset, threshold, [&](index_t i, int m, const std::uint8_t* keep) {
    if (m == kWords) {
      for (int j = 0; j < kWords; ++j) {
        mask[i + j] = keep[j];
        y[i + j] = x[i + j] * (keep[j] ? scale : T(0));
      }
    } else {
      for (int j = 0; j < m; ++j) {
        mask[i + j] = keep[j];
        y[i + j] = x[i + j] * (keep[j] ? scale : T(0));
      }
    }
  });
}

template <class T>
void alpha_dropout_forward(const T* x, T* y, std::uint8_t* mask, index_t n, std::uint64_t seed, std::uint64_t offset,
                           std::uint64_t threshold, T a, T b_keep, T b_drop) {
  draw(n, seed, offset, threshold, [&](index_t i, int m, const std::uint8_t* keep) {
    for (int j = 0; j < m; ++j) {
      mask[i + j] = keep[j];
      y[i + j] = x[i + j] * (keep[j] ? a : T(0)) + (keep[j] ? b_keep : b_drop);
    }
  });
}

template <class T>
void masked_scale(const T* gy, const std::uint8_t* mask, T* gx, index_t rows, index_t inner, T scale) {
  if (inner == 1) {
    parallel_for(rows, kElementwiseGrain, [&](index_t b, index_t e) {
      for (index_t i = b; i < e; ++i) gx[i] = gy[i] * (mask[i] ? scale : T(0));
    });
    return;
  }
  const index_t grain = std::max<index_t>(1, kElementwiseGrain / std::max<index_t>(inner, 1));
  parallel_for(rows, grain, [&](index_t b, index_t e) {
    for (index_t r = b; r < e; ++r) {
      const T s = mask[r] ? scale : T(0);
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
