#include "eigengrad/random.hpp"

#include <cmath>

namespace eigengrad {
namespace {
constexpr std::uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
constexpr std::uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;

inline void mulhilo(std::uint32_t a, std::uint32_t b, std::uint32_t& hi, std::uint32_t& lo) {
  const std::uint64_t p = std::uint64_t(a) * b;
  hi = std::uint32_t(p >> 32);
  lo = std::uint32_t(p);
}

// 53 random bits -> [0, 1) as double; 24 bits -> [0, 1) as float.
inline double unit_double(std::uint32_t hi, std::uint32_t lo) {
  return double((std::uint64_t(hi) << 21) ^ (lo >> 11)) * 0x1.0p-53;
}
inline float unit_float(std::uint32_t w) { return float(w >> 8) * 0x1.0p-24f; }

template <class T>
T unit(const PhiloxBlock& r) {
  if constexpr (sizeof(T) == 4) return unit_float(r[0]);
  else return T(unit_double(r[0], r[1]));
}
}  // namespace

PhiloxBlock philox4x32(std::uint64_t ctr_lo, std::uint64_t ctr_hi, std::uint64_t seed) {
  PhiloxBlock c{std::uint32_t(ctr_lo), std::uint32_t(ctr_lo >> 32), std::uint32_t(ctr_hi), std::uint32_t(ctr_hi >> 32)};
  std::uint32_t k0 = std::uint32_t(seed), k1 = std::uint32_t(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    std::uint32_t hi0, lo0, hi1, lo1;
    mulhilo(kMul0, c[0], hi0, lo0);
    mulhilo(kMul1, c[2], hi1, lo1);
    c = {hi1 ^ c[1] ^ k0, lo1, hi0 ^ c[3] ^ k1, lo0};
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
  return c;
}

template <class T>
void uniform_fill(T* out, index_t n, std::uint64_t seed, std::uint64_t offset, double low, double high) {
  const double width = high - low;
  parallel_for(n, kElementwiseGrain, [&](index_t b, index_t e) {
    for (index_t i = b; i < e; ++i) {
      T v = T(low + width * double(unit<T>(philox4x32(offset + std::uint64_t(i), 0, seed))));
      out[i] = v < T(high) || width == 0.0 ? v : T(low);  // rounding must not reach high
    }
  });
}

template <class T>
void normal_fill(T* out, index_t n, std::uint64_t seed, std::uint64_t offset, double mean, double std) {
  parallel_for(n, kElementwiseGrain, [&](index_t b, index_t e) {
    for (index_t i = b; i < e; ++i) {
      const PhiloxBlock r = philox4x32(offset + std::uint64_t(i), 0, seed);
      const double u1 = 1.0 - unit_double(r[0], r[1]);  // (0, 1]: log is finite
      const double u2 = unit_double(r[2], r[3]);
      out[i] = T(mean + std * std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
    }
  });
}

void randperm(std::int64_t* out, index_t n, std::uint64_t seed, std::uint64_t offset) {
  for (index_t i = 0; i < n; ++i) out[i] = i;
  for (index_t i = n - 1; i > 0; --i) {
    const PhiloxBlock r = philox4x32(offset + std::uint64_t(n - 1 - i), 0, seed);
    // Uniform in [0, i] from 64 random bits: the bias is below 2^-40 for any n this runs on.
    const std::uint64_t bits = (std::uint64_t(r[0]) << 32) | r[1];
    const index_t j = index_t(bits % std::uint64_t(i + 1));
    std::swap(out[i], out[j]);
  }
}

template void uniform_fill<float>(float*, index_t, std::uint64_t, std::uint64_t, double, double);
template void uniform_fill<double>(double*, index_t, std::uint64_t, std::uint64_t, double, double);
template void normal_fill<float>(float*, index_t, std::uint64_t, std::uint64_t, double, double);
template void normal_fill<double>(double*, index_t, std::uint64_t, std::uint64_t, double, double);

}  // namespace eigengrad
