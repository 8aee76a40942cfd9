//===- SieveCpCheck.cpp - Run and check context-parallel attention -------===//
//
// One JSON line per rank: the schedule, bytes moved, forward and backward
// times under the pattern-aware exchange and under the causal ring over the
// same shards (same arithmetic, more bytes), and with --check the largest
// relative errors of o, dq, dk and dv on the rank's rows against the
// single-device CPU reference.
//
//   sieve-cp-check SPEC --seq-len N --ranks P                    # P threads, CPU executor
//   sieve-cp-check SPEC --seq-len N --transport nccl --backend gpu \
//       --world W --rank R --id-file F                           # one process per GPU
//
// Inputs are a function of (seed, tensor, row, position, element), so each
// rank makes its own shard and the reference the whole sequence, with no
// communication. The GPU backend does not exist yet (docs/context-parallel.md):
// `--backend gpu` says so and exits 2.
//
//===----------------------------------------------------------------------===//

#include "dialect/SieveMaskFromIR.h"
#include "parallel/SieveContextParallel.h"
#include "parallel/SieveInProcessTransport.h"
#include "parallel/SieveNcclTransport.h"
#include "patterns/SieveSpec.h"
#include "reference/SieveCpuChunks.h"
#include "reference/SieveHalf.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/CommandLine.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <thread>

using namespace sieve;
using namespace sieve::parallel;
namespace cl = llvm::cl;

namespace {
cl::opt<std::string> spec(cl::Positional, cl::desc("<spec>"), cl::init("builtin:power_attention"));
cl::opt<int64_t> seqLen("seq-len", cl::desc("Tokens"), cl::Required);
cl::opt<int> ranks("ranks", cl::desc("In-process ranks"), cl::init(2));
cl::opt<std::string> transportName("transport", cl::desc("inprocess or nccl"), cl::init("inprocess"));
cl::opt<std::string> backendName("backend", cl::desc("cpu or gpu"), cl::init("cpu"));
cl::opt<int> world("world", cl::desc("NCCL: ranks in all"), cl::init(2));
cl::opt<int> rankArg("rank", cl::desc("NCCL: this process's rank"), cl::init(0));
cl::opt<std::string> idFile("id-file", cl::desc("NCCL: where rank 0 leaves the unique id"));
cl::opt<int> batch("batch", cl::init(1)), heads("heads", cl::init(2)), kvHeads("kv-heads", cl::init(1));
cl::opt<int> headDim("head-dim", cl::init(64));
cl::opt<std::string> shardingArg("sharding", cl::init("contiguous"));
cl::opt<std::string> scheduleArg("schedule", cl::desc("auto, direct or doubling"), cl::init("auto"));
cl::opt<int64_t> blockArg("exchange-block", cl::init(0));
cl::opt<bool> check("check", cl::desc("Compare with the CPU reference"));
cl::opt<int> repeat("repeat", cl::desc("Timed runs (median)"), cl::init(1));
cl::opt<uint64_t> seed("seed", cl::init(1));

/// Input element (tensor, line, position, e) in [-1, 1).
float value(int tensor, int64_t line, int64_t pos, int64_t e) {
  uint64_t x = seed ^ (uint64_t(tensor) << 58) ^ (uint64_t(line) << 42) ^ (uint64_t(pos) << 10) ^
               uint64_t(e);
  x += 0x9e3779b97f4a7c15ull; // splitmix64
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  x ^= x >> 31;
  return float(double(x >> 11) / double(1ull << 53) * 2 - 1);
}

/// A [lines, rows, headDim] tensor of positions pos(i), rounded to the
/// backend's element type when it is 16-bit (bf16).
std::vector<float> make(int tensor, int64_t lines, int64_t rows, size_t elementBytes,
                        const std::function<int64_t(int64_t)> &pos) {
  std::vector<float> t(size_t(lines * rows * headDim));
  for (int64_t l = 0; l < lines; ++l)
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t e = 0; e < headDim; ++e) {
        float x = value(tensor, l, pos(i), e);
        t[size_t((l * rows + i) * headDim + e)] =
            elementBytes == 2 ? half::bf16ToFloat(half::floatToBf16(x)) : x;
      }
  return t;
}

double relErr(const std::vector<float> &got, const std::vector<float> &want) {
  double num = 0, den = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    num = std::max(num, std::isnan(got[i]) ? INFINITY : double(std::abs(got[i] - want[i])));
    den = std::max(den, double(std::abs(want[i])));
  }
  return num / std::max(den, 1e-30);
}

/// Device buffers of one rank, uploaded from and downloaded to floats.
struct Buffers {
  ChunkBackend &b;
  std::vector<void *> all;
  explicit Buffers(ChunkBackend &b) : b(b) {}
  ~Buffers() {
    for (void *p : all)
      b.release(p);
  }
  Status alloc(size_t bytes, void *&p) {
    if (Status s = b.allocate(bytes, &p); !s)
      return s;
    all.push_back(p);
    return Status::success();
  }
  /// Elements in the backend's type (float or bf16).
  Status up(const std::vector<float> &host, void *&dev) {
    if (Status s = alloc(host.size() * b.elementBytes(), dev); !s)
      return s;
    if (b.elementBytes() == 4)
      return b.upload(dev, host.data(), host.size() * 4);
    std::vector<uint16_t> h(host.size());
    for (size_t i = 0; i < h.size(); ++i)
      h[i] = half::floatToBf16(host[i]);
    return b.upload(dev, h.data(), h.size() * 2);
  }
  Status down(const void *dev, size_t n, std::vector<float> &host, bool isFloat) {
    host.resize(n);
    if (isFloat || b.elementBytes() == 4)
      return b.download(host.data(), dev, n * 4);
    std::vector<uint16_t> h(n);
    if (Status s = b.download(h.data(), dev, n * 2); !s)
      return s;
    for (size_t i = 0; i < n; ++i)
      host[i] = half::bf16ToFloat(h[i]);
    return Status::success();
  }
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

/// The CPU reference on rank r's rows: o, lse, dq (its queries) and dk, dv
/// (its keys), in the rank's local layout.
void reference(const mask::Pattern &pattern, const ExchangePlan &plan, int r, size_t eb,
               std::vector<std::vector<float>> &out) {
  const int64_t n = plan.seqLen, d = headDim, ql = batch * heads, kl = batch * kvHeads;
  auto all = [](int64_t i) { return i; };
  std::vector<float> q = make(0, ql, n, eb, all), k = make(1, kl, n, eb, all);
  std::vector<float> v = make(2, kl, n, eb, all), dO = make(3, ql, n, eb, all);
  reference::Problem p;
  p.batch = batch, p.heads = heads, p.kvHeads = kvHeads, p.qLen = p.kLen = int(n), p.headDim = d;
  std::vector<float> o, lse, dq, dk, dv;
  reference::forward(pattern, p, q, k, v, o, lse);
  // The backward only where this rank's rows are: its queries against every
  // key, every query against its keys.
  reference::Chunk c;
  c.batch = batch, c.heads = heads, c.kvHeads = kvHeads, c.headDim = d;
  using V = reference::View<float>;
  using CV = reference::View<const float>;
  std::vector<float> dd(lse.size()), skq(q.size()), skk(k.size()), skv(k.size());
  dq.assign(q.size(), 0), dk.assign(k.size(), 0), dv.assign(k.size(), 0);
  c.qLen = n;
  reference::softmaxGradDot<float>(c, CV::dense(o.data(), heads, n, d),
                                   CV::dense(dO.data(), heads, n, d), V::dense(dd.data(), heads, n, 1));
  for (const Segment &s : plan.shards[size_t(r)]) {
    for (bool queries : {true, false}) {
      c.qPos = queries ? s.begin : 0, c.qLen = queries ? s.size() : n;
      c.kPos = queries ? 0 : s.begin, c.kLen = queries ? n : s.size();
      auto rows = [&](std::vector<float> &t, int h, bool mine, int64_t cols) {
        return V::dense(t.data(), h, n, cols).from(mine ? s.begin : 0);
      };
      reference::chunkBackward<float>(
          pattern, c, rows(q, heads, queries, d), rows(k, kvHeads, !queries, d),
          rows(v, kvHeads, !queries, d), rows(dO, heads, queries, d), rows(lse, heads, queries, 1),
          rows(dd, heads, queries, 1), queries ? rows(dq, heads, true, d) : rows(skq, heads, false, d),
          queries ? rows(skk, kvHeads, false, d) : rows(dk, kvHeads, true, d),
          queries ? rows(skv, kvHeads, false, d) : rows(dv, kvHeads, true, d));
    }
  }
  // To the local layout.
  auto local = [&](const std::vector<float> &g, int64_t lines, int64_t cols) {
    const int64_t m = plan.shardTokens(r);
    std::vector<float> t(size_t(lines * m * cols));
    for (int64_t l = 0; l < lines; ++l)
      for (int64_t i = 0; i < m; ++i)
        std::copy_n(&g[size_t((l * n + plan.localToGlobal(r, i)) * cols)], cols,
                    &t[size_t((l * m + i) * cols)]);
    return t;
  };
  out = {local(o, ql, d), local(lse, ql, 1), local(dq, ql, d), local(dk, kl, d), local(dv, kl, d)};
}

/// One rank: times both schedules, checks the first; its JSON line.
Status runRank(const mask::Pattern &pattern, const std::vector<ExchangePlan> &plans,
               Transport &t, ChunkBackend &backend, nlohmann::ordered_json &line) {
  const ExchangePlan &plan = plans[0];
  const int r = t.rank();
  const int64_t m = plan.shardTokens(r), ql = batch * heads, kl = batch * kvHeads;
  const size_t eb = backend.elementBytes();
  auto mine = [&](int64_t i) { return plan.localToGlobal(r, i); };
  Buffers buf(backend);
  void *q, *k, *v, *dO, *o, *lse, *dq, *dk, *dv;
  Status s = buf.up(make(0, ql, m, eb, mine), q);
  if (s) s = buf.up(make(1, kl, m, eb, mine), k);
  if (s) s = buf.up(make(2, kl, m, eb, mine), v);
  if (s) s = buf.up(make(3, ql, m, eb, mine), dO);
  const size_t qn = size_t(ql * m * headDim), kn = size_t(kl * m * headDim);
  if (s) s = buf.alloc(qn * eb, o);
  if (s) s = buf.alloc(size_t(ql * m) * 4, lse);
  if (s) s = buf.alloc(qn * eb, dq);
  if (s) s = buf.alloc(kn * eb, dk);
  if (s) s = buf.alloc(kn * eb, dv);
  if (!s)
    return s;
  AttentionShape shape;
  shape.batch = batch, shape.heads = heads, shape.kvHeads = kvHeads, shape.headDim = headDim;
  line = {{"rank", r}, {"ranks", plan.ranks}, {"seq_len", plan.seqLen}, {"tokens", m}};
  for (size_t pi = 0; pi < plans.size(); ++pi) {
    const ExchangePlan &pl = plans[pi];
    const std::string key = pi ? "ring" : "sieve";
    std::vector<double> fwd, bwd;
    RankStats stats;
    for (int i = 0; i < std::max(1, repeat.getValue()) + (repeat > 1); ++i) {
      stats = {};
      auto t0 = std::chrono::steady_clock::now();
      if (Status f = contextParallelForward(pl, shape, t, backend,
                                            {q, k, v, o, static_cast<float *>(lse)}, &stats);
          !f)
        return f;
      auto t1 = std::chrono::steady_clock::now();
      if (Status b = contextParallelBackward(pl, shape, t, backend,
                                             {q, k, v, o, dO, static_cast<float *>(lse), dq, dk, dv});
          !b)
        return b;
      auto t2 = std::chrono::steady_clock::now();
      if (repeat > 1 && i == 0)
        continue; // warm-up
      fwd.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      bwd.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
    }
    line[key] = {{"schedule", scheduleName(pl.schedule)},
                 {"rounds", pl.rounds.size()},
                 {"received_blocks", pl.volume[size_t(r)].received},
                 {"forward_received_bytes", stats.receivedBytes},
                 {"forward_ms", median(fwd)},
                 {"backward_ms", median(bwd)}};
    if (pi || !check)
      continue;
    // The pattern-aware schedule's outputs (before the ring's runs).
    std::vector<std::vector<float>> want, got(5);
    reference(pattern, plan, r, eb, want);
    s = buf.down(o, qn, got[0], false);
    if (s) s = buf.down(lse, size_t(ql * m), got[1], true);
    if (s) s = buf.down(dq, qn, got[2], false);
    if (s) s = buf.down(dk, kn, got[3], false);
    if (s) s = buf.down(dv, kn, got[4], false);
    if (!s)
      return s;
    double lseErr = 0;
    for (size_t i = 0; i < want[1].size(); ++i)
      if (want[1][i] != got[1][i])
        lseErr = std::max(lseErr, double(std::abs(want[1][i] - got[1][i])));
    const double tol = eb == 2 ? 2e-2 : 1e-4;
    const double oErr = relErr(got[0], want[0]);
    const double gErr = std::max({relErr(got[2], want[2]), relErr(got[3], want[3]),
                                  relErr(got[4], want[4])});
    line["check"] = {{"o_rel_err", oErr}, {"lse_max_abs_err", lseErr}, {"grad_rel_err", gErr},
                     {"ok", oErr < tol && gErr < tol && lseErr < tol}};
  }
  return Status::success();
}

Status ncclTransport(std::unique_ptr<NcclTransport> &t) {
  NcclUniqueId id;
  if (idFile.empty())
    return Status::error("--transport nccl needs --id-file");
  if (rankArg == 0) {
    if (Status s = NcclTransport::uniqueId(id); !s)
      return s;
    const std::string tmp = idFile + ".tmp";
    std::ofstream(tmp, std::ios::binary).write(id.bytes, sizeof id.bytes);
    if (std::rename(tmp.c_str(), idFile.c_str()) != 0)
      return Status::error("cannot write '" + idFile + "'");
  } else {
    for (int i = 0; !std::ifstream(idFile, std::ios::binary).read(id.bytes, sizeof id.bytes); ++i) {
      if (i == 1200)
        return Status::error("no unique id in '" + idFile + "' after 120 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  return NcclTransport::init(id, rankArg, world, {}, t);
}

int fail(const std::string &m, int code = 1) {
  std::fprintf(stderr, "sieve-cp-check: error: %s\n", m.c_str());
  return code;
}
} // namespace

int main(int argc, char **argv) {
  cl::ParseCommandLineOptions(argc, argv, "sieve-cp-check: run and check context parallelism\n");
  mlir::MLIRContext context;
  LoadedSpec loaded;
  std::string message;
  if (!loadSpec(spec, "", &context, loaded, message))
    return fail(message);
  mlir::FailureOr<mask::Pattern> pattern = buildMaskPattern(loaded.pattern);
  if (mlir::failed(pattern))
    return fail("the pattern has no reference semantics");
  if (backendName != "cpu")
    return fail("--backend " + backendName + ": sieve has no GPU chunk backend yet; it needs "
                "forward and backward kernels that take the global positions of their first "
                "query and first key (docs/context-parallel.md)", 2);
  const bool nccl = transportName == "nccl";
  if (!nccl && transportName != "inprocess")
    return fail("--transport must be inprocess or nccl");
  if (nccl && backendName == "cpu")
    return fail("--transport nccl moves device memory: it needs --backend gpu");
  ExchangeOptions eo;
  eo.seqLen = seqLen, eo.ranks = nccl ? world : ranks, eo.block = blockArg;
  if (!parseSharding(shardingArg, eo.sharding) || !parseSchedule(scheduleArg, eo.schedule) ||
      eo.schedule == Schedule::ring)
    return fail("--sharding: contiguous or zigzag; --schedule: auto, direct or doubling");
  std::vector<ExchangePlan> plans(2);
  if (Status s = planExchange(*pattern, eo, plans[0]); !s)
    return fail(s.message);
  eo.schedule = Schedule::ring; // the baseline, over the same shards
  if (Status s = planExchange(*pattern, eo, plans[1]); !s)
    return fail(s.message);

  std::mutex out;
  bool ok = true;
  auto one = [&](Transport &t) -> Status {
    CpuChunkBackend backend(*pattern);
    nlohmann::ordered_json line;
    Status s = runRank(*pattern, plans, t, backend, line);
    std::lock_guard<std::mutex> lock(out);
    if (s) {
      line["transport"] = transportName, line["backend"] = backendName;
      std::printf("%s\n", line.dump().c_str());
      ok = ok && (!line.contains("check") || line["check"]["ok"].get<bool>());
    }
    return s;
  };
  Status s;
  if (nccl) {
    std::unique_ptr<NcclTransport> t;
    s = ncclTransport(t);
    if (s)
      s = one(*t);
  } else {
    InProcessGroup group(ranks);
    s = group.run(one);
  }
  if (!s)
    return fail(s.message);
  return ok ? 0 : fail("the check failed");
}
