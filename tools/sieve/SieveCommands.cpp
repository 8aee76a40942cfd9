//===- SieveCommands.cpp - The subcommands of the sieve CLI -----*- C++ -*-===//
//
// Each command returns the process exit status and prints errors to stderr
// as "sieve: error: ..."; nothing here aborts on user input.
//
//===----------------------------------------------------------------------===//

#include "tools/sieve/SieveCommands.h"
#include "patterns/SieveBuiltins.h"
#include "codegen/SieveCodegen.h"
#include "dialect/SieveMaskFromIR.h"
#include "passes/SievePasses.h"
#include "runtime/SieveCompileInternal.h"
#include "sieve/Jit.h"
#include "patterns/SieveSpec.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

using namespace sieve;

int cli::error(const std::string &message) {
  llvm::errs() << "sieve: error: " << message;
  if (message.empty() || message.back() != '\n')
    llvm::errs() << "\n";
  return 1;
}

void cli::warning(const std::string &message) {
  llvm::errs() << "sieve: warning: " << message << "\n";
}

bool cli::loadPattern(const std::string &specArg, const std::string &patternName,
                      mlir::MLIRContext &context, LoadedSpec &spec, mask::Pattern &pattern) {
  std::string message;
  if (!loadSpec(specArg, patternName, &context, spec, message)) {
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

int cli::runList() {
  size_t width = 0;
  for (const Builtin &b : builtins())
    width = std::max(width, b.name.size());
  for (const Builtin &b : builtins()) {
    llvm::outs() << b.name << std::string(width + 2 - b.name.size(), ' ')
                 << b.description << "\n";
  }
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

static codegen::KernelConfig configFor(const mask::Pattern &m,
                                       const cli::CompileOptions &options) {
  codegen::DType dtype = options.dtype == "fp16" ? codegen::DType::FP16 : codegen::DType::BF16;
  return codegen::defaultConfig(options.headDim, dtype, m, options.arch);
}

Status cli::compileKernel(PatternOp pattern, const mask::Pattern &m,
                          const CompileOptions &options, std::vector<char> &binary,
                          std::string *from) {
  std::string source = codegen::emitForwardKernel(m, configFor(m, options));
  return compilePatternKernel(pattern, source, options.arch, options.emit, options.useCache,
                              options.nvrtcOptions, binary, from);
}

/// --emit cuda, ptx or cubin: the forward kernel for the pattern.
static int emitKernel(PatternOp pattern, const cli::CompileOptions &options) {
  mlir::FailureOr<mask::Pattern> m = buildMaskPattern(pattern);
  if (mlir::failed(m))
    return cli::error("the pattern has no reference semantics");
  if (options.emit == "cuda")
    return writeOutput(options.output, codegen::emitForwardKernel(*m, configFor(*m, options)),
                       false);
  std::vector<char> binary;
  if (Status s = cli::compileKernel(pattern, *m, options, binary); !s)
    return cli::error(s.message);
  return writeOutput(options.output, llvm::StringRef(binary.data(), binary.size()),
                     options.emit == "cubin");
}

int cli::runCompile(const CompileOptions &options) {
  mlir::MLIRContext context;
  LoadedSpec spec;
  std::string message;
  if (!loadSpec(options.spec, options.pattern, &context, spec, message))
    return error(message);
  if (mlir::FailureOr<mask::Pattern> m = buildMaskPattern(spec.pattern);
      mlir::succeeded(m) && mask::attendsNothing(*m))
    warning(emptyPatternWarning(m->name));
  if (options.emit == "cuda" || options.emit == "ptx" || options.emit == "cubin")
    return emitKernel(spec.pattern, options);

  mlir::Operation *result = spec.pattern;
  if (options.emit == "plan") {
    // The pattern alone, canonicalized and lowered by the same pipeline
    // sieve-opt registers as sieve-compile.
    for (PatternOp other : llvm::make_early_inc_range(spec.module->getOps<PatternOp>()))
      if (other != spec.pattern)
        other.erase();
    SieveCompileOptions pipeline;
    pipeline.tileQ = options.tileQ;
    pipeline.tileK = options.tileK;
    mlir::PassManager pm(&context);
    buildSieveCompilePipeline(pm, pipeline);
    if (mlir::failed(pm.run(*spec.module)))
      return error("lowering '" + options.spec + "' to a plan failed");
    result = *spec.module;
  }
  std::string text;
  llvm::raw_string_ostream os(text);
  result->print(os);
  os << "\n";
  return writeOutput(options.output, text, false);
}
