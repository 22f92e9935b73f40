# Speed flags for the kernels, common to every instruction-set level (isa.cmake adds the level's own).
set(EIGENGRAD_CXX_FLAGS "")
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  # -fno-trapping-math: FP exceptions are never read, so a conditional multiply (leaky ReLU, ELU ...) may be
  # computed for every lane and blended: without it GCC keeps a branch per element (mispredicted on signs)
  list(APPEND EIGENGRAD_CXX_FLAGS -O3 -fno-math-errno -fno-trapping-math)
elseif(MSVC)
  list(APPEND EIGENGRAD_CXX_FLAGS /O2)
endif()

# Eigen must never start threads of its own: eigengrad splits work itself, with a fixed chunking,
# so that results do not depend on the number of threads.
set(EIGENGRAD_DEFINITIONS EIGEN_DONT_PARALLELIZE EIGEN_MPL2_ONLY)
