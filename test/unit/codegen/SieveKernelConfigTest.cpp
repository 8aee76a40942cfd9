//===- SieveKernelConfigTest.cpp - Which kernel template a target gets -===//
//
// sm_90a takes the wgmma template with the largest key tile (128 or 64) that
// divides the pattern's key block, so full/partial tags stay exact; other
// targets, and blocks no tile of 64 divides, take the mma.sync template.
//
//===----------------------------------------------------------------------===//

#include "../SieveTestUtils.h"
#include "codegen/SieveCodegen.h"

#include <gtest/gtest.h>

using namespace sieve;

namespace {
codegen::KernelConfig configFor(int64_t block, const std::string &arch, int headDim = 128) {
  mlir::MLIRContext ctx;
  mask::Pattern p = test::importPattern(
      ctx, "{\"block_size\": " + std::to_string(block) + ", \"mask\": \"causal\"}");
  return codegen::defaultConfig(headDim, codegen::DType::BF16, p, arch);
}
} // namespace

TEST(SieveKernelConfig, HopperTakesTheWgmmaTemplate) {
  for (int hd : {64, 128}) {
    codegen::KernelConfig c = configFor(256, "sm_90a", hd);
    EXPECT_TRUE(c.wgmma);
    EXPECT_EQ(c.tileQ, 128);
    EXPECT_EQ(c.tileK, 128);
    EXPECT_EQ(c.warps, 8);
  }
  EXPECT_EQ(configFor(192, "sm_90a").tileK, 64);
  EXPECT_TRUE(configFor(64, "sm_90a").wgmma);
}

TEST(SieveKernelConfig, OtherTargetsAndSmallBlocksTakeMmaSync) {
  for (const char *arch : {"", "sm_80", "sm_90", "sm_100"})
    EXPECT_FALSE(configFor(256, arch).wgmma) << arch;
  codegen::KernelConfig small = configFor(32, "sm_90a");
  EXPECT_FALSE(small.wgmma);
  EXPECT_EQ(small.tileK, 32);
}

TEST(SieveKernelConfig, TheSourceNamesItsTemplate) {
  mlir::MLIRContext ctx;
  mask::Pattern p = test::importPattern(ctx, "{\"builtin\": \"power_attention\"}");
  std::string hopper = codegen::emitForwardKernel(
      p, codegen::defaultConfig(128, codegen::DType::BF16, p, "sm_90a"));
  std::string ampere = codegen::emitForwardKernel(
      p, codegen::defaultConfig(128, codegen::DType::BF16, p, "sm_80"));
  EXPECT_NE(hopper.find("SieveFwdSm90.cuh"), std::string::npos);
  EXPECT_NE(hopper.find("wgmma.mma_async"), std::string::npos);
  EXPECT_NE(ampere.find("SieveFwdSm80.cuh"), std::string::npos);
  EXPECT_EQ(ampere.find("wgmma.mma_async"), std::string::npos);
}
