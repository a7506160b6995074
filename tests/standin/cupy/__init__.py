"""A stand-in for CuPy: numpy underneath, with CuPy's refusal of implicit host conversion (`__array__`)."""

from __future__ import annotations

import types
from typing import Any

import numpy as np
from standin_support import from_outside, record, refuse

__version__ = "stand-in"
HOST_CONVERSION = (
    "Implicit conversion to a NumPy array is not allowed. Please use `.get()` to construct a NumPy array explicitly."
)


def unwrap(value: Any) -> Any:
    """Numpy values for device arrays (and cuDF stand-in objects), through tuples, lists and dicts."""
    if isinstance(value, ndarray):
        return value._a
    if isinstance(value, tuple):
        return tuple(unwrap(v) for v in value)
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    device = getattr(value, "__cuda_array_interface__", None)  # a cuDF stand-in column
    return device() if callable(device) else value


def wrap(value: Any) -> Any:
    """Device arrays for numpy results (scalars become 0-d arrays, as CuPy's reductions give)."""
    if isinstance(value, np.ndarray):
        return ndarray(value)
    if isinstance(value, np.generic):
        return ndarray(np.asarray(value))
    if isinstance(value, tuple):
        return tuple(wrap(v) for v in value)
    if isinstance(value, list):
        return [wrap(v) for v in value]
    if isinstance(value, np.random.Generator | np.random.RandomState):
        return _Proxy(value, f"random.{type(value).__name__}")
    return value


def _calling(function: Any, name: str) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        if from_outside():
            record("cupy", name, kwargs)
        return wrap(function(*unwrap(args), **unwrap(kwargs)))

    return call


class _Proxy:
    """A numpy object (a random generator) whose methods give device arrays."""

    def __init__(self, target: Any, name: str) -> None:
        self._target, self._name = target, name

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        return _calling(value, f"{self._name}.{name}") if callable(value) else value


class ndarray(np.lib.mixins.NDArrayOperatorsMixin):
    """A device array: numpy values that refuse to become host arrays implicitly."""

    __slots__ = ("_a",)

    def __init__(self, values: Any) -> None:
        self._a = values if isinstance(values, np.ndarray) else np.asarray(values)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if from_outside():
            refuse("cupy.ndarray.__array__", HOST_CONVERSION)
        return self._a if dtype is None else self._a.astype(dtype)

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        return wrap(getattr(ufunc, method)(*unwrap(inputs), **unwrap(kwargs)))

    def __array_function__(self, func: Any, types_: Any, args: Any, kwargs: Any) -> Any:
        return wrap(func(*unwrap(args), **unwrap(kwargs)))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # numpy's own protocols (__array_interface__) would bypass __array__
            raise AttributeError(name)
        value = getattr(self._a, name)
        if callable(value):
            return _calling(value, f"ndarray.{name}")
        return wrap(value)

    def __getitem__(self, key: Any) -> Any:
        return wrap(self._a[unwrap(key)])

    def __setitem__(self, key: Any, value: Any) -> None:
        self._a[unwrap(key)] = unwrap(value)

    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self) -> Any:
        return (wrap(v) for v in self._a)

    def __float__(self) -> float:
        return float(self._a)

    def __int__(self) -> int:
        return int(self._a)

    def __bool__(self) -> bool:
        return bool(self._a)

    def __index__(self) -> int:
        return self._a.__index__()

    def __repr__(self) -> str:
        return f"array({self._a!r}) on the stand-in device"

    def __cuda_array_interface__(self) -> np.ndarray:
        return self._a

    @property
    def T(self) -> ndarray:
        return ndarray(self._a.T)

    def get(self) -> np.ndarray:
        return self._a.copy()

    def tolist(self) -> list[Any]:
        return self._a.tolist()


def asnumpy(value: Any) -> np.ndarray:
    record("cupy", "asnumpy")
    return np.array(unwrap(value))


def asarray(value: Any, dtype: Any = None) -> ndarray:
    record("cupy", "asarray", {"dtype": dtype} if dtype is not None else {})
    return ndarray(np.asarray(unwrap(value), dtype=dtype))


def array(value: Any, dtype: Any = None, copy: bool = True) -> ndarray:
    record("cupy", "array", {"dtype": dtype} if dtype is not None else {})
    return ndarray(np.array(unwrap(value), dtype=dtype, copy=copy))


def __getattr__(name: str) -> Any:
    value = getattr(np, name)
    if isinstance(value, types.ModuleType):
        return _Proxy(value, name)
    if callable(value) and not isinstance(value, type):
        return _calling(value, name)
    return value


class _Pool:
    def free_all_blocks(self) -> None:
        record("cupy", "cuda.MemoryPool.free_all_blocks")

    def used_bytes(self) -> int:
        return 0

    def total_bytes(self) -> int:
        return 0


_POOL = _Pool()


def get_default_memory_pool() -> _Pool:
    record("cupy", "get_default_memory_pool")
    return _POOL


class _Runtime:
    """`cupy.cuda.runtime` for a pretend device of 16 GiB of which its context holds 300 MiB."""

    TOTAL = 16 * 2**30
    CONTEXT = 300 * 2**20

    @staticmethod
    def deviceSynchronize() -> None:
        record("cupy", "cuda.runtime.deviceSynchronize")

    @classmethod
    def memGetInfo(cls) -> tuple[int, int]:
        return cls.TOTAL - cls.CONTEXT, cls.TOTAL

    @staticmethod
    def getDeviceProperties(device: int) -> dict[str, Any]:
        return {"name": b"stand-in device (numpy on the CPU)", "totalGlobalMem": _Runtime.TOTAL}

    @staticmethod
    def getDeviceCount() -> int:
        return 1


class _Device:
    def __init__(self, device: int = 0) -> None:
        self.id = device

    def synchronize(self) -> None:
        record("cupy", "cuda.Device.synchronize")


cuda = types.SimpleNamespace(runtime=_Runtime(), Device=_Device, is_available=lambda: True)
