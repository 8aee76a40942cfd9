//===- SieveJsonImporter.cpp - JSON spec format v1 -> sieve IR --*- C++ -*-===//
//
// A strict importer: every key is known, every number is an integer in range,
// and every error names its JSON pointer and what was expected. The checks
// mirror the op verifiers (SieveLimits.h) so that an accepted spec verifies;
// the module is still verified at the end as a second line of defence.
//
//===----------------------------------------------------------------------===//

#include "patterns/SieveJsonImporter.h"
#include "dialect/SieveLimits.h"
#include "dialect/SieveOps.h"
#include "patterns/SieveBuiltins.h"
#include "patterns/SieveJsonReader.h"
#include "patterns/SievePredicateBuilder.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"

#include <optional>

using namespace mlir;
using namespace sieve;
using nlohmann::json;

namespace {
class Importer {
public:
  Importer(MLIRContext *ctx, std::string_view fileName, SpecError &error)
      : ctx(ctx), builder(ctx), fileName(fileName), error(error) {}

  OwningOpRef<ModuleOp> run(const json &doc);

private:
  MLIRContext *ctx;
  OpBuilder builder;
  std::string fileName;
  SpecError &error;
  /// Masks built so far: import stops as soon as the pattern is too large.
  int64_t masks = 0;

  bool fail(const std::string &ptr, std::string message) {
    error.where = "at " + (ptr.empty() ? std::string("/") : ptr);
    error.message = std::move(message);
    return false;
  }
  Location loc(const std::string &ptr) {
    return NameLoc::get(StringAttr::get(ctx, ptr.empty() ? "/" : ptr),
                        FileLineColLoc::get(ctx, fileName, 1, 1));
  }

  std::optional<int64_t> integer(const json &v, const std::string &ptr,
                                 int64_t lo, int64_t hi);
  bool checkKeys(const json &obj, const std::string &ptr,
                 std::initializer_list<const char *> allowed,
                 std::initializer_list<const char *> required);
  bool blockSize(const json &doc, int64_t &bq, int64_t &bk);
  bool header(const json &doc, std::string &name, int64_t &bq, int64_t &bk);
  Value mask(const json &v, const std::string &ptr, int depth);
  Value maskObject(const std::string &key, const json &body,
                   const std::string &ptr, int depth);
  Value unitCount(const std::string &key, const json &body,
                  const std::string &ptr);
  Value combinator(const std::string &key, const json &body,
                   const std::string &ptr, int depth);
  Value longNet(const json &body, const std::string &ptr);
  Value predicate(const json &body, const std::string &ptr);
  bool builtinArgs(const Builtin &b, const json &doc, BuiltinArgs &args);
};
} // namespace

std::optional<int64_t> Importer::integer(const json &v, const std::string &ptr,
                                         int64_t lo, int64_t hi) {
  std::string range = "an integer in [" + std::to_string(lo) + ", " +
                      std::to_string(hi) + "]";
  if (!v.is_number_integer()) {
    fail(ptr, "expected " + range + " but found " + jsonio::describe(v));
    return std::nullopt;
  }
  if (v.is_number_unsigned() &&
      v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    fail(ptr, "expected " + range + " but found " + jsonio::describe(v));
    return std::nullopt;
  }
  int64_t x = v.get<int64_t>();
  if (x < lo || x > hi) {
    fail(ptr, "expected " + range + " but found " + std::to_string(x));
    return std::nullopt;
  }
  return x;
}

bool Importer::checkKeys(const json &obj, const std::string &ptr,
                         std::initializer_list<const char *> allowed,
                         std::initializer_list<const char *> required) {
  std::string list;
  for (const char *k : allowed)
    list += std::string(list.empty() ? "" : ", ") + "\"" + k + "\"";
  if (!obj.is_object())
    return fail(ptr, "expected an object with keys " + list + " but found " +
                         jsonio::describe(obj));
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool known = false;
    for (const char *k : allowed)
      known |= it.key() == k;
    if (!known)
      return fail(jsonio::child(ptr, it.key()),
                  "unknown key \"" + it.key() + "\"; expected one of " + list);
  }
  for (const char *k : required)
    if (!obj.contains(k))
      return fail(ptr, std::string("missing key \"") + k + "\"");
  return true;
}

bool Importer::blockSize(const json &doc, int64_t &bq, int64_t &bk) {
  bq = bk = 256;
  if (!doc.contains("block_size"))
    return true;
  const json &v = doc["block_size"];
  std::string ptr = "/block_size";
  if (v.is_array()) {
    if (v.size() != 2)
      return fail(ptr, "expected [block_q, block_k] but found an array of " +
                           std::to_string(v.size()) + " elements");
    auto q = integer(v[0], ptr + "/0", 1, limits::kMaxBlockSize);
    auto k = q ? integer(v[1], ptr + "/1", 1, limits::kMaxBlockSize)
               : std::nullopt;
    if (!k)
      return false;
    bq = *q, bk = *k;
    return true;
  }
  if (!v.is_number_integer())
    return fail(ptr, "expected an integer or [block_q, block_k] but found " +
                         jsonio::describe(v));
  auto b = integer(v, ptr, 1, limits::kMaxBlockSize);
  if (!b)
    return false;
  bq = bk = *b;
  return true;
}

bool Importer::header(const json &doc, std::string &name, int64_t &bq,
                      int64_t &bk) {
  if (doc.contains("sieve")) {
    const json &v = doc["sieve"];
    if (!v.is_number_integer() || v.get<int64_t>() != 1)
      return fail("/sieve", "unsupported spec version " + jsonio::describe(v) +
                                "; this sieve reads version 1");
  }
  if (doc.contains("name")) {
    const json &v = doc["name"];
    if (!v.is_string() || !limits::isIdentifier(v.get<std::string>()))
      return fail("/name", "expected an identifier ([A-Za-z_][A-Za-z0-9_]*, "
                           "at most " + std::to_string(limits::kMaxNameLength) +
                           " characters) but found " + jsonio::describe(v));
    name = v.get<std::string>();
  }
  return blockSize(doc, bq, bk);
}

Value Importer::mask(const json &v, const std::string &ptr, int depth) {
  if (depth > limits::kMaxMaskDepth) {
    fail(ptr, "masks nested deeper than " +
                  std::to_string(limits::kMaxMaskDepth) + " levels");
    return {};
  }
  if (++masks > limits::kMaxPatternTerms) {
    fail(ptr, "more than " + std::to_string(limits::kMaxPatternTerms) +
                  " masks; a pattern may hold at most " +
                  std::to_string(limits::kMaxPatternTerms));
    return {};
  }
  if (v.is_string()) {
    const std::string &s = v.get_ref<const std::string &>();
    if (s == "causal")
      return builder.create<CausalOp>(loc(ptr), 0);
    if (s == "full")
      return builder.create<FullOp>(loc(ptr));
    fail(ptr, "unknown mask \"" + s +
                  "\"; expected \"causal\", \"full\" or a mask object");
    return {};
  }
  if (!v.is_object() || v.size() != 1) {
    fail(ptr, "expected a mask (\"causal\", \"full\" or an object with "
              "exactly one key) but found " +
                  (v.is_object() ? "an object with " +
                                       std::to_string(v.size()) + " keys"
                                 : jsonio::describe(v)));
    return {};
  }
  auto it = v.begin();
  return maskObject(it.key(), it.value(), jsonio::child(ptr, it.key()), depth);
}

Value Importer::maskObject(const std::string &key, const json &body,
                           const std::string &ptr, int depth) {
  Location l = loc(ptr);
  if (key == "sink" || key == "window" || key == "global")
    return unitCount(key, body, ptr);
  if (key == "union" || key == "intersect" || key == "not")
    return combinator(key, body, ptr, depth);
  if (key == "longnet")
    return longNet(body, ptr);
  if (key == "predicate")
    return predicate(body, ptr);
  if (key == "causal") {
    if (!checkKeys(body, ptr, {"offset"}, {}))
      return {};
    int64_t offset = 0;
    if (body.contains("offset")) {
      auto o = integer(body["offset"], ptr + "/offset", -limits::kMaxCount,
                       limits::kMaxCount);
      if (!o)
        return {};
      offset = *o;
    }
    return builder.create<CausalOp>(l, offset);
  }
  if (key == "power_of_two") {
    if (!checkKeys(body, ptr, {}, {}))
      return {};
    return builder.create<PowerOfTwoOp>(l);
  }
  if (key == "stride") {
    if (!checkKeys(body, ptr, {"blocks"}, {"blocks"}))
      return {};
    auto s = integer(body["blocks"], ptr + "/blocks", 1, limits::kMaxCount);
    return s ? builder.create<StrideOp>(l, *s) : Value();
  }
  if (key == "dilated") {
    if (!checkKeys(body, ptr, {"rate", "window_blocks"},
                   {"rate", "window_blocks"}))
      return {};
    auto r = integer(body["rate"], ptr + "/rate", 1, limits::kMaxCount);
    auto w = r ? integer(body["window_blocks"], ptr + "/window_blocks", 1,
                         limits::kMaxCount)
               : std::nullopt;
    return w ? builder.create<DilatedOp>(l, *r, *w) : Value();
  }
  if (key == "band") {
    if (!checkKeys(body, ptr, {"min", "max", "unit"}, {"min", "max"}))
      return {};
    auto lo = integer(body["min"], ptr + "/min", -limits::kMaxCount,
                      limits::kMaxCount);
    auto hi = lo ? integer(body["max"], ptr + "/max", -limits::kMaxCount,
                           limits::kMaxCount)
                 : std::nullopt;
    if (!hi)
      return {};
    if (*lo > *hi) {
      fail(ptr + "/max", "expected max >= min (" + std::to_string(*lo) +
                             ") but found " + std::to_string(*hi));
      return {};
    }
    Unit unit = Unit::block;
    if (body.contains("unit")) {
      const json &u = body["unit"];
      if (u == "token")
        unit = Unit::token;
      else if (u != "block") {
        fail(ptr + "/unit",
             "expected \"block\" or \"token\" but found " + jsonio::describe(u));
        return {};
      }
    }
    return builder.create<BandOp>(l, *lo, *hi, unit);
  }
  if (key == "builtin") {
    const Builtin *b = body.is_string() ? findBuiltin(body.get<std::string>())
                                        : nullptr;
    if (!b) {
      fail(ptr, "expected the name of a built-in (" + builtinNames() +
                    ") but found " + jsonio::describe(body));
      return {};
    }
    return mask(b->expandDefaults(), ptr, depth + 1);
  }
  fail(ptr, "unknown mask \"" + key +
                "\"; expected one of causal, sink, window, band, "
                "power_of_two, stride, dilated, longnet, global, predicate, "
                "union, intersect, not, builtin");
  return {};
}

Value Importer::unitCount(const std::string &key, const json &body,
                          const std::string &ptr) {
  if (!checkKeys(body, ptr, {"blocks", "tokens"}, {}))
    return {};
  if (body.size() != 1) {
    fail(ptr, "expected exactly one of \"blocks\" or \"tokens\"");
    return {};
  }
  bool blocks = body.contains("blocks");
  std::string field = blocks ? "blocks" : "tokens";
  auto n = integer(body[field], ptr + "/" + field, 1, limits::kMaxCount);
  if (!n)
    return {};
  Unit unit = blocks ? Unit::block : Unit::token;
  Location l = loc(ptr);
  if (key == "sink")
    return builder.create<SinkOp>(l, *n, unit);
  if (key == "window")
    return builder.create<WindowOp>(l, *n, unit);
  return builder.create<GlobalOp>(l, *n, unit);
}

Value Importer::combinator(const std::string &key, const json &body,
                           const std::string &ptr, int depth) {
  if (key == "not") {
    Value in = mask(body, ptr, depth + 1);
    return in ? builder.create<NotOp>(loc(ptr), in) : Value();
  }
  if (!body.is_array() || body.empty()) {
    fail(ptr, "expected a non-empty array of masks but found " +
                  (body.is_array() ? std::string("an empty array")
                                   : jsonio::describe(body)));
    return {};
  }
  SmallVector<Value> inputs;
  for (size_t i = 0; i < body.size(); ++i) {
    Value v = mask(body[i], jsonio::child(ptr, i), depth + 1);
    if (!v)
      return {};
    inputs.push_back(v);
  }
  if (key == "union")
    return builder.create<UnionOp>(loc(ptr), inputs);
  return builder.create<IntersectOp>(loc(ptr), inputs);
}

Value Importer::longNet(const json &body, const std::string &ptr) {
  if (!checkKeys(body, ptr, {"segments", "ratios"}, {"segments", "ratios"}))
    return {};
  std::vector<int64_t> lists[2];
  const char *names[2] = {"segments", "ratios"};
  for (int i = 0; i < 2; ++i) {
    std::string p = ptr + "/" + names[i];
    const json &v = body[names[i]];
    if (!v.is_array() || v.empty() || v.size() > 64) {
      fail(p, "expected an array of 1 to 64 integers but found " +
                  jsonio::describe(v));
      return {};
    }
    for (size_t j = 0; j < v.size(); ++j) {
      auto x = integer(v[j], jsonio::child(p, j), 1, limits::kMaxCount);
      if (!x)
        return {};
      if (i == 1 && (*x & (*x - 1)) != 0) {
        fail(jsonio::child(p, j),
             "expected a power of two but found " + std::to_string(*x));
        return {};
      }
      lists[i].push_back(*x);
    }
  }
  if (lists[0].size() != lists[1].size()) {
    fail(ptr + "/ratios", "expected as many ratios as segments (" +
                              std::to_string(lists[0].size()) +
                              ") but found " +
                              std::to_string(lists[1].size()));
    return {};
  }
  return builder.create<LongNetOp>(loc(ptr), lists[0], lists[1]);
}

Value Importer::predicate(const json &body, const std::string &ptr) {
  if (!body.is_string()) {
    fail(ptr, "expected an expression string but found " +
                  jsonio::describe(body));
    return {};
  }
  expr::Expr e;
  expr::ParseError perr;
  if (!expr::parse(body.get_ref<const std::string &>(), e, perr)) {
    fail(ptr, "column " + std::to_string(perr.column) + ": " + perr.message);
    return {};
  }
  return buildPredicateOp(builder, loc(ptr), e);
}

bool Importer::builtinArgs(const Builtin &b, const json &doc,
                           BuiltinArgs &args) {
  args = b.defaults();
  std::string names;
  for (const BuiltinParam &p : b.params)
    names += (names.empty() ? "" : ", ") + p.name;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const std::string &key = it.key();
    if (key == "sieve" || key == "name" || key == "block_size" ||
        key == "builtin")
      continue;
    std::string ptr = jsonio::child("", key);
    auto param = std::find_if(b.params.begin(), b.params.end(),
                              [&](const BuiltinParam &p) { return p.name == key; });
    if (param == b.params.end())
      return fail(ptr, "unknown parameter \"" + key + "\" of built-in " +
                           b.name + "; expected " +
                           (names.empty() ? "none" : "one of " + names));
    std::vector<int64_t> &values = args[key];
    values.clear();
    if (param->isList) {
      const json &v = it.value();
      if (!v.is_array() || v.empty() || v.size() > 64)
        return fail(ptr, "expected an array of 1 to 64 integers but found " +
                             jsonio::describe(v));
      for (size_t i = 0; i < v.size(); ++i) {
        auto x = integer(v[i], jsonio::child(ptr, i), param->min, param->max);
        if (!x)
          return false;
        values.push_back(*x);
      }
    } else {
      auto x = integer(it.value(), ptr, param->min, param->max);
      if (!x)
        return false;
      values.push_back(*x);
    }
  }
  std::string badKey;
  if (b.validate) {
    std::string message = b.validate(args, badKey);
    if (!message.empty())
      return fail(jsonio::child("", badKey), message);
  }
  return true;
}

OwningOpRef<ModuleOp> Importer::run(const json &doc) {
  if (!doc.is_object()) {
    fail("", "expected a spec object but found " + jsonio::describe(doc));
    return {};
  }
  const Builtin *shorthand = nullptr;
  if (doc.contains("builtin")) {
    const json &v = doc["builtin"];
    shorthand = v.is_string() ? findBuiltin(v.get<std::string>()) : nullptr;
    if (!shorthand) {
      fail("/builtin", "expected the name of a built-in (" + builtinNames() +
                           ") but found " + jsonio::describe(v));
      return {};
    }
  } else if (!checkKeys(doc, "", {"sieve", "name", "block_size", "mask"},
                        {"mask"})) {
    return {};
  }
  std::string name = shorthand ? shorthand->name : "pattern";
  int64_t bq, bk;
  if (!header(doc, name, bq, bk))
    return {};
  json maskDoc;
  std::string maskPtr = "/mask";
  if (shorthand) {
    BuiltinArgs args;
    if (!builtinArgs(*shorthand, doc, args))
      return {};
    maskDoc = shorthand->expand(args);
    maskPtr = "/builtin";
  }
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc(""));
  builder.setInsertionPointToEnd(module->getBody());
  auto pattern = builder.create<PatternOp>(
      loc(""), builder.getStringAttr(name),
      builder.getDenseI64ArrayAttr({bq, bk}));
  Block *body = new Block();
  pattern.getBody().push_back(body);
  builder.setInsertionPointToStart(body);
  Value m = mask(shorthand ? maskDoc : doc["mask"], maskPtr, 0);
  if (!m)
    return {};
  builder.create<YieldOp>(loc(maskPtr), m);

  std::string diagnostics;
  ScopedDiagnosticHandler handler(ctx, [&](Diagnostic &diag) {
    diagnostics += (diagnostics.empty() ? "" : "; ") + diag.str();
    return success();
  });
  if (failed(verify(*module))) {
    fail("", "the imported pattern does not verify: " + diagnostics);
    return {};
  }
  return module;
}

OwningOpRef<ModuleOp> sieve::importJsonSpec(std::string_view text,
                                            std::string_view fileName,
                                            MLIRContext *context,
                                            SpecError &error) {
  context->loadDialect<SieveDialect>();
  json doc;
  jsonio::ReadError readError;
  if (!jsonio::read(text, doc, readError)) {
    error.where = readError.where();
    error.message = readError.message;
    return {};
  }
  return Importer(context, fileName, error).run(doc);
}
