//===- Sieve.h - sieve's public C++ API -------------------------*- C++ -*-===//
//
// The one header a host application includes: compile an attention pattern
// (a built-in, a JSON spec or an MLIR file) to a kernel, load it and launch
// it. No MLIR or LLVM types appear here.
//
//   sieve::CompiledKernel k;
//   sieve::Status s = sieve::compileAttention("builtin:power_attention", {}, k);
//   sieve::AttentionKernel kernel;
//   if (s) s = sieve::AttentionKernel::load(k.cubin, kernel);
//   if (s) s = kernel.launch(args, stream);
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_RUNTIME_SIEVE_H
#define SIEVE_RUNTIME_SIEVE_H

#include "sieve/Attention.h"
#include "sieve/Cache.h"
#include "sieve/Jit.h"
#include "sieve/sieve_export.h"

#include <string>
#include <vector>

namespace sieve {

SIEVE_API_BEGIN

/// sieve's version, "major.minor.patch".
const char *version();

struct KernelOptions {
  int headDim = 128;                     ///< 64 or 128.
  ElementType dtype = ElementType::BF16;
  /// "sm_80", "sm_90a", ...; empty: the current device's (sm_90a on Hopper),
  /// or sm_90a when there is no GPU to ask.
  std::string arch;
  /// A kernel variant by name (kernelVariants()), or "forward", "decode",
  /// "decode-paged", "backward" or "backward-deterministic" for sieve's choice;
  /// empty: sieve's choice of forward for the target and pattern, the same
  /// the CLI makes.
  std::string kernel;
  bool useCache = true;                  ///< The kernel cache (SIEVE_CACHE_DIR).
  /// Extra NVRTC options after sieve's own, e.g. "--Ofast-compile=min"
  /// (part of the cache key).
  std::vector<std::string> nvrtcOptions;
};

struct CompiledKernel {
  std::string patternName;
  std::string source;       ///< The generated CUDA source.
  std::vector<char> cubin;
  std::string arch;         ///< The target it was compiled for.
  std::string kernel;       ///< The kernel variant.
  int tileQ = 0, tileK = 0; ///< Its tiles (what `sieve compile --emit plan` shows).
  std::string from;         ///< "memory", "disk" or "compiled".
  /// What did not stop the compile but deserves attention: a pattern that
  /// attends nothing, a kernel cache that could not be used or written.
  std::vector<std::string> warnings;
};

/// A kernel variant sieve can build (`sieve list --kernels`).
struct KernelVariantInfo {
  std::string name, operation, summary, needs;
  bool verified; ///< Checked on a GPU; only verified variants are chosen by default.
};
std::vector<KernelVariantInfo> kernelVariants();

/// Compiles the kernel of `spec` (forward, or the decode variant
/// options.kernel names: launch that with AttentionKernel::launchDecode): "builtin:NAME", a path to a .json
/// or .mlir file, or the text of a JSON spec (its first character other than
/// whitespace is '{'). Errors carry the spec's own located messages; warnings
/// go to out.warnings.
Status compileAttention(const std::string &spec, const KernelOptions &options,
                        CompiledKernel &out);

SIEVE_API_END

} // namespace sieve

#endif // SIEVE_RUNTIME_SIEVE_H
