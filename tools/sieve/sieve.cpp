//===- sieve.cpp - The sieve command-line tool ------------------*- C++ -*-===//

#include "tools/sieve/SieveCommands.h"
#include "sieve/Jit.h"

#include <CLI/CLI.hpp>

int main(int argc, char **argv) {
  CLI::App app{"sieve: a sparse-attention pattern compiler"};
  app.set_version_flag("--version", "sieve " SIEVE_VERSION);
  app.require_subcommand(1);
  app.failure_message([](const CLI::App *, const CLI::Error &e) {
    return "sieve: error: " + std::string(e.what()) +
           "\nRun with --help for more information.\n";
  });

  app.add_subcommand("list", "List the built-in patterns");

  sieve::cli::CompileOptions compile;
  CLI::App *compileCmd = app.add_subcommand("compile", "Compile a pattern");
  compileCmd->add_option("spec", compile.spec,
                         "A .json or .mlir file, or builtin:NAME")
      ->capture_default_str();
  compileCmd->add_option("--pattern", compile.pattern,
                         "The pattern to use from a .mlir file with several");
  compileCmd->add_option("--emit", compile.emit, "What to produce")
      ->check(CLI::IsMember({"mlir", "plan", "cuda", "ptx", "cubin"}))
      ->capture_default_str();
  compileCmd->add_option("-o,--output", compile.output,
                         "Output file ('-' for stdout)")
      ->capture_default_str();
  compileCmd->add_option("--tile-q", compile.tileQ, "Kernel tile size along queries")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(1), int64_t(4096)));
  compileCmd->add_option("--tile-k", compile.tileK, "Kernel tile size along keys")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(1), int64_t(4096)));
  compileCmd->add_option("--arch", compile.arch, "GPU architecture for ptx and cubin")
      ->capture_default_str()
      ->check([](const std::string &a) {
        return sieve::isSupportedArch(a) ? std::string()
                                         : "unsupported architecture '" + a +
                                               "'; expected sm_75 ... sm_121 (sm_90a for Hopper features)";
      });
  compileCmd->add_option("--head-dim", compile.headDim, "Head dimension of the kernel")
      ->capture_default_str()
      ->check(CLI::IsMember({64, 128}));
  compileCmd->add_flag("!--no-cache", compile.useCache,
                       "Compile even when the kernel cache ($SIEVE_CACHE_DIR) has it");
  compileCmd->add_option("--dtype", compile.dtype, "Element type of q, k, v and o")
      ->capture_default_str()
      ->check(CLI::IsMember({"bf16", "fp16"}));

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

  // CLI11 reports an unknown first word as a missing subcommand; name it.
  std::string first = argc > 1 ? argv[1] : "";
  if (!first.empty() && first[0] != '-' &&
      app.get_subcommands([&](CLI::App *s) { return s->get_name() == first; })
          .empty()) {
    std::fprintf(stderr,
                 "sieve: error: unknown command '%s'; expected list, "
                 "compile or inspect\nRun with --help for more information.\n",
                 argv[1]);
    return 2;
  }
  CLI11_PARSE(app, argc, argv);
  if (app.got_subcommand("list"))
    return sieve::cli::runList();
  if (app.got_subcommand("inspect"))
    return sieve::cli::runInspect(inspect);
  return sieve::cli::runCompile(compile);
}
