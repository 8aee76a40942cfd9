"""pytest configuration for the sieve Python package's tests.

ctest runs these with PYTHONPATH at python/, SIEVE_LIBRARY at the build's
libsieve.so.0, SIEVE_TOOL at its sieve CLI and SIEVE_CACHE_DIR in the build
tree (test/CMakeLists.txt).
"""

import os
import shutil

import pytest

import sieve


def _have_nvrtc():
    try:
        sieve.Pattern("causal").compile(head_dim=64, arch="sm_80")
        return True
    except sieve.SieveError as e:
        if "NVRTC" not in str(e):
            raise
        return False


HAVE_NVRTC = _have_nvrtc()
HAVE_GPU = sieve.device() is not None

needs_nvrtc = pytest.mark.skipif(not HAVE_NVRTC, reason="no NVRTC")
needs_gpu = pytest.mark.skipif(not HAVE_GPU, reason="no GPU")
no_gpu = pytest.mark.skipif(HAVE_GPU, reason="a GPU is present (would launch on fake pointers)")


@pytest.fixture
def sieve_tool():
    tool = os.environ.get("SIEVE_TOOL") or shutil.which("sieve")
    if not tool:
        pytest.skip("no sieve CLI (set SIEVE_TOOL)")
    return tool
