//===- SieveSanitizerDefaults.cpp - Sanitizer options of a SIEVE_SANITIZE build -===//
//
// Linked into every executable of a SIEVE_SANITIZE build (CMakeLists.txt),
// so that tools, tests and the generators run at build time need no
// environment. ASAN_OPTIONS and UBSAN_OPTIONS in the environment still
// override these. Why each one: docs/development.md, "Sanitizers".
//
//===----------------------------------------------------------------------===//

// The runtimes look these up by name at start-up: they must stay visible
// although sieve compiles with hidden visibility.
#define SIEVE_RUNTIME_HOOK extern "C" __attribute__((visibility("default"), used))

SIEVE_RUNTIME_HOOK const char *__asan_default_options() { return "allow_user_poisoning=0"; }

SIEVE_RUNTIME_HOOK const char *__ubsan_default_options() { return "print_stacktrace=1"; }
