//===- SieveCubinTest.cpp - A cubin's launch info without a driver ----===//
//
// readCubinLaunchInfo reads `sieve_launch` from the ELF image NVRTC made:
// the values a kernel declares, and a clear error (never a crash) for an
// image that is not a cubin, is truncated anywhere, lacks the symbol, has
// it at another size, or has random bytes corrupted.
//
//===----------------------------------------------------------------------===//

#include "sieve/Jit.h"
#include "sieve/sieve_kernel_abi.h"

#include <gtest/gtest.h>

#include <random>

using namespace sieve;

namespace {
bool haveNvrtc(std::string &why) {
  std::string version;
  Status s = nvrtcVersion(version);
  why = s.message;
  return bool(s);
}

/// A module declaring `sieve_launch` as `fields` ints 1, 2, 3, ... (the
/// real struct is 12 ints; the kernel reads it so it is kept).
std::vector<char> cubinWithLaunch(int fields, const char *symbol = SIEVE_LAUNCH_SYMBOL) {
  std::string init;
  for (int i = 1; i <= fields; ++i)
    init += (i > 1 ? ", " : "") + std::to_string(i * 11);
  const std::string source = "struct info { int f[" + std::to_string(fields) + "]; };\n" +
                             "extern \"C\" __constant__ info " + symbol + " = {{" + init + "}};\n" +
                             "extern \"C\" __global__ void k(int *out) { out[threadIdx.x] = " +
                             symbol + ".f[threadIdx.x % " + std::to_string(fields) + "]; }\n";
  JitResult result;
  Status s = compileCuda(source, "launch.cu", JitOptions{"sm_80", {}}, result);
  EXPECT_TRUE(s) << s.message << result.log;
  return result.cubin;
}
} // namespace

TEST(SieveCubin, TheLaunchInfoIsReadFromTheImage) {
  std::string why;
  if (!haveNvrtc(why))
    GTEST_SKIP() << why;
  static_assert(sizeof(sieve_launch_info) == 12 * sizeof(int), "the test's layout");
  const std::vector<char> cubin = cubinWithLaunch(12);
  CubinLaunchInfo li;
  Status s = readCubinLaunchInfo(cubin, li);
  ASSERT_TRUE(s) << s.message;
  const int got[] = {li.abiVersion, li.operation,     li.kvLayout,       li.dtype,
                     li.headDim,    li.tileQ,         li.tileK,          li.threads,
                     li.sharedBytes, li.combineThreads, li.auxSharedBytes, li.tensorMaps};
  for (int i = 0; i < 12; ++i)
    EXPECT_EQ(got[i], (i + 1) * 11) << "field " << i;
}

TEST(SieveCubin, ABadImageIsAnErrorNotACrash) {
  CubinLaunchInfo li;
  EXPECT_EQ(readCubinLaunchInfo({}, li).message, "cubin: not an ELF image");
  std::vector<char> text(100, 'x');
  EXPECT_EQ(readCubinLaunchInfo(text, li).message, "cubin: not an ELF image");
  std::string why;
  if (!haveNvrtc(why))
    GTEST_SKIP() << why;
  const std::vector<char> cubin = cubinWithLaunch(12);
  ASSERT_TRUE(readCubinLaunchInfo(cubin, li));
  // A truncated image fails with a message, unless the cut only dropped
  // bytes the reader does not need; then it reads the same values.
  int cutFailed = 0;
  for (size_t n = 0; n < cubin.size(); n += 13) {
    std::vector<char> cut(cubin.begin(), cubin.begin() + long(n));
    CubinLaunchInfo part;
    Status s = readCubinLaunchInfo(cut, part);
    if (s) {
      EXPECT_EQ(part.tensorMaps, li.tensorMaps) << n;
      EXPECT_EQ(part.abiVersion, li.abiVersion) << n;
    } else {
      EXPECT_EQ(s.message.rfind("cubin: ", 0), 0u) << s.message;
      ++cutFailed;
    }
    if (n < 64)
      EXPECT_FALSE(s) << "shorter than an ELF header: " << n;
  }
  EXPECT_GT(cutFailed, int(cubin.size() / 13 / 2)) << "most cuts lose a header or the data";
  // Random corruption: any answer but a crash (offsets are checked first).
  std::mt19937 rng(7);
  int failed = 0;
  for (int rep = 0; rep < 3000; ++rep) {
    std::vector<char> bad = cubin;
    for (int k = 0; k < 4; ++k)
      bad[rng() % bad.size()] = char(rng());
    failed += !readCubinLaunchInfo(bad, li);
  }
  EXPECT_GT(failed, 0);
}

TEST(SieveCubin, AModuleWithoutTheSymbolOrWithAnotherLayoutIsNamed) {
  std::string why;
  if (!haveNvrtc(why))
    GTEST_SKIP() << why;
  CubinLaunchInfo li;
  Status s = readCubinLaunchInfo(cubinWithLaunch(12, "not_sieve"), li);
  EXPECT_EQ(s.message, "cubin: no sieve_launch symbol (not a sieve kernel?)");
  s = readCubinLaunchInfo(cubinWithLaunch(8), li);
  EXPECT_EQ(s.message, "cubin: sieve_launch has 32 bytes, not the 48 of this sieve's kernel ABI");
}
