// SIMD vocabulary for one element type, so that one kernel template serves float and double and every
// instruction-set level (the GEMM's and the direct convolution's register tiles). Each type exists only
// when the level being compiled has its instructions (cpp/cmake/isa.cmake builds the kernels once per level):
//   F32x4 / F64x2    SSE2 (the baseline; no FMA: fma() is a multiply then an add, two roundings)
//   F32x8 / F64x4    AVX2 + FMA
//   F32x16 / F64x8   AVX-512 F
// Widest<T> is the widest of them (what the GEMM uses); Of<T> stays the AVX2 type (the direct convolution's
// 6 x 16 tile; its AVX-512 tiles name F32x16 themselves).
#pragma once

#include <cstddef>
#include <cstring>

#if defined(__SSE2__) || defined(_M_X64)
#include <immintrin.h>
#define EIGENGRAD_SSE2 1
#endif
#if defined(__AVX2__) && defined(__FMA__)
#define EIGENGRAD_AVX2 1
#endif
#if defined(__AVX512F__) && defined(__AVX512DQ__) && defined(__AVX512BW__) && defined(__AVX512VL__)
#define EIGENGRAD_AVX512 1
#endif

namespace eigengrad::simd {

// load_partial / store_partial (the first n < W lanes) through a scratch array, for the SSE and AVX2 types
// (AVX2's masked moves are microcoded on AMD cores; the AVX-512 types use masks).
template <class S, class T, int W>
struct ScratchPartial {
  static auto load_partial(const T* p, int n) {
    alignas(64) T t[W] = {};
    std::memcpy(t, p, static_cast<std::size_t>(n) * sizeof(T));
    return S::load(t);
  }
  template <class V>
  static void store_partial(T* p, V v, int n) {
    alignas(64) T t[W];
    S::store(t, v);
    std::memcpy(p, t, static_cast<std::size_t>(n) * sizeof(T));
  }
};

#ifdef EIGENGRAD_SSE2
struct F32x4 : ScratchPartial<F32x4, float, 4> {
  using T = float;
  using V = __m128;
  static constexpr int W = 4;
  static V zero() { return _mm_setzero_ps(); }
  static V load(const T* p) { return _mm_loadu_ps(p); }
  static void store(T* p, V v) { _mm_storeu_ps(p, v); }
  static V set1(T x) { return _mm_set1_ps(x); }
  static V add(V x, V y) { return _mm_add_ps(x, y); }
#if defined(__FMA__)
  static V fma(V x, V y, V z) { return _mm_fmadd_ps(x, y, z); }
#else
  static V fma(V x, V y, V z) { return _mm_add_ps(_mm_mul_ps(x, y), z); }
#endif
  // The sum of the lanes by halving, in every type: lane l += lane l + W/2, then l + W/4, ..., then l + 1.
  static T hsum(V v) {
    const V d = _mm_add_ps(v, _mm_movehl_ps(v, v));
    return _mm_cvtss_f32(_mm_add_ss(d, _mm_shuffle_ps(d, d, 1)));
  }
};

struct F64x2 : ScratchPartial<F64x2, double, 2> {
  using T = double;
  using V = __m128d;
  static constexpr int W = 2;
  static V zero() { return _mm_setzero_pd(); }
  static V load(const T* p) { return _mm_loadu_pd(p); }
  static void store(T* p, V v) { _mm_storeu_pd(p, v); }
  static V set1(T x) { return _mm_set1_pd(x); }
  static V add(V x, V y) { return _mm_add_pd(x, y); }
#if defined(__FMA__)
  static V fma(V x, V y, V z) { return _mm_fmadd_pd(x, y, z); }
#else
  static V fma(V x, V y, V z) { return _mm_add_pd(_mm_mul_pd(x, y), z); }
#endif
  static T hsum(V v) { return _mm_cvtsd_f64(_mm_add_sd(v, _mm_unpackhi_pd(v, v))); }
};
#endif

#ifdef EIGENGRAD_AVX2
struct F32x8 : ScratchPartial<F32x8, float, 8> {
  using T = float;
  using V = __m256;
  static constexpr int W = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const T* p) { return _mm256_loadu_ps(p); }
  static void store(T* p, V v) { _mm256_storeu_ps(p, v); }
  static V set1(T x) { return _mm256_set1_ps(x); }
  static V add(V x, V y) { return _mm256_add_ps(x, y); }
  static V fma(V x, V y, V z) { return _mm256_fmadd_ps(x, y, z); }
  static T hsum(V v) { return F32x4::hsum(_mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1))); }
};

struct F64x4 : ScratchPartial<F64x4, double, 4> {
  using T = double;
  using V = __m256d;
  static constexpr int W = 4;
  static V zero() { return _mm256_setzero_pd(); }
  static V load(const T* p) { return _mm256_loadu_pd(p); }
  static void store(T* p, V v) { _mm256_storeu_pd(p, v); }
  static V set1(T x) { return _mm256_set1_pd(x); }
  static V add(V x, V y) { return _mm256_add_pd(x, y); }
  static V fma(V x, V y, V z) { return _mm256_fmadd_pd(x, y, z); }
  static T hsum(V v) { return F64x2::hsum(_mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1))); }
};

// Transposes an 8 x 8 float block held in 8 registers (row i of the input becomes column i).
inline void transpose8(__m256 r[8]) {
  __m256 t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
    r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
  }
}

// Transposes a 4 x 4 double block held in 4 registers (also a 4 x 4 block of float pairs).
inline void transpose4(__m256d r[4]) {
  const __m256d t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);
  const __m256d t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
  r[0] = _mm256_permute2f128_pd(t0, t2, 0x20), r[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
  r[2] = _mm256_permute2f128_pd(t0, t2, 0x31), r[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
}

template <class T>
struct Of;
template <>
struct Of<float> {
  using type = F32x8;
};
template <>
struct Of<double> {
  using type = F64x4;
};
#endif

#ifdef EIGENGRAD_AVX512
struct F32x16 {
  using T = float;
  using V = __m512;
  static constexpr int W = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V load(const T* p) { return _mm512_loadu_ps(p); }
  static void store(T* p, V v) { _mm512_storeu_ps(p, v); }
  static V set1(T x) { return _mm512_set1_ps(x); }
  static V add(V x, V y) { return _mm512_add_ps(x, y); }
  static V fma(V x, V y, V z) { return _mm512_fmadd_ps(x, y, z); }
  // The first n < W lanes, through a mask (no fault past them).
  static __mmask16 first(int n) { return static_cast<__mmask16>((1u << n) - 1u); }
  static V load_partial(const T* p, int n) { return _mm512_maskz_loadu_ps(first(n), p); }
  static void store_partial(T* p, V v, int n) { _mm512_mask_storeu_ps(p, first(n), v); }
  static T hsum(V v) { return F32x8::hsum(_mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1))); }
};

struct F64x8 {
  using T = double;
  using V = __m512d;
  static constexpr int W = 8;
  static V zero() { return _mm512_setzero_pd(); }
  static V load(const T* p) { return _mm512_loadu_pd(p); }
  static void store(T* p, V v) { _mm512_storeu_pd(p, v); }
  static V set1(T x) { return _mm512_set1_pd(x); }
  static V add(V x, V y) { return _mm512_add_pd(x, y); }
  static V fma(V x, V y, V z) { return _mm512_fmadd_pd(x, y, z); }
  // The first n < W lanes, through a mask (no fault past them).
  static __mmask8 first(int n) { return static_cast<__mmask8>((1u << n) - 1u); }
  static V load_partial(const T* p, int n) { return _mm512_maskz_loadu_pd(first(n), p); }
  static void store_partial(T* p, V v, int n) { _mm512_mask_storeu_pd(p, first(n), v); }
  static T hsum(V v) { return F64x4::hsum(_mm256_add_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd(v, 1))); }
};
#endif

// The widest vector of T the level being compiled has (undefined off x86: the kernels use scalar code).
template <class T>
struct Widest;
#if defined(EIGENGRAD_AVX512)
template <>
struct Widest<float> {
  using type = F32x16;
};
template <>
struct Widest<double> {
  using type = F64x8;
};
#elif defined(EIGENGRAD_AVX2)
template <>
struct Widest<float> {
  using type = F32x8;
};
template <>
struct Widest<double> {
  using type = F64x4;
};
#elif defined(EIGENGRAD_SSE2)
template <>
struct Widest<float> {
  using type = F32x4;
};
template <>
struct Widest<double> {
  using type = F64x2;
};
#endif

}  // namespace eigengrad::simd
