"""libsieve.so.0 through ctypes: loading, the C structures, error handling.

Everything here mirrors runtime/include/sieve/sieve_c.h; test_abi.py checks
the structure layouts against a C compiler where there is one.
"""

import ctypes
import json
import os
import threading

from ._errors import SieveError

c_int, c_int64, c_size_t, c_char_p, c_void_p = (
    ctypes.c_int, ctypes.c_int64, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_void_p)

SIEVE_BF16, SIEVE_FP16 = 0, 1
DTYPES = {"bf16": SIEVE_BF16, "fp16": SIEVE_FP16}


class AttentionArgs(ctypes.Structure):
    """sieve_attention_args."""
    _fields_ = [
        ("q", c_void_p), ("k", c_void_p), ("v", c_void_p), ("o", c_void_p),
        ("lse", c_void_p),
        ("batch", c_int), ("heads", c_int), ("kv_heads", c_int),
        ("q_len", c_int), ("k_len", c_int), ("head_dim", c_int),
        ("dtype", c_int),
        ("q_stride", c_int64 * 3), ("k_stride", c_int64 * 3),
        ("v_stride", c_int64 * 3), ("o_stride", c_int64 * 3),
        ("scale", ctypes.c_float),
    ]


class DecodeArgs(ctypes.Structure):
    """sieve_decode_args (docs/decode.md)."""
    _fields_ = [
        ("q", c_void_p), ("k", c_void_p), ("v", c_void_p), ("o", c_void_p),
        ("lse", c_void_p),
        ("cu_seqlens_q", c_void_p), ("cu_seqlens_k", c_void_p), ("seqlens_k", c_void_p),
        ("block_table", c_void_p),
        ("batch", c_int), ("heads", c_int), ("kv_heads", c_int),
        ("q_len", c_int), ("k_len", c_int), ("head_dim", c_int),
        ("dtype", c_int),
        ("total_q", c_int64), ("total_k", c_int64),
        ("page_size", c_int), ("max_pages", c_int), ("num_pages", c_int),
        ("splits", c_int),
        ("workspace", c_void_p), ("workspace_bytes", c_size_t),
        ("q_stride", c_int64 * 3), ("k_stride", c_int64 * 3),
        ("v_stride", c_int64 * 3), ("o_stride", c_int64 * 3),
        ("scale", ctypes.c_float),
        ("tickets", c_void_p), ("ticket_count", c_int64), ("combine", c_int),
    ]


class BackwardArgs(ctypes.Structure):
    """sieve_backward_args (docs/backward.md)."""
    _fields_ = [
        ("q", c_void_p), ("k", c_void_p), ("v", c_void_p), ("o", c_void_p),
        ("d_o", c_void_p), ("lse", c_void_p),
        ("dq", c_void_p), ("dk", c_void_p), ("dv", c_void_p),
        ("batch", c_int), ("heads", c_int), ("kv_heads", c_int),
        ("q_len", c_int), ("k_len", c_int), ("head_dim", c_int),
        ("dtype", c_int),
        ("q_stride", c_int64 * 3), ("k_stride", c_int64 * 3),
        ("v_stride", c_int64 * 3), ("o_stride", c_int64 * 3),
        ("do_stride", c_int64 * 3), ("dq_stride", c_int64 * 3),
        ("dk_stride", c_int64 * 3), ("dv_stride", c_int64 * 3),
        ("scale", ctypes.c_float),
        ("deterministic", c_int),
        ("head_split", c_int),
        ("workspace", c_void_p), ("workspace_bytes", c_size_t),
    ]


class CompileOptions(ctypes.Structure):
    """sieve_compile_options."""
    _fields_ = [("head_dim", c_int), ("dtype", c_int), ("arch", c_char_p),
                ("kernel", c_char_p)]


class InspectOptions(ctypes.Structure):
    """sieve_inspect_options."""
    _fields_ = [("seq_len", c_int64), ("layers", c_int), ("tile_q", c_int),
                ("tile_k", c_int), ("head_dim", c_int)]


class DeviceInfo(ctypes.Structure):
    """sieve_device_info."""
    _fields_ = [("name", ctypes.c_char * 256), ("ordinal", c_int),
                ("major", c_int), ("minor", c_int), ("multiprocessors", c_int),
                ("target", ctypes.c_char * 16)]


_ERR = ctypes.c_char * 4096
_PTR = ctypes.POINTER

# name: (restype, argtypes); every int-returning call ends in (error, size).
_PROTOTYPES = {
    "sieve_version": (c_char_p, []),
    "sieve_free": (None, [c_void_p]),
    "sieve_compile": (c_int, [c_char_p, _PTR(CompileOptions), _PTR(c_void_p),
                              _PTR(c_size_t), _PTR(c_void_p), c_char_p, c_size_t]),
    "sieve_kernel_create_with_options": (
        c_int, [c_char_p, _PTR(CompileOptions), _PTR(c_void_p), c_char_p, c_size_t]),
    "sieve_kernel_load": (c_int, [c_void_p, c_size_t, _PTR(c_void_p), c_char_p,
                                  c_size_t]),
    "sieve_kernel_launch": (c_int, [c_void_p, _PTR(AttentionArgs), c_void_p, c_char_p,
                                    c_size_t]),
    "sieve_kernel_decode_workspace": (c_int, [c_void_p, _PTR(DecodeArgs), _PTR(c_int),
                                              _PTR(c_size_t), c_char_p, c_size_t]),
    "sieve_kernel_launch_decode": (c_int, [c_void_p, _PTR(DecodeArgs), c_void_p, c_char_p,
                                           c_size_t]),
    "sieve_kernel_decode_tickets": (c_int, [c_void_p, _PTR(DecodeArgs), _PTR(c_int64),
                                            c_char_p, c_size_t]),
    "sieve_kernel_backward_workspace": (c_int, [c_void_p, _PTR(BackwardArgs), _PTR(c_size_t),
                                                c_char_p, c_size_t]),
    "sieve_kernel_launch_backward": (c_int, [c_void_p, _PTR(BackwardArgs), c_void_p, c_char_p,
                                             c_size_t]),
    "sieve_kernel_destroy": (None, [c_void_p]),
    "sieve_builtins_json": (c_int, [_PTR(c_void_p), c_char_p, c_size_t]),
    "sieve_kernel_variants_json": (c_int, [_PTR(c_void_p), c_char_p, c_size_t]),
    "sieve_inspect_json": (c_int, [c_char_p, _PTR(InspectOptions), _PTR(c_void_p),
                                   c_char_p, c_size_t]),
    "sieve_spec_json": (c_int, [c_char_p, _PTR(c_void_p), c_char_p, c_size_t]),
    "sieve_spec_key": (c_int, [c_char_p, ctypes.c_char * 65, c_char_p, c_size_t]),
    "sieve_reference_mask": (c_int, [c_char_p, c_int64, c_int64, c_void_p, c_char_p,
                                     c_size_t]),
    "sieve_query_device": (c_int, [c_int, _PTR(DeviceInfo), c_char_p, c_size_t]),
    "sieve_current_device": (c_int, [_PTR(DeviceInfo), c_char_p, c_size_t]),
    "sieve_resolve_target": (c_int, [c_char_p, c_char_p, c_size_t, c_char_p, c_size_t,
                                     c_char_p, c_size_t]),
    "sieve_device_alloc": (c_int, [c_size_t, _PTR(c_void_p), c_char_p, c_size_t]),
    "sieve_device_free": (c_int, [c_void_p, c_char_p, c_size_t]),
    "sieve_copy_to_device": (c_int, [c_void_p, c_void_p, c_size_t, c_char_p, c_size_t]),
    "sieve_copy_to_host": (c_int, [c_void_p, c_void_p, c_size_t, c_char_p, c_size_t]),
    "sieve_device_synchronize": (c_int, [c_char_p, c_size_t]),
}

_lock = threading.Lock()
_lib = None


def _candidates():
    """Where libsieve.so.0 may be: $SIEVE_LIBRARY alone when it is set, else
    next to an installed package (cmake --install), else the loader's path."""
    explicit = os.environ.get("SIEVE_LIBRARY")
    if explicit is not None:
        return [explicit]
    out = []
    try:
        from . import _install  # written by `cmake --install`
        here = os.path.dirname(os.path.abspath(__file__))
        out.append(os.path.normpath(os.path.join(here, _install.LIBDIR, "libsieve.so.0")))
    except ImportError:
        pass
    out.append("libsieve.so.0")
    return out


def lib():
    """The loaded library, with every prototype declared."""
    global _lib
    with _lock:
        if _lib is None:
            reasons = []
            for name in _candidates():
                try:
                    handle = ctypes.CDLL(name)
                    break
                except OSError as e:
                    reasons.append(f"{name}: {e}")
            else:
                raise SieveError("cannot load libsieve.so.0 (set SIEVE_LIBRARY to its path): "
                                 + "; ".join(reasons))
            for fn, (restype, argtypes) in _PROTOTYPES.items():
                f = getattr(handle, fn)
                f.restype, f.argtypes = restype, argtypes
            _lib = handle
        return _lib


def call(fn, *args, exception=SieveError):
    """Calls `fn` (a name) with `args` and the error buffer; raises
    `exception` with sieve's message when it fails."""
    error = _ERR()
    if getattr(lib(), fn)(*args, error, ctypes.sizeof(error)) != 0:
        raise exception(error.value.decode("utf-8", "replace"))


def take_string(pointer):
    """The text sieve allocated at `pointer` (a c_void_p), released."""
    try:
        return ctypes.string_at(pointer.value).decode("utf-8")
    finally:
        lib().sieve_free(pointer)


def call_json(fn, *args, exception=SieveError):
    """Calls a JSON-returning function and parses what it returns."""
    out = c_void_p()
    call(fn, *args, ctypes.byref(out), exception=exception)
    return json.loads(take_string(out))


def encode(text):
    return None if text is None else text.encode("utf-8")
