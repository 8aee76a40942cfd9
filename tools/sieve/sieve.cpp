//===- sieve.cpp - The sieve command-line tool ------------------*- C++ -*-===//

#include "tools/sieve/SieveCommands.h"

#include <CLI/CLI.hpp>

int main(int argc, char **argv) {
  CLI::App app{"sieve: a sparse-attention pattern compiler"};
  app.set_version_flag("--version", "sieve " SIEVE_VERSION);
  app.require_subcommand(1);

  app.add_subcommand("list", "List the built-in patterns");

  sieve::cli::CompileOptions compile;
  CLI::App *compileCmd = app.add_subcommand("compile", "Compile a pattern");
  compileCmd->add_option("spec", compile.spec,
                         "A .json or .mlir file, or builtin:NAME")
      ->capture_default_str();
  compileCmd->add_option("--pattern", compile.pattern,
                         "The pattern to use from a .mlir file with several");
  compileCmd->add_option("--emit", compile.emit, "What to produce")
      ->check(CLI::IsMember({"mlir"}))
      ->capture_default_str();
  compileCmd->add_option("-o,--output", compile.output,
                         "Output file ('-' for stdout)")
      ->capture_default_str();

  CLI11_PARSE(app, argc, argv);
  if (app.got_subcommand("list"))
    return sieve::cli::runList();
  return sieve::cli::runCompile(compile);
}
