//===- SieveKernels.h - Which kernel a request gets -------------*- C++ -*-===//
//
// The one table of kernel variants: for each, the operation and KV layout it
// implements, the targets and patterns it accepts, its tiling, and whether a
// GPU run has verified it. Every caller (the CLI, compileAttention, the C
// API) chooses through chooseKernel, so the same request on the same device
// gets the same kernel everywhere.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_CODEGEN_SIEVEKERNELS_H
#define SIEVE_CODEGEN_SIEVEKERNELS_H

#include <cstdint>

#include <optional>
#include <string>
#include <vector>

namespace sieve::codegen {

/// The element type of q, k, v and o (the compiler's own; the public API's
/// ElementType and sieve_dtype convert to it at the API's boundary).
enum class DType { BF16, FP16 };
const char *dtypeName(DType dtype);

/// Forward: the prefill kernels (queries in 128-row tiles of one head).
/// Decode: few queries per sequence, the heads of a KV group packed into one
/// tile, split-KV, variable-length batches; dense or paged KV.
/// Backward: dq, dk, dv from the forward's o and lse (four entry points).
enum class Operation { Forward, Decode, Backward };
enum class KvLayout { Dense, Paged };
const char *operationName(Operation op);
/// The kernel entry point of a module of this operation (sieve_kernel_abi.h);
/// for backward, the main (per key tile) entry.
const char *entryPoint(Operation op);
/// Every entry point of a module of this operation, the main one first.
std::vector<const char *> entryPoints(Operation op);
const char *kvLayoutName(KvLayout kv);

/// A compilation target: sm_XY, or sm_XYa for the architecture-specific
/// features of that exact chip (wgmma on sm_90a).
struct Target {
  int sm = 0;
  bool archSpecific = false;
  /// "sm_80", "sm_90a", ...; nullopt for anything sieve cannot build for.
  static std::optional<Target> parse(const std::string &arch);
  std::string str() const;
  bool operator==(const Target &o) const { return sm == o.sm && archSpecific == o.archSpecific; }
};

/// The targets sieve builds kernels for, in one line ("sm_80, sm_86, ...").
std::string supportedTargets();
/// The target used when none is given and no GPU can be asked.
Target defaultTarget();
/// The most dynamic shared memory a block may opt into on the target's GPUs
/// (the CUDA programming guide's per-compute-capability limits): 163 KiB on
/// sm_80 and sm_87, 227 KiB on sm_90, sm_100 and sm_103, 99 KiB on sm_86,
/// sm_89 and sm_12x; 0 where sieve does not record it.
int maxSharedBytesPerBlock(const Target &t);
/// The target sieve compiles for on a device of compute capability
/// major.minor: sm_90a on Hopper (9.0), sm_XY elsewhere.
Target targetForDevice(int major, int minor);

/// One kernel variant (an entry of the table).
struct KernelVariant {
  const char *name;
  Operation operation;
  KvLayout kvLayout;
  const char *summary;
  const char *needs; ///< What the variant needs, for people.
  /// Whether a GPU run has checked it against the reference (an unverified
  /// variant is never chosen by default; it can be forced).
  bool verified;
};
const std::vector<KernelVariant> &kernelVariants();
const KernelVariant *findKernelVariant(const std::string &name);

/// The words that stand for "sieve's choice of a kernel for this operation"
/// where a variant name is taken (the C and Python APIs' `kernel`, the
/// CLI's --kernel): "forward", "decode", "decode-paged" and "backward".
/// True, with the operation and KV layout, for one of them.
bool parseOperationChoice(const std::string &word, Operation &op, KvLayout &kv);
/// "forward, decode, decode-paged, backward", for messages.
const char *operationChoices();

/// What a caller asks for.
struct KernelRequest {
  Operation operation = Operation::Forward;
  KvLayout kvLayout = KvLayout::Dense;
  Target target;
  int headDim = 128;
  DType dtype = DType::BF16;
  /// "" chooses for `operation`; an operation word (parseOperationChoice)
  /// chooses for that operation instead; a variant name forces that variant.
  std::string variant;
  /// Backward: the launches will be deterministic, so the choice is the
  /// kernel fastest without atomics (set by the word backward-deterministic).
  bool deterministic = false;
};

/// A chosen variant and its configuration: what the generated source's
/// constexpr configuration holds.
struct KernelConfig {
  const KernelVariant *variant = nullptr;
  Target target;
  int headDim = 128;
  DType dtype = DType::BF16;
  int64_t tileQ = 128, tileK = 64;
  int warps = 4;
  int stages = 2;
  int minSplitTiles = 0; ///< Decode: the fewest key tiles a split takes.
  /// Whether a GPU run has verified this configuration: the variant's flag,
  /// unless this configuration of it has not run (callers warn).
  bool verified = false;
  /// Why `verified` is false for a verified variant (empty otherwise).
  std::string unverifiedWhy;
};

/// Chooses the variant for `request` and a pattern with these block sizes,
/// or checks the forced one. The default is the fastest verified variant
/// that implements the request; an operation that only unverified variants
/// implement gets one of those (the result's variant says verified = false,
/// and callers warn). On failure returns nullopt with the reason in
/// `error` (an unsupported target, head dim, a variant that does not apply).
std::optional<KernelConfig> chooseKernel(const KernelRequest &request, int64_t blockQ,
                                         int64_t blockK, std::string &error);

} // namespace sieve::codegen

#endif // SIEVE_CODEGEN_SIEVEKERNELS_H
