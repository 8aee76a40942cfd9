//===- SieveRun.cpp - `sieve run`: launch a pattern's kernel on the GPU -===//
//
// Compiles the pattern's forward kernel for the device (through the cache),
// fills q, k and v from files or random numbers, poisons the outputs, runs,
// and optionally checks rows against the CPU executor (reference/: fp64, the
// mask from the reference evaluator) and times repeated launches.
//
//===----------------------------------------------------------------------===//

#include "tools/sieve/SieveCommands.h"
#include "tools/sieve/SieveRunCommon.h"
#include "dialect/SieveMaskFromIR.h"
#include "passes/SieveTileClassifier.h"
#include "patterns/SieveSpec.h"
#include "reference/SieveCpuAttention.h"
#include "reference/SieveHalf.h"
#include "sieve/Attention.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/raw_ostream.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <random>

using namespace sieve;

namespace {
using u16 = uint16_t;

struct Tensor {
  std::vector<u16> host;
  void *device = nullptr;
};

Status fill(Tensor &t, size_t n, const std::string &file, bool bf16, uint64_t seed,
            uint64_t stream, const char *name) {
  t.host.resize(n);
  if (!file.empty()) {
    std::ifstream in(file, std::ios::binary | std::ios::ate);
    if (!in)
      return Status::error(std::string("cannot read --") + name + " file '" + file + "'");
    size_t bytes = size_t(in.tellg());
    if (bytes != n * 2)
      return Status::error(std::string("--") + name + " file '" + file + "' has " +
                           std::to_string(bytes) + " bytes; expected " + std::to_string(n * 2) +
                           " ([batch, heads, length, head_dim] of 16-bit elements)");
    in.seekg(0);
    in.read(reinterpret_cast<char *>(t.host.data()), std::streamsize(bytes));
  } else {
    cli::randomHalves(t.host, n, bf16, seed, stream);
  }
  if (Status s = deviceAlloc(n * 2, &t.device); !s)
    return s;
  return copyToDevice(t.device, t.host.data(), n * 2);
}
} // namespace

int cli::runRun(const RunOptions &given) {
  RunOptions o = given;
  if (o.kvHeads == 0)
    o.kvHeads = o.heads; // one K/V head per query head unless --kv-heads says otherwise
  if (o.backward)
    return runBackward(o);
  codegen::Operation op = codegen::Operation::Forward;
  codegen::KvLayout kv;
  if (const codegen::KernelVariant *v = codegen::findKernelVariant(o.kernel))
    op = v->operation;
  else
    codegen::parseOperationChoice(o.kernel, op, kv);
  if (op == codegen::Operation::Backward)
    return usageError("--kernel " + o.kernel + " is a backward kernel: it needs --backward");
  if (o.deterministic || o.headSplit || !o.doFile.empty() || !o.dqFile.empty() ||
      !o.dkFile.empty() || !o.dvFile.empty())
    return usageError("--deterministic, --head-split, --do, --dq, --dk and --dv need --backward");
  if (o.graph && !wantsDecode(o))
    return usageError("--graph captures a decode step: it needs --decode (or the decode layouts)");
  if ((o.splits != "auto" || o.combine != "auto") && !wantsDecode(o))
    return usageError("--splits and --combine are for decode: they need --decode (or the decode "
                      "layouts)");
  if (wantsDecode(o))
    return runDecode(o);
  if (!checkPatternFlag(o.spec, o.pattern))
    return kUsage;
  mlir::MLIRContext context;
  LoadedSpec spec;
  mask::Pattern m;
  if (!loadPattern(o.spec, o.pattern, context, spec, m))
    return 1;
  if (o.seqLen < 1)
    return usageError("--seq-len is required (or --seq-lens for a variable-length batch)");
  const int64_t kLen = o.seqLen, qLen = o.qLen ? o.qLen : o.seqLen;
  if (qLen > kLen)
    return usageError("--q-len " + std::to_string(qLen) + " exceeds --seq-len " +
                      std::to_string(kLen) + " (queries are aligned to the end of the keys)");
  if (o.heads % o.kvHeads != 0)
    return usageError("--heads (" + std::to_string(o.heads) +
                      ") must be a multiple of --kv-heads (" + std::to_string(o.kvHeads) + ")");
  DeviceInfo device;
  if (Status s = currentDevice(device); !s)
    return error("sieve run needs a GPU: " + s.message);

  // The same choice `sieve compile` makes for this device.
  api::CompileRequest request;
  if (Status s = compileRequest(o.arch, o.kernel, o.headDim, o.dtype, o.nvrtcOptions, request); !s)
    return error(s.message);
  api::CompileResult compiled;
  if (!o.cubinFile.empty()) {
    // A cubin made elsewhere (`sieve compile --emit cubin`, or by hand from
    // --emit cuda): checked and timed against this spec. Which variant it
    // is stays the caller's word; the table's choice is only reported.
    std::string error;
    std::optional<codegen::KernelConfig> config = codegen::chooseKernel(
        request.kernel, spec.pattern.getBlockQ(), spec.pattern.getBlockK(), error);
    if (!config)
      return cli::error(error);
    compiled.config = *config;
    std::ifstream in(o.cubinFile, std::ios::binary);
    if (!in)
      return cli::error("cannot read --cubin '" + o.cubinFile + "'");
    compiled.binary.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    compiled.from = "--cubin " + o.cubinFile;
  } else if (Status s = api::compilePattern(spec, request, compiled); !s) {
    return error(s.message);
  }
  const std::string &from = compiled.from;
  AttentionKernel kernel;
  if (Status s = AttentionKernel::load(compiled.binary, kernel); !s)
    return error(s.message);

  const bool bf16 = o.dtype == "bf16";
  AttentionArgs args;
  args.batch = o.batch, args.heads = o.heads, args.kvHeads = o.kvHeads;
  args.qLen = int(qLen), args.kLen = int(kLen), args.headDim = o.headDim;
  args.dtype = bf16 ? ElementType::BF16 : ElementType::FP16;
  args.setContiguousStrides();
  const size_t nq = size_t(o.batch) * o.heads * qLen * o.headDim;
  const size_t nkv = size_t(o.batch) * o.kvHeads * kLen * o.headDim;
  std::mt19937_64 rng(o.seed);
  Tensor q, k, v, out;
  for (Status s : {fill(q, nq, o.qFile, bf16, o.seed, 0, "q"),
                   fill(k, nkv, o.kFile, bf16, o.seed, 1, "k"),
                   fill(v, nkv, o.vFile, bf16, o.seed, 2, "v")})
    if (!s)
      return error(s.message);
  // Poison the outputs: anything the kernel does not write stays NaN.
  out.host.assign(nq, bf16 ? half::kBf16NaN : half::kFp16NaN);
  std::vector<float> lse(size_t(o.batch) * o.heads * qLen, NAN);
  void *lseDevice = nullptr;
  for (Status s : {deviceAlloc(nq * 2, &out.device), copyToDevice(out.device, out.host.data(), nq * 2),
                   deviceAlloc(lse.size() * 4, &lseDevice),
                   copyToDevice(lseDevice, lse.data(), lse.size() * 4)})
    if (!s)
      return error(s.message);
  args.q = q.device, args.k = k.device, args.v = v.device, args.o = out.device;
  args.lse = static_cast<float *>(lseDevice);

  for (Status s : {kernel.launch(args), deviceSynchronize(),
                   copyToHost(out.host.data(), out.device, nq * 2),
                   copyToHost(lse.data(), lseDevice, lse.size() * 4)})
    if (!s)
      return error(s.message);
  auto toFloat = [&](u16 x) { return bf16 ? half::bf16ToFloat(x) : half::fp16ToFloat(x); };
  int64_t nan = 0;
  for (u16 x : out.host)
    nan += std::isnan(toFloat(x));
  for (float x : lse)
    nan += std::isnan(x);

  nlohmann::ordered_json report = {
      {"pattern", m.name}, {"device", device.name}, {"arch", compiled.config.target.str()},
      {"kernel", compiled.config.variant->name},
      {"tiles", {compiled.config.tileQ, compiled.config.tileK}},
      {"kernel_from", from},      {"batch", o.batch},      {"heads", o.heads},
      {"kv_heads", o.kvHeads},    {"q_len", qLen},         {"k_len", kLen},
      {"head_dim", o.headDim},    {"dtype", o.dtype},      {"nan_or_unwritten", nan}};
  plan::TileClassifier tiles(m);
  const int64_t pairs = tiles.count(kLen - qLen, kLen - 1, 0, kLen - 1);
  report["attended_pairs"] = pairs;

  if (o.check) {
    // The CPU executor on every row when there are few, else on 256 sampled.
    const int64_t rows = int64_t(o.batch) * o.heads * qLen;
    std::vector<int64_t> sample;
    for (int64_t s = 0; rows > 4096 && s < 256; ++s)
      sample.push_back(int64_t(rng() % uint64_t(rows)));
    reference::Problem problem{o.batch, o.heads, o.kvHeads, int(qLen), int(kLen), o.headDim, 0};
    std::vector<float> qf(q.host.size()), kf(k.host.size()), vf(v.host.size()), ro, rl;
    for (auto [from, to] : {std::pair{&q.host, &qf}, {&k.host, &kf}, {&v.host, &vf}})
      std::transform(from->begin(), from->end(), to->begin(), toFloat);
    reference::forward(m, problem, qf, kf, vf, ro, rl, sample.empty() ? nullptr : &sample);
    double errSq = 0, refSq = 0, lseErr = 0;
    auto compareRow = [&](int64_t r) {
      const float gotLse = lse[size_t(r)], refLse = rl[size_t(r)];
      if (std::isinf(refLse))
        lseErr = std::max(lseErr, std::isinf(gotLse) && gotLse < 0 ? 0.0 : INFINITY);
      else
        lseErr = std::max(lseErr, std::abs(double(gotLse) - refLse));
      for (int d = 0; d < o.headDim; ++d) {
        const double ref = ro[size_t(r) * o.headDim + d];
        const double got = toFloat(out.host[size_t(r) * o.headDim + d]);
        errSq += (got - ref) * (got - ref);
        refSq += ref * ref;
      }
    };
    if (sample.empty())
      for (int64_t r = 0; r < rows; ++r)
        compareRow(r);
    for (int64_t r : sample)
      compareRow(r);
    double rel = refSq > 0 ? std::sqrt(errSq / refSq) : std::sqrt(errSq);
    report["checked_rows"] = sample.empty() ? rows : int64_t(sample.size());
    report["rel_err"] = rel;
    report["lse_max_abs_err"] = lseErr;
    report["check_passed"] = nan == 0 && rel <= (bf16 ? 1e-2 : 5e-3) && lseErr <= 5e-2;
  }
  if (o.repeat > 0) {
    double median = 0;
    if (Status s = medianLaunchMs([&] { return kernel.launch(args); }, o.repeat, median); !s)
      return error(s.message);
    report["median_ms"] = median;
    report["timing"] = kTimingMethod;
    report["tflops"] = 4.0 * o.batch * o.heads * o.headDim * double(pairs) / (median * 1e-3) / 1e12;
  }
  if (!o.outFile.empty()) {
    std::ofstream f(o.outFile, std::ios::binary);
    f.write(reinterpret_cast<const char *>(out.host.data()), std::streamsize(nq * 2));
    if (!f)
      return error("cannot write '" + o.outFile + "'");
  }
  if (!o.lseFile.empty()) { // float32 [batch, heads, q_len]
    std::ofstream f(o.lseFile, std::ios::binary);
    f.write(reinterpret_cast<const char *>(lse.data()), std::streamsize(lse.size() * 4));
    if (!f)
      return error("cannot write '" + o.lseFile + "'");
  }
  for (void *p : {q.device, k.device, v.device, out.device, lseDevice})
    deviceFree(p);
  printReport(report, o.json);
  bool failed = nan != 0 || (o.check && !report["check_passed"].get<bool>());
  if (failed)
    return error(std::string("the kernel's output ") +
                 (nan ? "has NaN or unwritten elements" : "does not match the reference"));
  return 0;
}
