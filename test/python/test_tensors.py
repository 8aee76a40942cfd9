"""Borrowing tensors: DLPack (legacy and versioned capsules) and the CUDA
Array Interface, read without a copy and without a compiler."""

import ctypes

import numpy as np
import pytest

from sieve import _tensor


def test_numpy_through_dlpack():
    x = np.zeros((2, 3, 5, 8), dtype=np.float16)
    v = _tensor.view("q", x)
    assert (v.shape, v.strides, v.dtype) == ((2, 3, 5, 8), (120, 40, 8, 1), "fp16")
    assert v.data == x.ctypes.data
    assert (v.device_type, v.on_cuda, v.where()) == (_tensor.KDL_CPU, False, "the CPU")


def test_views_keep_their_strides_and_offsets():
    x = np.zeros((2, 5, 3, 8), dtype=np.float16)  # [B, L, H, E]
    t = x.transpose(0, 2, 1, 3)                   # [B, H, L, E], a strided view
    v = _tensor.view("q", t)
    assert v.shape == (2, 3, 5, 8) and v.strides == (120, 8, 24, 1)
    s = x[:, 1:]
    assert _tensor.view("k", s).data == x.ctypes.data + 3 * 8 * 2


def test_float32_is_recognised_and_other_types_are_named():
    assert _tensor.view("lse", np.zeros((2, 2), np.float32)).dtype == "fp32"
    assert _tensor.view("q", np.zeros(3, np.int32)).dtype == "DLPack type code 0 with 32 bits"


class Versioned:
    """A producer of DLPack 1.0 capsules ("dltensor_versioned"), built here
    with ctypes: a CUDA bf16 tensor that sieve reads but never dereferences."""

    def __init__(self, shape, strides, flags=0, code=_tensor.KDL_BFLOAT, device=(2, 1)):
        n = len(shape)
        self.shape = (ctypes.c_int64 * n)(*shape)
        self.strides = (ctypes.c_int64 * n)(*strides)
        m = _tensor.DLManagedTensorVersioned()
        m.version.major, m.version.minor = 1, 0
        m.flags = flags
        t = m.dl_tensor
        t.data, t.byte_offset = 0x7000_0000_0000, 64
        t.device.device_type, t.device.device_id = device
        t.ndim = n
        t.dtype.code, t.dtype.bits, t.dtype.lanes = code, 16, 1
        t.shape, t.strides = self.shape, self.strides
        self.managed = m

    def __dlpack_device__(self):
        return (self.managed.dl_tensor.device.device_type, 0)

    def __dlpack__(self, *, stream=None, max_version=None):
        self.stream = stream
        new = ctypes.pythonapi.PyCapsule_New
        new.restype, new.argtypes = ctypes.py_object, [ctypes.c_void_p, ctypes.c_char_p,
                                                       ctypes.c_void_p]
        return new(ctypes.addressof(self.managed), b"dltensor_versioned", None)


def test_versioned_capsules_bf16_cuda_and_read_only():
    p = Versioned((1, 2, 4, 64), (512, 256, 64, 1), flags=_tensor.DLPACK_FLAG_READ_ONLY)
    v = _tensor.view("k", p, stream=7)
    assert (v.dtype, v.on_cuda, v.device_id, v.readonly) == ("bf16", True, 1, True)
    assert v.data == 0x7000_0000_0000 + 64
    assert v.strides == (512, 256, 64, 1)
    assert p.stream == 7  # the producer is told which stream sieve launches on
    _tensor.view("k", Versioned((1,), (1,)))
    assert v.where() == "CUDA device 1"


def test_a_newer_dlpack_major_is_refused():
    p = Versioned((1,), (1,))
    p.managed.version.major = 2
    with pytest.raises(TypeError, match="DLPack 2.0 is newer than the 1.x sieve reads"):
        _tensor.view("q", p)


class Cai:
    def __init__(self, **kw):
        self.__cuda_array_interface__ = {"version": 3, "strides": None,
                                         "data": (0x7000_0000_0000, False), **kw}


def test_the_cuda_array_interface():
    v = _tensor.view("q", Cai(shape=(2, 3, 4, 64), typestr="<f2"))
    assert (v.shape, v.strides, v.dtype, v.on_cuda) == ((2, 3, 4, 64), (768, 256, 64, 1),
                                                        "fp16", True)
    v = _tensor.view("q", Cai(shape=(2, 4, 3, 64), typestr="<f2",
                              strides=(1536, 128, 512, 2), data=(16, True)))
    assert v.strides == (768, 64, 256, 1) and v.readonly
    with pytest.raises(ValueError, match="not multiples of the 2-byte element"):
        _tensor.view("q", Cai(shape=(2,), typestr="<f2", strides=(3,)))
    assert _tensor.view("q", Cai(shape=(2,), typestr="|u1")).dtype == "typestr |u1"


def test_other_objects_are_a_type_error():
    with pytest.raises(TypeError, match="q: expected a tensor with __dlpack__ or "
                                        "__cuda_array_interface__, not list"):
        _tensor.view("q", [1, 2])
