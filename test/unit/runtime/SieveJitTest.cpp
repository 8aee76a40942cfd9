//===- SieveJitTest.cpp - NVRTC through dlopen ------------------------===//
//
// Compile errors carry NVRTC's log, targets are checked before NVRTC runs,
// and ptxas's -v report is read back. The generated kernels' compile matrix
// is in test/unit/api. Skips what needs NVRTC where it is absent.
//
//===----------------------------------------------------------------------===//

#include "sieve/Jit.h"
#include "../SieveNvrtcTestUtils.h"

#include <gtest/gtest.h>

using namespace sieve;
using sieve::test::haveNvrtc;

TEST(SieveJit, CompileErrorsCarryTheLog) {
  std::string why;
  if (!haveNvrtc(why))
    GTEST_SKIP() << why;
  JitResult result;
  Status s = compileCuda("__global__ void f() { undeclared_thing(); }", "bad.cu",
                         JitOptions(), result);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message.find("NVRTC failed to compile bad.cu"), std::string::npos) << s.message;
  EXPECT_NE(s.message.find("undeclared_thing"), std::string::npos) << s.message;
}

TEST(SieveJit, ArchitecturesAreValidated) {
  EXPECT_TRUE(isSupportedArch("sm_80"));
  EXPECT_TRUE(isSupportedArch("sm_90a"));
  EXPECT_FALSE(isSupportedArch("sm_70"));
  EXPECT_FALSE(isSupportedArch("compute_90"));
  EXPECT_FALSE(isSupportedArch("sm_90; rm -rf /"));
  JitResult result;
  Status s = compileCuda("", "x.cu", JitOptions{"sm_70", {}}, result);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message.find("unsupported architecture 'sm_70'"), std::string::npos);
}

TEST(SieveJit, PtxasReportsAreRead) {
  const std::string log = R"(ptxas info    : 0 bytes gmem
ptxas info    : Compiling entry function 'other' for 'sm_90a'
ptxas info    : Function properties for other
    8 bytes stack frame, 4 bytes spill stores, 4 bytes spill loads
ptxas info    : Used 40 registers, used 0 barriers
ptxas info    : Compiling entry function 'sieve_attention_fwd' for 'sm_90a'
ptxas info    : Function properties for sieve_attention_fwd
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 168 registers, used 1 barriers, 1024 bytes smem, 544 bytes cmem[0]
ptxas warning : (C7508) Potential Performance Loss: wgmma.mma_async instructions are serialized)";
  KernelResources r;
  ASSERT_TRUE(parsePtxasLog(log, "sieve_attention_fwd", r));
  EXPECT_EQ(r.registers, 168);
  EXPECT_EQ(r.spillStoreBytes, 0);
  EXPECT_EQ(r.sharedBytes, 1024);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("C7508"), std::string::npos);
  ASSERT_TRUE(parsePtxasLog(log, "other", r));
  EXPECT_EQ(r.registers, 40);
  EXPECT_EQ(r.stackBytes, 8);
  EXPECT_EQ(r.spillLoadBytes, 4);
  EXPECT_FALSE(parsePtxasLog(log, "missing", r));
}

TEST(SieveJit, ARealReportIsRead) {
  std::string why;
  if (!haveNvrtc(why))
    GTEST_SKIP() << why;
  JitOptions options{"sm_80", {"--ptxas-options=-v"}};
  JitResult result;
  Status s = compileCuda("extern \"C\" __global__ void k(float *x) { x[threadIdx.x] *= 2.f; }",
                         "k.cu", options, result);
  ASSERT_TRUE(s) << s.message;
  KernelResources r;
  ASSERT_TRUE(parsePtxasLog(result.log, "k", r)) << result.log;
  EXPECT_GT(r.registers, 0);
}
