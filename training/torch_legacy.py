"""Read a PyTorch state dict saved in the legacy (pre-zip, torch < 1.6) format, without PyTorch.

The legacy file is a concatenation of:

1. a pickle of the magic number ``0x1950a86a20f9469cfc6c``,
2. a pickle of the protocol version (1001),
3. a pickle of ``sys_info`` (byte order and C type sizes),
4. the pickled object itself, in which every tensor is a call to
   ``torch._utils._rebuild_tensor_v2(storage, offset, shape, stride, ...)`` and every
   storage a *persistent id* ``("storage", <StorageType>, key, location, numel, view)``,
5. a pickle of the list of storage keys, in the order their bytes follow,
6. for each key: the element count as a little-endian int64, then the raw elements.

We unpickle with a closed list of allowed globals (the tensor rebuild functions, the
storage types and ``OrderedDict``), so a hostile file cannot run code, and rebuild every
tensor as a NumPy array honouring its stride: the EfficientNet file stores its weights
transposed (TensorFlow's HWIO order shows through as strides).
"""

from __future__ import annotations

import collections
import pickle
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from socksort.errors import UserError

MAGIC_NUMBER = 0x1950a86a20f9469cfc6c
PROTOCOL_VERSION = 1001

_STORAGE_DTYPES = {
    "DoubleStorage": np.float64,
    "FloatStorage": np.float32,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


@dataclass(frozen=True)
class _StorageType:
    dtype: np.dtype


@dataclass(frozen=True)
class _StorageRef:
    key: str
    dtype: np.dtype
    numel: int
    view_of: str | None = None   # legacy storages could be views into a bigger root storage
    view_offset: int = 0


@dataclass(frozen=True)
class _TensorRef:
    storage: _StorageRef
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor(storage, storage_offset, size, stride, *_grad_hooks_metadata):
    """``torch._utils._rebuild_tensor`` and ``_rebuild_tensor_v2`` (which adds
    requires_grad, backward_hooks and metadata: nothing a NumPy array keeps)."""
    return _TensorRef(storage, int(storage_offset), tuple(size), tuple(stride))


def _rebuild_parameter(data, *_grad_hooks):
    return data


_GLOBALS = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
}


class _Unpickler(pickle.Unpickler):
    """Builds placeholders instead of tensors; refuses every global it does not know."""

    def find_class(self, module: str, name: str):
        if (module, name) in _GLOBALS:
            return _GLOBALS[module, name]
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(np.dtype(_STORAGE_DTYPES[name]))
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: not part of a state dict")

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or not pid or pid[0] != "storage":
            raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")
        _, storage_type, key, _location, numel, view = pid
        if not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError(f"unknown storage type {storage_type!r}")
        if view is not None:
            view_key, view_offset, view_numel = view
            return _StorageRef(str(view_key), storage_type.dtype, int(view_numel), str(key), int(view_offset))
        return _StorageRef(str(key), storage_type.dtype, int(numel))


def load_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """All tensors of a legacy ``.pth``/``.pt`` state dict, by name, as NumPy arrays."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"weights file {path} does not exist")
    if zipfile.is_zipfile(path):
        raise UserError(f"{path} is a zip-format PyTorch file; only the legacy (pre-1.6) format is supported")
    try:
        with path.open("rb") as handle:
            return _read(handle)
    except (pickle.UnpicklingError, EOFError, struct.error, ValueError, TypeError) as exc:
        raise UserError(f"{path} is not a readable legacy PyTorch file: {exc}") from None


def _read(handle: BinaryIO) -> dict[str, np.ndarray]:
    if pickle.load(handle) != MAGIC_NUMBER:
        raise ValueError("bad magic number")
    if pickle.load(handle) != PROTOCOL_VERSION:
        raise ValueError("unsupported protocol version")
    sys_info = pickle.load(handle)
    if not sys_info.get("little_endian", False):
        raise ValueError("big-endian files are not supported")
    tree = _Unpickler(handle).load()
    if not isinstance(tree, dict):
        raise ValueError(f"expected a state dict, found {type(tree).__name__}")
    refs = {name: ref for name, ref in tree.items() if isinstance(ref, _TensorRef)}
    dtypes = {(ref.storage.view_of or ref.storage.key): ref.storage.dtype for ref in refs.values()}
    storages = {}
    for key in pickle.load(handle):
        key = str(key)
        if key not in dtypes:
            raise ValueError(f"storage {key} is not used by any tensor")
        storages[key] = _read_storage(handle, dtypes[key])
    return {name: _materialise(ref, storages) for name, ref in refs.items()}


def _read_storage(handle: BinaryIO, dtype: np.dtype) -> np.ndarray:
    (numel,) = struct.unpack("<q", handle.read(8))
    data = handle.read(numel * dtype.itemsize)
    if len(data) != numel * dtype.itemsize:
        raise ValueError("file ends inside a storage")
    return np.frombuffer(data, dtype=dtype.newbyteorder("<"))


def _materialise(ref: _TensorRef, storages: dict) -> np.ndarray:
    storage = ref.storage
    root_key = storage.view_of or storage.key
    if root_key not in storages:
        raise ValueError(f"storage {root_key} has no data")
    flat = storages[root_key][storage.view_offset:]
    needed = ref.offset + sum((n - 1) * s for n, s in zip(ref.shape, ref.stride)) + 1 if all(ref.shape) else 0
    if needed > flat.size:
        raise ValueError(f"tensor reaches past the end of storage {root_key}")
    item = flat.itemsize
    view = np.lib.stride_tricks.as_strided(flat[ref.offset:], shape=ref.shape,
                                           strides=tuple(s * item for s in ref.stride), writeable=False)
    return np.array(view, copy=True)  # ascontiguousarray would turn a 0-d tensor into 1-d
