"""sieve: sparse-attention patterns compiled to CUDA kernels.

A thin layer over libsieve.so.0's C API through ctypes (no compiler needed
to install it). A pattern is a built-in, a JSON spec (text, a dict or a
file) or a .mlir file::

    import sieve
    p = sieve.Pattern("power_attention", window_blocks=8)
    p.inspect(32768)["density"]
    p.to_dense(1024)              # numpy bool [q_len, kv_len], the reference mask
    p.compile(head_dim=128, dtype="bf16", arch="sm_90a").cubin
    o = sieve.attention(q, k, v, p)   # any CUDA tensors with __dlpack__ or
                                      # __cuda_array_interface__

PyTorch users: sieve.torch.sieve_attention, shaped like FlexAttention.
"""

import ctypes
import functools
import json
import math
import os
import threading
import warnings
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from . import _lib, _tensor
from ._errors import SieveError, SieveWarning, SpecError

__version__ = "0.1.0"

__all__ = [
    "Builtin", "CompiledKernel", "DeviceArray", "DeviceInfo", "Kernel", "Param", "Pattern",
    "SieveError", "SieveWarning", "SpecError", "DECODE_MAX_QUERIES", "DECODE_VERIFIED_TARGETS",
    "attention", "device", "kernel_variants", "launch_operation", "library_version",
    "list_builtins", "target",
]

#: sieve.attention and sieve.torch launch the decode kernel (split-KV, the
#: query heads of a KV group packed into one tile: docs/decode.md) for at
#: most this many queries per sequence, and the forward kernel for more,
#: unless the call names a kernel. On an H200 (PowerAttention, 32K and 128K
#: keys, 32/8 and 32/32 heads) decode was the faster of the two at every
#: query count from 16 to 64: 1.5-1.9x at 16, 1.04-1.07x at 64
#: (docs/performance.md, 2026-12-02, fifth session).
DECODE_MAX_QUERIES = 64

#: Targets where the decode kernel has been checked on a GPU (an H200). On
#: others sieve's choice stays the forward kernel until a GPU run checks
#: decode there (it can still be forced: kernel="decode"); at head dim 128
#: it also needs more shared memory than sm_86/89/12x give a block.
DECODE_VERIFIED_TARGETS = ("sm_90", "sm_90a")


def library_version() -> str:
    """The version of the libsieve.so.0 that was loaded."""
    return _lib.lib().sieve_version().decode()


@dataclass(frozen=True)
class Param:
    """A parameter of a built-in pattern."""
    name: str
    description: str
    default: object  # an int, or a list of ints when `list`
    list: bool
    min: int
    max: int


@dataclass(frozen=True)
class Builtin:
    """A built-in pattern (`sieve list`)."""
    name: str
    description: str
    block_size: int
    params: Tuple[Param, ...]

    def pattern(self, **params) -> "Pattern":
        return Pattern(self.name, **params)


_builtins_lock = threading.Lock()
_builtins: Optional[List[Builtin]] = None


def list_builtins() -> List[Builtin]:
    """The built-in patterns, with their parameters and defaults."""
    global _builtins
    with _builtins_lock:
        if _builtins is None:
            _builtins = [Builtin(b["name"], b["description"], b["block_size"],
                                 tuple(Param(**p) for p in b["params"]))
                         for b in _lib.call_json("sieve_builtins_json")]
        return list(_builtins)


def kernel_variants() -> List[dict]:
    """The kernel variants (`sieve list --kernels`): name, operation,
    kv_layout, summary, needs, verified."""
    return _lib.call_json("sieve_kernel_variants_json")


@functools.lru_cache(maxsize=1)
def _variant_kinds() -> dict:
    """Variant name -> (operation, KV layout), from kernel_variants()."""
    return {v["name"]: (v["operation"], v["kv_layout"]) for v in kernel_variants()}


def launch_operation(kernel: Optional[str], q_len: int, target: Optional[str] = None) -> str:
    """What sieve.attention and sieve.torch launch for `kernel` and `q_len`
    queries per sequence on `target` (sieve.target()'s answer; None: any):
    "decode" or "forward".

    kernel None or "" is sieve's choice: decode for q_len <=
    DECODE_MAX_QUERIES on a target of DECODE_VERIFIED_TARGETS (or None),
    forward otherwise. "forward" and "decode" force that
    operation (sieve's kernel for it); a variant name (kernel_variants())
    forces that kernel, whose operation it is. Paged-KV and backward kernels
    take arguments these calls do not have: ValueError. A name sieve does not
    know is left to the compiler, which says what it takes."""
    if not kernel:
        verified = target is None or target in DECODE_VERIFIED_TARGETS
        return "decode" if q_len <= DECODE_MAX_QUERIES and verified else "forward"
    if kernel in ("forward", "decode"):
        return kernel
    operation, layout = _variant_kinds().get(kernel, ("forward", "dense"))
    if kernel == "decode-paged" or layout == "paged":
        raise ValueError(f"kernel {kernel!r} reads a paged KV cache (a block table), which "
                         "this call does not take; launch it through Kernel.launch_decode "
                         "(sieve_c.h's sieve_decode_args)")
    if kernel in ("backward", "backward-deterministic") or operation == "backward":
        raise ValueError(f"kernel {kernel!r} is a backward kernel; the backward runs through "
                         "sieve.torch's autograd (or Kernel.launch_backward)")
    return operation


@functools.lru_cache(maxsize=64)
def _resolved_target(arch: Optional[str], device_ordinal: int) -> str:
    """target(arch)[0] for the current device (device_ordinal keys the cache)."""
    return target(arch)[0]


def _variant(kernel: Optional[str], operation: str) -> Optional[str]:
    """The kernel to compile: the one named, or sieve's choice of the
    operation (None for the forward, as Pattern.compile's default)."""
    return kernel or (None if operation == "forward" else operation)


@dataclass(frozen=True)
class DeviceInfo:
    """A GPU and the target sieve compiles for on it."""
    name: str
    ordinal: int
    compute_capability: Tuple[int, int]
    multiprocessors: int
    target: str


def device(ordinal: Optional[int] = None) -> Optional[DeviceInfo]:
    """The GPU `ordinal`, or that of the current context when None; None
    when there is no driver or GPU."""
    info = _lib.DeviceInfo()
    error = ctypes.create_string_buffer(1024)
    lib = _lib.lib()
    rc = (lib.sieve_current_device(ctypes.byref(info), error, len(error)) if ordinal is None
          else lib.sieve_query_device(ordinal, ctypes.byref(info), error, len(error)))
    if rc != 0:
        return None
    return DeviceInfo(info.name.decode("utf-8", "replace"), info.ordinal,
                      (info.major, info.minor), info.multiprocessors, info.target.decode())


def target(arch: Optional[str] = None) -> Tuple[str, str]:
    """The target a compile for `arch` builds for, and why: ("sm_90a",
    "no GPU: default"), ("sm_80", "--arch"), ("sm_90a", "device NAME")."""
    out = ctypes.create_string_buffer(16)
    how = ctypes.create_string_buffer(512)
    _lib.call("sieve_resolve_target", _lib.encode(arch), out, len(out), how, len(how),
              exception=ValueError)
    return out.value.decode(), how.value.decode()


def _builtin_names():
    return {b.name for b in list_builtins()}


def _spec_text(spec, params) -> str:
    """The spec as libsieve takes it: "builtin:NAME", a .json/.mlir path or
    JSON text; built-in parameters folded in."""
    if isinstance(spec, Pattern):
        if params:
            raise TypeError("parameters apply to a built-in, not to a Pattern")
        return spec.spec
    if isinstance(spec, dict):
        if params and "builtin" not in spec:
            raise TypeError("parameters apply to built-ins; this spec has no \"builtin\" key")
        return json.dumps({**spec, **params})
    if isinstance(spec, os.PathLike):
        spec = os.fspath(spec)
        if params:
            raise TypeError(f"parameters apply to built-ins, not to the file '{spec}'")
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"a spec is a str, dict, path or Pattern, not {type(spec).__name__}")
    text = spec.strip()
    if text.startswith("{"):
        if not params:
            return spec
        doc = json.loads(text)
        if not isinstance(doc, dict) or "builtin" not in doc:
            raise TypeError("parameters apply to built-ins; this spec has no \"builtin\" key")
        return json.dumps({**doc, **params})
    name = text[len("builtin:"):] if text.startswith("builtin:") else None
    if name is None and not text.endswith((".json", ".mlir")) and text in _builtin_names():
        name = text
    if name is not None:
        return json.dumps({"builtin": name, **params}) if params else "builtin:" + name
    if params:
        raise TypeError(f"parameters apply to built-ins, not to the file '{spec}'")
    return spec


@dataclass
class CompiledKernel:
    """A compiled forward kernel: the cubin and what it was built as."""
    cubin: bytes
    pattern: str
    arch: str
    kernel: str
    tile_q: int
    tile_k: int
    head_dim: int
    dtype: str
    cache: str  # "memory", "disk" or "compiled"
    source: str = field(repr=False)
    warnings: List[str] = field(default_factory=list)

    def load(self) -> "Kernel":
        """Loads the kernel into the current CUDA context (needs a GPU)."""
        handle = ctypes.c_void_p()
        buffer = ctypes.create_string_buffer(self.cubin, len(self.cubin))
        _lib.call("sieve_kernel_load", buffer, len(self.cubin), ctypes.byref(handle))
        return Kernel(handle, self.head_dim, self.dtype)


class Kernel:
    """A loaded kernel (forward, decode or backward) for launches (see
    sieve.attention and sieve.torch)."""

    def __init__(self, handle, head_dim, dtype):
        self._handle, self.head_dim, self.dtype = handle, head_dim, dtype
        self._workspaces = {}  # stream -> [DeviceArray] (sieve.attention's decode splits)
        self._tickets = {}  # stream -> zeroed ticket arrays, the last the largest
        self._workspaces_lock = threading.Lock()

    def __del__(self):
        # At interpreter exit the library or the CUDA context may be gone.
        try:
            if getattr(self, "_handle", None) and self._handle.value:
                _lib.lib().sieve_kernel_destroy(self._handle)
                self._handle = None
        except Exception:
            pass

    def launch(self, args: _lib.AttentionArgs, stream: int = 0):
        _lib.call("sieve_kernel_launch", self._handle, ctypes.byref(args),
                  ctypes.c_void_p(stream or None))

    # Decode and backward modules (compiled with kernel="decode", "backward"
    # or a variant's name): the C API's calls, arguments as in sieve_c.h.
    def decode_workspace(self, args: _lib.DecodeArgs) -> Tuple[int, int]:
        """(splits, workspace bytes) of a decode launch on the current device."""
        splits, size = ctypes.c_int(), ctypes.c_size_t()
        _lib.call("sieve_kernel_decode_workspace", self._handle, ctypes.byref(args),
                  ctypes.byref(splits), ctypes.byref(size))
        return splits.value, size.value

    def decode_tickets(self, args: _lib.DecodeArgs) -> int:
        """The fused combine's ticket count for a decode launch."""
        count = ctypes.c_int64()
        _lib.call("sieve_kernel_decode_tickets", self._handle, ctypes.byref(args),
                  ctypes.byref(count))
        return count.value

    def launch_decode(self, args: _lib.DecodeArgs, stream: int = 0):
        _lib.call("sieve_kernel_launch_decode", self._handle, ctypes.byref(args),
                  ctypes.c_void_p(stream or None))

    def _launch_decode_kept(self, args: _lib.DecodeArgs, stream: int):
        """launch_decode with sieve's split count and a workspace kept with
        the kernel, one per stream: launches on one stream run in order, so
        they share it. A launch that needs more allocates a buffer twice as
        large and keeps the old one alive (earlier launches may still read
        it), so no launch waits for the device; launches are issued under a
        lock, so threads sharing a stream cannot swap the buffer under one
        another. (A step needing a new buffer allocates, which a CUDA graph
        capture refuses: warm it up first at the largest batch, heads and
        query count it will capture, which sizes both.) The fused
        combine's tickets are kept the same way, zeroed when allocated (a
        launch leaves them zero), and the C API's auto policy decides
        whether a launch uses them."""
        splits, size = self.decode_workspace(args)
        args.splits = splits
        with self._workspaces_lock:
            if size:
                kept = self._workspaces.setdefault(stream, [])
                if not kept or kept[-1].nbytes < size:
                    grown = max(size, 2 * kept[-1].nbytes if kept else 0)
                    kept.append(DeviceArray(((grown + 3) // 4,), "fp32"))
                args.workspace, args.workspace_bytes = kept[-1].data, size
                count = self.decode_tickets(args)
                tickets = self._tickets.setdefault(stream, [])
                if not tickets or tickets[-1].shape[0] < count:
                    import numpy as np
                    grown = max(count, 2 * tickets[-1].shape[0] if tickets else 0)
                    # float32 zeros are the same bytes as uint32 zeros.
                    tickets.append(DeviceArray.from_numpy(np.zeros(grown, np.float32)))
                args.tickets, args.ticket_count = tickets[-1].data, tickets[-1].shape[0]
            self.launch_decode(args, stream)

    def backward_workspace(self, args: _lib.BackwardArgs) -> int:
        """The workspace bytes of a backward launch."""
        size = ctypes.c_size_t()
        _lib.call("sieve_kernel_backward_workspace", self._handle, ctypes.byref(args),
                  ctypes.byref(size))
        return size.value

    def launch_backward(self, args: _lib.BackwardArgs, stream: int = 0):
        _lib.call("sieve_kernel_launch_backward", self._handle, ctypes.byref(args),
                  ctypes.c_void_p(stream or None))


def _compile_options(head_dim, dtype, arch, kernel):
    if dtype not in _lib.DTYPES:
        raise ValueError(f"dtype must be 'bf16' or 'fp16', not {dtype!r}")
    if head_dim not in (64, 128):
        raise ValueError(f"head_dim must be 64 or 128, not {head_dim!r}")
    return _lib.CompileOptions(head_dim, _lib.DTYPES[dtype], _lib.encode(arch),
                               _lib.encode(kernel))


class Pattern:
    """An attention pattern: a built-in by name (with its parameters as
    keyword arguments), "builtin:NAME", a JSON spec as text or a dict, or a
    path to a .json or .mlir file. Errors in the spec raise SpecError with
    sieve's located message."""

    def __init__(self, spec, **params):
        self.spec = _spec_text(spec, params)
        info = _lib.call_json("sieve_spec_json", _lib.encode(self.spec), exception=SpecError)
        self.name: str = info["name"]
        self.block_size: Tuple[int, int] = tuple(info["block_size"])
        self.key: str = info["key"]  # the canonical key (sieve_spec_key)
        self.mlir: str = info["mlir"]

    def __repr__(self):
        return (f"Pattern({self.name!r}, block_size={self.block_size}, "
                f"key={self.key[:12]}...)")

    def __eq__(self, other):
        return isinstance(other, Pattern) and other.key == self.key

    def __hash__(self):
        return hash(self.key)

    def inspect(self, seq_len: int, *, tile_q: int = 128, tile_k: int = 128,
                head_dim: int = 128, layers: int = 12) -> dict:
        """What `sieve inspect --json` reports: density, blocks, empty rows,
        tiles the kernel walks, FLOPs, the receptive field by layers."""
        for name, value in (("seq_len", seq_len), ("tile_q", tile_q), ("tile_k", tile_k),
                            ("head_dim", head_dim), ("layers", layers)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"{name} must be an int, not {type(value).__name__}")
        options = _lib.InspectOptions(seq_len, layers, tile_q, tile_k, head_dim)
        return _lib.call_json("sieve_inspect_json", _lib.encode(self.spec),
                              ctypes.byref(options), exception=ValueError)

    def to_dense(self, q_len: int, kv_len: Optional[int] = None):
        """The reference mask as a numpy bool array [q_len, kv_len] (True:
        attended), from the reference evaluator; queries are aligned to the
        end of the keys, as the kernels apply them. O(q_len * kv_len)."""
        import numpy as np
        kv_len = q_len if kv_len is None else kv_len
        if q_len < 0 or kv_len < q_len:
            raise ValueError(f"expected 0 <= q_len <= kv_len but q_len is {q_len} and "
                             f"kv_len {kv_len}")
        out = np.zeros((q_len, kv_len), dtype=np.uint8)
        _lib.call("sieve_reference_mask", _lib.encode(self.spec), q_len, kv_len,
                  out.ctypes.data_as(ctypes.c_void_p), exception=ValueError)
        return out.view(np.bool_)

    def compile(self, head_dim: int = 128, dtype: str = "bf16", arch: Optional[str] = None,
                kernel: Optional[str] = None) -> CompiledKernel:
        """Compiles the forward kernel through the kernel cache. `arch`
        None: the current GPU's target (sm_90a on Hopper), sm_90a without
        one; `kernel` None: sieve's choice of forward kernel, a variant of
        sieve.kernel_variants() to force one, or "forward", "decode",
        "decode-paged", "backward" or "backward-deterministic" for sieve's choice."""
        options = _compile_options(head_dim, dtype, arch, kernel)
        cubin, size, info = ctypes.c_void_p(), ctypes.c_size_t(), ctypes.c_void_p()
        _lib.call("sieve_compile", _lib.encode(self.spec), ctypes.byref(options),
                  ctypes.byref(cubin), ctypes.byref(size), ctypes.byref(info))
        try:
            data = ctypes.string_at(cubin.value, size.value)
        finally:
            _lib.lib().sieve_free(cubin)
        meta = json.loads(_lib.take_string(info))
        for w in meta["warnings"]:
            warnings.warn(w, SieveWarning, stacklevel=2)
        return CompiledKernel(data, meta["pattern"], meta["arch"], meta["kernel"],
                              meta["tile_q"], meta["tile_k"], meta["head_dim"], meta["dtype"],
                              meta["from"], meta["source"], meta["warnings"])

    def to_block_mask(self, q_len: int, kv_len: Optional[int] = None, *, B=None, H=None,
                      device="cuda", BLOCK_SIZE=128):
        """A FlexAttention BlockMask with this pattern's mask, for comparing
        with torch.nn.attention.flex_attention (torch >= 2.5). It is built
        from the dense reference mask, so it costs O(q_len * kv_len) memory
        on `device`."""
        from ._torch_version import require
        require((2, 5), "Pattern.to_block_mask (FlexAttention's create_block_mask)")
        import torch
        from torch.nn.attention.flex_attention import create_block_mask
        kv_len = q_len if kv_len is None else kv_len
        dense = torch.from_numpy(self.to_dense(q_len, kv_len)).to(device)

        def mask_mod(b, h, q_idx, kv_idx):
            return dense[q_idx, kv_idx]

        return create_block_mask(mask_mod, B, H, q_len, kv_len, device=device,
                                 BLOCK_SIZE=BLOCK_SIZE)


def as_pattern(pattern) -> Pattern:
    return pattern if isinstance(pattern, Pattern) else Pattern(pattern)


class DeviceArray:
    """Device memory that sieve allocated (sieve.attention's outputs when
    none are given). It has the CUDA Array Interface (fp16 and fp32), so
    CuPy, Numba or torch.as_tensor can use it without a copy."""

    def __init__(self, shape, dtype):
        self.shape, self.dtype = tuple(int(n) for n in shape), dtype
        self.nbytes = math.prod(self.shape) * _tensor.ITEMSIZE[dtype]
        self._ptr = ctypes.c_void_p()
        _lib.call("sieve_device_alloc", max(self.nbytes, 1), ctypes.byref(self._ptr))

    @classmethod
    def from_numpy(cls, array, dtype=None):
        """A copy of a numpy array on the device: float16 as fp16, float32
        as fp32, uint16 bit patterns as `dtype` (bf16)."""
        import numpy as np
        array = np.ascontiguousarray(array)
        dtype = dtype or {np.dtype(np.float16): "fp16", np.dtype(np.float32): "fp32"}.get(
            array.dtype)
        if dtype is None or array.itemsize != _tensor.ITEMSIZE[dtype]:
            raise TypeError(f"cannot copy a {array.dtype} array as {dtype}")
        out = cls(array.shape, dtype)
        _lib.call("sieve_copy_to_device", out._ptr, array.ctypes.data_as(ctypes.c_void_p),
                  out.nbytes)
        return out

    @property
    def data(self) -> int:
        return self._ptr.value or 0

    def numpy(self):
        """A host copy: float16 for fp16, float32 for fp32, the uint16 bit
        patterns for bf16."""
        import numpy as np
        host = np.empty(self.shape, dtype={"fp16": np.float16, "fp32": np.float32,
                                           "bf16": np.uint16}[self.dtype])
        _lib.call("sieve_device_synchronize")
        _lib.call("sieve_copy_to_host", host.ctypes.data_as(ctypes.c_void_p), self._ptr,
                  self.nbytes)
        return host

    @property
    def __cuda_array_interface__(self):
        typestr = {"fp16": "<f2", "fp32": "<f4"}.get(self.dtype)
        if typestr is None:
            raise AttributeError("the CUDA Array Interface has no bfloat16")
        return {"shape": self.shape, "typestr": typestr, "data": (self.data, False),
                "strides": None, "version": 3}

    def _sieve_view(self, name):
        strides, step = [], 1
        for extent in reversed(self.shape):
            strides.insert(0, step)
            step *= max(extent, 1)
        return _tensor.TensorView(name, self.data, self.shape, tuple(strides), self.dtype,
                                  _tensor.KDL_CUDA, -1, False, self)

    def __del__(self):
        try:
            if getattr(self, "_ptr", None) is not None and self._ptr.value:
                error = ctypes.create_string_buffer(256)
                _lib.lib().sieve_device_free(self._ptr, error, len(error))
                self._ptr = None
        except Exception:
            pass

    def __repr__(self):
        return f"DeviceArray(shape={self.shape}, dtype={self.dtype!r})"


_kernels_lock = threading.Lock()
_kernels = {}


def _kernel(pattern: Pattern, head_dim, dtype, arch, variant, device_ordinal) -> Kernel:
    """A loaded kernel, cached per canonical pattern, options and device."""
    key = (pattern.key, head_dim, dtype, arch, variant, device_ordinal)
    with _kernels_lock:
        k = _kernels.get(key)
    if k is None:
        k = pattern.compile(head_dim, dtype, arch, variant).load()
        with _kernels_lock:
            k = _kernels.setdefault(key, k)
    return k


def _check_4d(v: _tensor.TensorView):
    if len(v.shape) != 4:
        raise ValueError(f"{v.name} must be 4-D [batch, heads, length, head_dim] but has shape "
                         f"{v.shape}")


def _views(q, k, v, out, lse, stream):
    views = [_tensor.view(n, x, stream) if x is not None else None
             for n, x in (("q", q), ("k", k), ("v", v), ("out", out), ("lse", lse))]
    qv, kv, vv = views[:3]
    for t in (qv, kv, vv):
        _check_4d(t)
        if t.dtype not in ("bf16", "fp16"):
            raise TypeError(f"{t.name} must be bfloat16 or float16, not {t.dtype}")
        if not t.on_cuda:
            raise ValueError(f"{t.name} is on {t.where()}; sieve.attention needs CUDA tensors")
    for t in (kv, vv):
        if t.dtype != qv.dtype:
            raise TypeError(f"{t.name} is {t.dtype} but q is {qv.dtype}")
        if (t.device_type, t.device_id) != (qv.device_type, qv.device_id) and t.device_id >= 0 \
                and qv.device_id >= 0:
            raise ValueError(f"{t.name} is on {t.where()} but q is on {qv.where()}")
    if kv.shape != vv.shape:
        raise ValueError(f"k and v must have the same shape but have {kv.shape} and {vv.shape}")
    b, h, lq, e = qv.shape
    if kv.shape[0] != b or kv.shape[3] != e:
        raise ValueError(f"k {kv.shape} does not match q {qv.shape} in batch or head_dim")
    if e not in (64, 128):
        raise ValueError(f"head_dim must be 64 or 128 but is {e}")
    return views


def _decode_args(pointers, sizes, dtype, strides, scale) -> _lib.DecodeArgs:
    """sieve_decode_args for one dense-KV decode launch of equal-length
    sequences. pointers: q, k, v, o, lse (or None); sizes: batch, heads,
    kv_heads, q_len, k_len, head_dim; strides: q, k, v, o, each in elements
    (batch, head, row, ...) as a [B, H, L, E] tensor has them."""
    a = _lib.DecodeArgs()
    a.q, a.k, a.v, a.o, a.lse = pointers
    a.batch, a.heads, a.kv_heads, a.q_len, a.k_len, a.head_dim = sizes
    a.dtype = _lib.DTYPES[dtype]
    for name, st in zip(("q_stride", "k_stride", "v_stride", "o_stride"), strides):
        getattr(a, name)[:] = st[:3]
    a.scale = scale
    return a


def attention(q, k, v, pattern, *, scale: Optional[float] = None, out=None, lse=None,
              return_lse: bool = False, stream: Optional[int] = None,
              arch: Optional[str] = None, kernel: Optional[str] = None):
    """Sparse attention with `pattern` on CUDA tensors of any library that
    speaks DLPack or the CUDA Array Interface (torch, CuPy, JAX, Numba...).

    q is [batch, heads, q_len, head_dim], k and v [batch, kv_heads, kv_len,
    head_dim] (heads a multiple of kv_heads: GQA), bfloat16 or float16, the
    last dimension contiguous; queries are aligned to the end of the keys.
    Writes `out` (like q) and `lse` (float32 [batch, heads, q_len], natural
    log), allocating DeviceArrays for those not given. Launches on `stream`
    (a CUstream handle; None: the default stream) in the current context,
    which must be that of the tensors' device. Returns out, or (out, lse)
    with return_lse.

    The kernel: `kernel` None is sieve's choice, on the targets of
    DECODE_VERIFIED_TARGETS the decode kernel for at most
    DECODE_MAX_QUERIES queries (split over keys; its split workspace is
    kept with the kernel, one per stream) and the forward kernel for more,
    or for several queries with an LSE (decode writes the LSE in another
    layout); elsewhere the forward kernel. "forward", "decode" or a variant
    of kernel_variants() forces one (launch_operation)."""
    p = as_pattern(pattern)
    if scale is not None and not (math.isfinite(scale) and scale != 0):
        raise ValueError(f"scale must be finite and non-zero, not {scale}")
    qv, kv, vv, ov, lv = _views(q, k, v, out, lse, stream)
    b, h, lq, e = qv.shape
    if ov is not None and (ov.shape != qv.shape or ov.dtype != qv.dtype or ov.readonly):
        raise ValueError(f"out must be a writable {qv.dtype} tensor of shape {qv.shape}, not "
                         f"{'a read-only ' if ov.readonly else ''}{ov.dtype} {ov.shape}")
    if lv is not None:
        contiguous = (h * lq, lq, 1)
        if lv.shape != (b, h, lq) or lv.dtype != "fp32" or lv.strides != contiguous:
            raise ValueError(f"lse must be a contiguous float32 tensor of shape {(b, h, lq)}, "
                             f"not {lv.dtype} {lv.shape} with strides {lv.strides}")
    for t in (qv, kv, vv, ov):
        if t is not None and t.strides[3] != 1:
            raise ValueError(f"{t.name}'s last dimension must be contiguous (stride 1), not "
                             f"{t.strides[3]}")
    here = device()
    if here is None:
        raise SieveError("sieve.attention needs a GPU: no CUDA driver or device")
    for t in (qv, kv, vv, ov):
        if t is not None and t.device_id >= 0 and t.device_id != here.ordinal:
            raise ValueError(f"{t.name} is on CUDA device {t.device_id} but the current context "
                             f"is on device {here.ordinal}; make that device current")
    if ov is None:
        out = DeviceArray(qv.shape, qv.dtype)
        ov = out._sieve_view("out")
    if lv is None and return_lse:
        lse = DeviceArray((b, h, lq), "fp32")
        lv = lse._sieve_view("lse")
    # Decode writes its LSE [batch, q_len, heads]; sieve.attention's is
    # [batch, heads, q_len], the same memory only for one query.
    operation = launch_operation(kernel, lq, _resolved_target(arch, here.ordinal))
    if operation == "decode" and lv is not None and lq > 1:
        if kernel:
            raise ValueError(f"the decode kernel writes the LSE as [batch, q_len, heads]; with "
                             f"{lq} queries that is not sieve.attention's [batch, heads, q_len]: "
                             "leave out lse (or use kernel='forward'; sieve.torch copies it)")
        operation = "forward"
    kern = _kernel(p, e, qv.dtype, arch, _variant(kernel, operation), here.ordinal)
    scale = 0.0 if scale is None else float(scale)
    if operation == "decode":
        args = _decode_args((qv.data, kv.data, vv.data, ov.data, lv.data if lv is not None else None),
                            (b, h, kv.shape[1], lq, kv.shape[2], e), qv.dtype,
                            (qv.strides, kv.strides, vv.strides, ov.strides), scale)
        kern._launch_decode_kept(args, stream or 0)
        return (out, lse) if return_lse else out
    args = _lib.AttentionArgs()
    args.q, args.k, args.v, args.o = qv.data, kv.data, vv.data, ov.data
    args.lse = lv.data if lv is not None else None
    args.batch, args.heads, args.kv_heads = b, h, kv.shape[1]
    args.q_len, args.k_len, args.head_dim = lq, kv.shape[2], e
    args.dtype = _lib.DTYPES[qv.dtype]
    for name, t in (("q_stride", qv), ("k_stride", kv), ("v_stride", vv), ("o_stride", ov)):
        getattr(args, name)[:] = t.strides[:3]
    args.scale = scale
    kern.launch(args, stream or 0)
    return (out, lse) if return_lse else out
