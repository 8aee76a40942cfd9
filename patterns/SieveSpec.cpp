//===- SieveSpec.cpp - Loading a pattern from a SPEC argument ---*- C++ -*-===//

#include "patterns/SieveSpec.h"
#include "patterns/SieveBuiltins.h"
#include "patterns/SieveJsonImporter.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

using namespace mlir;
using namespace sieve;

static bool endsWith(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

static bool loadJson(const std::string &text, const std::string &label,
                     MLIRContext *ctx, LoadedSpec &out, std::string &error) {
  SpecError err;
  out.module = importJsonSpec(text, label, ctx, err);
  if (!out.module) {
    error = label + ": " + err.str();
    return false;
  }
  out.pattern = *out.module->getOps<PatternOp>().begin();
  return true;
}

static bool loadMlir(std::unique_ptr<llvm::MemoryBuffer> buffer,
                     const std::string &patternName, MLIRContext *ctx,
                     LoadedSpec &out, std::string &error) {
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(buffer), llvm::SMLoc());
  std::string diagnostics;
  llvm::raw_string_ostream os(diagnostics);
  SourceMgrDiagnosticHandler handler(sourceMgr, ctx, os);
  out.module = parseSourceFile<ModuleOp>(sourceMgr, ctx);
  if (!out.module || failed(verify(*out.module))) {
    error = diagnostics;
    return false;
  }
  std::vector<PatternOp> patterns(out.module->getOps<PatternOp>().begin(),
                                  out.module->getOps<PatternOp>().end());
  std::string names;
  for (PatternOp p : patterns) {
    names += (names.empty() ? "" : ", ") + p.getSymName().str();
    if (p.getSymName() == patternName)
      out.pattern = p;
  }
  const std::string file = sourceMgr.getMemoryBuffer(1)->getBufferIdentifier().str();
  if (patterns.empty()) {
    error = file + ": holds no sieve.pattern";
    return false;
  }
  if (!patternName.empty() && !out.pattern) {
    error = file + ": holds no pattern named '" + patternName +
            "'; it holds " + names;
    return false;
  }
  if (!out.pattern && patterns.size() > 1) {
    error = file + ": holds " + std::to_string(patterns.size()) +
            " patterns (" + names + "); pick one with --pattern NAME";
    return false;
  }
  if (!out.pattern)
    out.pattern = patterns.front();
  return true;
}

bool sieve::loadSpec(const std::string &spec, const std::string &patternName,
                     MLIRContext *ctx, LoadedSpec &out, std::string &error) {
  ctx->loadDialect<SieveDialect, arith::ArithDialect>();
  // The text of a JSON spec, as host applications pass it.
  size_t first = spec.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && spec[first] == '{') {
    if (!patternName.empty()) {
      error = "--pattern applies to .mlir specs only; a JSON spec holds one pattern";
      return false;
    }
    return loadJson(spec, "<spec>", ctx, out, error);
  }
  const std::string prefix = "builtin:";
  if (spec.rfind(prefix, 0) == 0) {
    std::string name = spec.substr(prefix.size());
    if (!findBuiltin(name)) {
      error = "unknown built-in '" + name + "'; expected one of " +
              builtinNames() + " (see `sieve list`)";
      return false;
    }
    return loadJson("{\"builtin\": \"" + name + "\"}", spec, ctx, out, error);
  }
  bool isJson = endsWith(spec, ".json"), isMlir = endsWith(spec, ".mlir");
  if (!isJson && !isMlir) {
    error = "cannot tell what '" + spec +
            "' is: expected a .json or .mlir file, or builtin:NAME";
    return false;
  }
  auto buffer = llvm::MemoryBuffer::getFileOrSTDIN(spec, /*IsText=*/true);
  if (!buffer) {
    error = "cannot read '" + spec + "': " + buffer.getError().message();
    return false;
  }
  if (isJson) {
    if (!patternName.empty()) {
      error = "--pattern applies to .mlir specs only; '" + spec +
              "' holds one pattern";
      return false;
    }
    return loadJson((*buffer)->getBuffer().str(), spec, ctx, out, error);
  }
  return loadMlir(std::move(*buffer), patternName, ctx, out, error);
}
