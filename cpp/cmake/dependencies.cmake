# Python + pybind11 (scikit-build-core puts pybind11's CMake config on the prefix path); NumPy's headers
# for eigengrad._memory alone (its NumPy memory handler has no pybind11 form).
find_package(Python 3.9 REQUIRED COMPONENTS Interpreter Development.Module NumPy)
find_package(pybind11 CONFIG REQUIRED)

# Eigen 3.4: a system Eigen if one is installed, else the headers of the cmeel-eigen wheel that the
# build environment installed. cmeel puts them under <site-packages>/cmeel.prefix; in pip's isolated
# build that folder sits under one of the build interpreter's sys.path entries, so ask Python for it.
find_package(Eigen3 3.4 CONFIG QUIET)  # a system Eigen, or cmeel's if its prefix is already on the path
if(NOT Eigen3_FOUND)
  execute_process(
    COMMAND "${Python_EXECUTABLE}" -c
      "import os, sys; print(next((os.path.join(p, 'cmeel.prefix') for p in sys.path if os.path.isdir(os.path.join(p, 'cmeel.prefix'))), ''))"
    OUTPUT_VARIABLE EIGENGRAD_CMEEL_PREFIX
    OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(EIGENGRAD_CMEEL_PREFIX)
    list(APPEND CMAKE_PREFIX_PATH "${EIGENGRAD_CMEEL_PREFIX}")
  endif()
  find_package(Eigen3 3.4 CONFIG REQUIRED)
endif()
if(Eigen3_DIR MATCHES "cmeel\\.prefix")
  set(EIGENGRAD_EIGEN_SOURCE "cmeel-eigen")
else()
  set(EIGENGRAD_EIGEN_SOURCE "system")
endif()
message(STATUS "eigengrad: Eigen ${Eigen3_VERSION} (${EIGENGRAD_EIGEN_SOURCE})")

# OpenMP is optional: without it every kernel runs on one thread and show_config() says so.
set(EIGENGRAD_HAS_OPENMP OFF)
if(EIGENGRAD_OPENMP)
  find_package(OpenMP COMPONENTS CXX)
  if(OpenMP_CXX_FOUND)
    set(EIGENGRAD_HAS_OPENMP ON)
  endif()
endif()
message(STATUS "eigengrad: OpenMP ${EIGENGRAD_HAS_OPENMP}")
