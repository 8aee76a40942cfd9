//===- SieveCommands.cpp - The subcommands of the sieve CLI -----*- C++ -*-===//
//
// Each command returns the process exit status and prints errors to stderr
// as "sieve: error: ..."; nothing here aborts on user input.
//
//===----------------------------------------------------------------------===//

#include "tools/sieve/SieveCommands.h"
#include "api/SieveReport.h"
#include "dialect/SieveLimits.h"
#include "dialect/SieveMaskFromIR.h"
#include "passes/SievePlanner.h"
#include "patterns/SieveBuiltins.h"
#include "patterns/SieveSpec.h"
#include "sieve/Sieve.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <unistd.h>

using namespace sieve;

std::string cli::diagnosticPrefix(bool isError) {
  // https://no-color.org: NO_COLOR set to anything but "" turns colour off.
  const char *noColor = std::getenv("NO_COLOR");
  const char *term = std::getenv("TERM");
  bool colour = isatty(STDERR_FILENO) && !(noColor && *noColor) &&
                !(term && std::string(term) == "dumb");
  const char *word = isError ? "error:" : "warning:";
  if (!colour)
    return std::string("sieve: ") + word + " ";
  // Bold red errors and bold magenta warnings, as GCC and Clang print them.
  return std::string("sieve: ") + (isError ? "\033[1;31m" : "\033[1;35m") + word + "\033[0m ";
}

int cli::error(const std::string &message) {
  llvm::errs() << diagnosticPrefix(true) << message;
  if (message.empty() || message.back() != '\n')
    llvm::errs() << "\n";
  return kFailure;
}

int cli::usageError(const std::string &message) {
  error(message);
  llvm::errs() << "Run with --help for more information.\n";
  return kUsage;
}

void cli::warning(const std::string &message) {
  llvm::errs() << diagnosticPrefix(false) << message << "\n";
}

std::string cli::versionText() {
  std::string text = std::string("sieve ") + sieve::version() + "\n";
#ifdef SIEVE_STATIC_TOOLS
  text += "MLIR " LLVM_VERSION_STRING " (linked statically)\n";
#else
  text += "MLIR " LLVM_VERSION_STRING "\n";
#endif
  std::string nvrtc;
  Status s = nvrtcVersion(nvrtc);
  text += s ? "NVRTC " + nvrtc + "\n" : "NVRTC: none (" + s.message + ")\n";
  DeviceInfo device;
  codegen::Target target;
  std::string where;
  if (Status d = currentDevice(device); !d)
    text += "GPU: none (" + d.message + ")\n";
  else
    text += "GPU: " + device.name + " (compute capability " + std::to_string(device.major) +
            "." + std::to_string(device.minor) + ")\n";
  if (Status t = api::resolveTarget("", target, &where); t)
    text += "default target: " + target.str() + " (" + where + ")\n";
  std::string cache = defaultCacheDirectory();
  text += "kernel cache: " + (cache.empty() ? std::string("memory only (no HOME)") : cache);
  return text;
}

bool cli::checkPatternFlag(const std::string &specArg, const std::string &patternName) {
  if (patternName.empty() || specArg == "-" ||
      (specArg.size() >= 5 && specArg.compare(specArg.size() - 5, 5, ".mlir") == 0))
    return true;
  usageError("--pattern applies to .mlir specs only; '" + specArg + "' holds one pattern");
  return false;
}

bool cli::loadSpecArg(const std::string &specArg, const std::string &patternName,
                      mlir::MLIRContext &context, LoadedSpec &spec, std::string &message) {
  if (specArg != "-")
    return loadSpec(specArg, patternName, &context, spec, message);
  // At most the size a spec file may have, plus one byte to tell.
  std::string text(limits::kMaxSpecBytes + 1, '\0');
  std::cin.read(text.data(), std::streamsize(text.size()));
  text.resize(size_t(std::cin.gcount()));
  if (std::cin.bad()) {
    message = "cannot read the spec from stdin";
    return false;
  }
  if (text.size() > limits::kMaxSpecBytes) {
    message = "<stdin>: a spec may have at most " +
              std::to_string(limits::kMaxSpecBytes >> 20) + " MiB";
    return false;
  }
  return loadSpecText(text, "<stdin>", patternName, &context, spec, message);
}

bool cli::loadPattern(const std::string &specArg, const std::string &patternName,
                      mlir::MLIRContext &context, LoadedSpec &spec, mask::Pattern &pattern) {
  std::string message;
  if (!loadSpecArg(specArg, patternName, context, spec, message)) {
    error(message);
    return false;
  }
  mlir::FailureOr<mask::Pattern> m = buildMaskPattern(spec.pattern);
  if (mlir::failed(m)) {
    error("the pattern has no reference semantics");
    return false;
  }
  pattern = std::move(*m);
  return true;
}

Status cli::compileRequest(const std::string &arch, const std::string &kernel, int headDim,
                           const std::string &dtype, const std::vector<std::string> &nvrtcOptions,
                           api::CompileRequest &request, std::string *where) {
  if (Status s = api::resolveTarget(arch, request.kernel.target, where); !s)
    return s;
  request.kernel.variant = kernel;
  request.kernel.headDim = headDim;
  request.kernel.dtype = dtype == "fp16" ? codegen::DType::FP16 : codegen::DType::BF16;
  request.nvrtcOptions = nvrtcOptions;
  return Status::success();
}

int cli::runList(const ListOptions &options) {
  if (options.kernels + options.targets > 1)
    return usageError("--kernels and --targets list different things; give one");
  if (options.targets) {
    const std::string line = codegen::supportedTargets(); // "sm_80, sm_86, ..."
    llvm::SmallVector<llvm::StringRef> targets;
    llvm::StringRef(line).split(targets, ", ");
    nlohmann::ordered_json all = nlohmann::ordered_json::array();
    for (llvm::StringRef t : targets)
      all.push_back(t.str());
    if (options.json)
      llvm::outs() << all.dump(2) << "\n";
    else
      for (llvm::StringRef t : targets)
        llvm::outs() << t << "\n";
    return 0;
  }
  if (options.json) {
    llvm::outs()
        << (options.kernels ? api::kernelVariantsJson() : api::builtinsJson()).dump(2) << "\n";
    return 0;
  }
  const bool kernels = options.kernels;
  if (kernels) {
    for (const codegen::KernelVariant &v : codegen::kernelVariants())
      llvm::outs() << v.name << "  " << codegen::operationName(v.operation) << ", "
                   << codegen::kvLayoutName(v.kvLayout) << " KV; needs " << v.needs << "; "
                   << (v.verified ? "verified on a GPU" : "not yet run on a GPU (opt-in)")
                   << "\n    " << v.summary << "\n";
    // What an unforced request gets (--kernel forward, decode, ... name the
    // same choice), for a key block of 256 such as the built-ins'.
    llvm::outs() << "\nsieve's choice (key block 256, head dim 128, bf16):\n";
    for (const char *word :
         {"forward", "decode", "decode-paged", "backward", "backward-deterministic"}) {
      llvm::outs() << "  " << word << ":";
      const char *sep = " ";
      for (const char *arch : {"sm_80", "sm_90", "sm_90a", "sm_100"}) {
        codegen::KernelRequest r;
        r.target = *codegen::Target::parse(arch);
        r.variant = word;
        std::string error;
        std::optional<codegen::KernelConfig> c = codegen::chooseKernel(r, 256, 256, error);
        llvm::outs() << sep << arch << " " << (c ? c->variant->name : "none");
        sep = ", ";
      }
      llvm::outs() << "\n";
    }
    return 0;
  }
  size_t width = 0;
  for (const Builtin &b : builtins())
    width = std::max(width, b.name.size());
  for (const Builtin &b : builtins())
    llvm::outs() << b.name << std::string(width + 2 - b.name.size(), ' ') << b.description
                 << "\n";
  return 0;
}

bool cli::writeFile(const std::string &path, llvm::StringRef bytes, bool binary,
                    std::string &message) {
  auto failed = [&](const std::error_code &ec) {
    message = "cannot write '" + path + "': " + ec.message();
    return false;
  };
  if (path == "-") {
    llvm::outs() << bytes;
    llvm::outs().flush();
    if (!llvm::outs().has_error())
      return true;
    std::error_code ec = llvm::outs().error();
    llvm::outs().clear_error(); // or raw_ostream aborts at exit
    return failed(ec);
  }
  // Not ToolOutputFile: on failure it removes the path, which may be a
  // device such as /dev/full.
  std::error_code ec;
  llvm::raw_fd_ostream out(path, ec, binary ? llvm::sys::fs::OF_None : llvm::sys::fs::OF_Text);
  if (ec)
    return failed(ec);
  out << bytes;
  out.close();
  if (!out.has_error())
    return true;
  ec = out.error();
  out.clear_error();
  if (llvm::sys::fs::is_regular_file(path))
    llvm::sys::fs::remove(path); // no partial output
  return failed(ec);
}

/// Writes bytes to a file, or to stdout for "-".
static int writeOutput(const std::string &path, llvm::StringRef bytes, bool binary) {
  std::string message;
  return cli::writeFile(path, bytes, binary, message) ? 0 : cli::error(message);
}

/// The line `sieve compile` prints on stderr for a kernel: what was built for
/// which target (and why that one), whether the cache had it, how long it
/// took, how big it is and where it went.
static std::string statusLine(const api::CompileResult &r, const api::CompileRequest &request,
                              const std::string &where, double ms, size_t bytes,
                              const std::string &path) {
  std::string text;
  llvm::raw_string_ostream os(text);
  const bool source = request.output == api::Output::Cuda;
  os << "sieve: " << (source ? "generated " : "compiled ") << r.patternName << " with "
     << r.config.variant->name << " for " << r.config.target.str() << " (" << where << "): ";
  if (!source)
    os << (!request.useCache        ? "cache off"
           : r.from == "compiled" ? "cache miss"
                                  : "cache hit (" + r.from + ")")
       << ", ";
  os << llvm::format("%.0f ms, ", ms) << bytes << " bytes"
     << (source ? " of CUDA" : request.output == api::Output::Ptx ? " of PTX" : " of cubin")
     << " -> " << (path == "-" ? std::string("stdout") : path);
  return text;
}

/// The walk the kernel makes at one length, as comments after the plan:
/// per query tile, its runs of key tiles (the host runs the kernel's rules).
static std::string walkComments(const mask::Pattern &m, int64_t tileQ, int64_t tileK,
                                int64_t seqLen) {
  plan::Planner planner(m, plan::Shape{tileQ, tileK, seqLen, seqLen});
  std::string out;
  llvm::raw_string_ostream os(out);
  os << "// The kernel's walk at " << seqLen << " tokens (tiles " << tileQ << " x " << tileK
     << "): per query tile, key tiles [begin, end) full or partial.\n";
  for (int64_t t = 0; t < planner.shape().numQueryTiles(); ++t) {
    os << "// query tile " << t << ":";
    for (const plan::TileRun &r : planner.walkKeyTiles(t))
      os << " " << r.begin << "-" << r.end << (r.full ? " full," : " partial,");
    os << "\n";
  }
  return out;
}

/// --emit resources: the kernel compiled with ptxas's report (never from the
/// cache, which keeps no log): registers, spills, stack, ptxas warnings.
static int emitResources(LoadedSpec &spec, api::CompileRequest request,
                         const cli::CompileOptions &options) {
  request.output = api::Output::Cubin;
  request.useCache = false;
  request.nvrtcOptions.push_back("--ptxas-options=-v");
  api::CompileResult result;
  Status compiled = api::compilePattern(spec, request, result);
  for (const std::string &w : result.warnings)
    cli::warning(w);
  if (!compiled)
    return cli::error(compiled.message);
  const codegen::KernelConfig &c = result.config;
  // Every entry point of the module, the main one first.
  std::vector<KernelResources> entries;
  std::vector<uint64_t> codeBytes; // each entry's machine code, from the cubin
  for (const char *entry : codegen::entryPoints(c.variant->operation)) {
    KernelResources r;
    if (!parsePtxasLog(result.log, entry, r))
      return cli::error(std::string("ptxas reported no resources for ") + entry + ":\n" +
                        result.log);
    uint64_t bytes = 0;
    if (Status s = readCubinCodeBytes(result.binary, entry, bytes); !s)
      return cli::error(s.message);
    entries.push_back(r);
    codeBytes.push_back(bytes);
  }
  auto json = [](const KernelResources &r, uint64_t code) {
    return nlohmann::ordered_json{
        {"function", r.function},
        {"code_bytes", code},
        {"registers", r.registers},
        {"stack_bytes", r.stackBytes},
        {"spill_store_bytes", r.spillStoreBytes},
        {"spill_load_bytes", r.spillLoadBytes},
        {"static_shared_bytes", r.sharedBytes},
        {"ptxas_warnings", r.warnings}};
  };
  auto line = [](llvm::raw_ostream &os, const KernelResources &r, uint64_t code) {
    os << code << " bytes of code, " << r.registers << " registers, " << r.spillStoreBytes << " bytes spill stores, "
       << r.spillLoadBytes << " bytes spill loads, " << r.stackBytes << " bytes stack, "
       << r.warnings.size() << " ptxas warnings\n";
    for (const std::string &w : r.warnings)
      os << "  " << w << "\n";
  };
  const KernelResources &r = entries.front();
  // What the kernel asks of a launch, from the cubin itself.
  CubinLaunchInfo launch;
  if (Status s = readCubinLaunchInfo(result.binary, launch); !s)
    return cli::error(s.message);
  const int sharedLimit = codegen::maxSharedBytesPerBlock(c.target);
  // The largest block of the module: the main entry's, or the backward's dq
  // entry (what the runtime checks when it loads the kernel).
  const int sharedMost = std::max(launch.sharedBytes, launch.auxSharedBytes);
  if (sharedLimit && sharedMost > sharedLimit)
    cli::warning(std::string(c.variant->name) + " needs " + std::to_string(sharedMost) +
                 " bytes of dynamic shared memory per block, more than the " +
                 std::to_string(sharedLimit) + " " + c.target.str() + " gives");
  std::string text;
  llvm::raw_string_ostream os(text);
  if (options.json) {
    // The main entry's fields at the top level; every entry under "entries".
    nlohmann::ordered_json j = {{"pattern", result.patternName}, {"kernel", c.variant->name},
                                {"arch", c.target.str()},        {"head_dim", c.headDim},
                                {"dtype", codegen::dtypeName(c.dtype)},
                                {"tiles", {c.tileQ, c.tileK}}};
    const nlohmann::ordered_json main = json(r, codeBytes.front());
    for (auto it = main.begin(); it != main.end(); ++it)
      j[it.key()] = it.value();
    j["threads"] = launch.threads;
    j["dynamic_shared_bytes"] = launch.sharedBytes;
    j["aux_dynamic_shared_bytes"] = launch.auxSharedBytes; // backward: the dq entry's
    j["combine_threads"] = launch.combineThreads;          // decode: the combine's block
    if (sharedLimit)
      j["shared_bytes_limit"] = sharedLimit;
    else
      j["shared_bytes_limit"] = nullptr;
    j["tensor_maps"] = launch.tensorMaps;
    j["entries"] = nlohmann::ordered_json::array();
    for (size_t i = 0; i < entries.size(); ++i)
      j["entries"].push_back(json(entries[i], codeBytes[i]));
    os << j.dump(2) << "\n";
  } else {
    os << result.patternName << ": " << c.variant->name << " " << c.target.str() << " hd"
       << c.headDim << " " << codegen::dtypeName(c.dtype) << " " << c.tileQ << "x" << c.tileK
       << ": ";
    line(os, r, codeBytes.front());
    os << "  launch: " << launch.threads << " threads, " << launch.sharedBytes
       << " bytes of dynamic shared memory";
    if (launch.auxSharedBytes)
      os << " (the dq entry " << launch.auxSharedBytes << ")";
    if (sharedLimit)
      os << " (" << c.target.str() << " gives a block up to " << sharedLimit << ")";
    if (launch.combineThreads)
      os << ", a " << launch.combineThreads << "-thread combine";
    if (launch.tensorMaps)
      os << ", " << launch.tensorMaps << " TMA tensor maps";
    os << "\n";
    for (size_t i = 1; i < entries.size(); ++i) {
      os << "  " << entries[i].function << ": ";
      line(os, entries[i], codeBytes[i]);
    }
  }
  return writeOutput(options.output, text, false);
}

int cli::runCompile(const CompileOptions &options) {
  // A cubin is not for a terminal: it would print garbage and can leave the
  // terminal in a bad state. `-o -` says that is wanted anyway.
  if (options.emit == "cubin" && options.output == "-" && !options.outputGiven &&
      isatty(STDOUT_FILENO))
    return usageError("refusing to write a cubin to a terminal; give -o FILE (or -o - to "
                      "write it to stdout anyway)");
  if (!checkPatternFlag(options.spec, options.pattern))
    return kUsage;
  mlir::MLIRContext context;
  LoadedSpec spec;
  std::string message;
  if (!loadSpecArg(options.spec, options.pattern, context, spec, message))
    return error(message);
  // A kernel's compile reports this itself (CompileResult::warnings).
  if (mlir::FailureOr<mask::Pattern> m = buildMaskPattern(spec.pattern);
      (options.emit == "mlir" || options.emit == "plan") && mlir::succeeded(m) &&
      mask::attendsNothing(*m))
    warning(api::emptyPatternWarning(m->name));
  if (options.emit == "mlir") {
    std::string text;
    llvm::raw_string_ostream os(text);
    spec.pattern->print(os);
    return writeOutput(options.output, text + "\n", false);
  }
  api::CompileRequest request;
  std::string where;
  if (Status s = compileRequest(options.arch, options.kernel, options.headDim, options.dtype,
                                options.nvrtcOptions, request, &where);
      !s)
    return error(s.message);
  request.useCache = options.useCache;

  if (options.emit == "plan") {
    // The tiles of the kernel this request gets, unless given: then what
    // --emit plan prints is what that kernel walks.
    std::string why;
    std::optional<codegen::KernelConfig> config = codegen::chooseKernel(
        request.kernel, spec.pattern.getBlockQ(), spec.pattern.getBlockK(), why);
    if (!config && (!options.tileQ || !options.tileK))
      return error(why);
    const int64_t tileQ = options.tileQ ? options.tileQ : config->tileQ;
    const int64_t tileK = options.tileK ? options.tileK : config->tileK;
    if (Status s = api::lowerToPlan(spec, tileQ, tileK, /*transposed=*/true); !s)
      return error(s.message);
    std::string text;
    llvm::raw_string_ostream os(text);
    if (config && tileQ == config->tileQ && tileK == config->tileK)
      os << "// Plans at the tiles of kernel " << config->variant->name << " for "
         << config->target.str() << ".\n";
    spec.module->print(os);
    os << "\n";
    if (options.seqLen > 0) {
      mlir::FailureOr<mask::Pattern> m = buildMaskPattern(spec.pattern);
      if (mlir::failed(m))
        return error("the pattern has no reference semantics");
      os << walkComments(*m, tileQ, tileK, options.seqLen);
    }
    return writeOutput(options.output, text, false);
  }

  if (options.emit == "resources")
    return emitResources(spec, request, options);
  request.output = options.emit == "cuda" ? api::Output::Cuda
                   : options.emit == "ptx" ? api::Output::Ptx
                                            : api::Output::Cubin;
  api::CompileResult result;
  auto start = std::chrono::steady_clock::now();
  Status compiled = api::compilePattern(spec, request, result);
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  for (const std::string &w : result.warnings)
    warning(w);
  if (!compiled)
    return error(compiled.message);
  llvm::StringRef bytes = request.output == api::Output::Cuda
                              ? llvm::StringRef(result.source)
                              : llvm::StringRef(result.binary.data(), result.binary.size());
  if (int status = writeOutput(options.output, bytes, request.output == api::Output::Cubin))
    return status;
  if (!options.quiet)
    llvm::errs() << statusLine(result, request, where, ms, bytes.size(), options.output) << "\n";
  return 0;
}
