//===- SieveJitTest.cpp - Generated kernels compile through NVRTC ---===//
//
// Every built-in x head dim {64, 128} x {bf16, fp16} x {sm_80, sm_90}
// compiles with NVRTC, loaded at run time, with no include path. Skips when
// the machine has no NVRTC.
//
//===----------------------------------------------------------------------===//

#include "../SieveTestUtils.h"
#include "codegen/SieveCodegen.h"
#include "patterns/SieveBuiltins.h"
#include "sieve/Jit.h"

using namespace sieve;

namespace {
bool haveNvrtc(std::string &why) {
  std::string version;
  Status s = nvrtcVersion(version);
  why = s.message;
  return bool(s);
}

class CompileBuiltin : public ::testing::TestWithParam<std::string> {};
} // namespace

TEST_P(CompileBuiltin, EveryConfigurationCompiles) {
  std::string why;
  if (!haveNvrtc(why))
    GTEST_SKIP() << why;
  mlir::MLIRContext ctx;
  mask::Pattern p = test::importPattern(ctx, "{\"builtin\": \"" + GetParam() + "\"}");
  for (int hd : {64, 128})
    for (codegen::DType dt : {codegen::DType::BF16, codegen::DType::FP16})
      for (std::string arch : {"sm_80", "sm_90", "sm_90a"}) {
        codegen::KernelConfig config = codegen::defaultConfig(hd, dt, p, arch);
        // sm_90a takes the wgmma template wherever a key tile of 64 divides the block.
        EXPECT_EQ(config.wgmma, arch == "sm_90a" && p.blockK % 64 == 0) << arch;
        std::string source = codegen::emitForwardKernel(p, config);
        EXPECT_EQ(source.find("wgmma.mma_async") != std::string::npos, config.wgmma);
        ASSERT_EQ(source.find("#include"), std::string::npos) << "not self-contained";
        JitOptions options;
        options.arch = arch;
        JitResult result;
        Status s = compileCuda(source, GetParam() + ".cu", options, result);
        ASSERT_TRUE(s) << GetParam() << " hd" << hd << " " << arch << ": " << s.message;
        ASSERT_GT(result.cubin.size(), 4u);
        EXPECT_EQ(std::string(result.cubin.data() + 1, 3), "ELF");
        std::string cubin(result.cubin.begin(), result.cubin.end());
        EXPECT_NE(cubin.find("sieve_attention_fwd"), std::string::npos);
        EXPECT_NE(cubin.find("sieve_mask_dump"), std::string::npos);
        EXPECT_NE(result.ptx.find(std::string(".target ") + arch), std::string::npos);
      }
}

INSTANTIATE_TEST_SUITE_P(Builtins, CompileBuiltin,
                         ::testing::Values("power_attention", "sliding_window",
                                           "stride_slash", "dilated", "longnet",
                                           "causal", "full", "longformer"));

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
