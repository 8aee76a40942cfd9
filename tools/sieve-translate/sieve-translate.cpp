//===- sieve-translate.cpp - Patterns and plans to CUDA, for lit tests ---===//

#include "codegen/SieveCodegen.h"
#include "dialect/SieveMaskFromIR.h"
#include "dialect/SieveOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Tools/mlir-translate/MlirTranslateMain.h"
#include "mlir/Tools/mlir-translate/Translation.h"
#include "llvm/Support/CommandLine.h"

using namespace mlir;

static llvm::cl::opt<std::string> arch("sieve-arch", llvm::cl::desc("Target of --sieve-plan-to-cuda"),
                                       llvm::cl::init("sm_90a"));
static llvm::cl::opt<int> headDim("sieve-head-dim", llvm::cl::desc("Head dim of --sieve-plan-to-cuda"),
                                  llvm::cl::init(128));
static llvm::cl::opt<std::string> variant("sieve-kernel",
                                          llvm::cl::desc("Kernel variant of --sieve-plan-to-cuda"),
                                          llvm::cl::init(""));

/// The pattern code (mask and walk rules) of each pattern.
static LogicalResult emitPatterns(ModuleOp module, llvm::raw_ostream &os) {
  for (sieve::PatternOp op : module.getOps<sieve::PatternOp>()) {
    FailureOr<sieve::mask::Pattern> p = sieve::buildMaskPattern(op);
    if (failed(p))
      return failure();
    os << sieve::codegen::emitPatternCode(*p);
  }
  return success();
}

/// The kernel of each forward plan (bf16), for the kernel the options choose.
static LogicalResult emitKernels(ModuleOp module, llvm::raw_ostream &os) {
  std::optional<sieve::codegen::Target> target = sieve::codegen::Target::parse(arch);
  if (!target)
    return module.emitError() << "unsupported --sieve-arch '" << arch << "'";
  for (sieve::PlanOp plan : module.getOps<sieve::PlanOp>()) {
    if (plan.getDirection() != sieve::Direction::forward)
      continue;
    auto pattern = module.lookupSymbol<sieve::PatternOp>(plan.getPattern());
    if (!pattern)
      return plan.emitError() << "walks no pattern named @" << plan.getPattern();
    sieve::codegen::KernelRequest request;
    request.target = *target;
    request.headDim = headDim;
    request.variant = variant;
    std::string why;
    auto config = sieve::codegen::chooseKernel(request, pattern.getBlockQ(), pattern.getBlockK(), why);
    if (!config)
      return plan.emitError() << why;
    FailureOr<std::string> source = sieve::codegen::emitKernelSource(plan, *config);
    if (failed(source))
      return failure();
    os << *source;
  }
  return success();
}

int main(int argc, char **argv) {
  auto dialects = [](DialectRegistry &registry) {
    registry.insert<sieve::SieveDialect, arith::ArithDialect>();
  };
  TranslateFromMLIRRegistration patterns(
      "sieve-to-cuda", "emit the generated pattern code (mask and walk) of each pattern",
      emitPatterns, dialects);
  TranslateFromMLIRRegistration kernels(
      "sieve-plan-to-cuda", "emit the whole kernel source of each forward plan", emitKernels,
      dialects);
  return failed(mlirTranslateMain(argc, argv, "sieve translation driver"));
}
