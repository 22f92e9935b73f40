# The instruction-set levels the kernels are compiled for, one extension module each (eigengrad._C_<level>).
#
# Eigen and eigengrad's headers are templates and inline functions: two copies of one such function
# compiled for different levels and linked into one shared object are the same symbol to the linker, which
# keeps one of them, so AVX-512 code can end up called on an AVX2-only CPU. Each level therefore gets its own
# kernel library and its own module, every translation unit of which is compiled with that level's flags.
# The import-time code (the package, and the CPU probe eigengrad._cpuinfo) is compiled for the baseline.
#
#   baseline  x86-64-v2: SSE4.2, SSSE3, POPCNT, CX16
#   avx2      x86-64-v3: + AVX, AVX2, FMA, F16C, BMI1/2, LZCNT, MOVBE
#   avx512    x86-64-v4: + AVX-512 F, BW, DQ, VL
#   native    -march=native (EIGENGRAD_NATIVE=ON): a host-only build
#   generic   any other architecture: the compiler's default target
include(CheckCXXCompilerFlag)

set(EIGENGRAD_ISA_LEVELS "" CACHE STRING
    "Levels to build (e.g. 'baseline;avx2'); empty builds every level this architecture has")

set(EIGENGRAD_X86 OFF)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64|x64)$" AND CMAKE_SIZEOF_VOID_P EQUAL 8)
  set(EIGENGRAD_X86 ON)
endif()

# The flags of one x86 level for GCC/Clang: -march=x86-64-vN where the compiler knows it (GCC 11, Clang 12),
# else the same feature set spelled out.
function(eigengrad_x86_level_flags level out)
  set(v2 -msse4.2 -mssse3 -mpopcnt -mcx16 -msahf)
  set(v3 ${v2} -mavx -mavx2 -mfma -mf16c -mbmi -mbmi2 -mlzcnt -mmovbe)
  set(v4 ${v3} -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx512cd)
  if(level STREQUAL "baseline")
    set(march x86-64-v2)
    set(spelled ${v2})
  elseif(level STREQUAL "avx2")
    set(march x86-64-v3)
    set(spelled ${v3})
  else()
    set(march x86-64-v4)
    set(spelled ${v4})
  endif()
  string(MAKE_C_IDENTIFIER "EIGENGRAD_HAS_MARCH_${march}" var)
  check_cxx_compiler_flag("-march=${march}" ${var})
  if(${var})
    set(${out} "-march=${march};-mtune=generic" PARENT_SCOPE)
  else()
    set(${out} "${spelled}" PARENT_SCOPE)
  endif()
endfunction()

# eigengrad_isa_levels(<levels-out>): the levels to build; sets EIGENGRAD_ISA_FLAGS_<level> for each.
function(eigengrad_isa_levels out)
  if(EIGENGRAD_NATIVE)
    set(levels native)
    set(EIGENGRAD_ISA_FLAGS_native "" PARENT_SCOPE)
    if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
      check_cxx_compiler_flag("-march=native" EIGENGRAD_HAS_MARCH_NATIVE)
      if(EIGENGRAD_HAS_MARCH_NATIVE)
        set(EIGENGRAD_ISA_FLAGS_native "-march=native" PARENT_SCOPE)
      endif()
    endif()
  elseif(EIGENGRAD_X86 AND CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    set(levels baseline avx2 avx512)
    foreach(level IN LISTS levels)
      eigengrad_x86_level_flags(${level} flags)
      set(EIGENGRAD_ISA_FLAGS_${level} "${flags}" PARENT_SCOPE)
    endforeach()
  elseif(EIGENGRAD_X86 AND MSVC)
    set(levels baseline avx2 avx512)
    set(EIGENGRAD_ISA_FLAGS_baseline "" PARENT_SCOPE)
    set(EIGENGRAD_ISA_FLAGS_avx2 "/arch:AVX2" PARENT_SCOPE)
    set(EIGENGRAD_ISA_FLAGS_avx512 "/arch:AVX512" PARENT_SCOPE)
  else()
    set(levels generic)
    set(EIGENGRAD_ISA_FLAGS_generic "" PARENT_SCOPE)
  endif()
  if(EIGENGRAD_ISA_LEVELS AND NOT EIGENGRAD_NATIVE)
    foreach(level IN LISTS EIGENGRAD_ISA_LEVELS)
      if(NOT level IN_LIST levels)
        message(FATAL_ERROR "EIGENGRAD_ISA_LEVELS: '${level}' is not a level of this build (${levels})")
      endif()
    endforeach()
    set(levels ${EIGENGRAD_ISA_LEVELS})
  endif()
  set(${out} ${levels} PARENT_SCOPE)
endfunction()

# For the native build: the highest named level that -march=native reaches, so that the loader can refuse
# a host-only build on a CPU below it (an ImportError, not SIGILL).
function(eigengrad_native_level out)
  set(${out} "" PARENT_SCOPE)
  if(NOT EIGENGRAD_NATIVE OR NOT EIGENGRAD_X86)
    return()
  endif()
  include(CheckCXXSourceCompiles)
  set(CMAKE_REQUIRED_FLAGS "${EIGENGRAD_ISA_FLAGS_native}")
  check_cxx_source_compiles("
    #if !(defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512DQ__) && defined(__AVX512VL__))
    #error below v4
    #endif
    int main() { return 0; }" EIGENGRAD_NATIVE_IS_AVX512)
  check_cxx_source_compiles("
    #if !(defined(__AVX2__) && defined(__FMA__))
    #error below v3
    #endif
    int main() { return 0; }" EIGENGRAD_NATIVE_IS_AVX2)
  check_cxx_source_compiles("
    #if !(defined(__SSE4_2__) && defined(__POPCNT__))
    #error below v2
    #endif
    int main() { return 0; }" EIGENGRAD_NATIVE_IS_BASELINE)
  if(EIGENGRAD_NATIVE_IS_AVX512)
    set(${out} avx512 PARENT_SCOPE)
  elseif(EIGENGRAD_NATIVE_IS_AVX2)
    set(${out} avx2 PARENT_SCOPE)
  elseif(EIGENGRAD_NATIVE_IS_BASELINE)
    set(${out} baseline PARENT_SCOPE)
  endif()
endfunction()
