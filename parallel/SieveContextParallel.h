//===- SieveContextParallel.h - Attention over sharded sequences -*- C++ -*-===//
//
// Runs one rank's part of context-parallel attention: the exchange plan's
// rounds over a Transport, and per key chunk the arithmetic of a
// ChunkBackend. Every rank calls the same function with the same plan.
//
// Forward: the rank attends its queries to its own keys, then, round by
// round, packs the key/value rows it sends (its own, or rows it received
// earlier and relays), exchanges, and attends its queries to the rows it
// received that it uses, at their global positions. Partial results merge by
// LSE (lse = m + log sum exp(lse_i - m), o = sum exp(lse_i - lse) o_i), so
// the order of chunks does not matter.
//
// Backward: D = rowsum(dO * O); the key/value exchange runs again (nothing
// is kept from the forward), each chunk adds to dQ and to the dK/dV of the
// rows it used; then the rounds run in reverse and every message's rows send
// their dK/dV back to the rank that sent them, which adds them to its own
// gradients or, for rows it relayed, to the gradients it sends back in turn.
//
// Local tensors are [batch, heads, shardTokens, headDim] (k, v: kvHeads),
// with the shard's rows in ascending position order
// (ExchangePlan::localToGlobal), in the backend's element type and memory.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_PARALLEL_SIEVECONTEXTPARALLEL_H
#define SIEVE_PARALLEL_SIEVECONTEXTPARALLEL_H

#include "parallel/SieveChunkBackend.h"
#include "parallel/SieveExchangePlan.h"
#include "parallel/SieveTransport.h"

namespace sieve::parallel {

struct ForwardTensors {
  const void *q = nullptr, *k = nullptr, *v = nullptr;
  void *o = nullptr;
  float *lse = nullptr; ///< [batch, heads, shardTokens], natural log.
};

struct BackwardTensors {
  const void *q = nullptr, *k = nullptr, *v = nullptr, *o = nullptr, *dO = nullptr;
  const float *lse = nullptr; ///< The forward's.
  void *dq = nullptr, *dk = nullptr, *dv = nullptr;
};

/// What one rank did.
struct RankStats {
  int64_t sentBytes = 0, receivedBytes = 0;
  int64_t chunks = 0; ///< Backend forward or backward calls.
};

Status contextParallelForward(const ExchangePlan &plan, const AttentionShape &shape,
                              Transport &transport, ChunkBackend &backend,
                              const ForwardTensors &tensors, RankStats *stats = nullptr);

Status contextParallelBackward(const ExchangePlan &plan, const AttentionShape &shape,
                               Transport &transport, ChunkBackend &backend,
                               const BackwardTensors &tensors, RankStats *stats = nullptr);

} // namespace sieve::parallel

#endif // SIEVE_PARALLEL_SIEVECONTEXTPARALLEL_H
