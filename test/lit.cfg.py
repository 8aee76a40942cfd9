# lit configuration for sieve: dialect, pass, pattern and CLI tests.
import os
import lit.formats

config.name = "sieve"
config.test_format = lit.formats.ShTest(not lit_config.isWindows)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.sieve_obj_root, "test")
config.excludes = ["Inputs", "unit", "fuzz", "python", "CMakeLists.txt", "lit.cfg.py"]

# Captured FileCheck variables do not leak across CHECK-LABEL blocks.
config.environment["FILECHECK_OPTS"] = "--enable-var-scope"
config.environment["SIEVE_CACHE_DIR"] = os.path.join(config.test_exec_root, "cache")

path = [config.sieve_tools_dir, config.llvm_tools_dir, config.environment.get("PATH", "")]
config.environment["PATH"] = os.pathsep.join(path + [os.environ.get("PATH", "")])
config.substitutions.append(("%sieve_src", config.sieve_src_root))
config.substitutions.append(("%sieve_lib", config.sieve_lib_dir))
config.substitutions.append(("%sieve_obj", config.sieve_obj_root))
# A C compiler for programs that link libsieve.so; in a sanitizer build they
# are instrumented too and run with the options the mix needs.
config.substitutions.append(("%cc", config.c_compiler + " " + config.sanitizer_cflags))
if config.sanitizer_env:
    name, value = config.sanitizer_env.split("=", 1)
    config.environment[name] = value

# Tests that compile kernels need NVRTC (CUDA 13); they are skipped without it.
import ctypes
for name in ("libnvrtc.so.13", "libnvrtc.so", "/usr/local/cuda/lib64/libnvrtc.so"):
    try:
        ctypes.CDLL(name)
        config.available_features.add("nvrtc")
        break
    except OSError:
        pass

# A GPU is present when the driver loads (tests of `sieve run` differ).
try:
    ctypes.CDLL("libcuda.so.1").cuInit(0) == 0 and config.available_features.add("cuda")
except OSError:
    pass
