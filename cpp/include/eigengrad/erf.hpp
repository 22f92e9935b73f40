// The error function and its relatives, elementwise: erf, erfc (the C library's, in double: about 1 ulp,
// as PyTorch's) and erfinv (Giles' approximation refined by Newton's method on erf or erfc in double).
//
// NumPy has none of them; computed per element in Python they cost ~0.5 us an element. Here they run
// through parallel_for in fixed chunks; each element's result depends on that element only, so the bits
// do not depend on the thread count. Float input is computed in double and rounded once.
#pragma once
#include "eigengrad/parallel.hpp"

namespace eigengrad {

enum class ErfKind { erf, erfc, erfinv };

// y[i] = kind(x[i]) for i < n; y may be x.
template <class T>
void erf_forward(ErfKind kind, const T* x, T* y, index_t n);

}  // namespace eigengrad
