//===- SieveCodegen.cpp - CUDA source for a pattern -------------*- C++ -*-===//
//
// Each node of the pattern becomes three things: a boolean in mask(), and the
// member functions may<i> and nms<i> of the Walk (SieveWalkLib.cuh explains
// them). The emitted code is plain enough to compile as host C++ too, which
// is how the tests check it against the reference evaluator.
//
//===----------------------------------------------------------------------===//

#include "codegen/SieveCodegen.h"

#include <sstream>

using namespace sieve;
using namespace sieve::codegen;
using mask::Kind;
using mask::Unit;

namespace {
#include "codegen/SieveTemplates.inc"

std::string num(int64_t v) { return std::to_string(v) + "LL"; }

/// The C++ spelling of one predicate expression, node by node.
void emitPredicate(std::ostream &os, const expr::Expr &e, const std::string &name) {
  using expr::OpKind;
  for (size_t i = 0; i < e.nodes.size() && int(i) <= e.root; ++i) {
    const expr::Node &n = e.nodes[i];
    std::string l = name + "_" + std::to_string(n.lhs), r = name + "_" + std::to_string(n.rhs);
    os << "  const long long " << name << "_" << i << " = ";
    switch (n.kind) {
    case OpKind::Const: os << num(n.value); break;
    case OpKind::Var: os << expr::spelling(n.var); break;
    case OpKind::Neg: os << "sieve_rt::neg(" << l << ")"; break;
    case OpKind::Not: os << "(" << l << " == 0)"; break;
    case OpKind::Add: os << "sieve_rt::add(" << l << ", " << r << ")"; break;
    case OpKind::Sub: os << "sieve_rt::sub(" << l << ", " << r << ")"; break;
    case OpKind::Mul: os << "sieve_rt::mul(" << l << ", " << r << ")"; break;
    case OpKind::Div: os << "sieve_rt::div(" << l << ", " << r << ")"; break;
    case OpKind::Rem: os << "sieve_rt::rem(" << l << ", " << r << ")"; break;
    case OpKind::Shl: os << "sieve_rt::shl(" << l << ", " << r << ")"; break;
    case OpKind::Shr: os << "sieve_rt::shr(" << l << ", " << r << ")"; break;
    case OpKind::LAnd: os << "((" << l << " != 0) && (" << r << " != 0))"; break;
    case OpKind::LOr: os << "((" << l << " != 0) || (" << r << " != 0))"; break;
    default: os << "(long long)(" << l << " " << expr::spelling(n.kind) << " " << r << ")";
    }
    os << ";\n";
  }
}

std::string distance(Unit u) { return u == Unit::Block ? "d" : "t"; }

const std::string &intLiteral(int64_t v, std::string &buf) { return buf = std::to_string(v); }
const std::string &longLiteral(int64_t v, std::string &buf) { return buf = num(v); }

/// Whether every constant the mask compares with fits in 32-bit arithmetic
/// with room for the sums it forms (q + offset, d % s).
bool fitsIn32Bits(const mask::Pattern &p) {
  const int64_t limit = int64_t(1) << 30;
  auto ok = [&](int64_t v) { return v > -limit && v < limit; };
  for (const mask::Node &n : p.nodes) {
    if (!ok(n.a) || !ok(n.b))
      return false;
    for (int64_t v : n.segments)
      if (!ok(v))
        return false;
    for (int64_t v : n.ratios)
      if (!ok(v))
        return false;
  }
  return true;
}

/// The element-mask expression of a leaf (the reference semantics), branch
/// free: comparisons combined with & and | on bools.
std::string leafMask(const mask::Node &n, const std::string &(*lit)(int64_t, std::string &)) {
  std::ostringstream os;
  std::string dist = distance(n.unit), buf1, buf2;
  auto c = [&](int64_t v) { std::string b; return lit(v, b); };
  switch (n.kind) {
  case Kind::Full: return "true";
  case Kind::Causal: os << "k <= q + " << c(n.a); break;
  case Kind::Sink: os << (n.unit == Unit::Block ? "kb" : "k") << " < " << c(n.a); break;
  case Kind::Window: os << "(" << dist << " >= 0) & (" << dist << " < " << c(n.a) << ")"; break;
  case Kind::Band:
    os << "(" << dist << " >= " << c(n.a) << ") & (" << dist << " <= " << c(n.b) << ")";
    break;
  case Kind::PowerOfTwo: return "(d >= 0) & ((d & (d - 1)) == 0)";
  case Kind::Stride: os << "(d >= 0) & (d % " << c(n.a) << " == 0)"; break;
  case Kind::Dilated:
    os << "(d >= 0) & (d < " << c(n.b) << ") & (d % " << c(n.a) << " == 0)";
    break;
  case Kind::LongNet:
    os << "false";
    for (size_t i = 0; i < n.segments.size(); ++i)
      os << " | (((qb ^ kb) < " << c(n.segments[i]) << ") & (((qb | kb) & "
         << c(n.ratios[i] - 1) << ") == 0))";
    break;
  case Kind::Global:
    if (n.unit == Unit::Block)
      os << "(kb < " << c(n.a) << ") | (qb < " << c(n.a) << ")";
    else
      os << "(k < " << c(n.a) << ") | (q < " << c(n.a) << ")";
    break;
  default: break;
  }
  return os.str();
}

/// Body of may<i> (nms = false) or nms<i> (nms = true) for a leaf.
std::string leafNext(const mask::Pattern &p, const mask::Node &n, bool nms) {
  std::ostringstream os;
  const char *range = nms ? "sieve_rt::range_nms" : "sieve_rt::range_may";
  auto blocks = [&](const std::string &rule) {
    os << "sieve_rt::blocks_next(x, qb0, qb1, kBlockK, [](long long qb, long long kb) { "
       << rule << " })";
  };
  switch (n.kind) {
  case Kind::Full: os << (nms ? "sieve_rt::kInf" : "x"); break;
  case Kind::Predicate: os << "x"; break; // may attend anything, never sure
  case Kind::Causal:
    os << range << "(x, 0, " << (nms ? "q0" : "q1") << " + " << num(n.a) << ")";
    break;
  case Kind::Sink: {
    int64_t s = n.unit == Unit::Block ? n.a * p.blockK : n.a;
    os << range << "(x, 0, " << num(s - 1) << ")";
    break;
  }
  case Kind::Global: {
    int64_t gq = n.unit == Unit::Block ? n.a * p.blockQ : n.a;
    int64_t gk = n.unit == Unit::Block ? n.a * p.blockK : n.a;
    os << "(" << (nms ? "q1" : "q0") << " < " << num(gq) << " ? "
       << (nms ? "sieve_rt::kInf" : "x") << " : " << range << "(x, 0, " << num(gk - 1) << "))";
    break;
  }
  case Kind::Window:
  case Kind::Band: {
    int64_t lo = n.kind == Kind::Window ? 0 : n.a;
    int64_t hi = n.kind == Kind::Window ? n.a - 1 : n.b;
    if (n.unit == Unit::Token) {
      // Keys [q - hi, q - lo]: some row may reach [q0 - hi, q1 - lo]; every
      // row surely reaches [q1 - hi, q0 - lo].
      os << range << "(x, " << (nms ? "q1" : "q0") << " - " << num(hi) << ", "
         << (nms ? "q0" : "q1") << " - " << num(lo) << ")";
      break;
    }
    blocks(std::string("return sieve_rt::band_") + (nms ? "nms" : "may") +
           "(qb, kb, " + num(lo) + ", " + num(hi) + ");");
    break;
  }
  case Kind::PowerOfTwo:
    blocks(std::string("return sieve_rt::power_") + (nms ? "nms" : "may") + "(qb, kb);");
    break;
  case Kind::Stride:
  case Kind::Dilated: {
    std::string s = num(n.a), w = n.kind == Kind::Stride ? "sieve_rt::kInf" : num(n.b);
    blocks(std::string("return sieve_rt::step_") + (nms ? "nms" : "may") + "(qb, kb, " +
           s + ", " + w + ");");
    break;
  }
  case Kind::LongNet: {
    std::ostringstream rule;
    if (!nms) {
      rule << "long long b = sieve_rt::kInf;";
      for (size_t i = 0; i < n.segments.size(); ++i)
        rule << " b = sieve_rt::min_(b, sieve_rt::longnet_may(qb, kb, "
             << num(n.segments[i]) << ", " << num(n.ratios[i]) << "));";
      rule << " return b;";
    } else {
      rule << "for (;; ++kb) { bool in = false;";
      for (size_t i = 0; i < n.segments.size(); ++i)
        rule << " in = in || sieve_rt::longnet_may(qb, kb, " << num(n.segments[i])
             << ", " << num(n.ratios[i]) << ") == kb;";
      rule << " if (!in) return kb; }";
    }
    blocks(rule.str());
    break;
  }
  default: break;
  }
  return os.str();
}

/// Body of a combinator's may/nms: the least answer, or a leapfrog to a key
/// that every operand answers with itself.
void combine(std::ostream &os, const std::vector<int> &ops, const char *fn, bool least) {
  if (least) {
    os << "    long long r = sieve_rt::kInf;\n";
    for (int o : ops)
      os << "    r = sieve_rt::min_(r, " << fn << o << "(x));\n";
    os << "    return r;\n";
    return;
  }
  os << "    for (;;) {\n      if (x >= sieve_rt::kInf) return sieve_rt::kInf;\n"
     << "      long long y = x;\n";
  for (int o : ops)
    os << "      y = sieve_rt::max_(y, " << fn << o << "(y));\n";
  os << "      if (y == x) return x;\n      x = y;\n    }\n";
}
} // namespace

KernelConfig codegen::defaultConfig(int headDim, DType dtype, const mask::Pattern &p,
                                    const std::string &arch) {
  KernelConfig c;
  c.headDim = headDim;
  c.dtype = dtype;
  if (arch == "sm_90a" && p.blockK % 64 == 0) {
    // Two warpgroups of 64 query rows; S = Q K^T is one m64nK wgmma chain.
    c.wgmma = true;
    c.tileQ = 128;
    c.warps = 8;
    c.tileK = p.blockK % 128 == 0 ? 128 : 64;
    return c;
  }
  // Measured on an H100 (bench/kernel_dev/NOTES.md): 4 warps, 128 x 64
  // tiles for head dim 128 (32 rows per warp), 64 x 64 for head dim 64.
  c.tileQ = headDim == 64 ? 64 : 128;
  c.tileK = 64;
  c.warps = 4;
  // A key tile that divides the key block keeps tags exact; 16 is the
  // smallest tile the kernel's mma layout takes.
  while (c.tileK > 16 && p.blockK % c.tileK != 0)
    c.tileK /= 2;
  return c;
}

std::string codegen::emitPatternCode(const mask::Pattern &p, int64_t tileK,
                                     const std::string &ns) {
  std::ostringstream os;
  os << "namespace " << ns << " {\n"
     << "// Pattern @" << p.name << ", block size [" << p.blockQ << ", " << p.blockK << "].\n"
     << "constexpr long long kBlockQ = " << num(p.blockQ) << ", kBlockK = " << num(p.blockK)
     << ", kTileK = " << num(tileK) << ";\n\n";
  os << "// Element mask: the reference semantics of the pattern.\n"
     << "__device__ __forceinline__ bool mask(long long q_, long long k_) {\n";
  // Positions are below 2^31 (lengths are int kernel arguments), so the mask
  // runs in 32-bit arithmetic unless a constant needs more.
  const bool narrow = fitsIn32Bits(p);
  if (narrow)
    os << "  const int q = (int)q_, k = (int)k_;\n"
       << "  const int qb = (int)((unsigned)q / (unsigned)kBlockQ), kb = (int)((unsigned)k / "
          "(unsigned)kBlockK);\n";
  else
    os << "  const long long q = q_, k = k_, qb = q / kBlockQ, kb = k / kBlockK;\n";
  os << "  const " << (narrow ? "int" : "long long") << " d = qb - kb, t = q - k;\n"
     << "  (void)qb, (void)kb, (void)d, (void)t;\n";
  for (size_t i = 0; i < p.nodes.size(); ++i) {
    const mask::Node &n = p.nodes[i];
    std::string v = "m" + std::to_string(i);
    if (n.kind == Kind::Predicate) {
      // The predicate language is defined on 64-bit integers.
      os << "  bool " << v << "_;\n  {\n"
         << "  const long long q = q_, k = k_, qb = q_ / kBlockQ, kb = k_ / kBlockK;\n";
      emitPredicate(os, n.predicate, "e" + std::to_string(i));
      os << "  " << v << "_ = e" << i << "_" << n.predicate.root << " != 0;\n  }\n"
         << "  const bool " << v << " = " << v << "_;\n";
      continue;
    }
    os << "  const bool " << v << " = ";
    if (n.kind == Kind::Union || n.kind == Kind::Intersect) {
      for (size_t o = 0; o < n.operands.size(); ++o)
        os << (o ? (n.kind == Kind::Union ? " | " : " & ") : "") << "m" << n.operands[o];
    } else if (n.kind == Kind::Not) {
      os << "!m" << n.operands[0];
    } else {
      os << "(" << leafMask(n, narrow ? intLiteral : longLiteral) << ")";
    }
    os << ";\n";
  }
  os << "  return m" << p.root << ";\n}\n\n";

  os << "struct Walk {\n"
     << "  long long q0, q1, qb0, qb1, k_len, cursor;\n"
     << "  long long full_until = 0;  // tiles below this one are surely attended\n"
     << "  __device__ Walk(long long q_begin, long long q_end, long long k_len_)\n"
     << "      : q0(q_begin), q1(q_end - 1), qb0(q_begin / kBlockQ),\n"
     << "        qb1((q_end > q_begin ? q_end - 1 : q_begin) / kBlockQ), k_len(k_len_),\n"
     << "        cursor(q_end > q_begin ? 0 : k_len_) {}\n\n";
  for (size_t i = 0; i < p.nodes.size(); ++i) {
    const mask::Node &n = p.nodes[i];
    for (bool nms : {false, true}) {
      const char *self = nms ? "nms" : "may";
      os << "  __device__ long long " << self << i << "(long long x) const {\n";
      if (n.kind == Kind::Not) {
        os << "    return " << (nms ? "may" : "nms") << n.operands[0] << "(x);\n";
      } else if (n.kind == Kind::Union || n.kind == Kind::Intersect) {
        // may: union takes the least, intersect leapfrogs; nms the reverse.
        bool least = (n.kind == Kind::Union) != nms;
        combine(os, n.operands, self, least);
      } else {
        os << "    return " << leafNext(p, n, nms) << ";\n";
      }
      os << "  }\n";
    }
  }
  os << "\n  /// The next attended key tile, ascending; false when there is none.\n"
     << "  __device__ bool next(int &tile, bool &full) {\n"
     << "    if (cursor < full_until) {  // inside a run of surely attended keys\n"
     << "      tile = (int)cursor++;\n      full = true;\n      return true;\n    }\n"
     << "    if (cursor * kTileK >= k_len) return false;\n"
     << "    const long long x = may" << p.root << "(cursor * kTileK);\n"
     << "    if (x >= k_len) { cursor = k_len; return false; }\n"
     << "    const long long j = x / kTileK;\n"
     << "    const long long last = sieve_rt::min_((j + 1) * kTileK, k_len) - 1;\n"
     << "    // Every key in [j * kTileK, e) is attended by every query row.\n"
     << "    const long long e = nms" << p.root << "(j * kTileK);\n"
     << "    full = e > last;\n"
     << "    if (full) full_until = e >= k_len ? (k_len + kTileK - 1) / kTileK : e / kTileK;\n"
     << "    tile = (int)j;\n    cursor = j + 1;\n    return true;\n  }\n};\n"
     << "}  // namespace " << ns << "\n";
  return os.str();
}

std::string codegen::emitPrelude(const mask::Pattern &p, const KernelConfig &c) {
  std::ostringstream os;
  os << "// Generated by sieve for pattern @" << p.name << ". Do not edit.\n"
     << "#define SIEVE_HEAD_DIM " << c.headDim << "\n"
     << (c.dtype == DType::BF16 ? "#define SIEVE_DTYPE_BF16 1\n" : "#define SIEVE_DTYPE_FP16 1\n")
     << "#define SIEVE_TILE_Q " << c.tileQ << "\n"
     << "#define SIEVE_TILE_K " << c.tileK << "\n"
     << "#define SIEVE_FWD_WARPS " << c.warps << "\n"
     << "#define SIEVE_GEN_PRELUDE 1\n"
     << walkLibrarySource() << "\n"
     << emitPatternCode(p, c.tileK);
  return os.str();
}

std::string codegen::emitForwardKernel(const mask::Pattern &p, const KernelConfig &c) {
  // sieve_mask_dump writes the element mask of every (query, key) pair: the
  // reference side of GPU checks uses exactly the mask the kernel applies.
  return emitPrelude(p, c) + "\n" + kSieveFwdCommon + "\n" + forwardTemplateSource(c.wgmma) +
         "\nextern \"C\" __global__ void sieve_mask_dump(unsigned char *out, long long q_len,\n"
         "                                              long long k_len) {\n"
         "  const long long row = blockIdx.y;\n"
         "  for (long long k = blockIdx.x * (long long)blockDim.x + threadIdx.x; k < k_len;\n"
         "       k += (long long)gridDim.x * blockDim.x)\n"
         "    out[row * k_len + k] = sieve_gen::mask(k_len - q_len + row, k) ? 1 : 0;\n"
         "}\n";
}

const char *codegen::walkLibrarySource() { return kSieveWalkLib; }
const char *codegen::forwardTemplateSource(bool wgmma) {
  return wgmma ? kSieveFwdSm90 : kSieveFwdSm80;
}
