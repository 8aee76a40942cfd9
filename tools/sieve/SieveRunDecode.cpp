//===- SieveRunDecode.cpp - `sieve run` for decode and its layouts -------===//
//
// The decode kernels over the inference layouts (variable-length batches,
// paged KV, split-KV), on the GPU or on the CPU executor (--device cpu).
// Layouts of the files (raw little-endian, row-major; docs/decode.md):
//   --q, --out   [total_q, heads, head_dim] of --dtype
//   --k, --v     [total_k, kv_heads, head_dim] (dense, packed), or with
//                --block-table the page pools [num_pages, page_size,
//                kv_heads, head_dim]
//   --block-table int32 [batch, max_pages]
//   --lse        float32 [total_q, heads]
// Without --block-table, --page-size pages the dense K and V through a
// random page permutation (with one spare page no sequence uses).
//
//===----------------------------------------------------------------------===//

#include "tools/sieve/SieveCommands.h"
#include "tools/sieve/SieveRunCommon.h"
#include "dialect/SieveMaskFromIR.h"
#include "patterns/SieveSpec.h"
#include "reference/SieveCpuDecode.h"
#include "reference/SieveHalf.h"
#include "sieve/Attention.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/raw_ostream.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <climits>
#include <cmath>
#include <fstream>
#include <numeric>
#include <random>
#include <sstream>

using namespace sieve;

namespace {
using u16 = uint16_t;

bool parseLengths(const std::string &text, std::vector<int> &out, std::string &why) {
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char *end = nullptr;
    const long long v = std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || *end || v < 1 || v > (1LL << 30)) {
      why = "--seq-lens takes positive lengths up to 2^30 separated by commas; '" + item +
            "' is not one";
      return false;
    }
    out.push_back(int(v));
  }
  if (out.empty() || out.size() > 65535) {
    why = "--seq-lens needs 1 to 65535 lengths";
    return false;
  }
  return true;
}

/// Reads a raw file of exactly `count` elements of `width` bytes, or of any
/// multiple of `unit` elements when count is 0 (the count is returned).
bool readRaw(const std::string &path, const char *flag, size_t width, size_t &count,
             std::vector<char> &bytes, std::string &why, const char *layout) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) {
    why = std::string("cannot read ") + flag + " file '" + path + "'";
    return false;
  }
  const size_t size = size_t(in.tellg());
  if ((count && size != count * width) || size % width != 0 || size == 0) {
    why = std::string(flag) + " file '" + path + "' has " + std::to_string(size) + " bytes; " +
          (count ? "expected " + std::to_string(count * width) : std::string("need whole elements")) +
          " (" + layout + ")";
    return false;
  }
  count = size / width;
  bytes.resize(size);
  in.seekg(0);
  in.read(bytes.data(), std::streamsize(size));
  return true;
}

struct Buffers {
  std::vector<void *> all;
  ~Buffers() {
    for (void *p : all)
      deviceFree(p);
  }
  Status upload(const void *host, size_t bytes, void *&device) {
    if (Status s = deviceAlloc(std::max<size_t>(bytes, 16), &device); !s)
      return s;
    all.push_back(device);
    return copyToDevice(device, host, bytes);
  }
};
} // namespace

bool cli::wantsDecode(const RunOptions &o) {
  return o.decode || !o.seqLens.empty() || o.pageSize || o.device != "gpu" ||
         o.kernel.rfind("decode", 0) == 0; // a decode variant, or "decode" / "decode-paged"
}

int cli::runDecode(const RunOptions &o) {
  if (!checkPatternFlag(o.spec, o.pattern))
    return kUsage;
  if (o.device != "gpu" && o.device != "cpu")
    return usageError("--device must be gpu or cpu, not '" + o.device + "'");
  if (!o.cubinFile.empty())
    return usageError("--cubin runs forward kernels; decode compiles its own");
  if (o.graph && o.device == "cpu")
    return usageError("--graph captures the GPU step; --device cpu has none");
  if (o.combine != "auto" && o.device == "cpu")
    return usageError("--combine is the GPU kernel's; the CPU executor combines on the host");
  if (o.device == "cpu" && (!o.kernel.empty() || !o.arch.empty() || !o.nvrtcOptions.empty() ||
                            o.repeat))
    return usageError("--device cpu runs the CPU executor: --kernel, --arch, --nvrtc-option and "
                      "--repeat are for the GPU kernels");
  if (o.pageSize && (o.pageSize < 16 || o.pageSize > 256 || o.pageSize % 16 != 0))
    return usageError("--page-size must be 16 to 256, a multiple of 16, not " +
                      std::to_string(o.pageSize));
  if (!o.blockTable.empty() && !o.pageSize)
    return usageError("--block-table needs --page-size");
  int splitsAsked = 0;
  if (o.splits != "auto") {
    char *end = nullptr;
    const long v = std::strtol(o.splits.c_str(), &end, 10);
    if (o.splits.empty() || *end || v < 1 || v > kMaxDecodeSplits)
      return usageError("--splits takes 1 to " + std::to_string(kMaxDecodeSplits) +
                        " or auto, not '" + o.splits + "'");
    splitsAsked = int(v);
  }
  if (o.combine == "fused" && splitsAsked == 1)
    return usageError("--combine fused merges splits; --splits 1 has none");
  if (o.heads % o.kvHeads != 0)
    return usageError("--heads (" + std::to_string(o.heads) + ") must be a multiple of --kv-heads (" +
                      std::to_string(o.kvHeads) + ")");
  if (!o.kernel.empty() && o.kernel.rfind("decode", 0) != 0)
    return usageError("--kernel " + o.kernel + " is a forward kernel; decode runs decode-sm80-mma "
                      "or decode-sm80-mma-paged");
  if (!o.kernel.empty()) {
    // A named kernel (or "decode" / "decode-paged") brings its KV layout;
    // the flags must ask for the same one.
    codegen::Operation op;
    codegen::KvLayout kv = codegen::KvLayout::Dense;
    if (const codegen::KernelVariant *v = codegen::findKernelVariant(o.kernel))
      kv = v->kvLayout;
    else
      codegen::parseOperationChoice(o.kernel, op, kv);
    if ((kv == codegen::KvLayout::Paged) != (o.pageSize != 0))
      return usageError("--kernel " + o.kernel + " reads " +
                        (o.pageSize ? "dense K and V, but --page-size asks for a paged cache"
                                    : "a paged KV cache: give --page-size (16-256)"));
  }

  // The batch: per-sequence key lengths, and the queries at their ends.
  reference::DecodeProblem prob;
  std::vector<int> kLens;
  std::string why;
  const bool varlen = !o.seqLens.empty();
  if (varlen) {
    if (!parseLengths(o.seqLens, kLens, why))
      return usageError(why);
  } else {
    if (o.seqLen < 1)
      return usageError("give --seq-len or --seq-lens");
    kLens.assign(size_t(o.batch), int(o.seqLen));
  }
  // Decode defaults to one query per sequence; a varlen or paged run
  // without --q-len is a prefill of every sequence's whole length.
  const bool oneQuery = o.decode || o.kernel.rfind("decode", 0) == 0;
  const int qLen = o.qLen ? int(o.qLen) : oneQuery ? 1 : INT32_MAX;
  for (int k : kLens) {
    if (o.qLen && !varlen && qLen > k)
      return usageError("--q-len " + std::to_string(qLen) + " exceeds --seq-len " + std::to_string(k) +
                        " (queries are aligned to the end of the keys)");
    prob.kLens.push_back(k);
    prob.qLens.push_back(std::min(qLen, k));
  }
  prob.heads = o.heads, prob.kvHeads = o.kvHeads, prob.headDim = o.headDim;
  const int batch = prob.batch();
  const int kMax = *std::max_element(kLens.begin(), kLens.end());
  const int qMax = *std::max_element(prob.qLens.begin(), prob.qLens.end());

  mlir::MLIRContext context;
  LoadedSpec spec;
  mask::Pattern m;
  if (!loadPattern(o.spec, o.pattern, context, spec, m))
    return 1;

  // Inputs: files or random numbers (16-bit elements).
  const bool bf16 = o.dtype == "bf16";
  auto toFloat = [&](u16 x) { return bf16 ? half::bf16ToFloat(x) : half::fp16ToFloat(x); };
  std::mt19937_64 rng(o.seed);
  // Random inputs (randomHalves: on every core; a 128K-key cache at 32
  // heads is a billion elements), streams 0, 1, 2 for q, k, v as in the
  // forward and backward, whichever come from files.
  auto make = [&](const std::string &file, const char *flag, size_t count, std::vector<u16> &out,
                  const char *layout) -> bool {
    if (file.empty()) {
      const std::string f = flag;
      randomHalves(out, count, bf16, o.seed, f == "--q" ? 0 : f == "--k" ? 1 : 2);
      return true;
    }
    std::vector<char> bytes;
    if (!readRaw(file, flag, 2, count, bytes, why, layout))
      return false;
    out.resize(count);
    std::memcpy(out.data(), bytes.data(), bytes.size());
    return true;
  };
  std::vector<u16> q, k, v;
  if (!make(o.qFile, "--q", prob.qElements(), q, "[total_q, heads, head_dim]"))
    return error(why);

  // Paged: a block table from the file, or a random permutation of pages.
  if (o.pageSize) {
    prob.pageSize = o.pageSize;
    int need = 0;
    for (int kl : kLens)
      need = std::max(need, (kl + o.pageSize - 1) / o.pageSize);
    if (!o.blockTable.empty()) {
      std::vector<char> bytes;
      size_t count = 0;
      if (!readRaw(o.blockTable, "--block-table", 4, count, bytes, why, "int32 [batch, max_pages]"))
        return error(why);
      if (count % size_t(batch))
        return error("--block-table has " + std::to_string(count) + " entries, not a multiple of the batch " +
                     std::to_string(batch));
      prob.maxPages = int(count / size_t(batch));
      prob.blockTable.resize(count);
      std::memcpy(prob.blockTable.data(), bytes.data(), bytes.size());
      // The pools' page count comes from the K file's size.
      const size_t pageElems = size_t(o.pageSize) * o.kvHeads * o.headDim;
      if (o.kFile.empty() || o.vFile.empty())
        return usageError("--block-table needs --k and --v page pools");
      std::ifstream kin(o.kFile, std::ios::binary | std::ios::ate);
      const size_t kBytes = kin ? size_t(kin.tellg()) : 0;
      if (!kin || kBytes == 0 || kBytes % (pageElems * 2))
        return error("--k '" + o.kFile + "' must hold whole pages of [page_size, kv_heads, head_dim]");
      prob.numPages = int(kBytes / (pageElems * 2));
      const std::string bad = prob.validate();
      if (!bad.empty())
        return error("--block-table: " + bad);
      for (auto [file, flag, out] : {std::tuple{&o.kFile, "--k", &k}, {&o.vFile, "--v", &v}})
        if (!make(*file, flag, size_t(prob.numPages) * pageElems, *out,
                  "[num_pages, page_size, kv_heads, head_dim]"))
          return error(why);
    } else {
      prob.maxPages = need;
      int pages = 0;
      for (int kl : kLens)
        pages += (kl + o.pageSize - 1) / o.pageSize;
      prob.numPages = pages + 1; // one spare page no sequence uses
      std::vector<int> perm(size_t(prob.numPages));
      std::iota(perm.begin(), perm.end(), 0);
      std::shuffle(perm.begin(), perm.end(), rng);
      prob.blockTable.assign(size_t(batch) * prob.maxPages, -1);
      int next = 0;
      for (int b = 0; b < batch; ++b)
        for (int j = 0; j < (kLens[size_t(b)] + o.pageSize - 1) / o.pageSize; ++j)
          prob.blockTable[size_t(b) * prob.maxPages + j] = perm[size_t(next++)];
      std::vector<u16> kd, vd;
      for (auto [file, flag, out] : {std::tuple{&o.kFile, "--k", &kd}, {&o.vFile, "--v", &vd}})
        if (!make(*file, flag, size_t(prob.totalK()) * o.kvHeads * o.headDim, *out,
                  "[total_k, kv_heads, head_dim]"))
          return error(why);
      // Page them (as 16-bit values: copy rows through the table).
      const size_t row = size_t(o.kvHeads) * o.headDim;
      const std::vector<int> cuK = prob.cuK();
      k.assign(size_t(prob.numPages) * o.pageSize * row, 0);
      v.assign(k.size(), 0);
      for (int b = 0; b < batch; ++b)
        for (int r = 0; r < kLens[size_t(b)]; ++r) {
          const size_t at = (size_t(prob.blockTable[size_t(b) * prob.maxPages + r / o.pageSize]) * o.pageSize +
                             size_t(r % o.pageSize)) * row;
          std::copy_n(kd.begin() + (cuK[size_t(b)] + r) * row, row, k.begin() + at);
          std::copy_n(vd.begin() + (cuK[size_t(b)] + r) * row, row, v.begin() + at);
        }
    }
  } else {
    for (auto [file, flag, out] : {std::tuple{&o.kFile, "--k", &k}, {&o.vFile, "--v", &v}})
      if (!make(*file, flag, prob.kvElements(), *out, "[total_k, kv_heads, head_dim]"))
        return error(why);
  }
  std::vector<float> qf(q.size()), kf(k.size()), vf(v.size());
  std::transform(q.begin(), q.end(), qf.begin(), toFloat);
  std::transform(k.begin(), k.end(), kf.begin(), toFloat);
  std::transform(v.begin(), v.end(), vf.begin(), toFloat);

  nlohmann::ordered_json report = {
      {"pattern", m.name}, {"device", o.device}, {"batch", batch},
      {"heads", o.heads},  {"kv_heads", o.kvHeads}, {"q_len", qMax},
      {"k_len", kMax},     {"varlen", varlen},      {"page_size", o.pageSize},
      {"head_dim", o.headDim}, {"dtype", o.dtype}};
  // K/V bytes the step must read: every key some query of its sequence
  // attends, K and V, all KV heads (the byte floor of a decode step).
  {
    mask::Evaluator eval(m);
    int64_t keys = 0;
    for (int b = 0; b < batch; ++b) {
      const int64_t kl = kLens[size_t(b)], ql = prob.qLens[size_t(b)];
      for (int64_t j = 0; j < kl; ++j)
        for (int64_t i = kl - ql; i < kl; ++i)
          if (eval(i, j)) {
            ++keys;
            break;
          }
    }
    report["attended_keys"] = keys;
    report["kv_bytes"] = keys * 2 * o.kvHeads * o.headDim * 2;
  }

  std::vector<u16> out16;
  std::vector<float> lse;
  if (o.device == "cpu") {
    prob.splits = splitsAsked ? splitsAsked : 1;
    std::vector<float> of;
    reference::decodeForward(m, prob, qf, kf, vf, of, lse);
    out16.resize(of.size());
    for (size_t i = 0; i < of.size(); ++i)
      out16[i] = bf16 ? half::floatToBf16(of[i]) : half::floatToFp16(of[i]);
    report["splits"] = prob.splits;
  } else {
    DeviceInfo device;
    if (Status s = currentDevice(device); !s)
      return error("sieve run needs a GPU (or --device cpu): " + s.message);
    api::CompileRequest request;
    if (Status s = compileRequest(o.arch, o.kernel, o.headDim, o.dtype, o.nvrtcOptions, request); !s)
      return error(s.message);
    request.kernel.operation = codegen::Operation::Decode;
    request.kernel.kvLayout = o.pageSize ? codegen::KvLayout::Paged : codegen::KvLayout::Dense;
    api::CompileResult compiled;
    if (Status s = api::compilePattern(spec, request, compiled); !s)
      return error(s.message);
    for (const std::string &w : compiled.warnings)
      warning(w);
    AttentionKernel kernel;
    if (Status s = AttentionKernel::load(compiled.binary, kernel); !s)
      return error(s.message);
    report["device"] = device.name;
    report["arch"] = compiled.config.target.str();
    report["kernel"] = compiled.config.variant->name;
    report["kernel_from"] = compiled.from;

    DecodeArgs a;
    a.batch = batch, a.heads = o.heads, a.kvHeads = o.kvHeads, a.qLen = qMax, a.kLen = kMax;
    a.headDim = o.headDim, a.dtype = bf16 ? ElementType::BF16 : ElementType::FP16;
    a.pageSize = prob.pageSize, a.maxPages = prob.maxPages, a.numPages = prob.numPages;
    a.splits = splitsAsked;
    Buffers buf;
    void *dq, *dk, *dv, *dout, *dlse;
    out16.assign(q.size(), bf16 ? half::kBf16NaN : half::kFp16NaN); // poisoned
    lse.assign(prob.lseElements(), NAN);
    for (Status s : {buf.upload(q.data(), q.size() * 2, dq), buf.upload(k.data(), k.size() * 2, dk),
                     buf.upload(v.data(), v.size() * 2, dv),
                     buf.upload(out16.data(), out16.size() * 2, dout),
                     buf.upload(lse.data(), lse.size() * 4, dlse)})
      if (!s)
        return error(s.message);
    a.q = dq, a.k = dk, a.v = dv, a.o = dout, a.lse = static_cast<float *>(dlse);
    // The int32 arrays: varlen lengths (packed K takes prefix sums, paged
    // K per-sequence lengths) and the block table.
    Status uploaded = Status::success();
    auto ints = [&](const std::vector<int> &host) -> const int32_t * {
      void *p = nullptr;
      if (uploaded)
        uploaded = buf.upload(host.data(), host.size() * 4, p);
      return static_cast<const int32_t *>(p);
    };
    if (varlen) {
      a.cuSeqlensQ = ints(prob.cuQ());
      a.totalQ = prob.totalQ();
      if (o.pageSize) {
        a.seqlensK = ints(prob.kLens);
      } else {
        a.cuSeqlensK = ints(prob.cuK());
        a.totalK = prob.totalK();
      }
    }
    if (o.pageSize)
      a.blockTable = ints(prob.blockTable);
    if (!uploaded)
      return error(uploaded.message);
    a.setContiguousStrides();
    int splits = 0;
    size_t wsBytes = 0;
    if (Status s = kernel.decodeWorkspace(a, splits, wsBytes); !s)
      return error(s.message);
    a.splits = splits;
    if (wsBytes) {
      if (Status s = deviceAlloc(wsBytes, &a.workspace); !s)
        return error(s.message);
      buf.all.push_back(a.workspace);
      a.workspaceBytes = wsBytes;
    }
    a.combine = o.combine == "fused"    ? DecodeArgs::Combine::Fused
                : o.combine == "kernel" ? DecodeArgs::Combine::Kernel
                                        : DecodeArgs::Combine::Auto;
    if (o.combine != "kernel" && splits > 1) {
      // Zeroed once; every launch (the timed and graph-replayed ones too)
      // leaves them zero.
      a.ticketCount = decodeTicketCount(a, kernel.info());
      const std::vector<uint32_t> zeros(size_t(a.ticketCount), 0u);
      void *tickets = nullptr;
      if (Status s = deviceAlloc(zeros.size() * 4, &tickets); !s)
        return error(s.message);
      buf.all.push_back(tickets);
      if (Status s = copyToDevice(tickets, zeros.data(), zeros.size() * 4); !s)
        return error(s.message);
      a.tickets = static_cast<uint32_t *>(tickets);
    }
    report["splits"] = splits;
    report["combine"] = splits == 1                                      ? "none"
                        : decodeFusesCombine(a, kernel.info(), splits) ? "fused"
                                                                       : "kernel";
    report["workspace_bytes"] = wsBytes;
    for (Status s : {kernel.launchDecode(a), deviceSynchronize(),
                     copyToHost(out16.data(), dout, out16.size() * 2),
                     copyToHost(lse.data(), dlse, lse.size() * 4)})
      if (!s)
        return error(s.message);
    if (o.repeat > 0) {
      double ms = 0;
      if (Status s = medianLaunchMs([&] { return kernel.launchDecode(a); }, o.repeat, ms); !s)
        return error(s.message);
      const double us = ms * 1e3;
      report["median_us"] = us;
      report["timing"] = kTimingMethod;
      report["kv_gb_per_s"] = report["kv_bytes"].get<int64_t>() / (us * 1e-6) / 1e9;
    }
    if (o.graph) {
      // The same step captured in a CUDA graph: on poisoned outputs it must
      // give the direct launch's bits, then it is timed like the launch.
      DeviceGraph graph;
      if (Status s = DeviceGraph::capture([&](void *stream) { return kernel.launchDecode(a, stream); },
                                          graph);
          !s)
        return error("capturing the decode step in a CUDA graph: " + s.message);
      std::vector<u16> again(out16.size(), bf16 ? half::kBf16NaN : half::kFp16NaN);
      // The poison must land before the graph's stream (which does not wait
      // on the default one) starts.
      for (Status s : {copyToDevice(dout, again.data(), again.size() * 2), deviceSynchronize(),
                       graph.launch(), deviceSynchronize(),
                       copyToHost(again.data(), dout, again.size() * 2)})
        if (!s)
          return error(s.message);
      const bool same = again == out16;
      report["graph_matches_direct"] = same;
      if (!same)
        return error("the graph-captured decode step's output differs from the direct launch's");
      if (o.repeat > 0) {
        double ms = 0;
        if (Status s = medianLaunchMs([&] { return graph.launch(); }, o.repeat, ms, graph.stream()); !s)
          return error(s.message);
        report["graph_median_us"] = ms * 1e3;
        report["graph_kv_gb_per_s"] = report["kv_bytes"].get<int64_t>() / (ms * 1e-3) / 1e9;
      }
    }
  }
  int64_t nan = 0;
  for (u16 x : out16)
    nan += std::isnan(toFloat(x));
  for (float x : lse)
    nan += std::isnan(x);
  report["nan_or_unwritten"] = nan;

  bool checkFailed = false;
  if (o.check) {
    // The CPU executor, unsplit, is the reference (for --device cpu this
    // checks the split and combine against it).
    reference::DecodeProblem ref = prob;
    ref.splits = 1;
    std::vector<float> ro, rl;
    reference::decodeForward(m, ref, qf, kf, vf, ro, rl);
    double errSq = 0, refSq = 0, lseErr = 0;
    for (size_t i = 0; i < ro.size(); ++i) {
      const double got = toFloat(out16[i]);
      errSq += (got - ro[i]) * (got - ro[i]);
      refSq += double(ro[i]) * ro[i];
    }
    for (size_t i = 0; i < rl.size(); ++i) {
      if (std::isinf(rl[i]))
        lseErr = std::max(lseErr, std::isinf(lse[i]) && lse[i] < 0 ? 0.0 : INFINITY);
      else
        lseErr = std::max(lseErr, std::abs(double(lse[i]) - rl[i]));
    }
    const double rel = refSq > 0 ? std::sqrt(errSq / refSq) : std::sqrt(errSq);
    report["checked_rows"] = prob.totalQ() * o.heads;
    report["rel_err"] = rel;
    report["lse_max_abs_err"] = lseErr;
    const bool passed = nan == 0 && rel <= (bf16 ? 1e-2 : 5e-3) && lseErr <= 5e-2;
    report["check_passed"] = passed;
    checkFailed = !passed;
  }
  auto writeBytes = [&](const std::string &path, const void *data, size_t bytes) {
    std::ofstream f(path, std::ios::binary);
    f.write(static_cast<const char *>(data), std::streamsize(bytes));
    return bool(f);
  };
  if (!o.outFile.empty() && !writeBytes(o.outFile, out16.data(), out16.size() * 2))
    return error("cannot write '" + o.outFile + "'");
  if (!o.lseFile.empty() && !writeBytes(o.lseFile, lse.data(), lse.size() * 4))
    return error("cannot write '" + o.lseFile + "'");
  printReport(report, o.json);
  if (nan && o.device == "gpu")
    return error("the kernel's output has NaN or unwritten elements");
  if (checkFailed)
    return error("the output does not match the reference");
  return 0;
}
