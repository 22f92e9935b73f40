# Speed flags for the kernels. -O3 always (Release); the host's SIMD level for a local build.
set(EIGENGRAD_CXX_FLAGS "")
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  # -fno-trapping-math: FP exceptions are never read, so a conditional multiply (leaky ReLU, ELU ...) may be
  # computed for every lane and blended: without it GCC keeps a branch per element (mispredicted on signs)
  list(APPEND EIGENGRAD_CXX_FLAGS -O3 -fno-math-errno -fno-trapping-math)
  if(EIGENGRAD_NATIVE)
    include(CheckCXXCompilerFlag)
    check_cxx_compiler_flag("-march=native" EIGENGRAD_HAS_MARCH_NATIVE)
    if(EIGENGRAD_HAS_MARCH_NATIVE)
      list(APPEND EIGENGRAD_CXX_FLAGS -march=native)
    endif()
  endif()
elseif(MSVC)
  list(APPEND EIGENGRAD_CXX_FLAGS /O2)
endif()

# Eigen must never start threads of its own: eigengrad splits work itself, with a fixed chunking,
# so that results do not depend on the number of threads.
set(EIGENGRAD_DEFINITIONS EIGEN_DONT_PARALLELIZE EIGEN_MPL2_ONLY)
