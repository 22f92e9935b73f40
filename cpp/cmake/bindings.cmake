# The Python modules: the only targets that see pybind11.
#   eigengrad._C_<level>  the kernels of one instruction-set level and their bindings, all compiled for it
#   eigengrad._cpuinfo    the CPU probe and the build's list of levels, compiled for the compiler's default
#                         target, so that it runs on any CPU of the architecture
#   eigengrad._memory     the recycling of large array buffers (NumPy's C API), compiled the same way
file(GLOB EIGENGRAD_BINDING_SOURCES CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/cpp/bindings/*.cpp")
if(NOT DEFINED SKBUILD_PROJECT_VERSION)
  set(SKBUILD_PROJECT_VERSION "${PROJECT_VERSION}")
endif()

set_source_files_properties("${CMAKE_CURRENT_SOURCE_DIR}/cpp/bindings/checks.cpp"
  "${CMAKE_CURRENT_SOURCE_DIR}/cpp/bindings/geometry.cpp" PROPERTIES SKIP_UNITY_BUILD_INCLUSION ON)

function(eigengrad_add_module level)
  set(target _C_${level})
  pybind11_add_module(${target} MODULE ${EIGENGRAD_BINDING_SOURCES})
  target_link_libraries(${target} PRIVATE eigengrad_kernels_${level})
  # A unity build: the binding files compiled seven at a time as one translation unit. Each includes
  # pybind11 and its NumPy header, whose inline code alone took about half of a binding file's compile
  # time; once per batch instead of once per file, a level's bindings compile about 3x faster. Each
  # bind_<area>.cpp keeps its helpers in its own namespace <area>_helpers (tests/test_source_layout.py),
  # so that one file's helper can never overload another's; checks.cpp and geometry.cpp, whose helpers
  # sit beside shared functions, compile on their own.
  set_target_properties(${target} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 7)
  target_compile_options(${target} PRIVATE ${EIGENGRAD_CXX_FLAGS} ${EIGENGRAD_ISA_FLAGS_${level}})
  target_compile_definitions(${target} PRIVATE
    EIGENGRAD_MODULE_NAME=${target}
    EIGENGRAD_ISA="${level}"
    EIGENGRAD_VERSION="${SKBUILD_PROJECT_VERSION}"
    EIGENGRAD_EIGEN_SOURCE="${EIGENGRAD_EIGEN_SOURCE}"
    EIGENGRAD_COMPILER="${CMAKE_CXX_COMPILER_ID} ${CMAKE_CXX_COMPILER_VERSION}")
  install(TARGETS ${target} LIBRARY DESTINATION eigengrad)
endfunction()

function(eigengrad_add_cpuinfo levels native_level)
  pybind11_add_module(_cpuinfo MODULE "${CMAKE_CURRENT_SOURCE_DIR}/cpp/probe/cpuinfo.cpp")
  target_compile_options(_cpuinfo PRIVATE ${EIGENGRAD_CXX_FLAGS})
  string(REPLACE ";" "," levels_csv "${levels}")
  target_compile_definitions(_cpuinfo PRIVATE
    EIGENGRAD_BUILD_LEVELS="${levels_csv}"
    EIGENGRAD_NATIVE_LEVEL="${native_level}")
  install(TARGETS _cpuinfo LIBRARY DESTINATION eigengrad)
endfunction()

function(eigengrad_add_memory)
  Python_add_library(_memory MODULE WITH_SOABI "${CMAKE_CURRENT_SOURCE_DIR}/cpp/probe/memory.cpp")
  target_link_libraries(_memory PRIVATE Python::NumPy)
  # eigengrad/scratch.hpp's Allocator only (a struct: the module links none of the kernels)
  target_include_directories(_memory PRIVATE "${CMAKE_CURRENT_SOURCE_DIR}/cpp/include")
  target_compile_options(_memory PRIVATE ${EIGENGRAD_CXX_FLAGS})
  install(TARGETS _memory LIBRARY DESTINATION eigengrad)
endfunction()
