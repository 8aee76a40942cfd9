//===- SieveCommands.h - The subcommands of the sieve CLI -------*- C++ -*-===//

#ifndef SIEVE_TOOLS_SIEVE_SIEVECOMMANDS_H
#define SIEVE_TOOLS_SIEVE_SIEVECOMMANDS_H

#include "passes/SieveAnalysis.h"

#include <string>

namespace sieve::cli {

struct InspectOptions {
  std::string spec;
  std::string pattern;
  int64_t seqLen = 0;
  int layers = 12;
  int64_t tileQ = 128, tileK = 128;
  int64_t headDim = 128;
  bool json = false;
  std::string svg;
};

struct CompileOptions {
  std::string spec = "builtin:power_attention";
  std::string pattern; ///< Which pattern of a .mlir spec.
  std::string emit = "mlir";
  std::string output = "-";
  int64_t tileQ = 128, tileK = 128; ///< For --emit plan.
  std::string arch = "sm_90";       ///< For --emit ptx and cubin.
  int headDim = 128;                ///< For --emit cuda, ptx and cubin.
  std::string dtype = "bf16";
  bool useCache = true; ///< Look up and store ptx and cubin in the cache.
};

/// `sieve list`: one built-in per line, name first.
int runList();
/// `sieve compile`.
int runCompile(const CompileOptions &options);
/// `sieve inspect`.
int runInspect(const InspectOptions &options);

/// Prints "sieve: error: <message>" and returns the exit status 1.
int error(const std::string &message);
/// Draws the block map and coverage curve; false if the file cannot be written.
bool writeSvg(const std::string &path, const mask::Pattern &pattern,
              const plan::Analysis &analysis);

} // namespace sieve::cli

#endif // SIEVE_TOOLS_SIEVE_SIEVECOMMANDS_H
