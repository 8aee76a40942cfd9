//===- SieveCApiInspectTest.cpp - The C API's questions about patterns ---===//
//
// Built-ins, kernel variants, inspect, canonical keys, the reference mask,
// devices and targets, and the compile call that returns what it built, as
// a binding (the Python package) sees them.
//
//===----------------------------------------------------------------------===//

#include "sieve/Sieve.h"
#include "sieve/sieve_c.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <string>
#include <vector>

using nlohmann::json;

namespace {
/// Calls a JSON-returning function of the C API and parses what it gives.
template <typename Call> json callJson(Call call) {
  char *text = nullptr;
  char error[512] = "";
  EXPECT_EQ(call(&text, error, sizeof error), 0) << error;
  if (!text)
    return json();
  json out = json::parse(text);
  sieve_free(text);
  return out;
}

std::string key(const char *spec) {
  char k[65] = "", error[512] = "";
  EXPECT_EQ(sieve_spec_key(spec, k, error, sizeof error), 0) << error;
  return k;
}

std::vector<uint8_t> mask(const char *spec, int64_t q, int64_t kv) {
  std::vector<uint8_t> out(size_t(q * kv), 7);
  char error[512] = "";
  EXPECT_EQ(sieve_reference_mask(spec, q, kv, out.data(), error, sizeof error), 0) << error;
  return out;
}
} // namespace

TEST(SieveCApiInspect, BuiltinsCarryTheirParametersAndDefaults) {
  json all = callJson([](char **j, char *e, size_t n) { return sieve_builtins_json(j, e, n); });
  ASSERT_TRUE(all.is_array());
  ASSERT_GE(all.size(), 8u);
  EXPECT_EQ(all[0]["name"], "power_attention");
  EXPECT_EQ(all[0]["block_size"], 256);
  json window = all[0]["params"][0];
  EXPECT_EQ(window["name"], "window_blocks");
  EXPECT_EQ(window["default"], 5);
  EXPECT_EQ(window["list"], false);
  // Every default is a value the built-in accepts: spelling them all out is
  // the same pattern as the bare built-in.
  for (const json &b : all) {
    json spec = {{"builtin", b["name"]}};
    for (const json &p : b["params"])
      spec[p["name"].get<std::string>()] = p["default"];
    std::string bare = "builtin:" + b["name"].get<std::string>();
    EXPECT_EQ(key(spec.dump().c_str()), key(bare.c_str())) << spec.dump();
  }
}

TEST(SieveCApiInspect, KernelVariantsAreTheTable) {
  json all =
      callJson([](char **j, char *e, size_t n) { return sieve_kernel_variants_json(j, e, n); });
  std::vector<sieve::KernelVariantInfo> table = sieve::kernelVariants();
  ASSERT_EQ(all.size(), table.size());
  for (size_t i = 0; i < table.size(); ++i) {
    EXPECT_EQ(all[i]["name"], table[i].name);
    EXPECT_EQ(all[i]["verified"], table[i].verified);
  }
}

TEST(SieveCApiInspect, InspectCountsCausalPairs) {
  sieve_inspect_options o = {};
  o.seq_len = 1000;
  json r = callJson([&](char **j, char *e, size_t n) {
    return sieve_inspect_json("builtin:causal", &o, j, e, n);
  });
  EXPECT_EQ(r["pattern"], "causal");
  EXPECT_EQ(r["seq_len"], 1000);
  EXPECT_EQ(r["attended_pairs"], 1000 * 1001 / 2);
  EXPECT_EQ(r["tiles"]["tile_q"], 128); // the defaults of zero fields
  EXPECT_EQ(r["tiles"]["head_dim"], 128);
  EXPECT_EQ(r["coverage"].size(), 12u);
  o.seq_len = 0;
  char *text = nullptr;
  char error[256] = "";
  EXPECT_NE(sieve_inspect_json("builtin:causal", &o, &text, error, sizeof error), 0);
  EXPECT_STREQ(error, "seq_len must be in [1, 16777216] but is 0");
  EXPECT_EQ(text, nullptr);
}

TEST(SieveCApiInspect, KeysAreCanonical) {
  EXPECT_EQ(key("builtin:power_attention").size(), 64u);
  EXPECT_EQ(key("builtin:power_attention"), key("{\"builtin\": \"power_attention\"}"));
  EXPECT_EQ(key("builtin:power_attention"),
            key("{\"builtin\": \"power_attention\", \"window_blocks\": 5, \"sink_blocks\": 1}"));
  EXPECT_NE(key("builtin:power_attention"),
            key("{\"builtin\": \"power_attention\", \"window_blocks\": 6}"));
  // The same mask written twice canonicalizes to once.
  EXPECT_EQ(key("{\"name\": \"p\", \"mask\": {\"union\": [\"causal\", \"causal\"]}}"),
            key("{\"name\": \"p\", \"mask\": \"causal\"}"));
  EXPECT_NE(key("{\"name\": \"p\", \"block_size\": 64, \"mask\": \"causal\"}"),
            key("{\"name\": \"p\", \"mask\": \"causal\"}"));
  char k[65] = "", error[512] = "";
  EXPECT_NE(sieve_spec_key("{\"mask\": \"nope\"}", k, error, sizeof error), 0);
  EXPECT_NE(std::string(error).find("<spec>: at /mask: unknown mask \"nope\""), std::string::npos)
      << error;
}

TEST(SieveCApiInspect, SpecJsonDescribesThePattern) {
  json d = callJson([](char **j, char *e, size_t n) {
    return sieve_spec_json("{\"builtin\": \"sliding_window\", \"block_size\": [64, 128]}", j, e,
                           n);
  });
  EXPECT_EQ(d["name"], "sliding_window");
  EXPECT_EQ(d["block_size"], json::array({64, 128}));
  EXPECT_EQ(d["key"], key("{\"builtin\": \"sliding_window\", \"block_size\": [64, 128]}"));
  EXPECT_NE(d["mlir"].get<std::string>().find("sieve.pattern @sliding_window"), std::string::npos);
}

TEST(SieveCApiInspect, TheReferenceMaskAlignsQueriesToTheEnd) {
  // Causal over 5 queries at the end of 12 keys: query i at position 7 + i.
  std::vector<uint8_t> m = mask("builtin:causal", 5, 12);
  for (int64_t i = 0; i < 5; ++i)
    for (int64_t j = 0; j < 12; ++j)
      EXPECT_EQ(m[size_t(i * 12 + j)], j <= 7 + i ? 1 : 0) << i << " " << j;
  // A window of 2 blocks of 4 tokens, from the formula 0 <= qb - kb < 2.
  m = mask("{\"block_size\": 4, \"mask\": {\"window\": {\"blocks\": 2}}}", 20, 20);
  for (int64_t q = 0; q < 20; ++q)
    for (int64_t k = 0; k < 20; ++k) {
      int64_t d = q / 4 - k / 4;
      EXPECT_EQ(m[size_t(q * 20 + k)], d >= 0 && d < 2 ? 1 : 0) << q << " " << k;
    }
  char error[256] = "";
  uint8_t one = 0;
  EXPECT_NE(sieve_reference_mask("builtin:causal", 3, 2, &one, error, sizeof error), 0);
  EXPECT_STREQ(error, "expected 0 <= q_len <= kv_len but q_len is 3 and kv_len 2");
  EXPECT_NE(sieve_reference_mask("builtin:causal", 1, 1, nullptr, error, sizeof error), 0);
  EXPECT_STREQ(error, "mask is null");
  EXPECT_EQ(sieve_reference_mask("builtin:causal", 0, 0, nullptr, error, sizeof error), 0);
}

TEST(SieveCApiInspect, TargetsResolveLikeTheCompiler) {
  char target[16] = "", how[300] = "", error[512] = "";
  ASSERT_EQ(sieve_resolve_target("sm_80", target, sizeof target, how, sizeof how, error,
                                 sizeof error),
            0)
      << error;
  EXPECT_STREQ(target, "sm_80");
  EXPECT_STREQ(how, "--arch");
  EXPECT_NE(sieve_resolve_target("sm_70", target, sizeof target, nullptr, 0, error,
                                 sizeof error),
            0);
  EXPECT_NE(std::string(error).find("unsupported architecture 'sm_70'"), std::string::npos);
  ASSERT_EQ(sieve_resolve_target(nullptr, target, sizeof target, how, sizeof how, error,
                                 sizeof error),
            0);
  sieve_device_info device;
  if (sieve_current_device(&device, error, sizeof error) != 0) {
    EXPECT_STREQ(target, "sm_90a"); // no GPU: the default target
    EXPECT_STREQ(how, "no GPU: default");
  } else {
    EXPECT_STREQ(target, device.target);
    EXPECT_EQ(std::string(how), "device " + std::string(device.name));
  }
}

TEST(SieveCApiInspect, CompileReturnsTheCubinAndWhatItIs) {
  std::string version;
  if (!sieve::nvrtcVersion(version))
    GTEST_SKIP() << "no NVRTC";
  setenv("SIEVE_CACHE_DIR", "", 1);
  sieve_compile_options o = {};
  o.head_dim = 64, o.dtype = SIEVE_FP16, o.arch = "sm_80";
  void *cubin = nullptr;
  size_t size = 0;
  char *info = nullptr, error[512] = "";
  ASSERT_EQ(sieve_compile("builtin:causal", &o, &cubin, &size, &info, error, sizeof error), 0)
      << error;
  ASSERT_GT(size, 4u);
  EXPECT_EQ(std::string(static_cast<char *>(cubin), 4), "\x7f" "ELF");
  json i = json::parse(info);
  EXPECT_EQ(i["pattern"], "causal");
  EXPECT_EQ(i["arch"], "sm_80");
  EXPECT_EQ(i["kernel"], "fwd-sm80-mma");
  EXPECT_EQ(i["head_dim"], 64);
  EXPECT_EQ(i["dtype"], "fp16");
  EXPECT_EQ(i["from"], "compiled");
  EXPECT_NE(i["source"].get<std::string>().find("sieve_attention_fwd"), std::string::npos);
  // The same bytes sieve_compile_cubin_with_options gives, now from memory.
  std::vector<char> again(size);
  size_t againSize = again.size();
  ASSERT_EQ(sieve_compile_cubin_with_options("builtin:causal", &o, again.data(), &againSize,
                                             error, sizeof error),
            0);
  EXPECT_EQ(std::string(again.data(), againSize), std::string(static_cast<char *>(cubin), size));
  sieve_free(cubin);
  sieve_free(info);
  // Without a driver, loading is an error that says so.
  sieve_kernel *kernel = nullptr;
  sieve_device_info device;
  if (sieve_current_device(&device, error, sizeof error) != 0) {
    EXPECT_NE(sieve_kernel_load(again.data(), againSize, &kernel, error, sizeof error), 0);
    EXPECT_NE(std::string(error).find("no CUDA driver"), std::string::npos) << error;
    EXPECT_EQ(kernel, nullptr);
  }
}

TEST(SieveCApiInspect, FailuresLeaveNothingToFree) {
  void *cubin = reinterpret_cast<void *>(1);
  size_t size = 1;
  char *info = reinterpret_cast<char *>(1), error[512] = "";
  EXPECT_NE(sieve_compile("builtin:nope", nullptr, &cubin, &size, &info, error, sizeof error), 0);
  EXPECT_EQ(cubin, nullptr);
  EXPECT_EQ(info, nullptr);
  EXPECT_NE(std::string(error).find("unknown built-in 'nope'"), std::string::npos);
  EXPECT_NE(sieve_compile("builtin:causal", nullptr, nullptr, &size, nullptr, error,
                          sizeof error),
            0);
  EXPECT_STREQ(error, "cubin is null");
  sieve_free(nullptr);
}
