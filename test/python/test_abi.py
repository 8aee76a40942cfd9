"""The ctypes structures match sieve_c.h, checked with the C compiler where
there is one (installing the package needs none)."""

import ctypes
import pathlib
import shutil
import subprocess

import pytest

from sieve import _lib

INCLUDE = pathlib.Path(__file__).resolve().parents[2] / "runtime" / "include"
STRUCTS = {"sieve_attention_args": _lib.AttentionArgs,
           "sieve_decode_args": _lib.DecodeArgs,
           "sieve_backward_args": _lib.BackwardArgs,
           "sieve_compile_options": _lib.CompileOptions,
           "sieve_inspect_options": _lib.InspectOptions,
           "sieve_device_info": _lib.DeviceInfo}


def test_structures_have_the_c_layout(tmp_path):
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        pytest.skip("no C compiler")
    lines = ['#include <stddef.h>', '#include <stdio.h>', '#include "sieve/sieve_c.h"',
             "int main(void) {"]
    expected = []
    for name, py in STRUCTS.items():
        lines.append(f'  printf("{name} %zu\\n", sizeof({name}));')
        expected.append(f"{name} {ctypes.sizeof(py)}")
        for field, _ in py._fields_:
            lines.append(f'  printf("{name}.{field} %zu\\n", offsetof({name}, {field}));')
            expected.append(f"{name}.{field} {getattr(py, field).offset}")
    lines.append("  return 0;\n}")
    (tmp_path / "layout.c").write_text("\n".join(lines))
    subprocess.run([cc, "-std=c11", "-I", str(INCLUDE), str(tmp_path / "layout.c"), "-o",
                    str(tmp_path / "layout")], check=True)
    got = subprocess.run([str(tmp_path / "layout")], capture_output=True, text=True,
                         check=True).stdout.split("\n")[:-1]
    assert got == expected
