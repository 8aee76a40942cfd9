"""Tensors from other libraries, seen through DLPack or the CUDA Array
Interface, without copying and without a compiler: the pointer, shape,
strides (in elements), element type and device sieve needs to launch.

DLPack (https://dmlc.github.io/dlpack/latest/): `__dlpack__` returns a
capsule holding a DLManagedTensor ("dltensor") or, when asked with
max_version, a DLManagedTensorVersioned ("dltensor_versioned"). sieve only
borrows the tensor: it reads the structure and keeps the capsule alive
while it uses the memory; the capsule's own destructor gives it back.
"""

import ctypes
from dataclasses import dataclass
from typing import Any, Tuple

# DLDeviceType
KDL_CPU, KDL_CUDA, KDL_CUDA_HOST, KDL_CUDA_MANAGED = 1, 2, 3, 13
DEVICE_NAMES = {1: "the CPU", 2: "CUDA", 3: "CUDA host memory", 4: "OpenCL",
                7: "Vulkan", 8: "Metal", 9: "VPI", 10: "ROCm", 13: "CUDA managed memory",
                14: "oneAPI"}
# DLDataTypeCode
KDL_INT, KDL_UINT, KDL_FLOAT, KDL_BFLOAT = 0, 1, 2, 4
DLPACK_FLAG_READ_ONLY = 1


class DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8),
                ("lanes", ctypes.c_uint16)]


class DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", DLDevice),
                ("ndim", ctypes.c_int32), ("dtype", DLDataType),
                ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)),
                ("byte_offset", ctypes.c_uint64)]


class DLManagedTensor(ctypes.Structure):
    _fields_ = [("dl_tensor", DLTensor), ("manager_ctx", ctypes.c_void_p),
                ("deleter", ctypes.c_void_p)]


class DLPackVersion(ctypes.Structure):
    _fields_ = [("major", ctypes.c_uint32), ("minor", ctypes.c_uint32)]


class DLManagedTensorVersioned(ctypes.Structure):
    _fields_ = [("version", DLPackVersion), ("manager_ctx", ctypes.c_void_p),
                ("deleter", ctypes.c_void_p), ("flags", ctypes.c_uint64),
                ("dl_tensor", DLTensor)]


_capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_capsule_pointer.restype, _capsule_pointer.argtypes = ctypes.c_void_p, [ctypes.py_object,
                                                                        ctypes.c_char_p]
_capsule_valid = ctypes.pythonapi.PyCapsule_IsValid
_capsule_valid.restype, _capsule_valid.argtypes = ctypes.c_int, [ctypes.py_object,
                                                                 ctypes.c_char_p]

# (DLPack code, bits) and CUDA Array Interface typestr -> sieve's names.
_DLPACK_DTYPES = {(KDL_FLOAT, 16): "fp16", (KDL_BFLOAT, 16): "bf16", (KDL_FLOAT, 32): "fp32"}
_TYPESTRS = {"<f2": "fp16", "<f4": "fp32"}
ITEMSIZE = {"fp16": 2, "bf16": 2, "fp32": 4}


@dataclass
class TensorView:
    """What sieve needs to know about a tensor it borrows."""
    name: str
    data: int                 # address of element [0, ..., 0]
    shape: Tuple[int, ...]
    strides: Tuple[int, ...]  # in elements
    dtype: str                # "fp16", "bf16", "fp32" or "<code>:<bits>"
    device_type: int
    device_id: int
    readonly: bool
    keepalive: Any            # the capsule or the object: alive while in use

    @property
    def on_cuda(self):
        return self.device_type in (KDL_CUDA, KDL_CUDA_MANAGED)

    def where(self):
        name = DEVICE_NAMES.get(self.device_type, f"DLPack device type {self.device_type}")
        return f"{name} device {self.device_id}" if self.on_cuda else name


def _dtype_name(code, bits, lanes):
    if lanes != 1:
        return f"{lanes}-lane vectors"
    return _DLPACK_DTYPES.get((code, bits), f"DLPack type code {code} with {bits} bits")


def _from_dltensor(name, t, readonly, keepalive):
    ndim = t.ndim
    shape = tuple(t.shape[i] for i in range(ndim))
    if t.strides:
        strides = tuple(t.strides[i] for i in range(ndim))
    else:  # compact row-major
        strides, step = [], 1
        for extent in reversed(shape):
            strides.insert(0, step)
            step *= max(extent, 1)
        strides = tuple(strides)
    return TensorView(name, (t.data or 0) + t.byte_offset, shape, strides,
                      _dtype_name(t.dtype.code, t.dtype.bits, t.dtype.lanes),
                      t.device.device_type, t.device.device_id, readonly, keepalive)


def from_capsule(name, capsule):
    """Reads a DLPack capsule (legacy or versioned) without consuming it."""
    if _capsule_valid(capsule, b"dltensor_versioned"):
        managed = DLManagedTensorVersioned.from_address(
            _capsule_pointer(capsule, b"dltensor_versioned"))
        if managed.version.major > 1:
            raise TypeError(f"{name}: DLPack {managed.version.major}.{managed.version.minor} "
                            "is newer than the 1.x sieve reads")
        readonly = bool(managed.flags & DLPACK_FLAG_READ_ONLY)
        return _from_dltensor(name, managed.dl_tensor, readonly, capsule)
    if _capsule_valid(capsule, b"dltensor"):
        managed = DLManagedTensor.from_address(_capsule_pointer(capsule, b"dltensor"))
        return _from_dltensor(name, managed.dl_tensor, False, capsule)
    raise TypeError(f"{name}: __dlpack__ returned something other than an unused DLPack "
                    "capsule")


def _dlpack(name, x, stream):
    device_type, _ = x.__dlpack_device__()
    kwargs = {}
    if device_type in (KDL_CUDA, KDL_CUDA_MANAGED):
        # The producer makes the data ready on the stream sieve launches on
        # (1: the legacy default stream, DLPack's code for it).
        kwargs["stream"] = stream if stream else 1
    try:
        capsule = x.__dlpack__(max_version=(1, 0), **kwargs)
    except TypeError:  # a producer older than DLPack 1.0
        capsule = x.__dlpack__(**kwargs)
    return from_capsule(name, capsule)


def _cuda_array_interface(name, x):
    cai = x.__cuda_array_interface__
    shape = tuple(int(n) for n in cai["shape"])
    typestr = cai["typestr"]
    dtype = _TYPESTRS.get(typestr, f"typestr {typestr}")
    data, readonly = cai["data"]
    if cai.get("strides") is None:
        strides, step = [], 1
        for extent in reversed(shape):
            strides.insert(0, step)
            step *= max(extent, 1)
        strides = tuple(strides)
    else:
        itemsize = int(typestr[2:]) if typestr[2:].isdigit() else 1
        if any(s % itemsize for s in cai["strides"]):
            raise ValueError(f"{name}: strides {tuple(cai['strides'])} (bytes) are not "
                             f"multiples of the {itemsize}-byte element")
        strides = tuple(int(s) // itemsize for s in cai["strides"])
    # The interface carries no device: the pointer is used in the current
    # context (sieve.attention checks nothing more).
    return TensorView(name, int(data or 0), shape, strides, dtype, KDL_CUDA, -1, bool(readonly),
                      x)


def view(name, x, stream=None):
    """A TensorView of `x`: DLPack when it has __dlpack__, else the CUDA
    Array Interface. TypeError for anything else."""
    if isinstance(x, TensorView):
        return x
    if hasattr(x, "_sieve_view"):  # sieve.DeviceArray, bf16 included
        return x._sieve_view(name)
    if hasattr(x, "__dlpack__") and hasattr(x, "__dlpack_device__"):
        try:
            return _dlpack(name, x, stream)
        except BufferError:
            # e.g. torch's bfloat16 is fine for DLPack but some producers
            # refuse; the CUDA Array Interface may still describe it.
            if not hasattr(x, "__cuda_array_interface__"):
                raise
    if hasattr(x, "__cuda_array_interface__"):
        return _cuda_array_interface(name, x)
    raise TypeError(f"{name}: expected a tensor with __dlpack__ or __cuda_array_interface__, "
                    f"not {type(x).__name__}")
