//===- SieveCommands.h - The subcommands of the sieve CLI -------*- C++ -*-===//

#ifndef SIEVE_TOOLS_SIEVE_SIEVECOMMANDS_H
#define SIEVE_TOOLS_SIEVE_SIEVECOMMANDS_H

#include "passes/SieveAnalysis.h"
#include "sieve/Jit.h"
#include "llvm/ADT/StringRef.h"

#include <string>

namespace mlir {
class MLIRContext;
} // namespace mlir

namespace sieve {
class PatternOp;
struct LoadedSpec;
} // namespace sieve

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
  std::vector<std::string> nvrtcOptions; ///< Passed to NVRTC after sieve's own.
};

struct RunOptions {
  std::string spec, pattern;
  int64_t seqLen = 0, qLen = 0; ///< qLen 0: the whole sequence.
  int batch = 1, heads = 1, kvHeads = 1, headDim = 128;
  std::string dtype = "bf16", arch; ///< arch "": the device's.
  std::string qFile, kFile, vFile, outFile;
  std::vector<std::string> nvrtcOptions;
  bool check = false, json = false;
  int repeat = 0;
  uint64_t seed = 0;
};

/// `sieve list`: one built-in per line, name first.
int runList();
/// `sieve compile`.
int runCompile(const CompileOptions &options);
/// `sieve inspect`.
int runInspect(const InspectOptions &options);
/// `sieve run`.
int runRun(const RunOptions &options);

/// The pattern's forward kernel (options.emit: "ptx" or "cubin") through the
/// kernel cache; `from` says "memory", "disk" or "compiled".
Status compileKernel(PatternOp pattern, const mask::Pattern &m,
                     const CompileOptions &options, std::vector<char> &binary,
                     std::string *from = nullptr);

/// Loads SPEC and its reference semantics into `spec` and `pattern`; prints
/// the error and returns false when either fails.
bool loadPattern(const std::string &specArg, const std::string &patternName,
                 mlir::MLIRContext &context, LoadedSpec &spec, mask::Pattern &pattern);

/// Prints "sieve: error: <message>" and returns the exit status 1.
int error(const std::string &message);
/// Prints "sieve: warning: <message>".
void warning(const std::string &message);
/// Writes `bytes` to `path` ("-": stdout). On failure sets `message` to
/// "cannot write '<path>': <reason>" and returns false.
bool writeFile(const std::string &path, llvm::StringRef bytes, bool binary,
               std::string &message);
/// Draws the block map and coverage curve into `path`; on failure returns
/// false with the reason in `message`.
bool writeSvg(const std::string &path, const mask::Pattern &pattern,
              const plan::Analysis &analysis, std::string &message);

} // namespace sieve::cli

#endif // SIEVE_TOOLS_SIEVE_SIEVECOMMANDS_H
