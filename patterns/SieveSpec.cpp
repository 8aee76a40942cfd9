//===- SieveSpec.cpp - Loading a pattern from a SPEC argument ---*- C++ -*-===//

#include "patterns/SieveSpec.h"
#include "dialect/SieveLimits.h"
#include "patterns/SieveBuiltins.h"
#include "patterns/SieveJsonImporter.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace mlir;
using namespace sieve;

static bool endsWith(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// Reads a spec file: only a regular file of at most limits::kMaxSpecBytes,
/// so a FIFO, a device (/dev/zero) or a directory is an error, not a hang
/// or an unbounded read. O_NONBLOCK keeps open() from waiting for a FIFO's
/// writer; it does not affect reads of regular files.
static bool readSpecFile(const std::string &path, std::string &text, std::string &error) {
  auto fail = [&](const std::string &why) {
    error = "cannot read '" + path + "': " + why;
    return false;
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return fail(std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0)
    return fail(std::strerror(errno));
  if (S_ISDIR(st.st_mode))
    return fail("it is a directory");
  if (!S_ISREG(st.st_mode))
    return fail("not a regular file (a FIFO, socket or device)");
  const std::string cap = std::to_string(limits::kMaxSpecBytes >> 20) + " MiB";
  if (st.st_size > off_t(limits::kMaxSpecBytes))
    return fail("the file has " + std::to_string(st.st_size) +
                " bytes; a spec may have at most " + cap);
  text.clear();
  char buffer[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return fail(std::strerror(errno));
    if (n == 0)
      return true;
    if (text.size() + size_t(n) > limits::kMaxSpecBytes)
      return fail("the file grew past the " + cap + " a spec may have");
    text.append(buffer, size_t(n));
  }
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

static bool loadMlir(const std::string &text, const std::string &file,
                     const std::string &patternName, MLIRContext *ctx,
                     LoadedSpec &out, std::string &error) {
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBufferCopy(text, file),
                               llvm::SMLoc());
  std::string diagnostics;
  llvm::raw_string_ostream os(diagnostics);
  SourceMgrDiagnosticHandler handler(sourceMgr, ctx, os);
  // The source location says where; a note printing the whole op (a pattern
  // of thousands of ops) would bury the message.
  bool printOp = ctx->shouldPrintOpOnDiagnostic();
  ctx->printOpOnDiagnostic(false);
  out.module = parseSourceFile<ModuleOp>(sourceMgr, ctx);
  bool verified = out.module && succeeded(verify(*out.module));
  ctx->printOpOnDiagnostic(printOp);
  if (!verified) {
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
    if (!patternName.empty()) {
      error = "--pattern applies to .mlir specs only; '" + spec +
              "' holds one pattern";
      return false;
    }
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
  if (isJson && !patternName.empty()) {
    error = "--pattern applies to .mlir specs only; '" + spec +
            "' holds one pattern";
    return false;
  }
  std::string text;
  if (!readSpecFile(spec, text, error))
    return false;
  if (isJson)
    return loadJson(text, spec, ctx, out, error);
  return loadMlir(text, spec, patternName, ctx, out, error);
}

bool sieve::loadSpecText(const std::string &text, const std::string &label,
                         const std::string &patternName, MLIRContext *ctx,
                         LoadedSpec &out, std::string &error) {
  ctx->loadDialect<SieveDialect, arith::ArithDialect>();
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos || text[first] != '{')
    return loadMlir(text, label, patternName, ctx, out, error);
  if (!patternName.empty()) {
    error = "--pattern applies to .mlir specs only; a JSON spec holds one pattern";
    return false;
  }
  return loadJson(text, label, ctx, out, error);
}
