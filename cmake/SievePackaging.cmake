#===- SievePackaging.cmake - Debian packages with CPack -------------------===#
#
# `cpack -G DEB` in a build directory makes three packages from the install
# components: sieve (the tool, libsieve.so.0, the man page and bash
# completion), sieve-dev (the headers, the libsieve.so link, the CMake package,
# sieve.pc, sieve-opt and sieve-translate) and python3-sieve (the Python
# package). Configure with -DCMAKE_INSTALL_PREFIX=/usr for Debian's multiarch
# library directory; -DSIEVE_STATIC_TOOLS=ON for a tool that needs no libLLVM.
# test/package/deb.sh builds and inspects them.
#
#===----------------------------------------------------------------------===#

set(SIEVE_PACKAGE_MAINTAINER "sieve maintainers <maintainers@sieve.invalid>" CACHE STRING
  "The Maintainer field of the Debian packages")

# Debian wants each package's copyright file.
foreach(component sieve sieve-dev python3-sieve)
  install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${component}
    RENAME copyright COMPONENT ${component})
endforeach()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME sieve)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL sieve sieve-dev python3-sieve)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER ${SIEVE_PACKAGE_MAINTAINER})
set(CPACK_DEBIAN_PACKAGE_SECTION science)
# A shlibs file and the ldconfig trigger for libsieve.so.0. The first line
# of each description below is its package synopsis.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(sieve_exact "sieve (= ${PROJECT_VERSION})")

set(CPACK_DEBIAN_SIEVE_PACKAGE_NAME sieve)
set(CPACK_DEBIAN_SIEVE_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_SIEVE_DESCRIPTION "\
sparse-attention pattern compiler and JIT\n\
sieve compiles attention patterns (PowerAttention and other built-ins, JSON\n\
specs, the sieve MLIR dialect) to a closed-form walk over the attended tiles,\n\
analyses them, and generates CUDA kernels that NVRTC compiles at run time.\n\
This package holds the sieve tool and libsieve.so.0. Compiling kernels needs\n\
NVIDIA's NVRTC; running them, the NVIDIA driver.")

set(CPACK_DEBIAN_SIEVE-DEV_PACKAGE_NAME sieve-dev)
set(CPACK_DEBIAN_SIEVE-DEV_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_SIEVE-DEV_PACKAGE_DEPENDS ${sieve_exact})
set(CPACK_DEBIAN_SIEVE-DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_SIEVE-DEV_DESCRIPTION "\
sparse-attention pattern compiler - development files\n\
The C and C++ headers of libsieve, its CMake package (find_package(sieve))\n\
and pkg-config file, and sieve-opt and sieve-translate for the dialect.")

set(CPACK_DEBIAN_PYTHON3-SIEVE_PACKAGE_NAME python3-sieve)
set(CPACK_DEBIAN_PYTHON3-SIEVE_PACKAGE_ARCHITECTURE all)
set(CPACK_DEBIAN_PYTHON3-SIEVE_PACKAGE_DEPENDS "${sieve_exact}, python3, python3-numpy")
set(CPACK_DEBIAN_PYTHON3-SIEVE_PACKAGE_SECTION python)
set(CPACK_DEBIAN_PYTHON3-SIEVE_DESCRIPTION "\
sparse-attention pattern compiler - Python package\n\
The sieve module (ctypes over libsieve.so.0): patterns, their analysis and\n\
reference mask, kernels, attention on DLPack tensors, and sieve.torch, a\n\
PyTorch operator shaped like FlexAttention (needs torch 2.4 or newer).")

include(CPack)
