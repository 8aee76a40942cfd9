//===- SieveSanitizerDefaults.cpp - Sanitizer options of a SIEVE_SANITIZE build -===//
//
// Linked into every executable of a SIEVE_SANITIZE build (CMakeLists.txt),
// so that tools, tests and the generators run at build time need no
// environment. ASAN_OPTIONS and UBSAN_OPTIONS in the environment still
// override these. Why each one: docs/development.md, "Sanitizers".
//
//===----------------------------------------------------------------------===//

extern "C" const char *__asan_default_options() { return "allow_user_poisoning=0"; }

extern "C" const char *__ubsan_default_options() { return "print_stacktrace=1"; }
