//===- SieveApiTest.cpp - The public compile API and the C API ------===//
//
// What the API accepts and what it reports besides the cubin. Calls that
// reach NVRTC skip the checks that need it on machines without NVRTC; ctest
// runs each test in its own process, so each may point SIEVE_CACHE_DIR at
// its own directory before the process-wide cache exists.
//
//===----------------------------------------------------------------------===//

#include "sieve/Sieve.h"
#include "sieve/sieve_c.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <unistd.h>

using namespace sieve;

namespace {
bool haveNvrtc() {
  std::string version;
  return bool(nvrtcVersion(version));
}

bool contains(const std::vector<std::string> &lines, const std::string &text) {
  for (const std::string &l : lines)
    if (l.find(text) != std::string::npos)
      return true;
  return false;
}

KernelOptions sm80() {
  KernelOptions options;
  options.arch = "sm_80";
  return options;
}
} // namespace

// Issue 19 item 17: a sieve_dtype outside the enum is an error, not bf16.
TEST(SieveCApi, AnUnknownDtypeIsAnError) {
  char error[256] = "";
  size_t size = 0;
  EXPECT_NE(sieve_compile_cubin("builtin:causal", 128, static_cast<sieve_dtype>(7), "sm_80",
                                nullptr, &size, error, sizeof error),
            0);
  EXPECT_STREQ(error, "dtype must be SIEVE_BF16 (0) or SIEVE_FP16 (1) but is 7");
  sieve_kernel *kernel = nullptr;
  EXPECT_NE(sieve_kernel_create("builtin:causal", 128, static_cast<sieve_dtype>(-1), "sm_80",
                                &kernel, error, sizeof error),
            0);
  EXPECT_STREQ(error, "dtype must be SIEVE_BF16 (0) or SIEVE_FP16 (1) but is -1");
  EXPECT_EQ(kernel, nullptr);
}

// Item 19: JSON text may start with whitespace (a file read whole, a
// heredoc); before, it was taken for a path.
TEST(SieveApi, JsonTextMayStartWithWhitespace) {
  setenv("SIEVE_CACHE_DIR", "", 1);
  CompiledKernel k;
  Status s = compileAttention(" \n\t{\"mask\": \"causal\"}", sm80(), k);
  EXPECT_EQ(s.message.find("cannot tell what"), std::string::npos) << s.message;
  if (!haveNvrtc())
    GTEST_SKIP() << "no NVRTC: " << s.message;
  ASSERT_TRUE(s) << s.message;
  EXPECT_EQ(k.patternName, "pattern");
  EXPECT_FALSE(k.cubin.empty());
}

// Item 19: a pattern that attends nothing compiles, with a warning.
TEST(SieveApi, APatternThatAttendsNothingIsWarnedAbout) {
  setenv("SIEVE_CACHE_DIR", "", 1);
  CompiledKernel k;
  Status s = compileAttention("{\"name\": \"nothing\", \"mask\": {\"not\": \"full\"}}", sm80(), k);
  EXPECT_TRUE(contains(k.warnings, "pattern @nothing attends no (query, key) pair"))
      << s.message;
  CompiledKernel c;
  compileAttention("builtin:causal", sm80(), c);
  EXPECT_FALSE(contains(c.warnings, "attends no"));
}

// Item 9: a cache that cannot be written is a warning in the result, and the
// cubin is still delivered.
TEST(SieveApi, AnUnusableCacheIsAWarning) {
  std::string file = ::testing::TempDir() + "sieve-api-cache-" + std::to_string(getpid());
  std::ofstream(file) << "a file, not a directory";
  setenv("SIEVE_CACHE_DIR", file.c_str(), 1);
  if (!haveNvrtc())
    GTEST_SKIP() << "no NVRTC";
  CompiledKernel k;
  Status s = compileAttention("builtin:causal", sm80(), k);
  ASSERT_TRUE(s) << s.message;
  EXPECT_FALSE(k.cubin.empty());
  EXPECT_EQ(k.from, "compiled");
  EXPECT_TRUE(contains(k.warnings, "cannot open the cache directory '" + file +
                                       "': Not a directory; the disk cache is not used"));
  std::remove(file.c_str());
}

// Item 10: what NVRTC makes passes the checks the cache applies on load.
TEST(SieveApi, CompiledBinariesPassTheCacheChecks) {
  if (!haveNvrtc())
    GTEST_SKIP() << "no NVRTC";
  JitOptions options;
  options.arch = "sm_80";
  JitResult result;
  ASSERT_TRUE(compileCuda("extern \"C\" __global__ void f(int *p) { *p = 1; }", "f.cu", options,
                          result));
  EXPECT_TRUE(looksLikeCubin(result.cubin));
  EXPECT_TRUE(looksLikePtx(std::vector<char>(result.ptx.begin(), result.ptx.end())));
}

// The C decode surface: the strides it fills are the C++ ones, and argument
// problems are errors, not crashes (a launch itself needs a GPU:
// bench/gpu/check_decode.sh runs it through `sieve run`).
TEST(SieveCApi, DecodeArgumentsMatchTheCppApi) {
  for (bool paged : {false, true}) {
    sieve_decode_args c{};
    c.heads = 32, c.kv_heads = 8, c.q_len = 4, c.k_len = 5000, c.head_dim = 128;
    c.page_size = 64;
    if (paged)
      c.block_table = reinterpret_cast<const int32_t *>(0x1000);
    sieve_set_decode_strides(&c);
    DecodeArgs a;
    a.heads = 32, a.kvHeads = 8, a.qLen = 4, a.kLen = 5000, a.headDim = 128, a.pageSize = 64;
    a.blockTable = c.block_table;
    a.setContiguousStrides();
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(c.q_stride[i], a.qStride[i]);
      EXPECT_EQ(c.k_stride[i], a.kStride[i]);
      EXPECT_EQ(c.v_stride[i], a.vStride[i]);
      EXPECT_EQ(c.o_stride[i], a.oStride[i]);
    }
    // [pages, page_size, kv_heads, d] or [batch, k_len, kv_heads, d].
    EXPECT_EQ(c.k_stride[0], int64_t(paged ? 64 : 5000) * 8 * 128);
    EXPECT_EQ(c.k_stride[2], 8 * 128);
  }
  char error[256] = "";
  sieve_decode_args c{};
  EXPECT_NE(sieve_kernel_launch_decode(nullptr, &c, nullptr, error, sizeof error), 0);
  EXPECT_STREQ(error, "kernel is null");
  int splits = 0;
  size_t bytes = 0;
  EXPECT_NE(sieve_kernel_decode_workspace(nullptr, &c, &splits, &bytes, error, sizeof error), 0);
  EXPECT_STREQ(error, "kernel is null");
  int64_t tickets = 0;
  EXPECT_NE(sieve_kernel_decode_tickets(nullptr, &c, &tickets, error, sizeof error), 0);
  EXPECT_STREQ(error, "kernel is null");
  sieve_set_decode_strides(nullptr); // no crash
}

TEST(SieveCApi, BackwardArgumentsMatchTheCppApi) {
  sieve_backward_args c{};
  c.heads = 8, c.kv_heads = 2, c.q_len = 300, c.k_len = 1000, c.head_dim = 64;
  sieve_set_backward_strides(&c);
  BackwardArgs a;
  a.heads = 8, a.kvHeads = 2, a.qLen = 300, a.kLen = 1000, a.headDim = 64;
  a.setContiguousStrides();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(c.q_stride[i], a.qStride[i]);
    EXPECT_EQ(c.o_stride[i], a.oStride[i]);
    EXPECT_EQ(c.do_stride[i], a.dOStride[i]);
    EXPECT_EQ(c.dq_stride[i], a.dqStride[i]);
    EXPECT_EQ(c.k_stride[i], a.kStride[i]);
    EXPECT_EQ(c.dk_stride[i], a.dkStride[i]);
    EXPECT_EQ(c.v_stride[i], a.vStride[i]);
    EXPECT_EQ(c.dv_stride[i], a.dvStride[i]);
  }
  // [batch, heads, len, d]: q-side tensors with 8 heads of 300 rows, k-side 2 of 1000.
  EXPECT_EQ(c.dq_stride[0], 8 * 300 * 64);
  EXPECT_EQ(c.dk_stride[0], 2 * 1000 * 64);
  EXPECT_EQ(c.dv_stride[1], 1000 * 64);
  char error[256] = "";
  EXPECT_NE(sieve_kernel_launch_backward(nullptr, &c, nullptr, error, sizeof error), 0);
  EXPECT_STREQ(error, "kernel is null");
  size_t bytes = 0;
  EXPECT_NE(sieve_kernel_backward_workspace(nullptr, &c, &bytes, error, sizeof error), 0);
  EXPECT_STREQ(error, "kernel is null");
  sieve_set_backward_strides(nullptr); // no crash
}
