//===- SieveCommands.h - The subcommands of the sieve CLI -------*- C++ -*-===//

#ifndef SIEVE_TOOLS_SIEVE_SIEVECOMMANDS_H
#define SIEVE_TOOLS_SIEVE_SIEVECOMMANDS_H

#include "api/SieveCompiler.h"
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
  /// Context parallelism: the exchange over `ranks` ranks (0: none).
  int ranks = 0;
  std::string sharding = "contiguous", schedule = "auto";
  int64_t exchangeBlock = 0; ///< 0: the pattern's key block.
};

struct CompileOptions {
  std::string spec = "builtin:power_attention"; ///< "-": read from stdin.
  std::string pattern; ///< Which pattern of a .mlir spec.
  std::string emit = "mlir";
  std::string output = "-";
  bool outputGiven = false; ///< -o given, even as "-": then a cubin may go to a terminal.
  bool quiet = false;       ///< No status line.
  /// For --emit plan: 0 takes the chosen kernel's tile (what it walks).
  int64_t tileQ = 0, tileK = 0;
  int64_t seqLen = 0;  ///< For --emit plan: also print the walk at this length.
  std::string arch;    ///< "": the current device's, else the default target.
  std::string kernel;  ///< "": the table's choice.
  int headDim = 128;
  std::string dtype = "bf16";
  bool useCache = true; ///< Look up and store ptx and cubin in the cache.
  bool json = false;    ///< For --emit resources.
  std::vector<std::string> nvrtcOptions; ///< Passed to NVRTC after sieve's own.
};

struct RunOptions {
  std::string spec, pattern;
  int64_t seqLen = 0, qLen = 0; ///< qLen 0: the whole sequence.
  int batch = 1, heads = 1, kvHeads = 0, headDim = 128; ///< kvHeads 0: --heads (no GQA).
  std::string dtype = "bf16", arch; ///< arch "": the device's.
  std::string kernel;               ///< "": the table's choice.
  std::string qFile, kFile, vFile, outFile;
  std::string cubinFile; ///< Run this cubin instead of compiling.
  std::vector<std::string> nvrtcOptions;
  bool check = false, json = false;
  int repeat = 0;
  uint64_t seed = 0;
  // Decode and the inference layouts (tools/sieve/SieveRunDecode.cpp).
  bool decode = false;    ///< The decode kernel (also implied by the next three).
  std::string seqLens;    ///< "L1,L2,...": a variable-length batch.
  int pageSize = 0;       ///< Paged KV with pages of this many keys.
  std::string blockTable; ///< Paged: int32 [batch, max_pages] file (else random).
  std::string splits = "auto"; ///< Split-KV: N or auto.
  std::string combine = "auto"; ///< Split-KV: auto, kernel or fused (last-CTA ticket).
  std::string device = "gpu";  ///< gpu, or cpu: the CPU executor.
  std::string lseFile;         ///< Write the LSE (float32).
  bool graph = false;          ///< Decode: also run the step as a CUDA graph.
  // The backward pass (tools/sieve/SieveRunBackward.cpp).
  bool backward = false;      ///< Gradients instead of the forward.
  bool deterministic = false; ///< Backward without atomics.
  int headSplit = 0;          ///< Backward: CTAs per key tile sharing a KV group (0: sieve's).
  std::string doFile, dqFile, dkFile, dvFile;
};

/// `sieve run` for the decode kernels and the CPU executor: whether the
/// options ask for it, and the command.
bool wantsDecode(const RunOptions &options);
int runDecode(const RunOptions &options);
/// `sieve run --backward`.
int runBackward(const RunOptions &options);

/// Exit statuses: 0 success, 1 a failure (a bad spec, a failed compile or
/// check), 2 a usage error (the command line).
constexpr int kFailure = 1, kUsage = 2;

struct ListOptions {
  bool kernels = false; ///< The kernel variants instead of the built-ins.
  bool targets = false; ///< The targets, one a line.
  bool json = false;    ///< One JSON array, with parameters and defaults.
};

/// `sieve list`: one built-in per line, name first (or what `options` asks).
int runList(const ListOptions &options);
/// `sieve compile`.
int runCompile(const CompileOptions &options);
/// `sieve inspect`.
int runInspect(const InspectOptions &options);
/// `sieve run`.
int runRun(const RunOptions &options);

/// Loads SPEC ("-": the text on stdin, JSON or MLIR) into `spec`; on
/// failure returns false with the message.
bool loadSpecArg(const std::string &specArg, const std::string &patternName,
                 mlir::MLIRContext &context, LoadedSpec &spec, std::string &message);

/// Loads SPEC and its reference semantics into `spec` and `pattern`; prints
/// the error and returns false when either fails.
bool loadPattern(const std::string &specArg, const std::string &patternName,
                 mlir::MLIRContext &context, LoadedSpec &spec, mask::Pattern &pattern);

/// Prints "sieve: error: <message>" and returns the exit status 1.
int error(const std::string &message);
/// Prints "sieve: error: <message>" and the hint to run --help; returns 2.
int usageError(const std::string &message);
/// "sieve: error: " or "sieve: warning: ", with the word in colour when
/// stderr is a terminal and NO_COLOR is unset or empty.
std::string diagnosticPrefix(bool isError);
/// What `sieve --version` prints: sieve's version, then MLIR's, NVRTC's
/// (or why it was not found), the GPU and the kernel cache directory.
std::string versionText();
/// Checks the combinations of flags CLI11 cannot see; prints the problem
/// and returns false on a usage error.
bool checkPatternFlag(const std::string &specArg, const std::string &patternName);

/// The compile request of the common flags (--arch, --kernel, --head-dim,
/// --dtype, --nvrtc-option); `where` says how the target was chosen.
Status compileRequest(const std::string &arch, const std::string &kernel, int headDim,
                      const std::string &dtype, const std::vector<std::string> &nvrtcOptions,
                      api::CompileRequest &request, std::string *where = nullptr);
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
