"""Checkpoint files: leftovers of killed writes are cleaned up, files get the user's umask, the metadata is
validated and a SHA-256 digest catches damaged data; every error names the file (and the field)."""
import json
import os
import signal
import stat
import time

import numpy as np
import pytest
from safetensors.numpy import save as st_save

import eigengrad as eg
from eigengrad import serialization
from eigengrad.utils.state_tree import load_tree, save_tree
from forked import run_forked


def _state(n=1000):
    return {"w": eg.tensor(np.arange(n, dtype=np.float32)), "b": eg.tensor(np.ones(3))}


def _write_raw(path, arrays, fields):
    path.write_bytes(st_save(arrays, metadata=fields))


def _killed_save(path, fraction):
    """In a child: eg.save(path) whose write stops after ``fraction`` of the bytes with SIGKILL."""
    real_fdopen = serialization.os.fdopen

    class KillMidway:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return self.f.__exit__(*exc)

        def write(self, data):
            self.f.write(data[: int(len(data) * fraction)])
            self.f.flush()
            os.kill(os.getpid(), signal.SIGKILL)

        def __getattr__(self, name):
            return getattr(self.f, name)

    serialization.os.fdopen = lambda fd, mode="r", *a, **k: KillMidway(real_fdopen(fd, mode, *a, **k))
    eg.save(_state(), path)


needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="the writers are forked children (POSIX)")


@needs_fork
def test_a_save_killed_30_times_leaves_no_leftovers_after_the_next_save(tmp_path):
    """Each killed write leaves its temporary file; the next save removes it (here the next killed one
    already does); the previous checkpoint stays intact throughout."""
    path = tmp_path / "ckpt.safetensors"
    eg.save({"w": eg.zeros(5)}, path)
    for i in range(30):
        outcome = run_forked(lambda: _killed_save(path, (0.0, 0.5, 1.0)[i % 3]), timeout=30.0)
        assert outcome.kind == "signal" and outcome.signal == signal.SIGKILL, outcome
        leftovers = [p for p in os.listdir(tmp_path) if p != path.name]
        assert len(leftovers) == 1 and leftovers[0].startswith(".tmp-") and leftovers[0].endswith(path.name)
        np.testing.assert_array_equal(eg.load(path)["w"].numpy(), 0)  # the previous file is intact
    eg.save(_state(), path)
    assert os.listdir(tmp_path) == [path.name]
    np.testing.assert_array_equal(eg.load(path)["w"].numpy(), np.arange(1000))


def _save_forever(path, big):
    while True:
        eg.save(big, path)


def _wait_for_a_write(folder, timeout: float) -> None:
    """Until a temporary file shows that the writer is saving (or ``timeout`` seconds)."""
    end = time.monotonic() + timeout
    while len(os.listdir(folder)) < 2 and time.monotonic() < end:
        time.sleep(0.0005)


@needs_fork
def test_saves_killed_at_random_moments_leave_a_loadable_file_and_no_leftovers(tmp_path):
    """SIGKILL of a process that keeps saving a 16 MB checkpoint, 30 times at random moments: the file always
    loads (old or new, its digest verified) and the next save leaves no temporary file."""
    path = tmp_path / "ckpt.safetensors"
    big = {"w": eg.tensor(np.arange(4 * 2**20, dtype=np.float32)), "b": eg.ones(7)}
    eg.save(big, path)
    rng, midway = np.random.default_rng(7), 0
    for _ in range(30):
        pid = os.fork()
        if pid == 0:  # the writer: no kernels run here, so forking the test process is safe
            try:
                _save_forever(path, big)
            finally:
                os._exit(1)
        _wait_for_a_write(tmp_path, timeout=5.0)  # a loaded machine may start the child late
        time.sleep(float(rng.uniform(0.0, 0.04)))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        midway += len(os.listdir(tmp_path)) > 1  # killed while a temporary file existed
        loaded = eg.load(path)  # verifies the digest
        np.testing.assert_array_equal(loaded["b"].numpy(), 1)
    print(f"{midway} of 30 kills hit a write in progress")
    assert midway >= 1
    eg.save(big, path)
    assert os.listdir(tmp_path) == [path.name]


def test_cleanup_touches_only_our_leftovers_of_that_path(tmp_path):
    path = tmp_path / "a.safetensors"
    keep = [
        f".tmp-{os.getpid()}-0123abcd-a.safetensors",  # this process (another thread) is writing it
        ".tmp-99999999-0123abcd-b.safetensors",  # another path
        ".tmp-notours-a.safetensors",  # not our pattern
        "a.safetensors.bak",
    ]
    gone = [".tmp-99999999-0123abcd-a.safetensors", ".tmp-k3_9xq0aa.safetensors"]  # dead writer; old tempfile name
    for name in keep + gone:
        (tmp_path / name).write_bytes(b"x")
    eg.save(_state(), path)
    assert sorted(os.listdir(tmp_path)) == sorted(keep + [path.name])


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_files_get_the_users_umask_like_numpy_save(tmp_path, umask):
    old = os.umask(umask)
    try:
        eg.save(_state(), tmp_path / "a.safetensors")
        save_tree({"x": np.zeros(2)}, tmp_path / "t.safetensors", "test")
        np.save(tmp_path / "ref.npy", np.zeros(2))
    finally:
        os.umask(old)
    expected = stat.S_IMODE((tmp_path / "ref.npy").stat().st_mode)
    assert expected == 0o666 & ~umask
    for name in ("a.safetensors", "t.safetensors"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == expected


def test_one_flipped_data_byte_fails_to_load_naming_the_file(tmp_path):
    path = tmp_path / "model.safetensors"
    eg.save(_state(), path, metadata={"epoch": 3})
    data = bytearray(path.read_bytes())
    header_len = int.from_bytes(data[:8], "little")
    data[8 + header_len + 1234] ^= 0x01  # one bit of w's data
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"^path: '.*model\.safetensors' is damaged: .*'eigengrad\.sha256'"):
        eg.load(path)
    with pytest.raises(ValueError, match=r"model\.safetensors' is damaged"):
        serialization.read(path)
    w = eg.load(path, verify=False)["w"].numpy()  # verification off: the damaged numbers come back
    assert np.sum(w != np.arange(1000)) == 1


def test_flipped_metadata_is_caught_too(tmp_path):
    path = tmp_path / "t.safetensors"
    save_tree({"lr": 0.125, "x": np.zeros(3)}, path, "test")
    raw = path.read_bytes().replace(b"0.125", b"0.625")
    path.write_bytes(raw)
    with pytest.raises(ValueError, match=r"t\.safetensors' is damaged"):
        load_tree(path, "test")
    assert load_tree(path, "test", verify=False)["lr"] == 0.625


def test_files_without_a_digest_still_load(tmp_path):
    path = tmp_path / "old.safetensors"
    _write_raw(path, {"b": np.ones(2), "a": np.zeros(3)}, {"eigengrad.keys": json.dumps(["b", "a"]),
                                                            "eigengrad": json.dumps({"epoch": 1})})
    loaded = eg.load(path)
    assert list(loaded) == ["b", "a"]
    assert eg.serialization.load_metadata(path) == {"epoch": 1}
    plain = tmp_path / "plain.safetensors"  # not written by eigengrad at all: sorted names
    _write_raw(plain, {"z": np.ones(1), "a": np.ones(1)}, None)
    assert list(eg.load(plain)) == ["a", "z"]


KEYS_ERRORS = [
    (["a"], r"'eigengrad\.keys' must name exactly the file's tensors: names \[\] not in the file, omits \['b'\]"),
    (["a", "b", "c"], r"'eigengrad\.keys' must name exactly the file's tensors: names \['c'\] not in the file"),
    (["a", "a", "b"], r"'eigengrad\.keys' names a tensor twice"),
    ({"a": 1}, r"'eigengrad\.keys' must be a JSON list of tensor names"),
    ([1, 2], r"'eigengrad\.keys' must be a JSON list of tensor names"),
]


@pytest.mark.parametrize("keys,match", KEYS_ERRORS)
def test_the_keys_list_must_cover_exactly_the_tensors(tmp_path, keys, match):
    """A keys list that omitted a tensor made load drop it silently."""
    path = tmp_path / "k.safetensors"
    _write_raw(path, {"a": np.zeros(2), "b": np.ones(2)}, {"eigengrad.keys": json.dumps(keys)})
    with pytest.raises(ValueError, match=r"^path: '.*k\.safetensors': metadata field " + match):
        eg.load(path)


@pytest.mark.parametrize("field,value,match", [
    ("eigengrad.keys", '["a", ', r"'eigengrad\.keys' is not valid JSON \(JSONDecodeError"),
    ("eigengrad", "{not json", r"'eigengrad' is not valid JSON \(JSONDecodeError"),
    ("eigengrad", "[" * 100_000 + "]" * 100_000, r"'eigengrad' is not valid JSON \(RecursionError"),
    ("eigengrad.sha256", "abc", r"'eigengrad\.sha256' must be a SHA-256 hex digest, got 'abc'"),
])
def test_bad_metadata_is_a_value_error_naming_file_and_field(tmp_path, field, value, match):
    path = tmp_path / "m.safetensors"
    _write_raw(path, {"a": np.zeros(2)}, {"eigengrad.keys": '["a"]', field: value})
    with pytest.raises(ValueError, match=r"^path: '.*m\.safetensors': metadata field " + match):
        eg.load(path)


def test_not_a_safetensors_file_names_the_file(tmp_path):
    path = tmp_path / "junk.safetensors"
    for payload in (b"", b"\x08\x00\x00\x00\x00\x00\x00\x00{\"a\":1}", os.urandom(300),
                    (10**9).to_bytes(8, "little") + b"{}"):
        path.write_bytes(payload)
        for call in (eg.load, serialization.load_metadata, lambda p: load_tree(p, "test")):
            with pytest.raises(ValueError, match=r"^path: '.*junk\.safetensors' is not a valid safetensors file"):
                call(path)
    with pytest.raises(FileNotFoundError, match=r"^path: no such file '.*nothere\.safetensors'"):
        eg.load(tmp_path / "nothere.safetensors")


def _tree_file(path, tree_meta, arrays=None):
    arrays = {"x": np.zeros(4)} if arrays is None else arrays
    _write_raw(path, arrays, {"eigengrad.keys": json.dumps(list(arrays)), "eigengrad": json.dumps(tree_meta)})


@pytest.mark.parametrize("meta,arrays,match", [
    ({"kind": "test", "version": 1, "tree": {"w": {"__array__": "nope", "shape": [4]}}}, None,
     r"tree\['w'\]: refers to array 'nope', which is not in the file"),
    ({"kind": "test", "version": 1, "tree": {"w": {"__array__": "x"}}}, None,
     r"tree\['w'\]: expected a shape \(a list of sizes\), got None"),
    ({"kind": "test", "version": 1, "tree": {"w": {"__array__": "x", "shape": [3]}}}, None,
     r"tree\['w'\]: shape \[3\] does not fit array 'x' of 4 elements"),
    ({"kind": "test", "version": 1, "tree": [{"__array__": "x", "shape": [4]}, {"__array__": "x", "shape": [4]}]},
     None, r"tree\['1'\]: refers to array 'x' a second time"),
    ({"kind": "test", "version": 1, "tree": {"a": 1}}, None, r"arrays \['x'\] are in the file but not in the tree"),
    ({"kind": "test", "version": 1, "tree": {"__items__": [[[{}], 1]]}}, {},
     r"tree\[''\]: a dict key must be hashable, got tuple"),
    ({"kind": "test", "version": 1, "tree": {"__items__": 5}}, {}, r"tree\[''\]: an items marker must hold a list"),
    ({"kind": "test", "version": 1, "tree": {"__tuple__": {}}}, {}, r"tree\[''\]: a tuple marker must hold a list, got dict"),
    ({"kind": "test", "version": 2, "tree": {}}, {}, r"expected version 1 and a tree, got version 2"),
    ({"kind": "test", "version": 1}, {}, r"expected version 1 and a tree, got version 1 and no tree"),
])
def test_a_bad_tree_is_a_value_error_naming_file_and_field(tmp_path, meta, arrays, match):
    path = tmp_path / "tree.safetensors"
    _tree_file(path, meta, arrays)
    with pytest.raises(ValueError, match=r"^path: '.*tree\.safetensors': metadata field 'eigengrad': " + match):
        load_tree(path, "test")


def test_a_tree_nested_too_deeply_is_a_value_error(tmp_path):
    path = tmp_path / "deep.safetensors"
    deep = "[" * 5000 + "]" * 5000  # valid JSON, deeper than the decoder's recursion allows
    _write_raw(path, {}, {"eigengrad.keys": "[]", "eigengrad": '{"kind": "test", "version": 1, "tree": ' + deep + "}"})
    with pytest.raises(ValueError, match=r"^path: '.*deep\.safetensors': metadata field 'eigengrad'"):
        load_tree(path, "test")
    nested = {"kind": "test", "version": 1, "tree": []}
    node = nested["tree"]
    for _ in range(900):  # shallow enough for json, too deep to rebuild with the recursion limit lowered
        node.append([])
        node = node[0]
    _tree_file(path, nested, {})
    import sys
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(600)
    try:
        with pytest.raises(ValueError, match=r"metadata field 'eigengrad'"):
            load_tree(path, "test")
    finally:
        sys.setrecursionlimit(limit)


def test_round_trip_of_a_tree_and_a_state_dict(tmp_path):
    tree = {"a": (1, 2.5, None), 3: [np.arange(6.0).reshape(2, 3), "s"], "z": np.float32(1.5)}
    save_tree(tree, tmp_path / "t.safetensors", "test")
    back = load_tree(tmp_path / "t.safetensors", "test")
    assert back["a"] == (1, 2.5, None) and back[3][1] == "s" and back["z"] == 1.5
    np.testing.assert_array_equal(back[3][0], np.arange(6.0).reshape(2, 3))
