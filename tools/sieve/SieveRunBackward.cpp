//===- SieveRunBackward.cpp - `sieve run --backward` ----------------------===//
//
// The backward pass of a pattern: the forward kernel makes o and lse, the
// backward kernels dq, dk and dv from them and dO (a file or random); on
// the CPU (--device cpu) the reference forward and backward do the same.
// --check compares the gradients with the reference's (fp64 accumulation,
// the mask from the reference evaluator). Files are raw little-endian,
// row-major, of --dtype (lse: float32):
//   --q, --do, --dq, --out   [batch, heads, q_len, head_dim]
//   --k, --v, --dk, --dv     [batch, kv_heads, seq_len, head_dim]
//   --lse                    [batch, heads, q_len]
//
//===----------------------------------------------------------------------===//

#include "tools/sieve/SieveCommands.h"
#include "tools/sieve/SieveRunCommon.h"
#include "dialect/SieveMaskFromIR.h"
#include "passes/SieveTileClassifier.h"
#include "patterns/SieveSpec.h"
#include "reference/SieveCpuAttention.h"
#include "reference/SieveCpuChunks.h"
#include "reference/SieveHalf.h"
#include "sieve/Attention.h"
#include "mlir/IR/MLIRContext.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <fstream>

using namespace sieve;

namespace {
using u16 = uint16_t;

/// A 16-bit tensor: read from `file` (exactly n elements) or random
/// (randomHalves, stream `stream`).
bool input(std::vector<u16> &t, size_t n, const std::string &file, bool bf16, uint64_t seed,
           uint64_t stream, const char *flag, const char *layout, std::string &why) {
  if (file.empty()) {
    cli::randomHalves(t, n, bf16, seed, stream);
    return true;
  }
  t.resize(n);
  std::ifstream in(file, std::ios::binary | std::ios::ate);
  if (!in) {
    why = std::string("cannot read ") + flag + " file '" + file + "'";
    return false;
  }
  const size_t bytes = size_t(in.tellg());
  if (bytes != n * 2) {
    why = std::string(flag) + " file '" + file + "' has " + std::to_string(bytes) +
          " bytes; expected " + std::to_string(n * 2) + " (" + layout + " of 16-bit elements)";
    return false;
  }
  in.seekg(0);
  in.read(reinterpret_cast<char *>(t.data()), std::streamsize(bytes));
  return true;
}

bool writeRaw(const std::string &path, const void *data, size_t bytes) {
  if (path.empty())
    return true;
  std::ofstream f(path, std::ios::binary);
  f.write(static_cast<const char *>(data), std::streamsize(bytes));
  return bool(f);
}

/// Device buffers freed together.
struct Buffers {
  std::vector<void *> all;
  ~Buffers() {
    for (void *p : all)
      deviceFree(p);
  }
  Status alloc(size_t bytes, void *&device) {
    if (Status s = deviceAlloc(std::max<size_t>(bytes, 16), &device); !s)
      return s;
    all.push_back(device);
    return Status::success();
  }
  Status upload(const void *host, size_t bytes, void *&device) {
    if (Status s = alloc(bytes, device); !s)
      return s;
    return copyToDevice(device, host, bytes);
  }
};

/// ||got - want|| / ||want|| over a tensor (the absolute norm when want is 0).
double relativeError(const std::vector<float> &got, const std::vector<float> &want) {
  double err = 0, ref = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    err += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
    ref += double(want[i]) * want[i];
  }
  return ref > 0 ? std::sqrt(err / ref) : std::sqrt(err);
}
} // namespace

int cli::runBackward(const RunOptions &o) {
  if (!checkPatternFlag(o.spec, o.pattern))
    return kUsage;
  if (o.device != "gpu" && o.device != "cpu")
    return usageError("--device must be gpu or cpu, not '" + o.device + "'");
  if (o.decode || !o.seqLens.empty() || o.pageSize || !o.blockTable.empty())
    return usageError("--backward takes the batched layout; --decode, --seq-lens, --page-size "
                      "and --block-table are for decode");
  if (!o.cubinFile.empty())
    return usageError("--cubin runs forward kernels; --backward compiles its own");
  if (o.graph)
    return usageError("--graph captures a decode step; it is not for --backward");
  if (o.splits != "auto" || o.combine != "auto")
    return usageError("--splits and --combine are for decode; --backward does not split");
  if (o.device == "cpu" && (!o.kernel.empty() || !o.arch.empty() || !o.nvrtcOptions.empty()))
    return usageError("--device cpu runs the reference: --kernel, --arch and --nvrtc-option are "
                      "for the GPU kernels");
  if (o.seqLen < 1)
    return usageError("--seq-len is required");
  const int64_t kLen = o.seqLen, qLen = o.qLen ? o.qLen : o.seqLen;
  if (qLen > kLen)
    return usageError("--q-len " + std::to_string(qLen) + " exceeds --seq-len " +
                      std::to_string(kLen) + " (queries are aligned to the end of the keys)");
  if (o.heads % o.kvHeads != 0)
    return usageError("--heads (" + std::to_string(o.heads) + ") must be a multiple of --kv-heads (" +
                      std::to_string(o.kvHeads) + ")");
  if (o.device == "cpu" && (o.repeat || o.check || o.deterministic || o.headSplit))
    return usageError("--device cpu runs the reference itself: --check, --repeat, "
                      "--deterministic and --head-split are for the GPU kernels");
  mlir::MLIRContext context;
  LoadedSpec spec;
  mask::Pattern m;
  if (!loadPattern(o.spec, o.pattern, context, spec, m))
    return 1;

  const bool bf16 = o.dtype == "bf16";
  const size_t nq = size_t(o.batch) * o.heads * qLen * o.headDim;
  const size_t nkv = size_t(o.batch) * o.kvHeads * kLen * o.headDim;
  const size_t rows = size_t(o.batch) * o.heads * qLen;
  std::vector<u16> q, k, v, dO;
  std::string why;
  const char *qLayout = "[batch, heads, q_len, head_dim]";
  const char *kLayout = "[batch, kv_heads, seq_len, head_dim]";
  if (!input(q, nq, o.qFile, bf16, o.seed, 0, "--q", qLayout, why) ||
      !input(k, nkv, o.kFile, bf16, o.seed, 1, "--k", kLayout, why) ||
      !input(v, nkv, o.vFile, bf16, o.seed, 2, "--v", kLayout, why) ||
      !input(dO, nq, o.doFile, bf16, o.seed, 3, "--do", qLayout, why))
    return error(why);
  auto toFloat = [&](u16 x) { return bf16 ? half::bf16ToFloat(x) : half::fp16ToFloat(x); };
  auto toElem = [&](float x) { return bf16 ? half::floatToBf16(x) : half::floatToFp16(x); };
  auto floats = [&](const std::vector<u16> &t) {
    std::vector<float> f(t.size());
    std::transform(t.begin(), t.end(), f.begin(), toFloat);
    return f;
  };
  auto elems = [&](const std::vector<float> &t) {
    std::vector<u16> e(t.size());
    std::transform(t.begin(), t.end(), e.begin(), toElem);
    return e;
  };
  const reference::Problem problem{o.batch, o.heads, o.kvHeads, int(qLen), int(kLen), o.headDim, 0};
  plan::TileClassifier tiles(m);
  const int64_t pairs = tiles.count(kLen - qLen, kLen - 1, 0, kLen - 1);
  nlohmann::ordered_json report = {
      {"pattern", m.name}, {"operation", "backward"}, {"batch", o.batch}, {"heads", o.heads},
      {"kv_heads", o.kvHeads}, {"q_len", qLen}, {"k_len", kLen}, {"head_dim", o.headDim},
      {"dtype", o.dtype}, {"attended_pairs", pairs}};

  // The reference: forward (o, lse) and gradients, from the rounded inputs.
  std::vector<float> ro, rl, rdq, rdk, rdv;
  auto reference = [&] {
    const std::vector<float> qf = floats(q), kf = floats(k), vf = floats(v), dOf = floats(dO);
    reference::forward(m, problem, qf, kf, vf, ro, rl);
    reference::backward(m, problem, qf, kf, vf, ro, rl, dOf, rdq, rdk, rdv);
  };
  auto writeAll = [&](const std::vector<u16> &out, const std::vector<float> &lse,
                      const std::vector<u16> &dq, const std::vector<u16> &dk,
                      const std::vector<u16> &dv) -> int {
    const std::pair<const std::string *, const std::vector<u16> *> files[] = {
        {&o.outFile, &out}, {&o.dqFile, &dq}, {&o.dkFile, &dk}, {&o.dvFile, &dv}};
    for (auto [path, data] : files)
      if (!writeRaw(*path, data->data(), data->size() * 2))
        return error("cannot write '" + *path + "'");
    if (!writeRaw(o.lseFile, lse.data(), lse.size() * 4))
      return error("cannot write '" + o.lseFile + "'");
    return 0;
  };

  if (o.device == "cpu") {
    reference();
    report["device"] = "cpu (reference)";
    printReport(report, o.json);
    return writeAll(elems(ro), rl, elems(rdq), elems(rdk), elems(rdv));
  }

  DeviceInfo device;
  if (Status s = currentDevice(device); !s)
    return error("sieve run needs a GPU (or --device cpu): " + s.message);
  // The forward kernel is the table's choice; --kernel names the backward's.
  api::CompileRequest fwdRequest, bwdRequest;
  if (Status s = compileRequest(o.arch, "", o.headDim, o.dtype, o.nvrtcOptions, fwdRequest); !s)
    return error(s.message);
  if (Status s = compileRequest(o.arch, o.kernel, o.headDim, o.dtype, o.nvrtcOptions, bwdRequest); !s)
    return error(s.message);
  bwdRequest.kernel.operation = codegen::Operation::Backward;
  bwdRequest.kernel.deterministic = o.deterministic;  // the choice, when --kernel names none
  api::CompileResult fwdCompiled, bwdCompiled;
  if (Status s = api::compilePattern(spec, fwdRequest, fwdCompiled); !s)
    return error(s.message);
  if (Status s = api::compilePattern(spec, bwdRequest, bwdCompiled); !s)
    return error(s.message);
  if (bwdCompiled.config.variant->operation != codegen::Operation::Backward)
    return usageError(std::string("--kernel ") + bwdCompiled.config.variant->name +
                      " is not a backward kernel (see `sieve list --kernels`)");
  for (const std::string &w : bwdCompiled.warnings)
    warning(w);
  AttentionKernel fwd, bwd;
  if (Status s = AttentionKernel::load(fwdCompiled.binary, fwd); !s)
    return error(s.message);
  if (Status s = AttentionKernel::load(bwdCompiled.binary, bwd); !s)
    return error(s.message);
  report["device"] = device.name;
  report["arch"] = bwdCompiled.config.target.str();
  report["forward_kernel"] = fwdCompiled.config.variant->name;
  report["kernel"] = bwdCompiled.config.variant->name;
  report["deterministic"] = o.deterministic;

  Buffers buf;
  AttentionArgs fa;
  fa.batch = o.batch, fa.heads = o.heads, fa.kvHeads = o.kvHeads;
  fa.qLen = int(qLen), fa.kLen = int(kLen), fa.headDim = o.headDim;
  fa.dtype = bf16 ? ElementType::BF16 : ElementType::FP16;
  fa.setContiguousStrides();
  BackwardArgs ba;
  ba.batch = fa.batch, ba.heads = fa.heads, ba.kvHeads = fa.kvHeads;
  ba.qLen = fa.qLen, ba.kLen = fa.kLen, ba.headDim = fa.headDim, ba.dtype = fa.dtype;
  ba.deterministic = o.deterministic;
  ba.headSplit = o.headSplit;
  ba.setContiguousStrides();
  // Poisoned outputs: anything a kernel does not write stays NaN.
  const u16 nan16 = bf16 ? half::kBf16NaN : half::kFp16NaN;
  std::vector<u16> out(nq, nan16), dq(nq, nan16), dk(nkv, nan16), dv(nkv, nan16);
  std::vector<float> lse(rows, NAN);
  void *q_, *k_, *v_, *dO_, *o_, *lse_, *dq_, *dk_, *dv_, *ws;
  ba.workspaceBytes = backwardWorkspaceBytes(ba, bwd.info());
  report["head_split"] = backwardHeadSplit(ba, bwd.info());
  for (Status s : {buf.upload(q.data(), nq * 2, q_), buf.upload(k.data(), nkv * 2, k_),
                   buf.upload(v.data(), nkv * 2, v_), buf.upload(dO.data(), nq * 2, dO_),
                   buf.upload(out.data(), nq * 2, o_), buf.upload(lse.data(), rows * 4, lse_),
                   buf.upload(dq.data(), nq * 2, dq_), buf.upload(dk.data(), nkv * 2, dk_),
                   buf.upload(dv.data(), nkv * 2, dv_), buf.alloc(ba.workspaceBytes, ws)})
    if (!s)
      return error(s.message);
  fa.q = q_, fa.k = k_, fa.v = v_, fa.o = o_, fa.lse = static_cast<float *>(lse_);
  ba.q = q_, ba.k = k_, ba.v = v_, ba.o = o_, ba.dO = dO_, ba.lse = fa.lse;
  ba.dq = dq_, ba.dk = dk_, ba.dv = dv_, ba.workspace = ws;
  auto download = [&] {
    for (Status s : {deviceSynchronize(), copyToHost(out.data(), o_, nq * 2),
                     copyToHost(lse.data(), lse_, rows * 4), copyToHost(dq.data(), dq_, nq * 2),
                     copyToHost(dk.data(), dk_, nkv * 2), copyToHost(dv.data(), dv_, nkv * 2)})
      if (!s)
        return s;
    return Status::success();
  };
  for (Status s : {fwd.launch(fa), bwd.launchBackward(ba), download()})
    if (!s)
      return error(s.message);
  int64_t nan = 0;
  for (const std::vector<u16> *t : {&dq, &dk, &dv})
    for (u16 x : *t)
      nan += std::isnan(toFloat(x));
  report["nan_or_unwritten"] = nan;

  bool passed = nan == 0;
  if (o.check) {
    reference();
    const double tol = bf16 ? 1e-2 : 5e-3;
    const std::pair<const char *, std::pair<const std::vector<u16> *, const std::vector<float> *>>
        grads[] = {{"dq", {&dq, &rdq}}, {"dk", {&dk, &rdk}}, {"dv", {&dv, &rdv}}};
    for (auto [name, t] : grads) {
      const double rel = relativeError(floats(*t.first), *t.second);
      report[std::string(name) + "_rel_err"] = rel;
      passed &= rel <= tol;
    }
    report["o_rel_err"] = relativeError(floats(out), ro);
    if (o.deterministic) {
      // The same launch again must give the same bits.
      const std::vector<u16> dq1 = dq, dk1 = dk, dv1 = dv;
      for (Status s : {bwd.launchBackward(ba), download()})
        if (!s)
          return error(s.message);
      const bool same = dq == dq1 && dk == dk1 && dv == dv1;
      report["bitwise_repeatable"] = same;
      passed &= same;
    }
    report["check_passed"] = passed;
  }
  if (o.repeat > 0) {
    double median = 0;
    if (Status s = medianLaunchMs([&] { return bwd.launchBackward(ba); }, o.repeat, median); !s)
      return error(s.message);
    report["median_ms"] = median;
    report["timing"] = kTimingMethod;
    // Five matmuls over the attended pairs (S again, dP, dV, dK, dQ): 2.5x
    // the forward's 4 * pairs * head_dim per head.
    report["tflops"] =
        10.0 * o.batch * o.heads * o.headDim * double(pairs) / (median * 1e-3) / 1e12;
  }
  printReport(report, o.json);
  if (int rc = writeAll(out, lse, dq, dk, dv))
    return rc;
  if (!passed)
    return error(nan ? "the gradients have NaN or unwritten elements"
                     : "the gradients do not match the reference");
  return 0;
}
