//===- SieveKernels.cpp - Which kernel a request gets -----------*- C++ -*-===//

#include "codegen/SieveKernels.h"
#include "runtime/include/sieve/sieve_kernel_abi.h"

#include <cstdlib>

using namespace sieve;
using namespace sieve::codegen;

const char *codegen::dtypeName(DType dtype) { return dtype == DType::FP16 ? "fp16" : "bf16"; }

const char *codegen::operationName(Operation op) {
  switch (op) {
  case Operation::Forward: return "forward";
  case Operation::Decode: return "decode";
  case Operation::Backward: return "backward";
  }
  return "?";
}

const char *codegen::entryPoint(Operation op) {
  switch (op) {
  case Operation::Forward: return SIEVE_FWD_ENTRY;
  case Operation::Decode: return SIEVE_DECODE_ENTRY;
  case Operation::Backward: return SIEVE_BWD_ENTRY;
  }
  return "?";
}

std::vector<const char *> codegen::entryPoints(Operation op) {
  switch (op) {
  case Operation::Forward: return {SIEVE_FWD_ENTRY};
  case Operation::Decode: return {SIEVE_DECODE_ENTRY, SIEVE_COMBINE_ENTRY};
  case Operation::Backward:
    return {SIEVE_BWD_ENTRY, SIEVE_BWD_PRE_ENTRY, SIEVE_BWD_POST_ENTRY, SIEVE_BWD_DQ_ENTRY};
  }
  return {};
}

const char *codegen::kvLayoutName(KvLayout kv) {
  switch (kv) {
  case KvLayout::Dense: return "dense";
  case KvLayout::Paged: return "paged";
  }
  return "?";
}

namespace {
/// The chips sieve builds for: NVRTC 13's targets from sm_80 (the kernels
/// need mma.sync with bf16 and cp.async) on. "a" marks the targets that have
/// an architecture-specific form.
struct Chip {
  int sm;
  bool hasArchSpecific;
};
constexpr Chip kChips[] = {{80, false},  {86, false},  {87, false},  {89, false},
                           {90, true},   {100, true},  {103, true},  {110, true},
                           {120, true},  {121, true}};
} // namespace

std::optional<Target> Target::parse(const std::string &arch) {
  if (arch.rfind("sm_", 0) != 0 || arch.size() < 5)
    return std::nullopt;
  std::string digits = arch.substr(3);
  bool a = !digits.empty() && digits.back() == 'a';
  if (a)
    digits.pop_back();
  if (digits.empty() || digits.size() > 3 || digits.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  int sm = std::atoi(digits.c_str());
  for (const Chip &c : kChips)
    if (c.sm == sm && (!a || c.hasArchSpecific))
      return Target{sm, a};
  return std::nullopt;
}

std::string Target::str() const { return "sm_" + std::to_string(sm) + (archSpecific ? "a" : ""); }

std::string codegen::supportedTargets() {
  std::string out;
  for (const Chip &c : kChips) {
    out += (out.empty() ? "" : ", ") + Target{c.sm, false}.str();
    if (c.hasArchSpecific)
      out += ", " + Target{c.sm, true}.str();
  }
  return out;
}

Target codegen::defaultTarget() { return Target{90, true}; }

Target codegen::targetForDevice(int major, int minor) {
  return Target{major * 10 + minor, major == 9 && minor == 0};
}

const std::vector<KernelVariant> &codegen::kernelVariants() {
  static const std::vector<KernelVariant> table = {
      {"fwd-sm80-mma", Operation::Forward, KvLayout::Dense,
       "forward, mma.sync m16n8k16 and a cp.async pipeline (FlashAttention-2 style)",
       "sm_80 or newer", true},
      {"fwd-sm90-wgmma", Operation::Forward, KvLayout::Dense,
       "forward, Hopper wgmma with two consumer warpgroups and 3 cp.async stages",
       "sm_90a; a key block that is a multiple of 64", true},
      // Verified on an H200 (sm_90a; docs/performance.md, 2026-12-02, fourth
      // run): 8 checks, racecheck and synccheck clean; 1.35-1.47x
      // fwd-sm90-wgmma, so the default forward on sm_90a.
      {"fwd-sm90-ws", Operation::Forward, KvLayout::Dense,
       "forward, warp-specialised: a TMA producer warpgroup running the walk, two wgmma "
       "consumer warpgroups (setmaxnreg), mbarrier rings",
       "sm_90a; a key block that is a multiple of 64; strides that are multiples of 8 elements",
       true},
      // Verified on an H200 (sm_90a; docs/performance.md, 2026-12-02).
      {"decode-sm80-mma", Operation::Decode, KvLayout::Dense,
       "decode: KV-group heads packed 16 rows per tile, 4 warps splitting each key tile, split-KV "
       "with a combine, varlen batches",
       "sm_80 or newer; head dim 128 takes 100 KiB of shared memory (more than sm_86/89/12x "
       "give a block)",
       true},
      {"decode-sm80-mma-paged", Operation::Decode, KvLayout::Paged,
       "decode-sm80-mma over a paged KV cache (block table; pages of 16-256 keys, multiples of 16)",
       "sm_80 or newer", true},
      // Verified on an H200 (sm_90a; docs/performance.md, 2026-12-02).
      {"bwd-sm80-mma", Operation::Backward, KvLayout::Dense,
       "backward: the transposed walk per key tile, dK/dV in registers, dQ by fp32 atomics "
       "(or a deterministic dQ pass)",
       "sm_80 or newer; head dim 128 takes 105 KiB of shared memory (more than sm_86/89/12x "
       "give a block)",
       true},
      // Verified on an H200 (sm_90a; docs/performance.md, 2026-12-02, second
      // run): 47 gradient checks, memcheck/racecheck/synccheck clean; 1.25-1.3x
      // bwd-sm80-mma, so the default on sm_90a.
      {"bwd-sm90-wgmma", Operation::Backward, KvLayout::Dense,
       "backward: bwd-sm80-mma's walk and structure with the five matmuls as Hopper wgmma",
       "sm_90a", true},
      // Verified on an H200 (sm_90a; docs/performance.md, 2026-12-02, seventh
      // session): 47/47 gradient checks with it as the default (31 on it),
      // memcheck/racecheck/synccheck clean; 1.08x (32K) and 1.12x (128K)
      // bwd-sm90-wgmma with atomic dQ, so the default where it applies
      // (deterministic, bwd-sm90-wgmma is ~10% faster).
      {"bwd-sm90-2wg", Operation::Backward, KvLayout::Dense,
       "backward: two wgmma warpgroups per 128-key tile sharing each query tile's copies, dQ "
       "through shared memory and one bulk reduce-add per query tile",
       "sm_90a; head dim 128; a key block that is a multiple of 128", true},
  };
  return table;
}

int codegen::maxSharedBytesPerBlock(const Target &t) {
  switch (t.sm) {
  case 80:
  case 87: return 163 * 1024;
  case 90:
  case 100:
  case 103: return 227 * 1024;
  case 86:
  case 89:
  case 120:
  case 121: return 99 * 1024;
  default: return 0;
  }
}

bool codegen::parseOperationChoice(const std::string &word, Operation &op, KvLayout &kv) {
  static const struct {
    const char *word;
    Operation op;
    KvLayout kv;
  } kChoices[] = {{"forward", Operation::Forward, KvLayout::Dense},
                  {"decode", Operation::Decode, KvLayout::Dense},
                  {"decode-paged", Operation::Decode, KvLayout::Paged},
                  {"backward", Operation::Backward, KvLayout::Dense},
                  {"backward-deterministic", Operation::Backward, KvLayout::Dense}};
  for (const auto &c : kChoices)
    if (word == c.word) {
      op = c.op, kv = c.kv;
      return true;
    }
  return false;
}

const char *codegen::operationChoices() {
  return "forward, decode, decode-paged, backward, backward-deterministic";
}

const KernelVariant *codegen::findKernelVariant(const std::string &name) {
  for (const KernelVariant &v : kernelVariants())
    if (name == v.name)
      return &v;
  return nullptr;
}

namespace {
/// The variant's configuration for the request, or a reason it does not apply.
std::optional<KernelConfig> configure(const KernelVariant &v, const KernelRequest &r,
                                      int64_t blockK, std::string &why) {
  KernelConfig c;
  c.variant = &v;
  c.target = r.target;
  c.headDim = r.headDim;
  c.dtype = r.dtype;
  c.verified = v.verified;
  if (v.operation != r.operation || v.kvLayout != r.kvLayout) {
    why = std::string("it implements ") + operationName(v.operation) + " with " +
          kvLayoutName(v.kvLayout) + " KV";
    return std::nullopt;
  }
  if (std::string(v.name) == "fwd-sm90-wgmma" || std::string(v.name) == "fwd-sm90-ws") {
    if (!(r.target == Target{90, true})) {
      why = "it needs sm_90a (wgmma), not " + r.target.str();
      return std::nullopt;
    }
    if (blockK % 64 != 0) {
      why = "its key tiles (64 or 128) must divide the pattern's key block " +
            std::to_string(blockK);
      return std::nullopt;
    }
    // Two warpgroups of 64 query rows; S = Q K^T is one m64nK wgmma chain.
    // The warp-specialised kernel adds a producer warpgroup and loads
    // through TMA into rings of 2 K and 2 V slots.
    const bool ws = std::string(v.name) == "fwd-sm90-ws";
    c.tileQ = 128, c.warps = ws ? 12 : 8, c.stages = ws ? 2 : 3;
    c.tileK = blockK % 128 == 0 ? 128 : 64;
    return c;
  }
  const bool bwdTwoWg = std::string(v.name) == "bwd-sm90-2wg";
  if ((std::string(v.name) == "bwd-sm90-wgmma" || bwdTwoWg) && !(r.target == Target{90, true})) {
    why = "it needs sm_90a (wgmma), not " + r.target.str();
    return std::nullopt;
  }
  if (bwdTwoWg) {
    // Two warpgroups of 64 keys; dQ splits into one 64-column block each.
    if (r.headDim != 128) {
      why = "it takes head dim 128, not " + std::to_string(r.headDim);
      return std::nullopt;
    }
    if (blockK % 128 != 0) {
      why = "its 128-key tiles must divide the pattern's key block " + std::to_string(blockK);
      return std::nullopt;
    }
    c.tileQ = 64, c.tileK = 128, c.warps = 8, c.stages = 2;
    return c;
  }
  if (v.operation == Operation::Backward) {
    // 4 warps of 16 rows both ways (key rows in the main kernel, query rows
    // in the dQ pass): 64 x 64 tiles, one tile in flight.
    c.tileQ = 64, c.tileK = 64, c.warps = 4, c.stages = 2;
    return c;
  }
  if (v.operation == Operation::Decode) {
    // One 16-row tile of packed rows; 64-key tiles (or the largest power of
    // two that divides the key block) split over up to 4 warps of 16 keys;
    // 3 stages: decode is bound by K/V bytes, so the pipeline is deeper than
    // the forward's. A split takes >= 2 tiles.
    c.tileQ = 16, c.stages = 3, c.minSplitTiles = 2;
    c.tileK = 64;
    while (c.tileK > 16 && blockK % c.tileK != 0)
      c.tileK /= 2;
    c.warps = int(std::min<int64_t>(4, c.tileK / 16));
    // Every width (64-key tiles with 4 warps, 32 with 2, 16 with 1) passed
    // the H200 checks of 2026-12-02 (fourth run; docs/performance.md).
    return c;
  }
  // fwd-sm80-mma. Measured on an H100 (docs/kernels.md): 4 warps, 128 x 64
  // tiles for head dim 128 (32 rows per warp), 64 x 64 for head dim 64. A key
  // tile that divides the key block keeps tags exact; 16 is the smallest tile
  // the mma layout takes.
  c.tileQ = r.headDim == 64 ? 64 : 128;
  c.tileK = 64;
  while (c.tileK > 16 && blockK % c.tileK != 0)
    c.tileK /= 2;
  c.warps = 4, c.stages = 2;
  return c;
}
} // namespace

std::optional<KernelConfig> codegen::chooseKernel(const KernelRequest &r, int64_t blockQ,
                                                  int64_t blockK, std::string &error) {
  if (r.headDim != 64 && r.headDim != 128) {
    error = "head dim must be 64 or 128 but is " + std::to_string(r.headDim);
    return std::nullopt;
  }
  if (!Target::parse(r.target.str())) {
    error = "unsupported architecture '" + r.target.str() + "'; sieve builds for " +
            supportedTargets();
    return std::nullopt;
  }
  std::string why;
  if (KernelRequest chosen = r; parseOperationChoice(r.variant, chosen.operation, chosen.kvLayout)) {
    chosen.variant.clear();
    chosen.deterministic = r.deterministic || r.variant == "backward-deterministic";
    return chooseKernel(chosen, blockQ, blockK, error);
  }
  if (!r.variant.empty()) {
    const KernelVariant *v = findKernelVariant(r.variant);
    if (!v) {
      std::string names;
      for (const KernelVariant &k : kernelVariants())
        names += (names.empty() ? "" : ", ") + std::string(k.name);
      error = "unknown kernel '" + r.variant + "'; expected one of " + names + ", or " +
              operationChoices() + " for sieve's choice (see `sieve list --kernels`)";
      return std::nullopt;
    }
    // A forced variant brings its operation and KV layout.
    KernelRequest forced = r;
    forced.operation = v->operation, forced.kvLayout = v->kvLayout;
    std::optional<KernelConfig> c = configure(*v, forced, blockK, why);
    if (!c)
      error = "kernel '" + r.variant + "' does not apply: " + why;
    return c;
  }
  // The fastest verified variant that applies (the warp-specialised wgmma
  // forward on sm_90a, else mma.sync); failing that, an unverified one.
  static const char *const kPreference[] = {"fwd-sm90-ws", "fwd-sm90-wgmma", "fwd-sm80-mma",
                                            "decode-sm80-mma",
                                            "decode-sm80-mma-paged", "bwd-sm90-2wg", "bwd-sm90-wgmma",
                                            "bwd-sm80-mma"};
  for (bool verified : {true, false})
    for (const char *name : kPreference) {
      // Without dQ atomics bwd-sm90-wgmma is the faster (docs/backward.md:
      // 11.37 against 12.51 ms at 32K on an H200).
      if (r.deterministic && std::string(name) == "bwd-sm90-2wg")
        continue;
      const KernelVariant *v = findKernelVariant(name);
      if (v->verified != verified)
        continue;
      if (std::optional<KernelConfig> c = configure(*v, r, blockK, why))
        return c;
    }
  error = "no kernel for this request: " + why;
  return std::nullopt;
}
