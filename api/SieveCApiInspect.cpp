//===- SieveCApiInspect.cpp - The C API's questions about patterns -------===//
//
// Built-ins, kernel variants, analyses, canonical keys, the reference mask,
// devices and targets: what a binding (the Python package) asks besides
// compiling and launching (sieve_c.h).
//
//===----------------------------------------------------------------------===//

#include "api/SieveCApiSupport.h"
#include "api/SieveCompiler.h"
#include "api/SieveReport.h"
#include "dialect/SieveMaskFromIR.h"
#include "patterns/SieveSpec.h"
#include "sieve/Cache.h"
#include "sieve/sieve_c.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>
#include <limits>

using namespace sieve;
using capi::fail;

namespace {
/// Returns `json` in *out (released with sieve_free).
int deliver(const nlohmann::ordered_json &json, char **out, char *error, size_t size) {
  if (!out)
    return fail(Status::error("json is null"), error, size);
  *out = nullptr;
  // Names are identifiers (the verifier); replacing invalid UTF-8 anyway
  // keeps dump() from aborting, whatever reaches it.
  std::string text = json.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  return capi::allocCopy(text, out) ? 0 : fail(Status::error("out of memory"), error, size);
}

/// Loads `spec` into `loaded` (whose module lives in `context`).
Status load(const char *spec, mlir::MLIRContext &context, LoadedSpec &loaded) {
  if (!spec)
    return Status::error("spec is null");
  std::string message;
  if (!loadSpec(spec, "", &context, loaded, message))
    return Status::error(message);
  return Status::success();
}

void copyString(const std::string &from, char *to, size_t size) {
  if (!to || !size)
    return;
  std::strncpy(to, from.c_str(), size - 1);
  to[size - 1] = '\0';
}

int describe(const Status &s, const DeviceInfo &d, sieve_device_info *info, char *error,
             size_t size) {
  if (!s)
    return fail(s, error, size);
  std::memset(info, 0, sizeof *info);
  copyString(d.name, info->name, sizeof info->name);
  info->ordinal = d.ordinal, info->major = d.major, info->minor = d.minor;
  info->multiprocessors = d.multiprocessors;
  copyString(codegen::targetForDevice(d.major, d.minor).str(), info->target, sizeof info->target);
  return 0;
}
} // namespace

extern "C" int sieve_builtins_json(char **json, char *error, size_t error_size) {
  return deliver(api::builtinsJson(), json, error, error_size);
}

extern "C" int sieve_kernel_variants_json(char **json, char *error, size_t error_size) {
  return deliver(api::kernelVariantsJson(), json, error, error_size);
}

extern "C" int sieve_inspect_json(const char *spec, const sieve_inspect_options *options,
                                  char **json, char *error, size_t error_size) {
  if (!spec || !options)
    return fail(Status::error(spec ? "options is null" : "spec is null"), error, error_size);
  plan::AnalysisOptions o;
  o.seqLen = options->seq_len;
  o.layers = options->layers ? options->layers : 12;
  o.tileQ = options->tile_q ? options->tile_q : 128;
  o.tileK = options->tile_k ? options->tile_k : 128;
  o.headDim = options->head_dim ? options->head_dim : 128;
  nlohmann::ordered_json out;
  if (Status s = api::inspectSpec(spec, o, out); !s)
    return fail(s, error, error_size);
  return deliver(out, json, error, error_size);
}

extern "C" int sieve_spec_json(const char *spec, char **json, char *error, size_t error_size) {
  mlir::MLIRContext context;
  LoadedSpec loaded;
  if (Status s = load(spec, context, loaded); !s)
    return fail(s, error, error_size);
  std::string text;
  llvm::raw_string_ostream os(text);
  loaded.pattern->print(os);
  nlohmann::ordered_json out = {
      {"name", loaded.pattern.getSymName().str()},
      {"block_size", {loaded.pattern.getBlockQ(), loaded.pattern.getBlockK()}},
      {"key", ""},
      {"mlir", text}};
  if (Status s = api::canonicalize(loaded); !s)
    return fail(s, error, error_size);
  out["key"] = sha256Hex(api::canonicalForm(loaded.pattern));
  return deliver(out, json, error, error_size);
}

extern "C" int sieve_spec_key(const char *spec, char key[65], char *error, size_t error_size) {
  if (!spec || !key)
    return fail(Status::error(spec ? "key is null" : "spec is null"), error, error_size);
  std::string hex;
  if (Status s = api::specKey(spec, hex); !s)
    return fail(s, error, error_size);
  copyString(hex, key, 65);
  return 0;
}

extern "C" int sieve_reference_mask(const char *spec, int64_t q_len, int64_t kv_len,
                                    uint8_t *mask, char *error, size_t error_size) {
  if (q_len < 0 || kv_len < 0 || q_len > kv_len)
    return fail(Status::error("expected 0 <= q_len <= kv_len but q_len is " +
                              std::to_string(q_len) + " and kv_len " + std::to_string(kv_len)),
                error, error_size);
  if (kv_len && q_len > std::numeric_limits<int64_t>::max() / kv_len)
    return fail(Status::error("q_len * kv_len overflows"), error, error_size);
  if (!mask && q_len * kv_len > 0)
    return fail(Status::error("mask is null"), error, error_size);
  mlir::MLIRContext context;
  LoadedSpec loaded;
  if (Status s = load(spec, context, loaded); !s)
    return fail(s, error, error_size);
  mlir::FailureOr<mask::Pattern> m = buildMaskPattern(loaded.pattern);
  if (mlir::failed(m))
    return fail(Status::error("the pattern has no reference semantics"), error, error_size);
  mask::Evaluator evaluate(*m);
  const int64_t first = kv_len - q_len; // queries sit at the end of the keys
  for (int64_t i = 0; i < q_len; ++i)
    for (int64_t j = 0; j < kv_len; ++j)
      mask[i * kv_len + j] = evaluate(first + i, j) ? 1 : 0;
  return 0;
}

extern "C" int sieve_query_device(int ordinal, sieve_device_info *info, char *error,
                                  size_t error_size) {
  if (!info)
    return fail(Status::error("info is null"), error, error_size);
  DeviceInfo d;
  Status s = queryDevice(ordinal, d);
  return describe(s, d, info, error, error_size);
}

extern "C" int sieve_current_device(sieve_device_info *info, char *error, size_t error_size) {
  if (!info)
    return fail(Status::error("info is null"), error, error_size);
  DeviceInfo d;
  Status s = currentDevice(d);
  return describe(s, d, info, error, error_size);
}

extern "C" int sieve_resolve_target(const char *arch, char *target, size_t target_size,
                                    char *how, size_t how_size, char *error,
                                    size_t error_size) {
  if (!target || !target_size)
    return fail(Status::error("target is null"), error, error_size);
  codegen::Target t;
  std::string where;
  if (Status s = api::resolveTarget(arch ? arch : "", t, &where); !s)
    return fail(s, error, error_size);
  if (t.str().size() >= target_size)
    return fail(Status::error("the target buffer is too small"), error, error_size);
  copyString(t.str(), target, target_size);
  copyString(where, how, how_size);
  return 0;
}
