//===- SieveCodegen.h - CUDA source for a pattern ---------------*- C++ -*-===//
//
// Emits the small generated prelude of a kernel (constants, the element mask
// and the closed-form tile walk of one pattern) and joins it with the
// hand-written templates under codegen/templates into one self-contained CUDA
// source that NVRTC compiles with no include path.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_CODEGEN_SIEVECODEGEN_H
#define SIEVE_CODEGEN_SIEVECODEGEN_H

#include "dialect/SieveMask.h"

#include <string>

namespace sieve::codegen {

enum class DType { BF16, FP16 };

struct KernelConfig {
  int headDim = 128;
  DType dtype = DType::BF16;
  int64_t tileQ = 128, tileK = 64;
  int warps = 4; ///< Each warp owns tileQ / warps query rows (a multiple of 16).
  /// The Hopper template (templates/SieveFwdSm90.cuh: wgmma, sm_90a only)
  /// instead of the mma.sync one.
  bool wgmma = false;
};

/// The tiles measured best on an H100 for the head dimension (see
/// bench/kernel_dev/NOTES.md), shrunk to divide the pattern's key block so
/// that the walk's full/partial tags stay exact.
/// For arch "sm_90a", the wgmma template when the key block allows a key tile
/// of 64 or more.
KernelConfig defaultConfig(int headDim, DType dtype, const mask::Pattern &p,
                           const std::string &arch = "");

/// The pattern-specific code: namespace `ns` with `bool mask(q, k)` and
/// `struct Walk` (see templates/SieveWalkLib.cuh). Needs SieveWalkLib.cuh.
std::string emitPatternCode(const mask::Pattern &pattern, int64_t tileK,
                            const std::string &ns = "sieve_gen");

/// The prelude: configuration macros, the walk library, the pattern code.
std::string emitPrelude(const mask::Pattern &pattern, const KernelConfig &config);

/// The whole forward-attention kernel source for the pattern.
std::string emitForwardKernel(const mask::Pattern &pattern,
                              const KernelConfig &config);

/// The hand-written templates, as embedded at build time. A forward kernel is
/// the prelude, SieveFwdCommon.cuh, then one forward template.
const char *walkLibrarySource();
const char *forwardTemplateSource(bool wgmma = false);

} // namespace sieve::codegen

#endif // SIEVE_CODEGEN_SIEVECODEGEN_H
