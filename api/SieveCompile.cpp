//===- SieveCompile.cpp - A loaded pattern to a kernel ----------*- C++ -*-===//
//
// The whole compile path, and compileAttention on top of it. This is the one
// component that joins the compiler (MLIR) and the loader; the public headers
// it implements carry no MLIR types.
//
//===----------------------------------------------------------------------===//

#include "api/SieveCompiler.h"
#include "codegen/SieveCodegen.h"
#include "dialect/SieveMaskFromIR.h"
#include "passes/SievePasses.h"
#include "sieve/Sieve.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/raw_ostream.h"

using namespace sieve;
using namespace sieve::api;

const char *sieve::version() { return SIEVE_VERSION; }

namespace {
/// Collects the MLIR diagnostics of a scope as one message.
class Diagnostics {
public:
  explicit Diagnostics(mlir::MLIRContext *ctx)
      : handler(ctx, [this](mlir::Diagnostic &d) {
          llvm::raw_string_ostream os(text);
          if (!text.empty())
            os << "\n";
          os << d.getLocation() << ": " << d;
          return mlir::success();
        }) {}
  Status error(const std::string &what) const {
    return Status::error(what + (text.empty() ? "" : ":\n" + text));
  }

private:
  std::string text;
  mlir::ScopedDiagnosticHandler handler;
};

const char *outputName(Output o) {
  return o == Output::Ptx ? "ptx" : o == Output::Cubin ? "cubin" : "cuda";
}
} // namespace

Status api::resolveTarget(const std::string &arch, codegen::Target &target, std::string *where) {
  if (!arch.empty()) {
    std::optional<codegen::Target> t = codegen::Target::parse(arch);
    if (!t)
      return Status::error("unsupported architecture '" + arch + "'; sieve builds for " +
                           codegen::supportedTargets());
    target = *t;
    if (where)
      *where = "--arch";
    return Status::success();
  }
  DeviceInfo device;
  if (Status s = currentDevice(device); !s) {
    target = codegen::defaultTarget();
    if (where)
      *where = "no GPU: default";
    return Status::success();
  }
  target = codegen::targetForDevice(device.major, device.minor);
  if (!codegen::Target::parse(target.str()))
    return Status::error("the current device " + device.name + " (" + target.str() +
                         ") is not a target sieve builds for (" + codegen::supportedTargets() + ")");
  if (where)
    *where = "device " + device.name;
  return Status::success();
}

/// Runs `build`'s passes on `spec`'s module, after removing every pattern
/// but the one asked for; `failure` is the error when they fail.
template <typename Build>
static Status runOnPattern(LoadedSpec &spec, const Build &build, const std::string &failure) {
  mlir::MLIRContext *ctx = spec.module->getContext();
  for (PatternOp other : llvm::make_early_inc_range(spec.module->getOps<PatternOp>()))
    if (other != spec.pattern)
      other.erase();
  mlir::PassManager pm(ctx);
  build(pm);
  Diagnostics diagnostics(ctx);
  if (mlir::failed(pm.run(*spec.module)))
    return diagnostics.error(failure);
  // Canonicalization rewrites the body, not the op: the handle stays valid.
  return Status::success();
}

Status api::canonicalize(LoadedSpec &spec) {
  return runOnPattern(
      spec, [](mlir::PassManager &pm) { buildSieveCanonicalizePipeline(pm); },
      "canonicalizing @" + spec.pattern.getSymName().str() + " failed");
}

std::string api::canonicalForm(PatternOp pattern) {
  std::string canonical;
  llvm::raw_string_ostream os(canonical);
  pattern->print(os, mlir::OpPrintingFlags().printGenericOpForm());
  return canonical;
}

Status api::specKey(const std::string &spec, std::string &key) {
  mlir::MLIRContext context;
  LoadedSpec loaded;
  std::string message;
  if (!loadSpec(spec, "", &context, loaded, message))
    return Status::error(message);
  if (Status s = canonicalize(loaded); !s)
    return s;
  key = sha256Hex(canonicalForm(loaded.pattern));
  return Status::success();
}

Status api::lowerToPlan(LoadedSpec &spec, int64_t tileQ, int64_t tileK, bool transposed) {
  SieveCompileOptions options;
  options.tileQ = tileQ;
  options.tileK = tileK;
  options.transposed = transposed;
  return runOnPattern(
      spec, [&](mlir::PassManager &pm) { buildSieveCompilePipeline(pm, options); },
      "lowering @" + spec.pattern.getSymName().str() + " to a plan failed");
}

Status api::compilePattern(LoadedSpec &spec, const CompileRequest &request, CompileResult &out) {
  std::string error;
  std::optional<codegen::KernelConfig> config = codegen::chooseKernel(
      request.kernel, spec.pattern.getBlockQ(), spec.pattern.getBlockK(), error);
  if (!config)
    return Status::error(error);
  out.config = *config;
  out.patternName = spec.pattern.getSymName().str();
  if (mlir::FailureOr<mask::Pattern> m = buildMaskPattern(spec.pattern);
      mlir::succeeded(m) && mask::attendsNothing(*m))
    out.warnings.push_back(emptyPatternWarning(out.patternName));
  if (!config->verified)
    out.warnings.push_back(config->unverifiedWhy.empty()
                               ? std::string("kernel ") + config->variant->name +
                                     " has not been verified on a GPU yet (check its output)"
                               : config->unverifiedWhy + " (check its output)");
  if (Status s = lowerToPlan(spec, config->tileQ, config->tileK, /*transposed=*/false); !s)
    return s;
  auto plan = spec.module->lookupSymbol<PlanOp>(out.patternName + "_forward");
  Diagnostics diagnostics(spec.module->getContext());
  mlir::FailureOr<std::string> source = plan ? codegen::emitKernelSource(plan, *config)
                                             : mlir::FailureOr<std::string>(mlir::failure());
  if (mlir::failed(source))
    return diagnostics.error("generating the kernel of @" + out.patternName + " failed");
  out.source = std::move(*source);
  if (request.output == Output::Cuda)
    return Status::success();

  std::string nvrtc;
  if (Status s = nvrtcVersion(nvrtc); !s)
    return s;
  // The key covers everything that determines the binary: the canonical
  // pattern (after sieve-canonicalize), the source, every option.
  const std::string canonical = canonicalForm(spec.pattern);
  std::string joinedOptions; // joined with a byte no option contains
  for (const std::string &option : request.nvrtcOptions)
    joinedOptions += option + '\0';
  const std::string arch = config->target.str();
  std::string key = CacheKey()
                        .add("pattern", canonical)
                        .add("source", out.source)
                        .add("arch", arch)
                        .add("output", outputName(request.output))
                        .add("nvrtc", nvrtc)
                        .add("nvrtc-options", joinedOptions)
                        .add("sieve", SIEVE_VERSION)
                        .hex();
  KernelCache uncached("");
  KernelCache &cache = request.useCache ? KernelCache::global() : uncached;
  out.cacheEntry = cache.entryPath(key);
  JitOptions jit;
  jit.arch = arch;
  jit.extraOptions = request.nvrtcOptions;
  return cache.getOrCompile(
      key,
      [&](std::vector<char> &binary) {
        JitResult result;
        Status s = compileCuda(out.source, out.patternName + ".cu", jit, result);
        out.log = result.log;
        if (s && request.output == Output::Ptx)
          binary.assign(result.ptx.begin(), result.ptx.end());
        else if (s)
          binary = std::move(result.cubin);
        return s;
      },
      out.binary, &out.from, &out.warnings,
      request.output == Output::Ptx ? looksLikePtx : looksLikeCubin);
}

std::string api::emptyPatternWarning(const std::string &name) {
  return "pattern @" + name + " attends no (query, key) pair: every output row would be NaN";
}

Status sieve::compileAttention(const std::string &spec, const KernelOptions &options,
                               CompiledKernel &out) {
  mlir::MLIRContext context;
  LoadedSpec loaded;
  std::string message;
  if (!loadSpec(spec, "", &context, loaded, message))
    return Status::error(message);
  CompileRequest request;
  if (Status s = resolveTarget(options.arch, request.kernel.target); !s)
    return s;
  request.kernel.headDim = options.headDim;
  request.kernel.dtype =
      options.dtype == ElementType::FP16 ? codegen::DType::FP16 : codegen::DType::BF16;
  request.kernel.variant = options.kernel;
  request.useCache = options.useCache;
  request.nvrtcOptions = options.nvrtcOptions;
  CompileResult result;
  if (Status s = compilePattern(loaded, request, result); !s) {
    out.warnings = std::move(result.warnings);
    return s;
  }
  out.patternName = result.patternName;
  out.source = std::move(result.source);
  out.cubin = std::move(result.binary);
  out.arch = result.config.target.str();
  out.kernel = result.config.variant->name;
  out.tileQ = int(result.config.tileQ), out.tileK = int(result.config.tileK);
  out.from = result.from;
  out.warnings = std::move(result.warnings);
  return Status::success();
}

std::vector<KernelVariantInfo> sieve::kernelVariants() {
  std::vector<KernelVariantInfo> out;
  for (const codegen::KernelVariant &v : codegen::kernelVariants())
    out.push_back({v.name, codegen::operationName(v.operation), v.summary, v.needs, v.verified});
  return out;
}
