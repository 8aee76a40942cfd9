//===- SieveSpecFuzz.cpp - libFuzzer entry for the JSON importer -*- C++ -*-===//
//
// Any input must import or be rejected with a located message; an imported
// spec must verify, print, and parse back to the same text.
//
//===----------------------------------------------------------------------===//

#include "dialect/SieveMaskFromIR.h"
#include "dialect/SieveOps.h"
#include "patterns/SieveJsonImporter.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"

#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static mlir::MLIRContext *context = [] {
    auto *ctx = new mlir::MLIRContext();
    ctx->loadDialect<sieve::SieveDialect, mlir::arith::ArithDialect>();
    ctx->disableMultithreading();
    return ctx;
  }();
  std::string_view text(reinterpret_cast<const char *>(data), size);
  sieve::SpecError error;
  auto module = sieve::importJsonSpec(text, "fuzz.json", context, error);
  if (!module) {
    if (error.where.empty() || error.message.empty())
      std::abort();
    return 0;
  }
  if (mlir::failed(mlir::verify(*module)))
    std::abort();
  std::string printed;
  llvm::raw_string_ostream os(printed);
  module->print(os);
  auto again = mlir::parseSourceString<mlir::ModuleOp>(printed, context);
  if (!again)
    std::abort();
  std::string reprinted;
  llvm::raw_string_ostream os2(reprinted);
  again->print(os2);
  if (printed != reprinted)
    std::abort();
  // The reference semantics accept whatever the importer accepts.
  auto pattern = *module->getOps<sieve::PatternOp>().begin();
  if (mlir::failed(sieve::buildMaskPattern(pattern)))
    std::abort();
  return 0;
}
