/* The C API: compile PowerAttention to a cubin and report its size. */
#include <sieve/sieve_c.h>

#include <stdio.h>
#include <string.h>

int main(void) {
  char error[512];
  size_t size = 0;
  printf("sieve %s (C API)\n", sieve_version());
  if (sieve_compile_cubin("builtin:sliding_window", 128, SIEVE_BF16, "sm_80", NULL, &size, error,
                          sizeof error) != 0) {
    if (strstr(error, "NVRTC not found")) {
      printf("skipped: %s\n", error);
      return 0;
    }
    fprintf(stderr, "compile failed: %s\n", error);
    return 1;
  }
  printf("sliding_window for sm_80: %zu-byte cubin\n", size);
  if (sieve_compile_cubin("builtin:nope", 128, SIEVE_BF16, "sm_80", NULL, &size, error,
                          sizeof error) == 0 || !strstr(error, "unknown built-in 'nope'")) {
    fprintf(stderr, "expected an error for an unknown built-in, got: %s\n", error);
    return 1;
  }
  sieve_kernel *kernel = NULL;
  if (sieve_kernel_create("builtin:causal", 128, SIEVE_BF16, "sm_90", &kernel, error,
                          sizeof error) != 0) {
    printf("not loaded: %s\n", error);
    return 0;
  }
  sieve_kernel_destroy(kernel);
  return 0;
}
