//===- sieve.cpp - The sieve command-line tool ------------------*- C++ -*-===//

#include "tools/sieve/SieveCommands.h"
#include "codegen/SieveKernels.h"

#include <CLI/CLI.hpp>

#include <charconv>
#include <climits>
#include <cstdint>

namespace {
/// An integer in [lo, hi]. CLI11's Range says "Value abc not in range" for
/// text that is not a number; this says which of the two is wrong.
CLI::Validator integerIn(int64_t lo, int64_t hi) {
  std::string range = "[" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  return CLI::Validator(
      [lo, hi, range](std::string &input) -> std::string {
        int64_t value = 0;
        const char *end = input.data() + input.size();
        auto [ptr, ec] = std::from_chars(input.data(), end, value);
        bool outOfRange = ec == std::errc::result_out_of_range;
        if (input.empty() || ptr != end || (ec != std::errc() && !outOfRange))
          return "'" + input + "' is not an integer";
        if (outOfRange || value < lo || value > hi)
          return input + " is not in " + range;
        return std::string();
      },
      "INT in " + range);
}

/// A file name: an empty one would otherwise be silently ignored.
const CLI::Validator kFileName(
    [](std::string &input) {
      return input.empty() ? std::string("expected a file name but found an empty string")
                           : std::string();
    },
    "FILE");

/// A kernel variant of the table (`sieve list --kernels`), or an operation
/// word for the table's choice of that operation.
const CLI::Validator kKernelName(
    [](std::string &input) {
      sieve::codegen::Operation op;
      sieve::codegen::KvLayout kv;
      if (sieve::codegen::findKernelVariant(input) ||
          sieve::codegen::parseOperationChoice(input, op, kv))
        return std::string();
      std::string names;
      for (const sieve::codegen::KernelVariant &v : sieve::codegen::kernelVariants())
        names += (names.empty() ? "" : ", ") + std::string(v.name);
      return "unknown kernel '" + input + "'; expected one of " + names + ", or " +
             sieve::codegen::operationChoices() + " for sieve's choice (see `sieve list --kernels`)";
    },
    "KERNEL");

/// CLI11 reports an unknown word or option before the command as a missing
/// command; returns the message that names it, or "" when there is none.
std::string unknownBeforeCommand(CLI::App &app, int argc, char **argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.empty() || arg[0] != '-') {
      if (app.get_subcommands([&](CLI::App *s) { return s->get_name() == arg; }).empty())
        return "unknown command '" + arg + "'; expected list, compile, inspect or run";
      return "";
    }
    if (!app.get_option_no_throw(arg.substr(0, arg.find('='))))
      return "unknown option '" + arg + "'; expected a command (list, compile, inspect or "
             "run), --help or --version";
  }
  return "";
}
} // namespace

int main(int argc, char **argv) {
  // Named, so that usage lines say "sieve" however it was started.
  CLI::App app{"sieve: a sparse-attention pattern compiler", "sieve"};
  app.set_version_flag("--version", sieve::cli::versionText,
                       "Print sieve's version and those of MLIR and NVRTC, the GPU and the "
                       "kernel cache directory");
  app.require_subcommand(1);
  app.failure_message([](const CLI::App *, const CLI::Error &e) {
    return sieve::cli::diagnosticPrefix(true) + std::string(e.what()) +
           "\nRun with --help for more information.\n";
  });
  const std::string specHelp =
      "A .json or .mlir file, builtin:NAME, the text of a JSON spec, or - (stdin)";

  sieve::cli::ListOptions list;
  CLI::App *listCmd = app.add_subcommand(
      "list", "List the built-in patterns (or, with --kernels, the kernels)");
  listCmd->add_flag("--kernels", list.kernels, "List the kernel variants and what each needs");
  listCmd->add_flag("--targets", list.targets, "List the targets sieve builds for, one a line");
  listCmd->add_flag("--json", list.json, "One JSON array, with every parameter and its default");
  auto archCheck = [](const std::string &a) {
    return sieve::codegen::Target::parse(a)
               ? std::string()
               : "unsupported architecture '" + a + "'; sieve builds for " +
                     sieve::codegen::supportedTargets();
  };

  sieve::cli::CompileOptions compile;
  CLI::App *compileCmd = app.add_subcommand("compile", "Compile a pattern");
  compileCmd->add_option("spec", compile.spec, specHelp)->capture_default_str();
  compileCmd->add_option("--pattern", compile.pattern,
                         "The pattern to use from a .mlir file with several");
  compileCmd->add_option("--emit", compile.emit, "What to produce")
      ->check(CLI::IsMember({"mlir", "plan", "cuda", "ptx", "cubin", "resources"}))
      ->capture_default_str();
  CLI::Option *output = compileCmd
                            ->add_option("-o,--output", compile.output,
                                         "Output file ('-' for stdout; a cubin goes to a "
                                         "terminal only with -o -)")
                            ->capture_default_str()
                            ->check(kFileName);
  compileCmd->add_flag("-q,--quiet", compile.quiet,
                       "No status line (target, kernel, cache, time, size) on stderr");
  compileCmd->add_option("--tile-q", compile.tileQ,
                         "Tile size along queries for --emit plan (default: the kernel's)")
      ->check(integerIn(1, 4096));
  compileCmd->add_option("--tile-k", compile.tileK,
                         "Tile size along keys for --emit plan (default: the kernel's)")
      ->check(integerIn(1, 4096));
  compileCmd->add_option("--seq-len", compile.seqLen,
                         "For --emit plan: also print the kernel's walk at this length")
      ->check(integerIn(1, int64_t(1) << 20));
  compileCmd->add_option("--arch", compile.arch,
                         "Target (default: the current GPU's, sm_90a on Hopper; sm_90a "
                         "without a GPU)")
      ->check(archCheck);
  compileCmd->add_flag("--json", compile.json, "--emit resources as one JSON object");
  compileCmd->add_option("--kernel", compile.kernel,
                         "Force a kernel variant (see `sieve list --kernels`), or name an operation "
                         "(forward, decode, decode-paged, backward, backward-deterministic) for "
                         "sieve's choice")
      ->check(kKernelName);
  compileCmd->add_option("--head-dim", compile.headDim, "Head dimension of the kernel")
      ->capture_default_str()
      ->check(CLI::IsMember({64, 128}));
  compileCmd->add_flag("!--no-cache", compile.useCache,
                       "Compile even when the kernel cache ($SIEVE_CACHE_DIR) has it");
  compileCmd->add_option("--dtype", compile.dtype, "Element type of q, k, v and o")
      ->capture_default_str()
      ->check(CLI::IsMember({"bf16", "fp16"}));
  compileCmd->add_option("--nvrtc-option", compile.nvrtcOptions,
                     "Pass an option to NVRTC, as --nvrtc-option=--OPT (repeatable)")
      ->allow_extra_args(false);

  sieve::cli::InspectOptions inspect;
  CLI::App *inspectCmd = app.add_subcommand(
      "inspect", "Analyse a pattern: density, work, empty rows, receptive field");
  inspectCmd->add_option("spec", inspect.spec, specHelp)->required();
  inspectCmd->add_option("--pattern", inspect.pattern,
                         "The pattern to use from a .mlir file with several");
  inspectCmd->add_option("--seq-len", inspect.seqLen, "Sequence length in tokens")
      ->required()
      ->check(integerIn(1, int64_t(INT32_MAX)));
  inspectCmd->add_option("--layers", inspect.layers, "Coverage entries to report")
      ->capture_default_str()
      ->check(integerIn(1, 100000));
  inspectCmd->add_option("--tile-q", inspect.tileQ, "Kernel tile size along queries")
      ->capture_default_str()
      ->check(integerIn(1, 4096));
  inspectCmd->add_option("--tile-k", inspect.tileK, "Kernel tile size along keys")
      ->capture_default_str()
      ->check(integerIn(1, 4096));
  inspectCmd->add_option("--head-dim", inspect.headDim, "Head dimension for FLOP counts")
      ->capture_default_str()
      ->check(integerIn(1, 1024));
  inspectCmd->add_flag("--json", inspect.json, "Print one JSON object");
  inspectCmd->add_option("--svg", inspect.svg, "Draw the block map and coverage curve")
      ->check(kFileName);
  inspectCmd->add_option("--ranks", inspect.ranks,
                         "Context parallelism: the key/value exchange over this many ranks")
      ->check(integerIn(1, 65536));
  inspectCmd->add_option("--sharding", inspect.sharding, "How --ranks shard the sequence")
      ->capture_default_str()
      ->check(CLI::IsMember({"contiguous", "zigzag"}));
  inspectCmd->add_option("--schedule", inspect.schedule, "The exchange schedule for --ranks")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "direct", "doubling", "ring"}));
  inspectCmd->add_option("--exchange-block", inspect.exchangeBlock,
                         "Tokens per exchanged block (default: the pattern's key block)")
      ->check(integerIn(1, int64_t(1) << 24));

  sieve::cli::RunOptions run;
  CLI::App *runCmd = app.add_subcommand(
      "run", "Run a pattern's kernel on the GPU; --check compares with a reference");
  runCmd->add_option("spec", run.spec, specHelp)->required();
  runCmd->add_option("--pattern", run.pattern, "The pattern to use from a .mlir file");
  runCmd->add_option("--seq-len", run.seqLen, "Key length (required unless --seq-lens)")
      ->check(integerIn(1, INT32_MAX));
  runCmd->add_option("--q-len", run.qLen,
                     "Queries per sequence (default: --seq-len; with decode, 1)")
      ->check(integerIn(1, INT32_MAX));
  runCmd->add_flag("--decode", run.decode,
                   "Run the decode kernel (split-KV, KV-group heads packed per tile)");
  runCmd->add_option("--seq-lens", run.seqLens,
                     "A variable-length batch: the key lengths L1,L2,... (decode kernel)");
  runCmd->add_option("--page-size", run.pageSize,
                     "Paged KV: pages of this many keys (16-256, multiples of 16)");
  runCmd->add_option("--block-table", run.blockTable,
                     "Paged KV: int32 [batch, max_pages] (else a random page permutation)")
      ->check(kFileName);
  runCmd->add_option("--splits", run.splits, "Decode: split-KV count, 1-64 or auto")
      ->capture_default_str();
  runCmd->add_option("--combine", run.combine,
                     "Decode with splits: merge them in a second kernel, fused into the decode "
                     "kernel's last split CTA, or auto (fused for up to one row per warp)")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "kernel", "fused"}));
  runCmd->add_option("--device", run.device,
                     "gpu, or cpu for the CPU executor (decode layouts, --backward)")
      ->capture_default_str()
      ->check(CLI::IsMember({"gpu", "cpu"}));
  runCmd->add_option("--lse", run.lseFile,
                     "Write the LSE (float32 [batch, heads, q_len]; decode: [total_q, heads])")
      ->check(kFileName);
  runCmd->add_flag("--graph", run.graph,
                   "Decode: also capture the step in a CUDA graph, require the direct launch's "
                   "output bit for bit, and time it with --repeat");
  runCmd->add_flag("--backward", run.backward,
                   "Run the backward pass: dq, dk, dv from the forward's o and lse and dO");
  runCmd->add_flag("--deterministic", run.deterministic,
                   "Backward without atomics (dq from its own pass; the same bits every run)");
  runCmd->add_option("--head-split", run.headSplit,
                     "Backward (GQA): CTAs per key tile sharing a KV group's query heads, adding dK "
                     "and dV in fp32 (0: sieve's choice; it must divide heads / kv-heads)")
      ->check(CLI::Range(0, 1024));
  runCmd->add_option("--do", run.doFile,
                     "Backward: the output gradient, raw [batch, heads, q_len, head_dim] (else random)")
      ->check(kFileName);
  runCmd->add_option("--dq", run.dqFile, "Backward: write dq (raw, like --q)")->check(kFileName);
  runCmd->add_option("--dk", run.dkFile, "Backward: write dk (raw, like --k)")->check(kFileName);
  runCmd->add_option("--dv", run.dvFile, "Backward: write dv (raw, like --v)")->check(kFileName);
  runCmd->add_option("--batch", run.batch)->capture_default_str()->check(integerIn(1, 65535));
  runCmd->add_option("--heads", run.heads)->capture_default_str()->check(integerIn(1, 65535));
  runCmd->add_option("--kv-heads", run.kvHeads, "K/V heads, dividing --heads (default: --heads; fewer is GQA)")
      ->check(integerIn(1, 65535));
  runCmd->add_option("--head-dim", run.headDim)->capture_default_str()->check(CLI::IsMember({64, 128}));
  runCmd->add_option("--dtype", run.dtype)->capture_default_str()->check(CLI::IsMember({"bf16", "fp16"}));
  runCmd->add_option("--arch", run.arch, "Target architecture (default: the device's)")
      ->check(archCheck);
  runCmd->add_option("--kernel", run.kernel, "Force a kernel variant (see `sieve list --kernels`), or name an operation "
                         "(forward, decode, decode-paged, backward, backward-deterministic) for "
                         "sieve's choice")
      ->check(kKernelName);
  runCmd->add_option("--q", run.qFile,
                     "Raw little-endian [batch, heads, q_len, head_dim] input (decode: "
                     "[total_q, heads, head_dim])")
      ->check(kFileName);
  runCmd->add_option("--k", run.kFile,
                     "Raw [batch, kv_heads, seq_len, head_dim] input (decode: [total_k, "
                     "kv_heads, head_dim], or the page pool with --block-table)")
      ->check(kFileName);
  runCmd->add_option("--v", run.vFile, "Raw [batch, kv_heads, seq_len, head_dim] input")
      ->check(kFileName);
  runCmd->add_option("--out", run.outFile, "Write the output (raw, like --q)")
      ->check(kFileName);
  runCmd->add_option("--cubin", run.cubinFile,
                     "Run this cubin (from `sieve compile --emit cubin`) instead of compiling")
      ->check(kFileName);
  runCmd->add_flag("--check", run.check,
                   "Compare with an fp64 CPU reference (forward: 256 sampled rows past 4096; "
                   "--backward: every gradient, slow past ~16K tokens)");
  runCmd->add_option("--repeat", run.repeat, "Time this many launches (median)")
      ->check(integerIn(0, 100000));
  runCmd->add_option("--seed", run.seed, "Seed of the random inputs")->capture_default_str();
  runCmd->add_flag("--json", run.json, "Print one JSON object");
  runCmd->add_option("--nvrtc-option", run.nvrtcOptions,
                     "Pass an option to NVRTC, as --nvrtc-option=--OPT (repeatable)")
      ->allow_extra_args(false);

  if (std::string unknown = unknownBeforeCommand(app, argc, argv); !unknown.empty())
    return sieve::cli::usageError(unknown);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    // --help and --version are successes; every other parse error is a
    // usage error, whatever CLI11's own code for it.
    return app.exit(e) == 0 ? 0 : sieve::cli::kUsage;
  }
  compile.outputGiven = output->count() > 0;
  if (app.got_subcommand("list"))
    return sieve::cli::runList(list);
  if (app.got_subcommand("inspect"))
    return sieve::cli::runInspect(inspect);
  if (app.got_subcommand("run"))
    return sieve::cli::runRun(run);
  return sieve::cli::runCompile(compile);
}
