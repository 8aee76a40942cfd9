//===- SieveCompiler.h - A loaded pattern to a kernel -----------*- C++ -*-===//
//
// The compile component: the one path from a pattern to a kernel binary,
// used by the public API (sieve/Sieve.h, sieve_c.h) and by sieve's tools.
// Kernel choice (codegen/SieveKernels.h), the registered sieve-compile
// pipeline at the kernel's own tile sizes, code generation from the lowered
// sieve.plan, NVRTC through the kernel cache.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_API_SIEVECOMPILER_H
#define SIEVE_API_SIEVECOMPILER_H

#include "codegen/SieveKernels.h"
#include "patterns/SieveSpec.h"
#include "sieve/Jit.h"

#include <string>
#include <vector>

namespace sieve::api {

/// The target to compile for: `arch` when given (checked against the kernel
/// table's list), else the current device's, else (no GPU) the default
/// target. `where` says which: "--arch", "device <name>" or "no GPU: default".
Status resolveTarget(const std::string &arch, codegen::Target &target, std::string *where = nullptr);

/// What to make: the generated source, PTX or a cubin.
enum class Output { Cuda, Ptx, Cubin };

struct CompileRequest {
  codegen::KernelRequest kernel;
  Output output = Output::Cubin;
  bool useCache = true;
  std::vector<std::string> nvrtcOptions; ///< After sieve's own; part of the key.
};

struct CompileResult {
  codegen::KernelConfig config;
  std::string patternName;
  std::string source;
  std::vector<char> binary; ///< PTX text or a cubin (empty for Output::Cuda).
  std::string from;         ///< "memory", "disk" or "compiled" (binaries only).
  std::string cacheEntry;   ///< The disk entry, when the cache has a directory.
  std::string log; ///< NVRTC's log when it compiled (not on a cache hit).
  /// What the caller should show: a pattern that attends nothing, a cache
  /// that could not be used (the binary is delivered anyway).
  std::vector<std::string> warnings;
};

/// The warning for a pattern that provably attends nothing.
std::string emptyPatternWarning(const std::string &name);

/// Canonicalizes `spec`'s pattern (sieve-canonicalize, cse); every other
/// pattern of the module is removed.
Status canonicalize(LoadedSpec &spec);

/// The printed form of a canonicalized pattern (generic, so independent of
/// the custom syntax): what the kernel cache key holds for the pattern.
std::string canonicalForm(PatternOp pattern);

/// The canonical key of a spec: the SHA-256 (64 hex digits) of the
/// canonical form of its pattern. Specs that canonicalize to the same
/// pattern (a built-in with or without its default parameters spelled out)
/// have the same key.
Status specKey(const std::string &spec, std::string &key);

/// Lowers `spec`'s pattern: every other pattern of the module is removed,
/// then sieve-compile runs (canonicalize, cse, lower-to-plan at tileQ x
/// tileK). The module then holds the canonical pattern and its plans.
Status lowerToPlan(LoadedSpec &spec, int64_t tileQ, int64_t tileK, bool transposed);

/// Chooses the kernel, lowers the pattern at its tiles, generates the source
/// from the forward plan and, for PTX or a cubin, compiles it through the
/// kernel cache. `spec` is left lowered.
Status compilePattern(LoadedSpec &spec, const CompileRequest &request, CompileResult &out);

} // namespace sieve::api

#endif // SIEVE_API_SIEVECOMPILER_H
