//===- SieveInspect.cpp - `sieve inspect`: what a pattern costs and sees -===//
//
// Prints the analyses of SieveAnalysis.h as a table (default), as one JSON
// object (--json, the stable contract), and draws the block map and the
// coverage curve as SVG (--svg).
//
//===----------------------------------------------------------------------===//

#include "tools/sieve/SieveCommands.h"
#include "tools/sieve/SieveRanks.h"
#include "api/SieveReport.h"
#include "dialect/SieveMaskFromIR.h"
#include "passes/SieveAnalysis.h"
#include "patterns/SieveSpec.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <nlohmann/json.hpp>

#include <chrono>

using namespace sieve;
using namespace sieve::plan;

namespace {
void printText(const mask::Pattern &p, const Analysis &a, double ms) {
  auto &os = llvm::outs();
  auto row = [&](llvm::StringRef name, const std::string &value) {
    os << "  " << llvm::left_justify(name, 24) << value << "\n";
  };
  auto pct = [](double x) {
    std::string s;
    llvm::raw_string_ostream(s) << llvm::format("%.4f%%", 100 * x);
    return s;
  };
  os << "pattern " << p.name << ", block size [" << p.blockQ << ", "
     << p.blockK << "], " << a.seqLen << " tokens\n";
  row("attended pairs", std::to_string(a.attendedPairs));
  row("density", pct(a.density));
  row("pattern blocks", std::to_string(a.blocks));
  row("max blocks per row", std::to_string(a.maxBlocksPerRow));
  row("empty rows", std::to_string(a.emptyRows));
  row("walk", a.walk);
  row("pair counts", a.pairCounts);
  for (const std::string &why : a.skipped)
    row("not analysed", why);
  std::string gens;
  for (auto [kind, g] : a.generators)
    gens += (gens.empty() ? "" : ", ") + std::string(mask::kindName(kind)) +
            ": " + stringifyGeneratorKind(g).str();
  row("generators", gens);
  os << "tiles " << a.tileQ << "x" << a.tileK << "\n";
  row("query x key tiles", std::to_string(a.queryTiles) + " x " + std::to_string(a.keyTiles));
  row("full / partial", std::to_string(a.fullTiles) + " / " + std::to_string(a.partialTiles));
  row("kernel walk", std::to_string(a.walkFullTiles) + " full + " +
                         std::to_string(a.walkPartialTiles) + " masked tiles visited");
  row("visited pairs", std::to_string(a.visitedPairs) + " (" +
                           pct(double(a.attendedPairs) / std::max<double>(1, a.visitedPairs)) +
                           " of them attended)");
  std::string gf;
  llvm::raw_string_ostream(gf) << llvm::format("%.3f attended, %.3f executed",
                                               a.attendedFlops / 1e9, a.executedFlops / 1e9);
  row("GFLOP per head", gf);
  if (const Analysis::Columns &c = a.backward; c.maxQueryTiles >= 0) {
    os << "backward: query tiles per key tile (the transposed walk, one CTA each)\n";
    std::string line;
    llvm::raw_string_ostream(line) << "max " << c.maxQueryTiles << " (key tile "
                                   << c.longestKeyTile << ", " << pct(c.longestShare)
                                   << " of the visits), mean "
                                   << llvm::format("%.1f", c.meanQueryTiles) << ", min "
                                   << c.minQueryTiles;
    row("visits", line);
  }
  os << "receptive field of the last block (coverage by layers)\n";
  for (size_t i = 0; i < a.coverage.size(); ++i)
    row("  " + std::to_string(i + 1) + (i ? " layers" : " layer"), pct(a.coverage[i]));
  row("full coverage after", a.layersToFullCoverage
                                 ? std::to_string(*a.layersToFullCoverage) + " layers"
                                 : std::string("never"));
  os << llvm::format("analysed in %.1f ms\n", ms);
}
} // namespace

int cli::runInspect(const InspectOptions &o) {
  if (!checkPatternFlag(o.spec, o.pattern))
    return kUsage;
  mlir::MLIRContext context;
  LoadedSpec spec;
  mask::Pattern m;
  if (!loadPattern(o.spec, o.pattern, context, spec, m))
    return 1;

  AnalysisOptions ao;
  ao.seqLen = o.seqLen;
  ao.layers = o.layers;
  ao.tileQ = o.tileQ;
  ao.tileK = o.tileK;
  ao.headDim = o.headDim;
  auto start = std::chrono::steady_clock::now();
  Analysis a = analyze(m, ao);
  double ms = std::chrono::duration<double, std::milli>(
                  std::chrono::steady_clock::now() - start).count();

  std::string message;
  if (!o.svg.empty() && !writeSvg(o.svg, m, a, message))
    return error(message);
  parallel::ExchangePlan plan;
  double planMs = 0;
  if (o.ranks && !planRanks(o, m, plan, planMs, message))
    return error(message);
  // Names are identifiers (the verifier); replacing invalid UTF-8 anyway
  // keeps dump() from throwing, whatever reaches it.
  if (o.json) {
    nlohmann::ordered_json j = api::inspectJson(m, a, o.headDim, ms);
    if (o.ranks)
      j["context_parallel"] = ranksJson(plan, planMs);
    llvm::outs() << j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace)
                 << "\n";
  } else {
    printText(m, a, ms);
    if (o.ranks)
      printRanks(plan, planMs);
  }
  if (a.emptyRows > 0 && !o.json)
    warning(std::to_string(a.emptyRows) +
            " query rows attend no key and would produce NaN (first: " +
            std::to_string(a.emptyRowRanges[0].first) + ".." +
            std::to_string(a.emptyRowRanges[0].last) + ")");
  return 0;
}
