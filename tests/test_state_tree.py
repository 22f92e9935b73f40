"""Nested training state <-> safetensors + JSON skeleton (eigengrad.utils.state_tree)."""
import math

import numpy as np
import pytest

from eigengrad.utils.state_tree import load_tree, pack, save_tree, unpack


def test_round_trip_keeps_types_shapes_and_exact_floats(tmp_path):
    tree = {
        "epoch": 3, "lr": 0.1 + 0.2, "nan": math.nan, "inf": -math.inf, "none": None, "flag": True, "name": "x",
        "betas": (0.9, 0.999), "list": [1, [2, 3]], "scalar": np.float64(2.5),
        "state": {0: {"step": np.array(7.0), "exp_avg": np.arange(6, dtype=np.float32).reshape(2, 3)},
                  1: {"step": 5}},
        "gen": np.array([2**64 - 1, 12], dtype=np.uint64),
    }
    path = tmp_path / "t.safetensors"
    save_tree(tree, path, "test")
    back = load_tree(path, "test")
    assert back["epoch"] == 3 and back["lr"] == 0.1 + 0.2 and math.isnan(back["nan"]) and back["inf"] == -math.inf
    assert back["none"] is None and back["flag"] is True and back["name"] == "x"
    assert back["betas"] == (0.9, 0.999) and isinstance(back["betas"], tuple)
    assert back["list"] == [1, [2, 3]] and back["scalar"] == 2.5
    assert set(back["state"]) == {0, 1} and back["state"][1] == {"step": 5}
    assert back["state"][0]["step"].shape == () and back["state"][0]["step"] == 7.0
    np.testing.assert_array_equal(back["state"][0]["exp_avg"], tree["state"][0]["exp_avg"])
    assert back["state"][0]["exp_avg"].dtype == np.float32
    assert back["gen"].dtype == np.uint64 and int(back["gen"][0]) == 2**64 - 1


def test_pack_names_arrays_by_path_and_unpack_inverts():
    arrays, skeleton = pack({"model": {"w": np.ones(2)}, "xs": [np.zeros(1)]})
    assert sorted(arrays) == ["model.w", "xs.0"]
    back = unpack(arrays, skeleton)
    assert np.array_equal(back["model"]["w"], np.ones(2)) and np.array_equal(back["xs"][0], np.zeros(1))


def test_dict_keys_that_look_like_markers_survive():
    back = unpack(*pack({"__tuple__": 1, "__array__": [2]}))
    assert back == {"__tuple__": 1, "__array__": [2]}


def test_unsupported_values_name_their_path():
    with pytest.raises(TypeError, match=r"'a\.b'.*function"):
        pack({"a": {"b": lambda: 0}})


def test_wrong_kind_is_refused(tmp_path):
    path = tmp_path / "t.safetensors"
    save_tree({"x": 1}, path, "one")
    with pytest.raises(ValueError, match="not an eigengrad two"):
        load_tree(path, "two")
