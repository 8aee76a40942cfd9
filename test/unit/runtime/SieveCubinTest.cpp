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
#include "../SieveNvrtcTestUtils.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

using namespace sieve;
using sieve::test::haveNvrtc;

namespace {
/// A module declaring `sieve_launch` as `fields` ints 1, 2, 3, ... (the
/// real struct is 14 ints; the kernel reads it so it is kept).
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
  static_assert(sizeof(sieve_launch_info) == 14 * sizeof(int), "the test's layout");
  const std::vector<char> cubin = cubinWithLaunch(14);
  CubinLaunchInfo li;
  Status s = readCubinLaunchInfo(cubin, li);
  ASSERT_TRUE(s) << s.message;
  const int got[] = {li.abiVersion, li.operation,     li.kvLayout,       li.dtype,
                     li.headDim,    li.tileQ,         li.tileK,          li.threads,
                     li.sharedBytes, li.combineThreads, li.auxSharedBytes, li.tensorMaps,
                     li.auxThreads,  li.headSplit};
  for (int i = 0; i < 14; ++i)
    EXPECT_EQ(got[i], (i + 1) * 11) << "field " << i;
}

TEST(SieveCubin, AnEntrysCodeBytesAreItsTextSection) {
  std::string why;
  if (!haveNvrtc(why))
    GTEST_SKIP() << why;
  const std::vector<char> cubin = cubinWithLaunch(14);
  uint64_t bytes = 0;
  Status s = readCubinCodeBytes(cubin, "k", bytes);
  ASSERT_TRUE(s) << s.message;
  // A few instructions of 16 bytes each, and less than the image.
  EXPECT_GT(bytes, 16u);
  EXPECT_EQ(bytes % 16, 0u);
  EXPECT_LT(bytes, cubin.size());
  EXPECT_EQ(readCubinCodeBytes(cubin, "no_such_entry", bytes).message,
            "cubin: no code section for no_such_entry");
  EXPECT_EQ(readCubinCodeBytes({}, "k", bytes).message, "cubin: not an ELF image");
  // A truncated image is an error, never a read past its end.
  for (size_t cut = 0; cut < cubin.size(); cut += 97) {
    const std::vector<char> part(cubin.begin(), cubin.begin() + cut);
    uint64_t b = 0;
    (void)readCubinCodeBytes(part, "k", b);
  }
}

TEST(SieveCubin, ABadImageIsAnErrorNotACrash) {
  CubinLaunchInfo li;
  EXPECT_EQ(readCubinLaunchInfo({}, li).message, "cubin: not an ELF image");
  std::vector<char> text(100, 'x');
  EXPECT_EQ(readCubinLaunchInfo(text, li).message, "cubin: not an ELF image");
  std::string why;
  if (!haveNvrtc(why))
    GTEST_SKIP() << why;
  const std::vector<char> cubin = cubinWithLaunch(14);
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
    if (n < 64) {
      EXPECT_FALSE(s) << "shorter than an ELF header: " << n;
    }
  }
  EXPECT_GT(cutFailed, int(cubin.size() / 13 / 2)) << "most cuts lose a header or the data";
  // Random corruption: any answer but a crash (offsets are checked first;
  // the targeted cases are in EachBrokenFieldIsNamed).
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

namespace {
template <class T> T get(const std::vector<char> &b, size_t at) {
  T v;
  std::memcpy(&v, b.data() + at, sizeof v);
  return v;
}
template <class T> void put(std::vector<char> &b, size_t at, T v) {
  std::memcpy(b.data() + at, &v, sizeof v);
}
/// Where the test edits a cubin: the section headers, the symbol table's
/// header, `sieve_launch`'s symbol entry and its section's header (byte
/// offsets into the image; ELF64 layout).
struct Places {
  size_t symtabHeader = 0, symbol = 0, dataHeader = 0;
  uint16_t shnum = 0;
};
Places locate(const std::vector<char> &b) {
  Places p;
  const uint64_t shoff = get<uint64_t>(b, 0x28);
  const uint16_t shentsize = get<uint16_t>(b, 0x3a);
  p.shnum = get<uint16_t>(b, 0x3c);
  for (uint16_t i = 0; i < p.shnum; ++i) {
    const size_t h = shoff + size_t(i) * shentsize;
    if (get<uint32_t>(b, h + 4) != 2) // SHT_SYMTAB
      continue;
    p.symtabHeader = h;
    const uint64_t off = get<uint64_t>(b, h + 24), size = get<uint64_t>(b, h + 32);
    const uint64_t ent = get<uint64_t>(b, h + 56);
    const size_t str = shoff + size_t(get<uint32_t>(b, h + 40)) * shentsize;
    const uint64_t strOff = get<uint64_t>(b, str + 24);
    for (uint64_t e = 0; e + ent <= size; e += ent)
      if (std::strcmp(b.data() + strOff + get<uint32_t>(b, off + e), SIEVE_LAUNCH_SYMBOL) == 0) {
        p.symbol = off + e;
        p.dataHeader = shoff + size_t(get<uint16_t>(b, p.symbol + 6)) * shentsize;
      }
  }
  return p;
}
} // namespace

TEST(SieveCubin, EachBrokenFieldIsNamed) {
  // One field of a real cubin at a time: the reader says which part is
  // wrong, and reads nothing outside the image.
  std::string why;
  if (!haveNvrtc(why))
    GTEST_SKIP() << why;
  const std::vector<char> cubin = cubinWithLaunch(14);
  const Places at = locate(cubin);
  ASSERT_NE(at.symbol, 0u);
  auto expect = [&](std::vector<char> bad, const std::string &message) {
    CubinLaunchInfo li;
    EXPECT_EQ(readCubinLaunchInfo(bad, li).message, "cubin: " + message);
  };
  std::vector<char> b = cubin;
  put<uint64_t>(b, at.symbol + 8, get<uint64_t>(cubin, at.dataHeader + 32)); // value = section size
  expect(b, "sieve_launch's value lies outside its section");
  b = cubin;
  put<uint64_t>(b, at.symbol + 8, ~uint64_t(0) - 8); // value + size wraps
  expect(b, "sieve_launch's value lies outside its section");
  b = cubin;
  put<uint64_t>(b, at.dataHeader + 24, ~uint64_t(0) - 15); // the section's offset wraps
  expect(b, "sieve_launch's section has no data in the image");
  b = cubin;
  put<uint32_t>(b, at.dataHeader + 4, 8); // SHT_NOBITS
  expect(b, "sieve_launch's section has no data in the image");
  b = cubin;
  put<uint16_t>(b, at.symbol + 6, 0); // undefined
  expect(b, "sieve_launch is not defined in a section of the image");
  b = cubin;
  put<uint16_t>(b, at.symbol + 6, at.shnum); // past the section headers
  expect(b, "sieve_launch is not defined in a section of the image");
  b = cubin;
  put<uint32_t>(b, at.symtabHeader + 40, at.shnum); // the string table's index
  expect(b, "a malformed symbol table");
  b = cubin;
  put<uint64_t>(b, 0x28, cubin.size()); // the section headers past the end
  expect(b, "its section headers lie outside the image");
  b = cubin;
  b[4] = 1; // ELFCLASS32
  expect(b, "not a little-endian 64-bit ELF image");
}

TEST(SieveCubin, AModuleWithoutTheSymbolOrWithAnotherLayoutIsNamed) {
  std::string why;
  if (!haveNvrtc(why))
    GTEST_SKIP() << why;
  CubinLaunchInfo li;
  Status s = readCubinLaunchInfo(cubinWithLaunch(14, "not_sieve"), li);
  EXPECT_EQ(s.message, "cubin: no sieve_launch symbol (not a sieve kernel?)");
  s = readCubinLaunchInfo(cubinWithLaunch(8), li);
  EXPECT_EQ(s.message, "cubin: sieve_launch has 32 bytes, not the 56 of this sieve's kernel ABI");
}
