//===- SieveNvrtcTestUtils.h - NVRTC presence for unit tests ----*- C++ -*-===//
//
// Runtime-only (no MLIR): tests that compile through NVRTC skip, with the
// loader's reason, on a machine without it.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_TEST_UNIT_SIEVENVRTCTESTUTILS_H
#define SIEVE_TEST_UNIT_SIEVENVRTCTESTUTILS_H

#include "sieve/Jit.h"

#include <string>

namespace sieve::test {

/// Whether NVRTC loads; `why` says why not.
inline bool haveNvrtc(std::string &why) {
  std::string version;
  Status s = nvrtcVersion(version);
  why = s.message;
  return bool(s);
}

} // namespace sieve::test

#endif // SIEVE_TEST_UNIT_SIEVENVRTCTESTUTILS_H
