//===- SieveKernelConfigTest.cpp - Which kernel a request gets -------===//
//
// The kernel table: sm_90a takes the warp-specialised wgmma variant with the
// largest key tile (128 or 64) that divides the pattern's key block, so tags
// stay exact;
// every other target, and blocks no tile of 64 divides, take mma.sync; a
// forced variant is checked; targets outside the one list are refused.
//
//===----------------------------------------------------------------------===//

#include "codegen/SieveKernels.h"

#include <gtest/gtest.h>

#include <set>

using namespace sieve::codegen;

namespace {
std::optional<KernelConfig> choose(int64_t block, const std::string &arch, int headDim = 128,
                                   const std::string &variant = "", std::string *error = nullptr) {
  KernelRequest r;
  r.target = *Target::parse(arch);
  r.headDim = headDim;
  r.variant = variant;
  std::string why;
  std::optional<KernelConfig> c = chooseKernel(r, block, block, why);
  if (error)
    *error = why;
  return c;
}
std::string name(const std::optional<KernelConfig> &c) { return c ? c->variant->name : "none"; }
} // namespace

TEST(SieveKernelConfig, HopperTakesTheWarpSpecialisedKernel) {
  for (int hd : {64, 128}) {
    std::optional<KernelConfig> c = choose(256, "sm_90a", hd);
    ASSERT_EQ(name(c), "fwd-sm90-ws");
    EXPECT_TRUE(c->verified);
    EXPECT_EQ(c->tileQ, 128);
    EXPECT_EQ(c->tileK, 128);
    EXPECT_EQ(c->warps, 12);
    EXPECT_EQ(c->stages, 2);
  }
  EXPECT_EQ(choose(192, "sm_90a")->tileK, 64);
  EXPECT_EQ(name(choose(64, "sm_90a")), "fwd-sm90-ws");
  // The cp.async wgmma kernel stays available by name.
  std::optional<KernelConfig> w = choose(256, "sm_90a", 128, "fwd-sm90-wgmma");
  ASSERT_EQ(name(w), "fwd-sm90-wgmma");
  EXPECT_EQ(w->warps, 8);
  EXPECT_EQ(w->stages, 3);
}

TEST(SieveKernelConfig, EveryOtherTargetTakesMmaSync) {
  for (const char *arch : {"sm_80", "sm_86", "sm_89", "sm_90", "sm_100", "sm_100a", "sm_120"})
    EXPECT_EQ(name(choose(256, arch)), "fwd-sm80-mma") << arch;
  std::optional<KernelConfig> small = choose(32, "sm_90a");
  ASSERT_EQ(name(small), "fwd-sm80-mma");
  EXPECT_EQ(small->tileK, 32);
  EXPECT_EQ(choose(256, "sm_80", 64)->tileQ, 64);
  EXPECT_EQ(choose(256, "sm_80", 128)->tileQ, 128);
}

TEST(SieveKernelConfig, AForcedKernelIsChecked) {
  EXPECT_EQ(name(choose(256, "sm_90a", 128, "fwd-sm80-mma")), "fwd-sm80-mma");
  std::string error;
  EXPECT_FALSE(choose(256, "sm_90", 128, "fwd-sm90-wgmma", &error));
  EXPECT_EQ(error, "kernel 'fwd-sm90-wgmma' does not apply: it needs sm_90a (wgmma), not sm_90");
  EXPECT_FALSE(choose(96, "sm_90a", 128, "fwd-sm90-wgmma", &error));
  EXPECT_NE(error.find("must divide the pattern's key block 96"), std::string::npos) << error;
  EXPECT_FALSE(choose(256, "sm_90a", 128, "fwd-nope", &error));
  EXPECT_NE(error.find("unknown kernel 'fwd-nope'; expected one of fwd-sm80-mma, fwd-sm90-wgmma"),
            std::string::npos)
      << error;
  EXPECT_FALSE(choose(256, "sm_90a", 96, "", &error));
  EXPECT_EQ(error, "head dim must be 64 or 128 but is 96");
}

TEST(SieveKernelConfig, AnOperationWordTakesTheTablesChoiceForIt) {
  // Where a variant name is taken, "forward", "decode", "decode-paged" and
  // "backward" stand for the table's choice of that operation (what the
  // PyTorch op's backward asks for), per target.
  const struct {
    const char *word, *arch, *want;
  } cases[] = {{"forward", "sm_90a", "fwd-sm90-ws"},       {"forward", "sm_80", "fwd-sm80-mma"},
               {"backward", "sm_90a", "bwd-sm90-2wg"},     {"backward", "sm_90", "bwd-sm80-mma"},
               {"backward", "sm_80", "bwd-sm80-mma"},      {"decode", "sm_90a", "decode-sm80-mma"},
               {"backward-deterministic", "sm_90a", "bwd-sm90-wgmma"},
               {"backward-deterministic", "sm_80", "bwd-sm80-mma"},
               {"decode-paged", "sm_80", "decode-sm80-mma-paged"}};
  for (const auto &c : cases) {
    std::optional<KernelConfig> k = choose(256, c.arch, 128, c.word);
    EXPECT_EQ(name(k), c.want) << c.word << " " << c.arch;
  }
  // The word picks the operation: a block no wgmma tile divides still gets
  // a forward kernel (mma.sync), not an error.
  EXPECT_EQ(name(choose(32, "sm_90a", 128, "forward")), "fwd-sm80-mma");
  // ... and a backward kernel where the two-warpgroup one does not apply:
  // head dim 64, or a key block 128 does not divide.
  EXPECT_EQ(name(choose(256, "sm_90a", 64, "backward")), "bwd-sm90-wgmma");
  EXPECT_EQ(name(choose(64, "sm_90a", 128, "backward")), "bwd-sm90-wgmma");
  Operation op;
  KvLayout kv;
  EXPECT_FALSE(parseOperationChoice("Backward", op, kv));
  EXPECT_FALSE(parseOperationChoice("bwd", op, kv));
  std::string error;
  EXPECT_FALSE(choose(256, "sm_90a", 128, "backwards", &error));
  EXPECT_NE(error.find(", or forward, decode, decode-paged, backward, backward-deterministic for "
                       "sieve's choice"),
            std::string::npos)
      << error;
}

TEST(SieveKernelConfig, OneListOfTargets) {
  for (const char *ok : {"sm_80", "sm_90", "sm_90a", "sm_100a", "sm_121"})
    EXPECT_TRUE(Target::parse(ok)) << ok;
  for (const char *bad : {"sm_75", "sm_70", "sm_80a", "compute_90", "sm_90; rm -rf /", "sm_", "",
                          "sm_0090", "sm_90aa"})
    EXPECT_FALSE(Target::parse(bad)) << bad;
  EXPECT_EQ(Target::parse("sm_90a")->str(), "sm_90a");
  EXPECT_EQ(targetForDevice(9, 0).str(), "sm_90a");
  EXPECT_EQ(targetForDevice(8, 0).str(), "sm_80");
  EXPECT_EQ(targetForDevice(10, 0).str(), "sm_100");
  EXPECT_EQ(supportedTargets().rfind("sm_80, sm_86", 0), 0u) << supportedTargets();
}

TEST(SieveKernelConfig, EveryVariantIsListedOnce) {
  std::set<std::string> names;
  for (const KernelVariant &v : kernelVariants()) {
    EXPECT_TRUE(names.insert(v.name).second) << v.name;
    EXPECT_EQ(findKernelVariant(v.name), &v);
  }
  EXPECT_EQ(findKernelVariant("fwd-nope"), nullptr);
}
