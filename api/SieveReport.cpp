//===- SieveReport.cpp - What sieve reports about patterns, as JSON -------===//

#include "api/SieveReport.h"
#include "codegen/SieveKernels.h"
#include "dialect/SieveMaskFromIR.h"
#include "patterns/SieveBuiltins.h"
#include "patterns/SieveSpec.h"
#include "mlir/IR/MLIRContext.h"

#include <chrono>

using namespace sieve;
using nlohmann::ordered_json;

ordered_json api::builtinsJson() {
  ordered_json all = ordered_json::array();
  for (const Builtin &b : builtins()) {
    ordered_json params = ordered_json::array();
    for (const BuiltinParam &p : b.params)
      params.push_back({{"name", p.name},
                        {"description", p.description},
                        {"default", p.isList ? ordered_json(p.defaults)
                                             : ordered_json(p.defaults.at(0))},
                        {"list", p.isList},
                        {"min", p.min},
                        {"max", p.max}});
    // block_size is a key of every spec, not a parameter (docs/spec-format.md).
    all.push_back({{"name", b.name},
                   {"description", b.description},
                   {"block_size", 256},
                   {"params", params}});
  }
  return all;
}

ordered_json api::kernelVariantsJson() {
  ordered_json all = ordered_json::array();
  for (const codegen::KernelVariant &v : codegen::kernelVariants())
    all.push_back({{"name", v.name},
                   {"operation", codegen::operationName(v.operation)},
                   {"kv_layout", codegen::kvLayoutName(v.kvLayout)},
                   {"summary", v.summary},
                   {"needs", v.needs},
                   {"verified", v.verified}});
  return all;
}

ordered_json api::inspectJson(const mask::Pattern &p, const plan::Analysis &a, int64_t headDim,
                              double ms) {
  ordered_json gens = ordered_json::array();
  for (auto [kind, g] : a.generators)
    gens.push_back({{"term", mask::kindName(kind)}, {"generator", stringifyGeneratorKind(g).str()}});
  ordered_json ranges = ordered_json::array();
  for (const plan::RowRange &r : a.emptyRowRanges)
    ranges.push_back({r.first, r.last});
  int64_t total = a.queryTiles * a.keyTiles;
  return {
      {"pattern", p.name},
      {"seq_len", a.seqLen},
      {"block_size", {p.blockQ, p.blockK}},
      {"attended_pairs", a.attendedPairs},
      {"density", a.density},
      {"blocks", a.blocks},
      {"max_blocks_per_row", a.maxBlocksPerRow},
      {"empty_rows", a.emptyRows},
      {"empty_row_ranges", ranges},
      {"coverage", a.coverage},
      {"layers_to_full_coverage", a.layersToFullCoverage
                                      ? ordered_json(*a.layersToFullCoverage)
                                      : ordered_json(nullptr)},
      {"tiles",
       {{"tile_q", a.tileQ}, {"tile_k", a.tileK},
        {"query_tiles", a.queryTiles}, {"key_tiles", a.keyTiles},
        {"full", a.fullTiles}, {"partial", a.partialTiles},
        {"empty", total - a.fullTiles - a.partialTiles},
        {"walk_full", a.walkFullTiles}, {"walk_partial", a.walkPartialTiles},
        {"visited_pairs", a.visitedPairs}, {"head_dim", headDim},
        {"attended_flops", a.attendedFlops},
        {"executed_flops", a.executedFlops}}},
      {"backward",
       a.backward.maxQueryTiles < 0
           ? ordered_json(nullptr)
           : ordered_json{{"visited_tiles", a.backward.visitedTiles},
                          {"max_query_tiles", a.backward.maxQueryTiles},
                          {"mean_query_tiles", a.backward.meanQueryTiles},
                          {"min_query_tiles", a.backward.minQueryTiles},
                          {"longest_key_tile", a.backward.longestKeyTile},
                          {"longest_share", a.backward.longestShare}}},
      {"walk", a.walk},
      {"pair_counts", a.pairCounts},
      {"skipped", a.skipped},
      {"generators", gens},
      {"elapsed_ms", ms},
  };
}

/// "`name` must be in [lo, hi] but is v", or "" when it is.
static std::string outOfRange(const char *name, int64_t v, int64_t lo, int64_t hi) {
  if (v >= lo && v <= hi)
    return "";
  return std::string(name) + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) +
         "] but is " + std::to_string(v);
}

Status api::inspectSpec(const std::string &spec, const plan::AnalysisOptions &o,
                        ordered_json &out) {
  for (const std::string &bad :
       {outOfRange("seq_len", o.seqLen, 1, int64_t(1) << 24),
        outOfRange("layers", o.layers, 1, 100000), outOfRange("tile_q", o.tileQ, 1, 4096),
        outOfRange("tile_k", o.tileK, 1, 4096), outOfRange("head_dim", o.headDim, 1, 1024)})
    if (!bad.empty())
      return Status::error(bad);
  mlir::MLIRContext context;
  LoadedSpec loaded;
  std::string message;
  if (!loadSpec(spec, "", &context, loaded, message))
    return Status::error(message);
  mlir::FailureOr<mask::Pattern> m = buildMaskPattern(loaded.pattern);
  if (mlir::failed(m))
    return Status::error("the pattern has no reference semantics");
  auto start = std::chrono::steady_clock::now();
  plan::Analysis a = plan::analyze(*m, o);
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  out = inspectJson(*m, a, o.headDim, ms);
  return Status::success();
}
