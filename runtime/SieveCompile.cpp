//===- SieveCompile.cpp - Spec to kernel, for host applications -*- C++ -*-===//
//
// The whole pipeline behind one call: load the spec, derive its reference
// semantics, generate the kernel source, compile it through the cache. This
// is the one place that needs MLIR; the public header does not.
//
//===----------------------------------------------------------------------===//

#include "sieve/Sieve.h"
#include "runtime/SieveCompileInternal.h"
#include "codegen/SieveCodegen.h"
#include "dialect/SieveMaskFromIR.h"
#include "patterns/SieveJsonImporter.h"
#include "patterns/SieveSpec.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/raw_ostream.h"

using namespace sieve;

const char *sieve::version() { return SIEVE_VERSION; }

Status sieve::compileAttention(const std::string &spec, const KernelOptions &options,
                               CompiledKernel &out) {
  if (options.headDim != 64 && options.headDim != 128)
    return Status::error("head dim must be 64 or 128 but is " + std::to_string(options.headDim));
  mlir::MLIRContext context;
  context.loadDialect<SieveDialect, mlir::arith::ArithDialect>();
  LoadedSpec loaded;
  std::string message;
  // JSON text may start with whitespace; paths and built-ins cannot.
  size_t first = spec.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && spec[first] == '{') {
    SpecError err;
    loaded.module = importJsonSpec(spec, "<spec>", &context, err);
    if (!loaded.module)
      return Status::error("<spec>: " + err.str());
    loaded.pattern = *loaded.module->getOps<PatternOp>().begin();
  } else if (!loadSpec(spec, "", &context, loaded, message)) {
    return Status::error(message);
  }
  mlir::FailureOr<mask::Pattern> m = buildMaskPattern(loaded.pattern);
  if (mlir::failed(m))
    return Status::error("the pattern has no reference semantics");
  if (mask::attendsNothing(*m))
    out.warnings.push_back(emptyPatternWarning(m->name));

  out.arch = options.arch;
  if (out.arch.empty()) {
    DeviceInfo device;
    if (Status s = queryDevice(0, device); !s)
      return Status::error("no architecture given and no device to ask: " + s.message);
    out.arch = device.arch();
  }
  codegen::DType dtype =
      options.dtype == ElementType::FP16 ? codegen::DType::FP16 : codegen::DType::BF16;
  out.patternName = m->name;
  out.source = codegen::emitForwardKernel(
      *m, codegen::defaultConfig(options.headDim, dtype, *m, out.arch));
  return compilePatternKernel(loaded.pattern, out.source, out.arch, "cubin", options.useCache,
                              options.nvrtcOptions, out.cubin, &out.from, &out.warnings);
}

Status sieve::compilePatternKernel(PatternOp pattern, const std::string &source,
                                   const std::string &arch, const std::string &output,
                                   bool useCache,
                                   const std::vector<std::string> &nvrtcOptions,
                                   std::vector<char> &binary,
                                   std::string *from, std::vector<std::string> *warnings) {
  std::string nvrtc;
  if (Status s = nvrtcVersion(nvrtc); !s)
    return s;
  // The key covers everything that determines the binary (STYLE.md).
  std::string canonical;
  llvm::raw_string_ostream os(canonical);
  pattern->print(os, mlir::OpPrintingFlags().printGenericOpForm());
  // Options are joined with a byte no option contains.
  std::string joinedOptions;
  for (const std::string &option : nvrtcOptions)
    joinedOptions += option + '\0';
  std::string key = CacheKey()
                        .add("pattern", canonical)
                        .add("source", source)
                        .add("arch", arch)
                        .add("output", output)
                        .add("nvrtc", nvrtc)
                        .add("nvrtc-options", joinedOptions)
                        .add("sieve", SIEVE_VERSION)
                        .hex();
  KernelCache uncached("");
  KernelCache &cache = useCache ? KernelCache::global() : uncached;
  JitOptions jit;
  jit.arch = arch;
  jit.extraOptions = nvrtcOptions;
  return cache.getOrCompile(key, [&](std::vector<char> &out) {
    JitResult result;
    Status s = compileCuda(source, pattern.getSymName().str() + ".cu", jit, result);
    if (s && output == "ptx")
      out.assign(result.ptx.begin(), result.ptx.end());
    else if (s)
      out = std::move(result.cubin);
    return s;
  }, binary, from, warnings, output == "ptx" ? looksLikePtx : looksLikeCubin);
}

std::string sieve::emptyPatternWarning(const std::string &name) {
  return "pattern @" + name + " attends no (query, key) pair: every output row would be NaN";
}
