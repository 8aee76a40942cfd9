//===- SieveContextParallel.cpp - Attention over sharded sequences --------===//

#include "parallel/SieveContextParallel.h"

#include <algorithm>
#include <map>

using namespace sieve;
using namespace sieve::parallel;

namespace {
/// Key/value rows a rank holds: its own, or a message it received.
struct Holding {
  std::vector<Segment> segs; ///< Positions of its rows, ascending.
  int64_t rows = 0;
  const void *k = nullptr, *v = nullptr;
  float *dk = nullptr, *dv = nullptr; ///< Backward: the rows' gradients.
  void *kvBuffer = nullptr, *gradBuffer = nullptr; ///< Owned, released at the end.
};

/// Rows [srcRow, srcRow + rows) of holding `holding` are rows
/// [dstRow, dstRow + rows) of a message.
struct Piece {
  int holding;
  int64_t srcRow, dstRow, rows;
};

void *mut(const void *p) { return const_cast<void *>(p); }

#define SIEVE_TRY(expr)                                                                        \
  do {                                                                                         \
    if (Status s_ = (expr); !s_)                                                               \
      return s_;                                                                               \
  } while (0)

class RankRun {
public:
  RankRun(const ExchangePlan &plan, const AttentionShape &shape, Transport &transport,
          ChunkBackend &backend, RankStats *stats)
      : plan(plan), shape(shape), transport(transport), backend(backend), stats(stats),
        me(transport.rank()) {}
  ~RankRun() {
    for (Holding &h : holdings) {
      backend.release(h.kvBuffer);
      backend.release(h.gradBuffer);
    }
    for (void *p : scratch)
      backend.release(p);
  }

  Status check(bool haveAll) const;
  Status forward(const ForwardTensors &t);
  Status backward(const BackwardTensors &t);

private:
  const ExchangePlan &plan;
  const AttentionShape shape;
  Transport &transport;
  ChunkBackend &backend;
  RankStats *stats;
  const int me;
  std::vector<Holding> holdings; ///< [0]: the rank's own rows.
  std::vector<void *> scratch;

  int64_t local() const { return plan.shardTokens(me); }
  size_t lines() const { return size_t(shape.batch) * size_t(shape.kvHeads); }
  size_t rowBytes() const { return size_t(shape.headDim) * backend.elementBytes(); }
  size_t kvBytes(int64_t rows) const { return 2 * lines() * size_t(rows) * rowBytes(); }
  size_t gradFloats(int64_t rows) const { return 2 * lines() * size_t(rows) * size_t(shape.headDim); }

  Status alloc(size_t bytes, void **p) {
    SIEVE_TRY(backend.allocate(bytes, p));
    scratch.push_back(*p);
    return Status::success();
  }
  /// Releases scratch memory before the end.
  void drop(void *p) {
    scratch.erase(std::find(scratch.begin(), scratch.end(), p));
    backend.release(p);
  }
  Status gather(const std::vector<Segment> &keys, std::vector<Piece> &pieces) const;
  Status pack(const std::vector<Piece> &pieces, int64_t rows, void *buffer);
  Status exchange(size_t round, const std::vector<TransferOp> &ops, const char *what);
  /// fn(qRow, qSeg, kRow, kSeg) for each own query segment and each
  /// segment of `use` inside holding h.
  template <typename Fn> Status pairs(const Holding &h, const std::vector<Segment> &use, Fn fn);
  /// The key/value rounds; `received(h, m)` runs for each message received.
  template <typename Fn>
  Status keyRounds(bool withGrads, std::map<std::pair<size_t, size_t>, std::vector<Piece>> *sent,
                   std::map<std::pair<size_t, size_t>, int> *got, Fn received);
  /// The backward's rounds in reverse: each message's dK/dV back to its
  /// sender (`sent`: what this rank packed; `got`: the holding each arrival
  /// became).
  Status returnGradients(const std::map<std::pair<size_t, size_t>, std::vector<Piece>> &sent,
                         const std::map<std::pair<size_t, size_t>, int> &got);
};

Status RankRun::check(bool haveAll) const {
  if (transport.size() != plan.ranks)
    return Status::error("the plan is for " + std::to_string(plan.ranks) +
                         " ranks but the transport has " + std::to_string(transport.size()));
  if (me < 0 || me >= plan.ranks)
    return Status::error("rank " + std::to_string(me) + " is outside the plan");
  if (shape.batch < 1 || shape.heads < 1 || shape.kvHeads < 1 || shape.headDim < 1 ||
      shape.heads % shape.kvHeads)
    return Status::error("attention shape: batch, heads, kv heads and head dim must be "
                         "positive and heads a multiple of kv heads");
  if (!haveAll)
    return Status::error("a tensor of rank " + std::to_string(me) + " is null");
  return Status::success();
}

Status RankRun::gather(const std::vector<Segment> &keys, std::vector<Piece> &pieces) const {
  int64_t dstRow = 0;
  for (const Segment &ks : keys) {
    for (size_t h = 0; h < holdings.size(); ++h) {
      int64_t hRow = 0;
      for (const Segment &hs : holdings[h].segs) {
        const int64_t lo = std::max(ks.begin, hs.begin), hi = std::min(ks.end, hs.end);
        if (lo < hi)
          pieces.push_back({int(h), hRow + lo - hs.begin, dstRow + lo - ks.begin, hi - lo});
        hRow += hs.size();
      }
    }
    dstRow += ks.size();
  }
  // The pieces must tile the message exactly: each row held once.
  std::sort(pieces.begin(), pieces.end(),
            [](const Piece &a, const Piece &b) { return a.dstRow < b.dstRow; });
  int64_t at = 0;
  for (const Piece &p : pieces) {
    if (p.dstRow != at)
      break;
    at += p.rows;
  }
  if (at != dstRow)
    return Status::error("rank " + std::to_string(me) + " does not hold exactly once the " +
                         std::to_string(dstRow) + " key rows it must send");
  return Status::success();
}

Status RankRun::pack(const std::vector<Piece> &pieces, int64_t rows, void *buffer) {
  const size_t rb = rowBytes(), half = lines() * size_t(rows) * rb;
  char *out = static_cast<char *>(buffer);
  for (const Piece &p : pieces) {
    const Holding &h = holdings[size_t(p.holding)];
    const size_t src = size_t(p.srcRow) * rb, dst = size_t(p.dstRow) * rb;
    SIEVE_TRY(backend.copy2d(out + dst, size_t(rows) * rb, static_cast<const char *>(h.k) + src,
                             size_t(h.rows) * rb, size_t(p.rows) * rb, lines()));
    SIEVE_TRY(backend.copy2d(out + half + dst, size_t(rows) * rb,
                             static_cast<const char *>(h.v) + src, size_t(h.rows) * rb,
                             size_t(p.rows) * rb, lines()));
  }
  return Status::success();
}

Status RankRun::exchange(size_t round, const std::vector<TransferOp> &ops, const char *what) {
  if (ops.empty())
    return Status::success();
  SIEVE_TRY(backend.synchronize());
  if (Status s = transport.exchange(ops); !s)
    return Status::error(std::string(what) + " round " + std::to_string(round + 1) + " of " +
                         std::to_string(plan.rounds.size()) + ": " + s.message);
  for (const TransferOp &op : ops)
    (op.kind == TransferOp::send ? stats->sentBytes : stats->receivedBytes) += int64_t(op.bytes);
  return Status::success();
}

template <typename Fn>
Status RankRun::pairs(const Holding &h, const std::vector<Segment> &use, Fn fn) {
  int64_t kRow = 0;
  for (const Segment &hs : h.segs) {
    for (const Segment &u : intersect({hs}, use)) {
      int64_t qRow = 0;
      for (const Segment &qs : plan.shards[size_t(me)]) {
        SIEVE_TRY(fn(qRow, qs, kRow + u.begin - hs.begin, u));
        ++stats->chunks;
        qRow += qs.size();
      }
    }
    kRow += hs.size();
  }
  return Status::success();
}

template <typename Fn>
Status RankRun::keyRounds(bool withGrads,
                          std::map<std::pair<size_t, size_t>, std::vector<Piece>> *sent,
                          std::map<std::pair<size_t, size_t>, int> *got, Fn received) {
  for (size_t r = 0; r < plan.rounds.size(); ++r) {
    const Round &round = plan.rounds[r];
    std::vector<TransferOp> ops;
    std::vector<void *> sendBuffers;
    std::vector<std::pair<int, const Message *>> arrivals;
    for (size_t i = 0; i < round.messages.size(); ++i) {
      const Message &m = round.messages[i];
      if (m.src != me)
        continue;
      std::vector<Piece> pieces;
      SIEVE_TRY(gather(m.keys, pieces));
      void *buffer;
      SIEVE_TRY(backend.allocate(kvBytes(m.tokens()), &buffer));
      sendBuffers.push_back(buffer);
      SIEVE_TRY(pack(pieces, m.tokens(), buffer));
      ops.push_back({TransferOp::send, m.dst, buffer, kvBytes(m.tokens())});
      if (sent)
        (*sent)[{r, i}] = std::move(pieces);
    }
    for (size_t i = 0; i < round.messages.size(); ++i) {
      const Message &m = round.messages[i];
      if (m.dst != me)
        continue;
      Holding h;
      h.segs = m.keys, h.rows = m.tokens();
      SIEVE_TRY(backend.allocate(kvBytes(h.rows), &h.kvBuffer));
      h.k = h.kvBuffer;
      h.v = static_cast<char *>(h.kvBuffer) + kvBytes(h.rows) / 2;
      if (withGrads) {
        SIEVE_TRY(backend.allocate(gradFloats(h.rows) * sizeof(float), &h.gradBuffer));
        h.dk = static_cast<float *>(h.gradBuffer);
        h.dv = h.dk + gradFloats(h.rows) / 2;
      }
      ops.push_back({TransferOp::recv, m.src, h.kvBuffer, kvBytes(h.rows)});
      holdings.push_back(std::move(h));
      arrivals.push_back({int(holdings.size() - 1), &m});
      if (got)
        (*got)[{r, i}] = int(holdings.size() - 1);
    }
    Status s = exchange(r, ops, "key/value");
    for (void *b : sendBuffers)
      backend.release(b);
    SIEVE_TRY(s);
    for (auto [h, m] : arrivals)
      SIEVE_TRY(received(holdings[size_t(h)], *m));
  }
  return Status::success();
}

Status RankRun::returnGradients(const std::map<std::pair<size_t, size_t>, std::vector<Piece>> &sent,
                                const std::map<std::pair<size_t, size_t>, int> &got) {
  // Gradients go back along the same messages, last round first, so a
  // relaying rank has every later contribution to its rows before it sends.
  const size_t hd = size_t(shape.headDim);
  for (size_t r = plan.rounds.size(); r-- > 0;) {
    const Round &round = plan.rounds[r];
    std::vector<TransferOp> ops;
    std::vector<std::pair<size_t, void *>> incoming;
    for (size_t i = 0; i < round.messages.size(); ++i) {
      const Message &m = round.messages[i];
      const size_t bytes = gradFloats(m.tokens()) * sizeof(float);
      if (m.dst == me)
        ops.push_back({TransferOp::send, m.src, holdings[size_t(got.at({r, i}))].gradBuffer, bytes});
      if (m.src == me) {
        void *buffer;
        SIEVE_TRY(alloc(bytes, &buffer));
        ops.push_back({TransferOp::recv, m.dst, buffer, bytes});
        incoming.push_back({i, buffer});
      }
    }
    SIEVE_TRY(exchange(r, ops, "gradient"));
    for (auto [i, buffer] : incoming) {
      const int64_t rows = round.messages[i].tokens();
      const float *gk = static_cast<const float *>(buffer), *gv = gk + gradFloats(rows) / 2;
      for (const Piece &p : sent.at({r, i})) {
        Holding &h = holdings[size_t(p.holding)];
        const size_t src = size_t(p.dstRow) * hd, dst = size_t(p.srcRow) * hd;
        SIEVE_TRY(backend.add2d(h.dk + dst, size_t(h.rows) * hd, gk + src, size_t(rows) * hd,
                                size_t(p.rows) * hd, lines()));
        SIEVE_TRY(backend.add2d(h.dv + dst, size_t(h.rows) * hd, gv + src, size_t(rows) * hd,
                                size_t(p.rows) * hd, lines()));
      }
      drop(buffer);
    }
  }
  return Status::success();
}

Status RankRun::forward(const ForwardTensors &t) {
  SIEVE_TRY(check(t.q && t.k && t.v && t.o && t.lse));
  const int64_t n = local();
  Holding own;
  own.segs = plan.shards[size_t(me)], own.rows = n, own.k = t.k, own.v = t.v;
  holdings.push_back(own);
  void *acc;
  SIEVE_TRY(alloc(size_t(shape.batch) * shape.heads * size_t(n) * shape.headDim * sizeof(float),
                  &acc));
  auto chunk = [&](const Holding &h, bool accumulate) {
    return [&, accumulate, hp = &h](int64_t qRow, const Segment &qs, int64_t kRow,
                                    const Segment &ks) {
      ForwardChunk c;
      c.qPos = qs.begin, c.qLen = qs.size(), c.kPos = ks.begin, c.kLen = ks.size();
      c.q = {mut(t.q), n, qRow};
      c.k = {mut(hp->k), hp->rows, kRow}, c.v = {mut(hp->v), hp->rows, kRow};
      c.o = {acc, n, qRow}, c.lse = {t.lse, n, qRow};
      // The first chunk of each query row (its own keys, first segment) writes.
      c.accumulate = accumulate || kRow > 0;
      return backend.forward(shape, c);
    };
  };
  SIEVE_TRY(pairs(holdings[0], own.segs, chunk(holdings[0], false)));
  SIEVE_TRY(keyRounds(false, nullptr, nullptr, [&](const Holding &h, const Message &m) {
    return pairs(h, m.use, chunk(h, true));
  }));
  SIEVE_TRY(backend.synchronize());
  return backend.fromFloat(t.o, static_cast<float *>(acc),
                           size_t(shape.batch) * shape.heads * size_t(n) * shape.headDim);
}

Status RankRun::backward(const BackwardTensors &t) {
  SIEVE_TRY(check(t.q && t.k && t.v && t.o && t.dO && t.lse && t.dq && t.dk && t.dv));
  const int64_t n = local();
  const size_t qElems = size_t(shape.batch) * shape.heads * size_t(n) * shape.headDim;
  void *d, *dq, *ownGrad;
  SIEVE_TRY(alloc(size_t(shape.batch) * shape.heads * size_t(n) * sizeof(float), &d));
  SIEVE_TRY(alloc(qElems * sizeof(float), &dq));
  SIEVE_TRY(alloc(gradFloats(n) * sizeof(float), &ownGrad));
  Holding own;
  own.segs = plan.shards[size_t(me)], own.rows = n, own.k = t.k, own.v = t.v;
  own.dk = static_cast<float *>(ownGrad), own.dv = own.dk + gradFloats(n) / 2;
  holdings.push_back(own);
  SIEVE_TRY(backend.softmaxGradDot(shape, t.o, t.dO, n, static_cast<float *>(d)));
  auto chunk = [&](const Holding &h) {
    return [&, hp = &h](int64_t qRow, const Segment &qs, int64_t kRow, const Segment &ks) {
      const Holding &h = *hp;
      BackwardChunk c;
      c.qPos = qs.begin, c.qLen = qs.size(), c.kPos = ks.begin, c.kLen = ks.size();
      c.q = {mut(t.q), n, qRow}, c.dO = {mut(t.dO), n, qRow};
      c.lse = {mut(t.lse), n, qRow}, c.d = {d, n, qRow}, c.dq = {dq, n, qRow};
      c.k = {mut(h.k), h.rows, kRow}, c.v = {mut(h.v), h.rows, kRow};
      c.dk = {h.dk, h.rows, kRow}, c.dv = {h.dv, h.rows, kRow};
      return backend.backward(shape, c);
    };
  };
  SIEVE_TRY(pairs(holdings[0], own.segs, chunk(holdings[0])));
  std::map<std::pair<size_t, size_t>, std::vector<Piece>> sent;
  std::map<std::pair<size_t, size_t>, int> got;
  SIEVE_TRY(keyRounds(true, &sent, &got, [&](const Holding &h, const Message &m) {
    return pairs(h, m.use, chunk(h));
  }));
  SIEVE_TRY(backend.synchronize());
  for (Holding &h : holdings) { // the keys and values are done with
    backend.release(h.kvBuffer);
    h.kvBuffer = nullptr, h.k = h.v = nullptr;
  }

  SIEVE_TRY(returnGradients(sent, got));
  SIEVE_TRY(backend.synchronize());
  const size_t kvElems = gradFloats(n) / 2;
  SIEVE_TRY(backend.fromFloat(t.dq, static_cast<float *>(dq), qElems));
  SIEVE_TRY(backend.fromFloat(t.dk, own.dk, kvElems));
  return backend.fromFloat(t.dv, own.dv, kvElems);
}
} // namespace

Status parallel::contextParallelForward(const ExchangePlan &plan, const AttentionShape &shape,
                                        Transport &transport, ChunkBackend &backend,
                                        const ForwardTensors &tensors, RankStats *stats) {
  RankStats local;
  RankRun run(plan, shape, transport, backend, stats ? stats : &local);
  return run.forward(tensors);
}

Status parallel::contextParallelBackward(const ExchangePlan &plan, const AttentionShape &shape,
                                         Transport &transport, ChunkBackend &backend,
                                         const BackwardTensors &tensors, RankStats *stats) {
  RankStats local;
  RankRun run(plan, shape, transport, backend, stats ? stats : &local);
  return run.backward(tensors);
}
