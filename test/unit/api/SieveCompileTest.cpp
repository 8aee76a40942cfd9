//===- SieveCompileTest.cpp - The compile path end to end -------------===//
//
// Every built-in x head dim {64, 128} x {bf16, fp16} x {sm_80, sm_90, sm_90a}
// goes through the one compile path (kernel choice, sieve-compile at the
// kernel's tiles, codegen from the plan) and NVRTC, with no include path:
// the cubin holds the entry point and the launch information, and ptxas
// reports no spills and no warnings. Skips where NVRTC is absent.
//
//===----------------------------------------------------------------------===//

#include "api/SieveCompiler.h"
#include "patterns/SieveBuiltins.h"
#include "sieve/Jit.h"
#include "sieve/Sieve.h"
#include "../SieveNvrtcTestUtils.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <tuple>

using namespace sieve;
using sieve::test::haveNvrtc;

namespace {
api::CompileResult compile(const std::string &spec, const std::string &arch, int headDim,
                           codegen::DType dtype, api::Output output, Status &status,
                           std::vector<std::string> nvrtcOptions = {},
                           const std::string &variant = "") {
  mlir::MLIRContext ctx;
  LoadedSpec loaded;
  std::string message;
  api::CompileResult result;
  if (!loadSpec(spec, "", &ctx, loaded, message)) {
    status = Status::error(message);
    return result;
  }
  api::CompileRequest r;
  r.kernel.target = *codegen::Target::parse(arch);
  r.kernel.headDim = headDim;
  r.kernel.dtype = dtype;
  r.kernel.variant = variant;
  r.output = output;
  r.useCache = false;
  r.nvrtcOptions = nvrtcOptions;
  status = api::compilePattern(loaded, r, result);
  return result;
}

struct Spills {
  int stores, loads;
};
/// Spill bytes ptxas may report per kernel: 0, except the two hd128 kernels
/// that sit at 255 registers (docs/kernels.md, "Registers and spills"). The
/// mma.sync one may not spill more than its predecessor did on any built-in
/// (16 bytes). The wgmma one spills 12-124 bytes depending on the pattern's
/// walk; the variant that packs P as it exponentiates spills more but was
/// measured faster on an H200, so its bound is its own measured worst case
/// plus one 32-byte step: a guard against a change that spills much more.
Spills spillBudget(const codegen::KernelConfig &c) {
  if (c.headDim != 128)
    return {0, 0};
  if (std::string(c.variant->name) == "fwd-sm90-wgmma")
    return {160, 176};
  if (std::string(c.variant->name) == "fwd-sm90-ws")
    return {0, 0};
  return {16, 16};
}

class CompileBuiltin : public ::testing::TestWithParam<std::string> {};
} // namespace

TEST_P(CompileBuiltin, EveryConfigurationCompilesWithoutSpills) {
  std::string why;
  if (!haveNvrtc(why))
    GTEST_SKIP() << why;
  for (int hd : {64, 128})
    for (codegen::DType dt : {codegen::DType::BF16, codegen::DType::FP16})
      // The table's choice for each target, and the cp.async wgmma kernel
      // that sm_90a no longer takes by default.
      for (auto [arch, kernel] : {std::pair<std::string, std::string>{"sm_80", ""},
                                  {"sm_90", ""},
                                  {"sm_90a", ""},
                                  {"sm_90a", "fwd-sm90-wgmma"}}) {
        SCOPED_TRACE(GetParam() + " hd" + std::to_string(hd) + " " + codegen::dtypeName(dt) + " " +
                     arch + " " + kernel);
        Status s;
        api::CompileResult r = compile("builtin:" + GetParam(), arch, hd, dt, api::Output::Cubin, s,
                                       {"--ptxas-options=-v"}, kernel);
        if (!kernel.empty() && !s &&
            s.message.find("must divide the pattern's key block") != std::string::npos)
          continue; // a key block that is not a multiple of 64
        ASSERT_TRUE(s) << s.message;
        EXPECT_EQ(r.source.find("#include"), std::string::npos) << "not self-contained";
        EXPECT_EQ(r.source.find("wgmma.mma_async") != std::string::npos,
                  std::string(r.config.variant->name).rfind("fwd-sm90-", 0) == 0);
        ASSERT_GT(r.binary.size(), 4u);
        EXPECT_EQ(std::string(r.binary.data() + 1, 3), "ELF");
        std::string cubin(r.binary.begin(), r.binary.end());
        EXPECT_NE(cubin.find("sieve_attention_fwd"), std::string::npos);
        EXPECT_NE(cubin.find("sieve_launch"), std::string::npos);
        KernelResources res;
        ASSERT_TRUE(parsePtxasLog(r.log, "sieve_attention_fwd", res)) << r.log;
        // The verified hd128 kernels sit at 255 registers; their spills are
        // the recorded baseline (docs/kernels.md), which must not grow.
        const Spills budget = spillBudget(r.config);
        EXPECT_LE(res.spillStoreBytes, budget.stores);
        EXPECT_LE(res.spillLoadBytes, budget.loads);
        EXPECT_TRUE(res.warnings.empty()) << res.warnings.front();
      }
}

namespace {
/// Every entry point of a compiled module of `op` in ptxas's report, at 0
/// spill bytes and without warnings.
void expectEntriesWithoutSpills(const api::CompileResult &r, codegen::Operation op) {
  for (const char *entry : codegen::entryPoints(op)) {
    KernelResources res;
    ASSERT_TRUE(parsePtxasLog(r.log, entry, res)) << entry << "\n" << r.log;
    EXPECT_EQ(res.spillStoreBytes, 0) << entry;
    EXPECT_EQ(res.spillLoadBytes, 0) << entry;
    EXPECT_TRUE(res.warnings.empty()) << res.warnings.front();
  }
}
} // namespace

TEST(SieveCompile, EveryDecodeKernelCompilesWithoutSpills) {
  // decode-sm80-mma and its paged form x head dims x dtypes x {sm_80, sm_90a}
  // on the built-ins with the largest walks: both entry points, 0 spill
  // bytes, no ptxas warnings.
  std::string why;
  if (!haveNvrtc(why))
    GTEST_SKIP() << why;
  for (std::string builtin : {"power_attention", "longnet", "stride_slash"})
  for (const char *variant : {"decode-sm80-mma", "decode-sm80-mma-paged"})
    for (int hd : {64, 128})
      for (codegen::DType dt : {codegen::DType::BF16, codegen::DType::FP16})
        for (std::string arch : {"sm_80", "sm_90a"}) {
          SCOPED_TRACE(builtin + " " + variant + " hd" + std::to_string(hd) + " " +
                       codegen::dtypeName(dt) + " " + arch);
          Status s;
          api::CompileResult r = compile("builtin:" + builtin, arch, hd, dt, api::Output::Cubin, s,
                                         {"--ptxas-options=-v"}, variant);
          ASSERT_TRUE(s) << s.message;
          EXPECT_EQ(std::string(r.config.variant->name), variant);
          EXPECT_EQ(r.source.find("#include"), std::string::npos) << "not self-contained";
          EXPECT_NE(r.source.find(std::string(variant).find("paged") != std::string::npos
                                      ? "sieve::dev::PagedKv>"
                                      : "sieve::dev::DenseKv>"),
                    std::string::npos);
          ASSERT_EQ(codegen::entryPoints(codegen::Operation::Decode).size(), 2u);
          expectEntriesWithoutSpills(r, codegen::Operation::Decode);
        }
}

TEST(SieveCompile, TheDecodeKernelInlinesItsWalkOnce) {
  // A decode CTA runs for microseconds and fetches its code cold on every
  // SM, so code bytes are time (docs/decode.md). The kernel counts, skips
  // and fetches tiles through one call of the walk (TileWalk::next_after in
  // one loop): PowerAttention's sm_90a decode kernel is 61 KB of code, paged
  // 71 KB (14 KB of each the fused combine, which only a last CTA runs); with
  // the walk inlined at every use they were 100 and 131 KB without it. A
  // budget, so a second inlined walk (~12 KB) fails here.
  std::string why;
  if (!haveNvrtc(why))
    GTEST_SKIP() << why;
  for (const char *kernel : {"decode-sm80-mma", "decode-sm80-mma-paged"}) {
    SCOPED_TRACE(kernel);
    Status s;
    api::CompileResult r = compile("builtin:power_attention", "sm_90a", 128, codegen::DType::BF16,
                                   api::Output::Cubin, s, {}, kernel);
    ASSERT_TRUE(s) << s.message;
    uint64_t bytes = 0;
    ASSERT_TRUE(readCubinCodeBytes(r.binary, "sieve_attention_decode", bytes));
    EXPECT_LT(bytes, std::string(kernel) == "decode-sm80-mma" ? 68u << 10 : 78u << 10);
  }
}

TEST(SieveCompile, EveryBackwardKernelCompilesWithoutSpills) {
  // bwd-sm80-mma x every built-in x head dims x dtypes x {sm_80, sm_90a}:
  // all four entry points (pre, the per-key-tile kernel, post, the
  // deterministic dq pass) at 0 spill bytes and no ptxas warnings. The
  // hd128 main kernel sits at 255 registers, so any growth shows up here.
  std::string why;
  if (!haveNvrtc(why))
    GTEST_SKIP() << why;
  for (std::string builtin : {"power_attention", "sliding_window", "stride_slash", "dilated",
                              "longnet", "causal", "full", "longformer"})
    for (int hd : {64, 128})
      for (codegen::DType dt : {codegen::DType::BF16, codegen::DType::FP16})
        for (std::string arch : {"sm_80", "sm_90a"}) {
          SCOPED_TRACE(builtin + " hd" + std::to_string(hd) + " " + codegen::dtypeName(dt) + " " +
                       arch);
          Status s;
          api::CompileResult r = compile("builtin:" + builtin, arch, hd, dt, api::Output::Cubin, s,
                                         {"--ptxas-options=-v"}, "bwd-sm80-mma");
          ASSERT_TRUE(s) << s.message;
          EXPECT_EQ(r.config.variant->operation, codegen::Operation::Backward);
          EXPECT_EQ(r.source.find("#include"), std::string::npos) << "not self-contained";
          ASSERT_EQ(codegen::entryPoints(codegen::Operation::Backward).size(), 4u);
          expectEntriesWithoutSpills(r, codegen::Operation::Backward);
        }
}

TEST(SieveCompile, TheWgmmaBackwardCompilesWithoutSpills) {
  // bwd-sm90-wgmma (sm_90a only) x every built-in x
  // head dims x dtypes: all four entry points at 0 spill bytes.
  std::string why;
  if (!haveNvrtc(why))
    GTEST_SKIP() << why;
  for (std::string builtin : {"power_attention", "sliding_window", "stride_slash", "dilated",
                              "longnet", "causal", "full", "longformer"})
    for (int hd : {64, 128})
      for (codegen::DType dt : {codegen::DType::BF16, codegen::DType::FP16}) {
        SCOPED_TRACE(builtin + " hd" + std::to_string(hd) + " " + codegen::dtypeName(dt));
        Status s;
        api::CompileResult r = compile("builtin:" + builtin, "sm_90a", hd, dt, api::Output::Cubin,
                                       s, {"--ptxas-options=-v"}, "bwd-sm90-wgmma");
        ASSERT_TRUE(s) << s.message;
        EXPECT_NE(r.source.find("using SieveKernel = sieve::dev::BwdSm90<"), std::string::npos);
        expectEntriesWithoutSpills(r, codegen::Operation::Backward);
      }
  // Only sm_90a has wgmma.
  Status s;
  compile("builtin:causal", "sm_80", 128, codegen::DType::BF16, api::Output::Cuda, s, {},
          "bwd-sm90-wgmma");
  EXPECT_FALSE(s);
  EXPECT_NE(s.message.find("it needs sm_90a (wgmma), not sm_80"), std::string::npos) << s.message;
}

TEST(SieveCompile, TheTwoWarpgroupBackwardCompilesWithoutSpills) {
  // bwd-sm90-2wg x every built-in (all have key blocks of 128k) x dtypes at
  // head dim 128: all four entry points at 0 spill bytes; the main entry has
  // 256 threads and the others 128 (sieve_launch_info.aux_threads).
  std::string why;
  if (!haveNvrtc(why))
    GTEST_SKIP() << why;
  for (std::string builtin : {"power_attention", "sliding_window", "stride_slash", "dilated",
                              "longnet", "causal", "full", "longformer"})
    for (codegen::DType dt : {codegen::DType::BF16, codegen::DType::FP16}) {
      SCOPED_TRACE(builtin + " " + codegen::dtypeName(dt));
      Status s;
      api::CompileResult r = compile("builtin:" + builtin, "sm_90a", 128, dt, api::Output::Cubin,
                                     s, {"--ptxas-options=-v"}, "bwd-sm90-2wg");
      ASSERT_TRUE(s) << s.message;
      EXPECT_NE(r.source.find("using SieveKernel = sieve::dev::BwdSm90TwoWg<"), std::string::npos);
      EXPECT_NE(r.source.find("cp.reduce.async.bulk.global.shared::cta.bulk_group.add.f32"),
                std::string::npos);
      expectEntriesWithoutSpills(r, codegen::Operation::Backward);
      CubinLaunchInfo li;
      ASSERT_TRUE(readCubinLaunchInfo(r.binary, li));
      EXPECT_EQ(li.threads, 256);
      EXPECT_EQ(li.auxThreads, 128);
      EXPECT_EQ(li.tileK, 128);
    }
  // Head dim 64 and key blocks 128 does not divide are named.
  Status s;
  compile("builtin:causal", "sm_90a", 64, codegen::DType::BF16, api::Output::Cuda, s, {},
          "bwd-sm90-2wg");
  EXPECT_NE(s.message.find("it takes head dim 128, not 64"), std::string::npos) << s.message;
  compile(R"({"block_size": 64, "mask": "causal"})", "sm_90a", 128, codegen::DType::BF16,
          api::Output::Cuda, s, {}, "bwd-sm90-2wg");
  EXPECT_NE(s.message.find("its 128-key tiles must divide the pattern's key block 64"),
            std::string::npos)
      << s.message;
}

TEST(SieveCompile, TheWarpSpecialisedForwardCompilesWithoutSpills) {
  // fwd-sm90-ws (sm_90a only) x every built-in whose
  // key block is a multiple of 64 x head dims x dtypes: 0 spill bytes, no
  // ptxas warnings (C7508, C7511, C7514, C7515 among them: wgmma
  // serialised, setmaxnreg ignored), the producer/consumer split and TMA in
  // the PTX, three tensor maps after the params.
  std::string why;
  if (!haveNvrtc(why))
    GTEST_SKIP() << why;
  for (std::string builtin : {"power_attention", "sliding_window", "stride_slash", "dilated",
                              "longnet", "causal", "full", "longformer"})
    for (int hd : {64, 128})
      for (codegen::DType dt : {codegen::DType::BF16, codegen::DType::FP16}) {
        SCOPED_TRACE(builtin + " hd" + std::to_string(hd) + " " + codegen::dtypeName(dt));
        Status s;
        api::CompileResult r = compile("builtin:" + builtin, "sm_90a", hd, dt, api::Output::Ptx, s,
                                       {"--ptxas-options=-v"}, "fwd-sm90-ws");
        if (!s && s.message.find("must divide the pattern's key block") != std::string::npos)
          continue;  // a key block that is not a multiple of 64
        ASSERT_TRUE(s) << s.message;
        EXPECT_NE(r.source.find("using SieveKernel = sieve::dev::FwdSm90Ws<"), std::string::npos);
        EXPECT_NE(r.source.find("const __grid_constant__ sieve::dev::sm90::TmaDesc tv"),
                  std::string::npos);
        const std::string ptx(r.binary.begin(), r.binary.end());
        EXPECT_NE(ptx.find("setmaxnreg.dec.sync.aligned.u32 56"), std::string::npos);
        EXPECT_NE(ptx.find("setmaxnreg.inc.sync.aligned.u32 224"), std::string::npos);
        EXPECT_NE(ptx.find("cp.async.bulk.tensor.4d"), std::string::npos);
        EXPECT_EQ(ptx.find("cp.async.cg"), std::string::npos) << "the consumers load nothing";
        api::CompileResult c = compile("builtin:" + builtin, "sm_90a", hd, dt, api::Output::Cubin, s,
                                       {"--ptxas-options=-v"}, "fwd-sm90-ws");
        ASSERT_TRUE(s) << s.message;
        KernelResources res;
        ASSERT_TRUE(parsePtxasLog(c.log, "sieve_attention_fwd", res)) << c.log;
        // The setmaxnreg split (56 x 128 + 224 x 256) hands over exactly the
        // 168 registers x 384 threads the block starts with.
        EXPECT_EQ(res.registers, 168) << c.log;
        // What the cubin declares: 384 threads, three tensor maps, Q and two
        // 2-slot rings of K and V tiles within sm_90's 227 KiB.
        CubinLaunchInfo launch;
        ASSERT_TRUE(readCubinLaunchInfo(c.binary, launch));
        EXPECT_EQ(launch.threads, 384);
        EXPECT_EQ(launch.tensorMaps, 3);
        EXPECT_EQ(launch.tileQ, 128);
        EXPECT_GE(launch.sharedBytes, 128 * hd * 2 + 2 * 2 * launch.tileK * hd * 2);
        EXPECT_LE(launch.sharedBytes, codegen::maxSharedBytesPerBlock(codegen::Target{90, true}));
        EXPECT_EQ(res.spillStoreBytes, 0) << c.log;
        EXPECT_EQ(res.spillLoadBytes, 0) << c.log;
        EXPECT_TRUE(res.warnings.empty()) << res.warnings.front();
      }
  // The schedule measured against the default (FlashAttention 3's consumer
  // order, with and without the ping-pong turns) compiles the same way.
  for (bool turns : {false, true}) {
    std::vector<std::string> options = {"--ptxas-options=-v", "-DSIEVE_WS_FA3_ORDER"};
    if (turns)
      options.push_back("-DSIEVE_WS_PINGPONG");
    Status s;
    api::CompileResult c = compile("builtin:power_attention", "sm_90a", 128, codegen::DType::BF16,
                                   api::Output::Ptx, s, options, "fwd-sm90-ws");
    ASSERT_TRUE(s) << s.message;
    const std::string ptx(c.binary.begin(), c.binary.end());
    EXPECT_NE(ptx.find("wgmma.wait_group.sync.aligned 1"), std::string::npos);
    EXPECT_EQ(ptx.find("bar.arrive") != std::string::npos, turns);
    c = compile("builtin:power_attention", "sm_90a", 128, codegen::DType::BF16, api::Output::Cubin,
                s, options, "fwd-sm90-ws");
    ASSERT_TRUE(s) << s.message;
    KernelResources res;
    ASSERT_TRUE(parsePtxasLog(c.log, "sieve_attention_fwd", res)) << c.log;
    EXPECT_EQ(res.spillStoreBytes + res.spillLoadBytes, 0) << c.log;
    EXPECT_TRUE(res.warnings.empty()) << res.warnings.front();
  }
  Status s;
  compile("builtin:causal", "sm_90", 128, codegen::DType::BF16, api::Output::Cuda, s, {},
          "fwd-sm90-ws");
  EXPECT_NE(s.message.find("it needs sm_90a (wgmma), not sm_90"), std::string::npos) << s.message;
}

TEST(SieveCompile, OnlyABackwardRequestGetsTheBackwardKernel) {
  // The operation picks the module: a plain request gets a forward kernel,
  // a backward request a backward kernel: on sm_90a bwd-sm90-2wg (64 x 128
  // tiles, 8 warps; verified on an H200), bwd-sm80-mma elsewhere.
  std::string error;
  codegen::KernelRequest request;
  request.target = codegen::Target{90, true};
  std::optional<codegen::KernelConfig> c = codegen::chooseKernel(request, 256, 256, error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->variant->operation, codegen::Operation::Forward);
  request.operation = codegen::Operation::Backward;
  c = codegen::chooseKernel(request, 256, 256, error);
  ASSERT_TRUE(c) << error;
  EXPECT_STREQ(c->variant->name, "bwd-sm90-2wg");
  EXPECT_TRUE(c->verified);
  EXPECT_EQ(c->tileQ, 64);
  EXPECT_EQ(c->tileK, 128);
  EXPECT_EQ(c->warps, 8);
  // Deterministic launches (sieve run --backward --deterministic) get the
  // kernel fastest without dQ atomics.
  request.deterministic = true;
  c = codegen::chooseKernel(request, 256, 256, error);
  ASSERT_TRUE(c) << error;
  EXPECT_STREQ(c->variant->name, "bwd-sm90-wgmma");
  request.deterministic = false;
  for (codegen::Target t : {codegen::Target{90, false}, codegen::Target{80, false}}) {
    request.target = t;
    c = codegen::chooseKernel(request, 256, 256, error);
    ASSERT_TRUE(c) << error;
    EXPECT_STREQ(c->variant->name, "bwd-sm80-mma") << t.str();
  }
}

TEST(SieveCompile, DecodeTilesFollowTheKeyBlock) {
  // 64-key tiles with 4 warps where the key block allows, else the widest
  // power of two dividing it with one warp per 16 keys; all of them passed
  // the H200 checks, so none carries an unverified warning.
  std::string error;
  codegen::KernelRequest request;
  request.target = codegen::Target{90, true};
  request.operation = codegen::Operation::Decode;
  for (auto [blockK, tileK, warps] :
       {std::tuple{64, 64, 4}, {256, 64, 4}, {192, 64, 4}, {32, 32, 2}, {16, 16, 1}, {48, 16, 1},
        {96, 32, 2}}) {
    std::optional<codegen::KernelConfig> c = codegen::chooseKernel(request, blockK, blockK, error);
    ASSERT_TRUE(c) << error;
    EXPECT_EQ(c->tileQ, 16);
    EXPECT_EQ(c->tileK, tileK) << blockK;
    EXPECT_EQ(c->warps, warps) << blockK;
    EXPECT_TRUE(c->verified) << blockK;
    EXPECT_EQ(c->unverifiedWhy, "") << blockK;
  }
}

INSTANTIATE_TEST_SUITE_P(Builtins, CompileBuiltin,
                         ::testing::Values("power_attention", "sliding_window", "stride_slash",
                                           "dilated", "longnet", "causal", "full", "longformer"));

TEST(SieveCompile, TheSourceComesFromThePlan) {
  Status s;
  api::CompileResult r = compile("builtin:power_attention", "sm_90a", 128, codegen::DType::BF16,
                                 api::Output::Cuda, s);
  ASSERT_TRUE(s) << s.message;
  EXPECT_EQ(std::string(r.config.variant->name), "fwd-sm90-ws");
  EXPECT_NE(r.source.find("// Plan @power_attention_forward: closed_form walk."), std::string::npos);
  EXPECT_NE(r.source.find("kTileQ = 128, kTileK = 128"), std::string::npos);
  EXPECT_NE(r.source.find("using SieveKernel = sieve::dev::FwdSm90Ws<"), std::string::npos);
  // The ABI header is embedded verbatim.
  EXPECT_NE(r.source.find("typedef struct sieve_fwd_params {"), std::string::npos);
}

TEST(SieveCompile, TheCanonicalPatternIsCompiled) {
  // Two spellings of one pattern: sieve-canonicalize makes them one kernel.
  Status s1, s2;
  api::CompileResult a = compile(R"({"block_size": 64, "mask": {"intersect": ["causal",
      {"union": [{"window": {"blocks": 2}}, {"window": {"blocks": 4}}]}]}})",
                                 "sm_80", 128, codegen::DType::BF16, api::Output::Cuda, s1);
  api::CompileResult b = compile(R"({"block_size": 64, "mask": {"intersect": ["causal",
      {"window": {"blocks": 4}}]}})",
                                 "sm_80", 128, codegen::DType::BF16, api::Output::Cuda, s2);
  ASSERT_TRUE(s1 && s2) << s1.message << s2.message;
  EXPECT_EQ(a.source, b.source);
}

TEST(SieveCompile, TheApiTakesJsonText) {
  std::string why;
  if (!haveNvrtc(why))
    GTEST_SKIP() << why;
  KernelOptions o;
  o.arch = "sm_80";
  o.useCache = false;
  CompiledKernel k;
  Status s = compileAttention("  \n {\"builtin\": \"causal\"}", o, k);
  ASSERT_TRUE(s) << s.message;
  EXPECT_EQ(k.kernel, "fwd-sm80-mma");
  EXPECT_EQ(k.arch, "sm_80");
  EXPECT_EQ(k.tileK, 64);
  o.kernel = "fwd-sm90-wgmma";
  s = compileAttention("builtin:causal", o, k);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.message, "kernel 'fwd-sm90-wgmma' does not apply: it needs sm_90a (wgmma), not sm_80");
}
