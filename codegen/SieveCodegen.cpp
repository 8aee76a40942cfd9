//===- SieveCodegen.cpp - CUDA source from a lowered plan -------*- C++ -*-===//
//
// Each node of the pattern becomes a boolean of mask() and the member
// functions may<i> and nms<i> of Rules: calls into SieveWalkRules.h with the
// node's parameters, the same mapping passes/SieveWalk.cpp makes on the host.
// The emitted code is plain enough to compile as host C++ too, which is how
// the tests compare it with the host walk and the reference evaluator.
//
//===----------------------------------------------------------------------===//

#include "codegen/SieveCodegen.h"
#include "dialect/SieveMaskFromIR.h"
#include "dialect/SieveOps.h"
#include "mlir/IR/SymbolTable.h"
#include "runtime/include/sieve/sieve_kernel_abi.h"

#include <cctype>
#include <climits>
#include <sstream>

using namespace sieve;
using namespace sieve::codegen;
using mask::Kind;

namespace {
#include "codegen/SieveKernelLibrary.inc"

const char *const kW = "sieve::walk::";

std::string num(int64_t v) { return std::to_string(v) + "LL"; }

/// A name as it may appear in a comment of generated code: identifier
/// characters only, so no name can end the comment.
std::string commentSafe(const std::string &name) {
  std::string out = name;
  for (char &c : out)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_'))
      c = '?';
  return out;
}

/// The C++ spelling of one predicate expression, node by node, in the
/// expression language's 64-bit semantics (dialect/SieveExprOps.h).
void emitPredicate(std::ostream &os, const expr::Expr &e, const std::string &name) {
  using expr::OpKind;
  for (size_t i = 0; i < e.nodes.size() && int(i) <= e.root; ++i) {
    const expr::Node &n = e.nodes[i];
    std::string l = name + "_" + std::to_string(n.lhs), r = name + "_" + std::to_string(n.rhs);
    auto call = [&](const char *fn) {
      return std::string("sieve::expr_ops::") + fn + "(" + l + ", " + r + ")";
    };
    os << "    const long long " << name << "_" << i << " = ";
    switch (n.kind) {
    case OpKind::Const: os << num(n.value); break;
    case OpKind::Var: os << expr::spelling(n.var); break;
    case OpKind::Neg: os << "sieve::expr_ops::neg(" << l << ")"; break;
    case OpKind::Not: os << "(" << l << " == 0)"; break;
    case OpKind::Add: os << call("add"); break;
    case OpKind::Sub: os << call("sub"); break;
    case OpKind::Mul: os << call("mul"); break;
    case OpKind::Div: os << call("div"); break;
    case OpKind::Rem: os << call("rem"); break;
    case OpKind::Shl: os << call("shl"); break;
    case OpKind::Shr: os << call("shr"); break;
    case OpKind::LAnd: os << "((" << l << " != 0) && (" << r << " != 0))"; break;
    case OpKind::LOr: os << "((" << l << " != 0) || (" << r << " != 0))"; break;
    default: os << "(long long)(" << l << " " << expr::spelling(n.kind) << " " << r << ")";
    }
    os << ";\n";
  }
}

/// The constants each leaf's element test compares with, in the difference
/// form of SieveWalkRules.h.
std::vector<int64_t> maskConstants(const mask::Node &n) {
  switch (n.kind) {
  case Kind::Causal: return {-n.a};
  case Kind::Sink:
  case Kind::Global:
  case Kind::Stride: return {n.a};
  case Kind::Window: return {0, n.a - 1};
  case Kind::Band: return {n.a, n.b};
  case Kind::Dilated: return {n.a, n.b};
  case Kind::LongNet: {
    std::vector<int64_t> v = n.segments;
    for (int64_t r : n.ratios)
      v.push_back(r - 1);
    return v;
  }
  default: return {};
  }
}

/// Whether the element mask is exact in 32-bit arithmetic: kernel positions
/// are below 2^31, so q, k, their blocks and the differences t = q - k and
/// d = qb - kb all fit; what remains is that every constant fits too.
bool fitsIn32Bits(const mask::Pattern &p) {
  for (const mask::Node &n : p.nodes)
    for (int64_t v : maskConstants(n))
      if (v <= INT32_MIN || v > INT32_MAX)
        return false;
  return true;
}

/// A constant of the mask's integer type T.
std::string lit(int64_t v) { return "T(" + num(v) + ")"; }

/// The element test of a leaf: its meaning, through SieveWalkRules.h.
std::string leafMask(const mask::Node &n) {
  const std::string w = std::string(kW);
  const std::string dist = n.unit == Unit::block ? "d" : "t";
  switch (n.kind) {
  case Kind::Full: return "true";
  case Kind::Causal: return w + "causal_has<T>(t, " + lit(-n.a) + ")";
  case Kind::Sink:
    return w + "below_has<T>(" + (n.unit == Unit::block ? "kb" : "k") + ", " + lit(n.a) + ")";
  case Kind::Global: {
    const char *q = n.unit == Unit::block ? "qb" : "q", *k = n.unit == Unit::block ? "kb" : "k";
    return "(" + w + "below_has<T>(" + k + ", " + lit(n.a) + ") | " + w + "below_has<T>(" + q +
           ", " + lit(n.a) + "))";
  }
  case Kind::Window: return w + "band_has<T>(" + dist + ", T(0), " + lit(n.a - 1) + ")";
  case Kind::Band: return w + "band_has<T>(" + dist + ", " + lit(n.a) + ", " + lit(n.b) + ")";
  case Kind::PowerOfTwo: return w + "power_has<T>(d)";
  case Kind::Stride: return w + "step_has<T>(d, " + lit(n.a) + ")";
  case Kind::Dilated: return w + "step_has<T>(d, " + lit(n.a) + ", " + lit(n.b) + ")";
  case Kind::LongNet: {
    std::string out = "(false";
    for (size_t i = 0; i < n.segments.size(); ++i)
      out += " | " + w + "longnet_has<T>(qb, kb, " + lit(n.segments[i]) + ", " +
             lit(n.ratios[i]) + ")";
    return out + ")";
  }
  default: return "false";
  }
}

void emitMask(std::ostream &os, const mask::Pattern &p) {
  const bool narrow = fitsIn32Bits(p);
  os << "  /// The element mask: the pattern's meaning at one (q, k), in "
     << (narrow ? "32" : "64") << "-bit arithmetic.\n"
     << "  static SIEVE_HD bool mask(long long q_, long long k_) {\n";
  if (narrow)
    os << "    typedef int T;\n    const T q = (T)q_, k = (T)k_;\n"
       << "    const T qb = (T)((unsigned)q / (unsigned)kBlockQ), kb = (T)((unsigned)k / "
          "(unsigned)kBlockK);\n";
  else
    os << "    typedef long long T;\n    const T q = q_, k = k_, qb = q / kBlockQ, kb = k / kBlockK;\n";
  os << "    const T d = qb - kb, t = q - k;\n    (void)q, (void)k, (void)qb, (void)kb, (void)d, (void)t;\n";
  for (size_t i = 0; i < p.nodes.size(); ++i) {
    const mask::Node &n = p.nodes[i];
    const std::string v = "m" + std::to_string(i);
    if (n.kind == Kind::Predicate) {
      os << "    bool " << v << ";\n    {\n"
         << "    const long long q = q_, k = k_, qb = q_ / kBlockQ, kb = k_ / kBlockK;\n"
         << "    const long long d = sieve::expr_ops::sub(qb, kb);\n    (void)d;\n";
      emitPredicate(os, n.predicate, "e" + std::to_string(i));
      os << "    " << v << " = e" << i << "_" << n.predicate.root << " != 0;\n    }\n";
      continue;
    }
    os << "    const bool " << v << " = ";
    if (n.kind == Kind::Union || n.kind == Kind::Intersect) {
      for (size_t o = 0; o < n.operands.size(); ++o)
        os << (o ? (n.kind == Kind::Union ? " | " : " & ") : "") << "m" << n.operands[o];
    } else if (n.kind == Kind::Not) {
      os << "!m" << n.operands[0];
    } else {
      os << leafMask(n);
    }
    os << ";\n";
  }
  os << "    return m" << p.root << ";\n  }\n\n";
}

/// A block rule's answer over the own blocks, in other positions.
std::string overBlocks(const std::string &body) {
  return std::string(kW) + "over_blocks(r, x, [&](long long b, long long y) { " + body + " })";
}

/// The may (nms = false) or nms answer of a leaf; the same mapping as
/// WalkRules::leafMay / leafNms in passes/SieveWalk.cpp.
std::string leafRule(const mask::Pattern &p, const mask::Node &n, bool nms) {
  const std::string w = kW, q = nms ? "_nms" : "_may";
  auto tokens = [&](int64_t block) { return n.unit == Unit::block ? n.a * block : n.a; };
  switch (n.kind) {
  case Kind::Full: return nms ? w + "kInf" : "x";
  case Kind::Predicate: return "x"; // may attend anything, never sure
  case Kind::Causal: return w + "token_band" + q + "<Tr>(r, x, " + num(-n.a) + ", " + w + "kInf)";
  case Kind::Sink: {
    const std::string s = num(tokens(p.blockK));
    return "(Tr ? " + w + "below" + q + "(r, x, " + s + ", -" + w + "kInf) : " + w + "below" + q +
           "(r, x, -" + w + "kInf, " + s + "))";
  }
  case Kind::Global: {
    const std::string gq = num(tokens(p.blockQ)), gk = num(tokens(p.blockK));
    return "(Tr ? " + w + "below" + q + "(r, x, " + gk + ", " + gq + ") : " + w + "below" + q +
           "(r, x, " + gq + ", " + gk + "))";
  }
  case Kind::Window:
  case Kind::Band: {
    const int64_t lo = n.kind == Kind::Window ? 0 : n.a, hi = n.kind == Kind::Window ? n.a - 1 : n.b;
    if (n.unit == Unit::token)
      return w + "token_band" + q + "<Tr>(r, x, " + num(lo) + ", " + num(hi) + ")";
    return overBlocks("return " + w + "block_band" + q + "<Tr>(b, y, " + num(lo) + ", " + num(hi) + ");");
  }
  case Kind::PowerOfTwo: return overBlocks("return " + w + "power" + q + "<Tr>(b, y);");
  case Kind::Stride:
  case Kind::Dilated: {
    const std::string window = n.kind == Kind::Stride ? w + "kInf" : num(n.b);
    return overBlocks("return " + w + "step" + q + "<Tr>(b, y, " + num(n.a) + ", " + window + ");");
  }
  case Kind::LongNet: {
    std::ostringstream body;
    if (!nms) {
      body << "long long best = " << w << "kInf;";
      for (size_t i = 0; i < n.segments.size(); ++i)
        body << " best = " << w << "min_(best, " << w << "longnet_may(b, y, " << num(n.segments[i])
             << ", " << num(n.ratios[i]) << "));";
      body << " return best;";
    } else {
      body << "const " << w << "i64 s[] = {";
      for (size_t i = 0; i < n.segments.size(); ++i)
        body << (i ? ", " : "") << num(n.segments[i]);
      body << "}, rr[] = {";
      for (size_t i = 0; i < n.ratios.size(); ++i)
        body << (i ? ", " : "") << num(n.ratios[i]);
      body << "}; return " << w << "longnet_nms(b, y, s, rr, " << n.segments.size()
           << ", r.other_end / r.other_block + 1);";
    }
    return overBlocks(body.str());
  }
  default: return "x";
  }
}

/// One callable per operand: `[this](long long y) { return may3(y); }, ...`.
std::string operandList(const std::vector<int> &ops, const char *fn) {
  std::string out;
  for (size_t i = 0; i < ops.size(); ++i)
    out += std::string(i ? ", " : "") + "[this](long long y) { return " + fn +
           std::to_string(ops[i]) + "(y); }";
  return out;
}

void emitRules(std::ostream &os, const mask::Pattern &p) {
  const std::string w = kW;
  os << "  /// The walk's answers for the own rows r (SieveWalkRules.h); Tr: the\n"
     << "  /// transposed walk (own rows are keys).\n"
     << "  template <bool Tr> struct Rules {\n"
     << "    " << w << "Rows r;\n"
     << "    SIEVE_HD explicit Rules(const " << w << "Rows &rows) : r(rows) {}\n"
     << "    SIEVE_HD long long may(long long x) const { return may" << p.root << "(x); }\n"
     << "    SIEVE_HD long long nms(long long x) const { return nms" << p.root << "(x); }\n";
  for (size_t i = 0; i < p.nodes.size(); ++i) {
    const mask::Node &n = p.nodes[i];
    for (bool nms : {false, true}) {
      const char *self = nms ? "nms" : "may";
      os << "    SIEVE_HD long long " << self << i << "(long long x) const { return ";
      if (n.kind == Kind::Not) {
        os << (nms ? "may" : "nms") << n.operands[0] << "(x)";
      } else if (n.kind == Kind::Union || n.kind == Kind::Intersect) {
        // may: a union takes the least, an intersection leapfrogs; nms the reverse.
        const bool least = (n.kind == Kind::Union) != nms;
        if (least)
          os << w << "least_of(x, " << operandList(n.operands, self) << ")";
        else
          os << w << "leapfrog_of(x, r.other_end, " << operandList(n.operands, self) << ")";
      } else {
        os << leafRule(p, n, nms);
      }
      os << "; }\n";
    }
  }
  os << "  };\n";
}

const char *templateName(const KernelVariant &v) {
  if (v.operation == Operation::Decode)
    return "sieve::dev::DecodeSm80";
  if (v.operation == Operation::Backward) {
    const std::string name = v.name;
    return name == "bwd-sm90-2wg"     ? "sieve::dev::BwdSm90TwoWg"
           : name == "bwd-sm90-wgmma" ? "sieve::dev::BwdSm90"
                                      : "sieve::dev::BwdSm80";
  }
  if (std::string(v.name) == "fwd-sm90-ws")
    return "sieve::dev::FwdSm90Ws";
  return std::string(v.name) == "fwd-sm90-wgmma" ? "sieve::dev::FwdSm90" : "sieve::dev::FwdSm80";
}
} // namespace

std::string codegen::walkLibrarySource() { return std::string(kSieveExprOps) + kSieveWalkRules; }

std::string codegen::emitPatternCode(const mask::Pattern &p, const std::string &ns) {
  std::ostringstream os;
  os << "namespace " << ns << " {\n"
     << "// Pattern @" << commentSafe(p.name) << ", block size [" << p.blockQ << ", " << p.blockK
     << "].\n"
     << "struct Pattern {\n"
     << "  static constexpr long long kBlockQ = " << num(p.blockQ) << ", kBlockK = "
     << num(p.blockK) << ";\n\n";
  emitMask(os, p);
  emitRules(os, p);
  os << "};\n}  // namespace " << ns << "\n";
  return os.str();
}

mlir::FailureOr<std::string> codegen::emitKernelSource(PlanOp plan, const KernelConfig &c) {
  if (plan.getDirection() != Direction::forward)
    return plan.emitError() << "a forward kernel needs a forward plan";
  llvm::ArrayRef<int64_t> tile = plan.getTile();
  if (tile[0] != c.tileQ || tile[1] != c.tileK)
    return plan.emitError() << "the plan's tile [" << tile[0] << ", " << tile[1]
                            << "] is not the kernel's [" << c.tileQ << ", " << c.tileK << "]";
  auto pattern = mlir::SymbolTable::lookupNearestSymbolFrom<PatternOp>(plan, plan.getPatternAttr());
  if (!pattern)
    return plan.emitError() << "walks no pattern named @" << plan.getPattern();
  mlir::FailureOr<mask::Pattern> m = buildMaskPattern(pattern);
  if (mlir::failed(m))
    return mlir::failure();

  const KernelVariant &v = *c.variant;
  std::ostringstream os;
  os << "// Generated by sieve for pattern @" << commentSafe(m->name) << ". Do not edit.\n"
     << "// Kernel " << v.name << " for " << c.target.str() << ": head dim " << c.headDim << ", "
     << dtypeName(c.dtype) << ", tiles " << c.tileQ << " x " << c.tileK << ", " << c.warps
     << " warps, " << c.stages << " stages.\n"
     << "// Plan @" << commentSafe(plan.getSymName().str()) << ": "
     << stringifyWalk(plan.getWalk()).str() << " walk.\n\n"
     << kSieveKernelAbi << "\n"
     << walkLibrarySource() << "\n"
     << kSieveTypes << "\n" << kSieveSoftmax << "\n" << kSieveMask << "\n" << kSieveTileQueue
     << "\n" << kSieveKvDense << "\n" << kSieveKvPaged << "\n" << kSieveSm80 << "\n";
  const bool wgmma = std::string(v.name) == "fwd-sm90-wgmma";
  const bool ws = std::string(v.name) == "fwd-sm90-ws";
  const bool decode = v.operation == Operation::Decode;
  if (wgmma)
    os << kSieveSwizzle << "\n" << kSieveSm90 << "\n" << kSieveFwdSm90 << "\n";
  else if (ws)
    os << kSieveSwizzle << "\n" << kSieveSm90 << "\n" << kSievePipeline << "\n" << kSieveMbarrier
       << "\n" << kSieveTma << "\n" << kSieveFwdSm90 << "\n" << kSieveFwdSm90Ws << "\n";
  else
    os << kSieveFwdSm80 << "\n";
  const bool backward = v.operation == Operation::Backward;
  if (decode)
    os << kSieveDecodeSm80 << "\n";
  if (backward)
    os << kSieveBwdWalk << "\n" << kSieveBwdSm80 << "\n";
  const bool bwdSm90 = std::string(v.name) == "bwd-sm90-wgmma";
  const bool bwdTwoWg = std::string(v.name) == "bwd-sm90-2wg";
  if (bwdSm90 || bwdTwoWg)
    os << kSieveSwizzle << "\n" << kSieveSm90 << "\n" << kSieveBwdSm90 << "\n";
  if (bwdTwoWg)
    os << kSieveBwdSm90TwoWg << "\n";
  os << emitPatternCode(*m) << "\n"
     << "struct SieveKernelConfig {\n"
     << "  using Elem = sieve::dev::" << (c.dtype == DType::FP16 ? "Fp16" : "Bf16") << ";\n"
     << "  static constexpr int kHeadDim = " << c.headDim << ", kTileQ = " << c.tileQ
     << ", kTileK = " << c.tileK << ";\n"
     << "  static constexpr int kWarps = " << c.warps << ", kStages = " << c.stages << ";\n";
  if (decode)
    os << "  static constexpr int kMinSplitTiles = " << c.minSplitTiles << ";\n";
  os << "};\n"
     << "using SieveKernel = " << templateName(v) << "<SieveKernelConfig, sieve_gen::Pattern"
     << (backward ? ""
                  : v.kvLayout == KvLayout::Paged ? ", sieve::dev::PagedKv" : ", sieve::dev::DenseKv")
     << ">;\n\n"
     << "extern \"C\" __constant__ sieve_launch_info sieve_launch = SieveKernel::launch_info();\n\n";
  const char *const bounds = "extern \"C\" __global__ void __launch_bounds__(SieveKernel::kThreads, "
                             "SieveKernel::kMinBlocks)\n";
  if (backward) {
    // Four entry points, one per step (sieve_kernel_abi.h, sieve_bwd_params).
    const std::pair<const char *, const char *> entries[] = {{SIEVE_BWD_PRE_ENTRY, "pre"},
                                                             {SIEVE_BWD_ENTRY, "run"},
                                                             {SIEVE_BWD_POST_ENTRY, "post"},
                                                             {SIEVE_BWD_DQ_ENTRY, "run_dq"}};
    // The main entry has kThreads; pre, post and dq kAuxThreads
    // (sieve_launch_info.aux_threads).
    for (auto [entry, fn] : entries)
      os << (entry == std::string(SIEVE_BWD_ENTRY)
                 ? bounds
                 : "extern \"C\" __global__ void __launch_bounds__(SieveKernel::kAuxThreads, 1)\n")
         << "    " << entry << "(const sieve_bwd_params p) {\n"
         << "  SieveKernel::" << fn << "(p);\n}\n\n";
    return os.str();
  }
  os << bounds;
  if (ws) {
    // The tensor maps (sieve_launch_info.tensor_maps) follow the params.
    os << "    sieve_attention_fwd(const sieve_fwd_params p,\n"
       << "                        const __grid_constant__ sieve::dev::sm90::TmaDesc tq,\n"
       << "                        const __grid_constant__ sieve::dev::sm90::TmaDesc tk,\n"
       << "                        const __grid_constant__ sieve::dev::sm90::TmaDesc tv) {\n"
       << "  SieveKernel::run(p, tq, tk, tv);\n}\n";
    return os.str();
  }
  if (!decode) {
    os << "    sieve_attention_fwd(const sieve_fwd_params p) {\n"
       << "  SieveKernel::run(p);\n}\n";
    return os.str();
  }
  os << "    sieve_attention_decode(const sieve_decode_params p) {\n"
     << "  SieveKernel::run(p);\n}\n\n"
     << "using SieveCombine = sieve::dev::DecodeCombine<SieveKernelConfig>;\n"
     << "extern \"C\" __global__ void __launch_bounds__(SieveCombine::kThreads)\n"
     << "    sieve_attention_combine(const sieve_decode_params p) {\n"
     << "  SieveCombine::run(p);\n}\n";
  return os.str();
}
