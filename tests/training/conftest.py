"""Fixtures of the training stage's tests: hand-made legacy PyTorch files, real photos."""

from __future__ import annotations

import pickle
import struct
import sys
import types

import cv2
import numpy as np
import pytest

MAGIC_NUMBER = 0x1950a86a20f9469cfc6c


def _fake_storage_type(name: str) -> type:
    """A class that pickles as the global ``torch.<name>`` without PyTorch being installed."""
    return type(name, (), {"__module__": "torch"})


def write_legacy_file(path, tensors: dict, extra_globals=()):
    """Write ``tensors`` (name -> (array, stride in elements or None)) in torch's legacy format.

    Only the format is reproduced: a pickle whose tensors are ``_rebuild_tensor_v2`` calls
    on persistent-id storages, then the storage keys, then each storage's count and bytes.
    ``extra_globals`` adds entries that reference other globals, e.g. ``("os", "system")``.
    """
    torch_mod, utils_mod = types.ModuleType("torch"), types.ModuleType("torch._utils")
    storage_types = {np.dtype(np.float32): _fake_storage_type("FloatStorage"),
                     np.dtype(np.int64): _fake_storage_type("LongStorage")}
    for st in storage_types.values():
        setattr(torch_mod, st.__name__, st)

    def _rebuild_tensor_v2(*args):  # only its name is pickled
        raise AssertionError
    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils_mod._rebuild_tensor_v2 = _rebuild_tensor_v2
    torch_mod._utils = utils_mod

    class Storage:
        def __init__(self, key, data):
            self.key, self.data = key, data

    class Tensor:
        def __init__(self, storage, shape, stride):
            self.storage, self.shape, self.stride = storage, shape, stride

        def __reduce__(self):
            return (_rebuild_tensor_v2, (self.storage, 0, self.shape, self.stride, False, {}))

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, Storage):
                return ("storage", storage_types[obj.data.dtype], obj.key, "cpu", obj.data.size, None)
            return None

    state, storages = {}, []
    for i, (name, (array, stride)) in enumerate(tensors.items()):
        array = np.asarray(array)
        if stride is None:
            flat = np.require(array, requirements="C").ravel()
            stride = tuple(s // array.itemsize for s in np.require(array, requirements="C").strides)
        else:  # lay the elements out so that ``stride`` addresses them
            flat = np.zeros(array.size, dtype=array.dtype)
            index = np.indices(array.shape).reshape(array.ndim, -1).T @ np.asarray(stride)
            flat[index] = array.ravel()
        storage = Storage(str(1000 + i), flat)
        storages.append(storage)
        state[name] = Tensor(storage, tuple(array.shape), tuple(stride))
    for module, name in extra_globals:
        state[f"{module}.{name}"] = getattr(sys.modules.get(module) or __import__(module), name)

    saved = {k: sys.modules.get(k) for k in ("torch", "torch._utils")}
    sys.modules.update({"torch": torch_mod, "torch._utils": utils_mod})
    try:
        with open(path, "wb") as handle:
            for header in (MAGIC_NUMBER, 1001, {"protocol_version": 1001, "little_endian": True,
                                                 "type_sizes": {"short": 2, "int": 4, "long": 4}}):
                pickle.dump(header, handle, protocol=2)
            Pickler(handle, protocol=2).dump(state)
            pickle.dump([s.key for s in storages], handle, protocol=2)
            for storage in storages:
                handle.write(struct.pack("<q", storage.data.size))
                handle.write(storage.data.tobytes())
    finally:
        for key, module in saved.items():
            if module is None:
                sys.modules.pop(key, None)
            else:
                sys.modules[key] = module
    return path


@pytest.fixture
def legacy_file(tmp_path):
    def make(tensors: dict, name: str = "weights.pth", extra_globals=()):
        return write_legacy_file(tmp_path / name, tensors, extra_globals)
    return make


@pytest.fixture(scope="session")
def known_photos():
    """scikit-image's photos with their acceptable ImageNet classes, as BGR like cv2.imread."""
    from skimage import data
    return {
        "chelsea": (cv2.cvtColor(data.chelsea(), cv2.COLOR_RGB2BGR), {281, 282, 283, 284, 285}),
        "coffee": (cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2BGR), {967, 968, 504}),
    }


def _socksort(*args, cwd=None):
    import os
    import subprocess
    result = subprocess.run([sys.executable, "-m", "socksort", *map(str, args)], capture_output=True, text=True,
                            cwd=cwd, env={**os.environ, "SOCKSORT_OFFLINE": "1"}, timeout=900)
    if result.returncode != 0:
        raise AssertionError(f"socksort {' '.join(map(str, args))} failed:\n{result.stderr[-3000:]}")
    return result


TINY_INPUT = 64


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    """Two sock designs and Blank, 8 small photos each, packed 75/25 by the real im2rec."""
    root = tmp_path_factory.mktemp("tiny")
    _socksort("synth", "dataset", "--out", root / "photos", "--classes", 2, "--per-class", 8,
              "--seed", 5, "--size", "160x120")
    _socksort("im2rec", "--list", "--train-ratio", "0.75", "--recursive", root / "tiny", root / "photos")
    _socksort("im2rec", "--resize", 96, "--center-crop", "--num-thread", 1, root / "tiny", root / "photos")
    return root


@pytest.fixture(scope="session")
def tiny_training(tiny_dataset):
    """One tiny but complete ``socksort train`` run, shared by the tests that read its output.
    No box head: none of them reads one, and the head would take most of the run (the box
    tests use the session's sock_model, tests/training/test_boxes.py)."""
    out = tiny_dataset / "model"
    result = _socksort("train", "--train", tiny_dataset / "tiny_train.rec", "--val", tiny_dataset / "tiny_val.rec",
                       "--out", out, "--epochs", 1, "--warmup-epochs", 1, "--input-size", TINY_INPUT,
                       "--batch-size", 8, "--workers", 1, "--box-scenes", 0)
    return types.SimpleNamespace(dir=tiny_dataset, model=out, stdout=result.stdout, stderr=result.stderr)


def write_rec(prefix, images_and_labels, classes):
    """PREFIX.rec/.idx (and PREFIX's class list) written with mx.recordio, as im2rec would."""
    import mxnet as mx
    writer = mx.recordio.MXIndexedRecordIO(f"{prefix}.idx", f"{prefix}.rec", "w")
    for i, (image, label) in enumerate(images_and_labels):
        header = mx.recordio.IRHeader(0, float(label), i, 0)
        writer.write_idx(i, mx.recordio.pack_img(header, image, quality=90, img_fmt=".jpg"))
    writer.close()
    classes_path = f"{prefix}_classes.txt"
    with open(classes_path, "w") as handle:
        handle.write("".join(f"{c}\n" for c in classes))
    return classes_path


@pytest.fixture
def small_images():
    rng = np.random.default_rng(1)
    return [cv2.resize(rng.integers(0, 256, (4, 4, 3), dtype=np.uint8), (64, 64)) for _ in range(4)]


@pytest.fixture
def rec_writer():
    return write_rec


def write_sagemaker_archive(path, num_classes: int, size: int = 32, epoch: int = 10):
    """A model.tar.gz laid out like SageMaker's image-classification output, with a small
    network of the algorithm's shape: input batch norm, convolution, pooling, fc1, SoftmaxOutput."""
    import json as _json
    import tarfile
    import tempfile
    from pathlib import Path

    import mxnet as mx

    data = mx.sym.var("data")
    net = mx.sym.BatchNorm(data, fix_gamma=True, eps=2e-5, name="bn_data")
    net = mx.sym.Convolution(net, num_filter=8, kernel=(3, 3), pad=(1, 1), name="conv0")
    net = mx.sym.Activation(net, act_type="relu", name="relu0")
    net = mx.sym.Pooling(net, global_pool=True, pool_type="avg", kernel=(1, 1), name="pool0")
    net = mx.sym.FullyConnected(mx.sym.Flatten(net), num_hidden=num_classes, name="fc1")
    net = mx.sym.SoftmaxOutput(net, name="softmax")
    module = mx.mod.Module(net, data_names=("data",), label_names=("softmax_label",))
    module.bind(data_shapes=[("data", (1, 3, size, size))], label_shapes=[("softmax_label", (1,))])
    mx.random.seed(7)
    module.init_params(mx.init.Xavier(magnitude=3))
    args, aux = module.get_params()
    # Input statistics of 0-255 pixels, as the algorithm's bn_data learns them.
    aux["bn_data_moving_mean"][:] = 120.0
    aux["bn_data_moving_var"][:] = 60.0 ** 2
    module.set_params(args, aux)
    with tempfile.TemporaryDirectory() as tmp:
        prefix = Path(tmp) / "image-classification"
        mx.model.save_checkpoint(str(prefix), epoch, net, args, aux)
        (Path(tmp) / "model-shapes.json").write_text(_json.dumps([{"shape": [1, 3, size, size], "name": "data"}]))
        with tarfile.open(path, "w:gz") as tar:
            for name in ("image-classification-symbol.json", f"image-classification-{epoch:04d}.params",
                         "model-shapes.json"):
                tar.add(Path(tmp) / name, arcname=name)
    return module


@pytest.fixture
def sagemaker_archive(tmp_path):
    def make(num_classes: int = 3, name: str = "model.tar.gz"):
        module = write_sagemaker_archive(tmp_path / name, num_classes)
        return tmp_path / name, module
    return make
