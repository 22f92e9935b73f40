# One kernel library per instruction-set level: pure C++, no Python headers. Every flag that selects
# instructions is PRIVATE to the level's targets (isa.cmake says why).
file(GLOB EIGENGRAD_KERNEL_SOURCES CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/cpp/src/*.cpp")

# eigengrad_add_kernels(<level>): the static library eigengrad_kernels_<level>.
function(eigengrad_add_kernels level)
  set(target eigengrad_kernels_${level})
  add_library(${target} STATIC ${EIGENGRAD_KERNEL_SOURCES})
  target_include_directories(${target} PUBLIC "${CMAKE_CURRENT_SOURCE_DIR}/cpp/include")
  target_link_libraries(${target} PUBLIC Eigen3::Eigen)
  target_compile_options(${target} PRIVATE ${EIGENGRAD_CXX_FLAGS} ${EIGENGRAD_ISA_FLAGS_${level}})
  target_compile_definitions(${target} PUBLIC ${EIGENGRAD_DEFINITIONS})
  # Hidden symbols: nothing of one level's copy can be bound from outside its module.
  set_target_properties(${target} PROPERTIES CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  if(EIGENGRAD_HAS_OPENMP)
    target_link_libraries(${target} PUBLIC OpenMP::OpenMP_CXX)
    target_compile_definitions(${target} PUBLIC EIGENGRAD_HAS_OPENMP=1)
  endif()
endfunction()
