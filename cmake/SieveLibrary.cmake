#===- SieveLibrary.cmake - libsieve.so.0 and its packages -----------------===#
#
# The public API (runtime/include/sieve/) as one shared library. sieve's own
# objects go in whole; MLIR and LLVM are linked in statically (Debian's
# static libMLIR*.a and libLLVM*.a are position-independent) and stay
# hidden: sieve compiles with hidden visibility, the public headers export
# their declarations (sieve/sieve_export.h) and the version script makes
# everything else local. A host application links this alone.
#
#===----------------------------------------------------------------------===#

add_library(libsieve SHARED
  $<TARGET_OBJECTS:obj.SieveAPI> $<TARGET_OBJECTS:obj.SieveCodegen>
  $<TARGET_OBJECTS:obj.SievePasses> $<TARGET_OBJECTS:obj.SievePatterns>
  $<TARGET_OBJECTS:obj.SieveDialect> $<TARGET_OBJECTS:SieveExpr>
  $<TARGET_OBJECTS:SieveRuntime>)
set(SIEVE_VERSION_SCRIPT ${PROJECT_SOURCE_DIR}/cmake/libsieve.map)
set_target_properties(libsieve PROPERTIES
  OUTPUT_NAME sieve
  EXPORT_NAME sieve
  VERSION ${PROJECT_VERSION}
  SOVERSION ${PROJECT_VERSION_MAJOR}
  LIBRARY_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/lib
  LINK_DEPENDS ${SIEVE_VERSION_SCRIPT}
  # LLVM's static libraries, not libLLVM.so (the top-level CMakeLists.txt).
  SIEVE_LLVM_STATIC ON)
target_link_libraries(libsieve PRIVATE
  MLIRIR MLIRArithDialect MLIRSupport MLIRParser MLIRPass MLIRTransforms MLIRTransformUtils
  ${CMAKE_DL_LIBS} Threads::Threads)
# Every symbol resolved here (-z defs); only what is used of MLIR and LLVM
# kept; no dependency on a library nothing calls.
target_link_options(libsieve PRIVATE
  -Wl,--version-script=${SIEVE_VERSION_SCRIPT} -Wl,-z,defs -Wl,--gc-sections -Wl,--as-needed)
target_include_directories(libsieve INTERFACE
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/runtime/include>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
if(SIEVE_SANITIZE)
  # An instrumented library needs the sanitizer runtimes in the program that
  # loads it: its consumers (the example host apps) are compiled and linked
  # with the same flags, through the package.
  target_compile_options(libsieve INTERFACE ${SIEVE_SANITIZER_COMPILE_FLAGS})
  target_link_options(libsieve INTERFACE ${SIEVE_SANITIZER_LINK_FLAGS})
endif()

# The CMake package, find_package(sieve) -> sieve::sieve (libsieve.so), in
# two forms: from the build tree (sieve_DIR=<build>/lib/cmake/sieve) and
# installed (cmake --install <build> --prefix P; CMAKE_PREFIX_PATH=P).
include(CMakePackageConfigHelpers)
set(SIEVE_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/sieve)
set(SIEVE_PACKAGE_DIR ${PROJECT_BINARY_DIR}/lib/cmake/sieve)
export(TARGETS libsieve NAMESPACE sieve:: FILE ${SIEVE_PACKAGE_DIR}/sieveTargets.cmake)
configure_package_config_file(cmake/sieveConfig.cmake.in ${SIEVE_PACKAGE_DIR}/sieveConfig.cmake
  INSTALL_DESTINATION ${SIEVE_PACKAGE_DIR})
configure_package_config_file(cmake/sieveConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/install/sieveConfig.cmake
  INSTALL_DESTINATION ${SIEVE_INSTALL_CMAKEDIR})
write_basic_package_version_file(${SIEVE_PACKAGE_DIR}/sieveConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)

# pkg-config: `cc app.c $(pkg-config --cflags --libs sieve)`. The prefix is
# found from the file's own place, so an install anywhere (--prefix P) works.
file(RELATIVE_PATH SIEVE_PC_TO_PREFIX
  /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
configure_file(cmake/sieve.pc.in ${PROJECT_BINARY_DIR}/cmake/install/sieve.pc @ONLY)

install(TARGETS libsieve EXPORT sieveTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT sieve NAMELINK_COMPONENT sieve-dev)
install(DIRECTORY runtime/include/sieve DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  COMPONENT sieve-dev)
install(EXPORT sieveTargets NAMESPACE sieve:: DESTINATION ${SIEVE_INSTALL_CMAKEDIR}
  COMPONENT sieve-dev)
install(FILES ${PROJECT_BINARY_DIR}/cmake/install/sieveConfig.cmake
  ${SIEVE_PACKAGE_DIR}/sieveConfigVersion.cmake
  DESTINATION ${SIEVE_INSTALL_CMAKEDIR} COMPONENT sieve-dev)
install(FILES ${PROJECT_BINARY_DIR}/cmake/install/sieve.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT sieve-dev)
