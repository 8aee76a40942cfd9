//===- sieve.cpp - The sieve command-line tool ------------------*- C++ -*-===//

#include "tools/sieve/SieveCommands.h"
#include "codegen/SieveKernels.h"

#include <CLI/CLI.hpp>

#include <climits>
#include <cstdint>

int main(int argc, char **argv) {
  CLI::App app{"sieve: a sparse-attention pattern compiler"};
  app.set_version_flag("--version", "sieve " SIEVE_VERSION);
  app.require_subcommand(1);
  app.failure_message([](const CLI::App *, const CLI::Error &e) {
    return "sieve: error: " + std::string(e.what()) +
           "\nRun with --help for more information.\n";
  });

  bool listKernels = false;
  app.add_subcommand("list", "List the built-in patterns (or, with --kernels, the kernels)")
      ->add_flag("--kernels", listKernels, "List the kernel variants and what each needs");
  auto archCheck = [](const std::string &a) {
    return sieve::codegen::Target::parse(a)
               ? std::string()
               : "unsupported architecture '" + a + "'; sieve builds for " +
                     sieve::codegen::supportedTargets();
  };

  sieve::cli::CompileOptions compile;
  CLI::App *compileCmd = app.add_subcommand("compile", "Compile a pattern");
  compileCmd->add_option("spec", compile.spec,
                         "A .json or .mlir file, or builtin:NAME")
      ->capture_default_str();
  compileCmd->add_option("--pattern", compile.pattern,
                         "The pattern to use from a .mlir file with several");
  compileCmd->add_option("--emit", compile.emit, "What to produce")
      ->check(CLI::IsMember({"mlir", "plan", "cuda", "ptx", "cubin", "resources"}))
      ->capture_default_str();
  compileCmd->add_option("-o,--output", compile.output,
                         "Output file ('-' for stdout)")
      ->capture_default_str();
  compileCmd->add_option("--tile-q", compile.tileQ,
                         "Tile size along queries for --emit plan (default: the kernel's)")
      ->check(CLI::Range(int64_t(1), int64_t(4096)));
  compileCmd->add_option("--tile-k", compile.tileK,
                         "Tile size along keys for --emit plan (default: the kernel's)")
      ->check(CLI::Range(int64_t(1), int64_t(4096)));
  compileCmd->add_option("--seq-len", compile.seqLen,
                         "For --emit plan: also print the kernel's walk at this length")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  compileCmd->add_option("--arch", compile.arch,
                         "Target (default: the current GPU's, sm_90a on Hopper; sm_90a "
                         "without a GPU)")
      ->check(archCheck);
  compileCmd->add_flag("--json", compile.json, "--emit resources as one JSON object");
  compileCmd->add_option("--kernel", compile.kernel,
                         "Force a kernel variant (see `sieve list --kernels`)");
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
  inspectCmd->add_option("spec", inspect.spec, "A .json or .mlir file, or builtin:NAME")
      ->required();
  inspectCmd->add_option("--pattern", inspect.pattern,
                         "The pattern to use from a .mlir file with several");
  inspectCmd->add_option("--seq-len", inspect.seqLen, "Sequence length in tokens")
      ->required()
      ->check(CLI::Range(int64_t(1), int64_t(1) << 24));
  inspectCmd->add_option("--layers", inspect.layers, "Coverage entries to report")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  inspectCmd->add_option("--tile-q", inspect.tileQ, "Kernel tile size along queries")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(1), int64_t(4096)));
  inspectCmd->add_option("--tile-k", inspect.tileK, "Kernel tile size along keys")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(1), int64_t(4096)));
  inspectCmd->add_option("--head-dim", inspect.headDim, "Head dimension for FLOP counts")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(1), int64_t(1024)));
  inspectCmd->add_flag("--json", inspect.json, "Print one JSON object");
  inspectCmd->add_option("--svg", inspect.svg, "Draw the block map and coverage curve");

  sieve::cli::RunOptions run;
  CLI::App *runCmd = app.add_subcommand(
      "run", "Run a pattern's kernel on the GPU; --check compares with a reference");
  runCmd->add_option("spec", run.spec, "A .json or .mlir file, or builtin:NAME")->required();
  runCmd->add_option("--pattern", run.pattern, "The pattern to use from a .mlir file");
  runCmd->add_option("--seq-len", run.seqLen, "Key length")
      ->required()
      ->check(CLI::Range(int64_t(1), int64_t(INT32_MAX)));
  runCmd->add_option("--q-len", run.qLen, "Query length (default: --seq-len)")
      ->check(CLI::Range(int64_t(1), int64_t(INT32_MAX)));
  runCmd->add_option("--batch", run.batch)->capture_default_str()->check(CLI::Range(1, 65535));
  runCmd->add_option("--heads", run.heads)->capture_default_str()->check(CLI::Range(1, 65535));
  runCmd->add_option("--kv-heads", run.kvHeads)->capture_default_str()->check(CLI::Range(1, 65535));
  runCmd->add_option("--head-dim", run.headDim)->capture_default_str()->check(CLI::IsMember({64, 128}));
  runCmd->add_option("--dtype", run.dtype)->capture_default_str()->check(CLI::IsMember({"bf16", "fp16"}));
  runCmd->add_option("--arch", run.arch, "Target architecture (default: the device's)")
      ->check(archCheck);
  runCmd->add_option("--kernel", run.kernel, "Force a kernel variant (see `sieve list --kernels`)");
  runCmd->add_option("--q", run.qFile, "Raw little-endian [batch, heads, q_len, head_dim] input");
  runCmd->add_option("--k", run.kFile, "Raw [batch, kv_heads, seq_len, head_dim] input");
  runCmd->add_option("--v", run.vFile, "Raw [batch, kv_heads, seq_len, head_dim] input");
  runCmd->add_option("--out", run.outFile, "Write the output (raw, like --q)");
  runCmd->add_option("--cubin", run.cubinFile,
                     "Run this cubin (from `sieve compile --emit cubin`) instead of compiling");
  runCmd->add_flag("--check", run.check, "Compare sampled rows with an fp64 CPU reference");
  runCmd->add_option("--repeat", run.repeat, "Time this many launches (median)")
      ->check(CLI::Range(0, 100000));
  runCmd->add_option("--seed", run.seed, "Seed of the random inputs")->capture_default_str();
  runCmd->add_flag("--json", run.json, "Print one JSON object");
  runCmd->add_option("--nvrtc-option", run.nvrtcOptions,
                     "Pass an option to NVRTC, as --nvrtc-option=--OPT (repeatable)")
      ->allow_extra_args(false);

  // CLI11 reports an unknown first word as a missing subcommand; name it.
  std::string first = argc > 1 ? argv[1] : "";
  if (!first.empty() && first[0] != '-' &&
      app.get_subcommands([&](CLI::App *s) { return s->get_name() == first; })
          .empty()) {
    std::fprintf(stderr,
                 "sieve: error: unknown command '%s'; expected list, "
                 "compile, inspect or run\nRun with --help for more information.\n",
                 argv[1]);
    return 2;
  }
  CLI11_PARSE(app, argc, argv);
  if (app.got_subcommand("list"))
    return sieve::cli::runList(listKernels);
  if (app.got_subcommand("inspect"))
    return sieve::cli::runInspect(inspect);
  if (app.got_subcommand("run"))
    return sieve::cli::runRun(run);
  return sieve::cli::runCompile(compile);
}
