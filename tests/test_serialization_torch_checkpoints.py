"""eigengrad.load of checkpoints written by PyTorch (torch.save's zip format), as torch.load(weights_only=True)
reads them: a restricted unpickler that rebuilds tensors, parameters, containers, numbers, strings, dtypes,
torch.Size and torch.device, and the user's allow-listed classes, and nothing else; every record and every
tensor checked against the file before it is used.

The files under tests/data/torch_checkpoints were written once by PyTorch (make_checkpoints.py there), so
these tests run without it; the tests marked "live" write fresh files with PyTorch when it is installed.
Forged and damaged files are made here with a small pickle assembler (``pkl``) and zipfile."""
import dataclasses
import io
import os
import pickle
import random
import struct
import subprocess
import sys
import warnings
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn
from eigengrad._torch_checkpoint import LEGACY_MAGIC
from eigengrad.serialization import WeightsOnlyUnpicklingError, add_safe_globals, clear_safe_globals, safe_globals

DATA = Path(__file__).parent / "data" / "torch_checkpoints"
EXPECTED = dict(np.load(DATA / "expected.npz", allow_pickle=False))


@pytest.fixture(autouse=True)
def empty_allow_list():
    clear_safe_globals()
    yield
    clear_safe_globals()


def torch_or_skip():
    return pytest.importorskip("torch", reason="PyTorch is not installed: needed to write a fresh checkpoint")


def mlp():
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))


# --- a small pickle assembler: checkpoints made by hand (forged sizes, other byte orders, attacks) ----------

class pkl:
    """Pickle opcodes (protocol 2) for the objects of a checkpoint's data.pkl."""

    @staticmethod
    def s(text):
        b = text.encode()
        return b"X" + struct.pack("<I", len(b)) + b

    @staticmethod
    def i(n):
        if 0 <= n < 256:
            return b"K" + bytes([n])
        if -2 ** 31 <= n < 2 ** 31:
            return b"J" + struct.pack("<i", n)
        enc = pickle.encode_long(n)
        return b"\x8a" + bytes([len(enc)]) + enc

    @staticmethod
    def g(module, name):
        return b"c" + module.encode() + b"\n" + name.encode() + b"\n"

    @staticmethod
    def t(*items):
        return b"(" + b"".join(items) + b"t"

    @staticmethod
    def d(**items):
        return b"}(" + b"".join(pkl.s(k) + v for k, v in items.items()) + b"u"

    @staticmethod
    def storage(key, numel, cls="FloatStorage", module="torch"):
        return pkl.t(pkl.s("storage"), pkl.g(module, cls), pkl.s(key), pkl.s("cpu"), pkl.i(numel)) + b"Q"

    @staticmethod
    def tensor(key, numel, size, stride, offset=0, cls="FloatStorage", requires_grad=False, hooks=None):
        hooks = pkl.g("collections", "OrderedDict") + b")R" if hooks is None else hooks
        args = pkl.t(pkl.storage(key, numel, cls), pkl.i(offset), pkl.t(*map(pkl.i, size)),
                     pkl.t(*map(pkl.i, stride)), b"\x88" if requires_grad else b"\x89", hooks)
        return pkl.g("torch._utils", "_rebuild_tensor_v2") + args + b"R"


def checkpoint(body, records, byteorder=b"little", name="archive", compression=zipfile.ZIP_STORED):
    """The bytes of a checkpoint in PyTorch's zip layout: data.pkl is ``body`` (a pickled object's opcodes),
    records maps storage keys to their bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as z:
        z.writestr(f"{name}/data.pkl", b"\x80\x02" + body + b".")
        if byteorder is not None:
            z.writestr(f"{name}/byteorder", byteorder)
        for key, data in records.items():
            z.writestr(f"{name}/data/{key}", data)
        z.writestr(f"{name}/version", b"3\n")
    return buffer.getvalue()


def records_of(path):
    """name -> bytes of every record of a zip file."""
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def rezip(records, compression=zipfile.ZIP_STORED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as z:
        for name, data in records.items():
            z.writestr(name, data)
    return buffer.getvalue()


def load_bytes(data, name="forged.pt", **kwargs):
    buffer = io.BytesIO(data)
    buffer.name = name
    return eg.load(buffer, **kwargs)


def floats(*values, dtype="<f4"):
    return np.array(values, dtype=dtype).tobytes()


# --- committed files, written by PyTorch ------------------------------------------------------------------

def test_a_state_dict_loads_with_its_values_dtypes_and_order():
    sd = eg.load(DATA / "state_dict.pt")
    assert type(sd) is OrderedDict
    keys = [k[3:] for k in EXPECTED if k.startswith("sd.")]
    assert list(sd) == keys
    for k, v in sd.items():
        want = EXPECTED["sd." + k]
        assert type(v) is eg.Tensor and not v.requires_grad
        assert v.dtype == want.dtype and tuple(v.shape) == want.shape, k
        np.testing.assert_array_equal(v.numpy(), want)
    assert sd["1.num_batches_tracked"].dtype == eg.int64 and sd["1.num_batches_tracked"].item() == 3
    assert sd._metadata == OrderedDict([("", {"version": 1}), ("0", {"version": 1}), ("1", {"version": 2}),
                                        ("2", {"version": 1}), ("3", {"version": 1})])  # set by BUILD


def test_a_ported_program_loads_the_state_dict_and_gives_torchs_outputs():
    """``model.load_state_dict(torch.load(path))`` with torch aliased to eigengrad."""
    from eigengrad.compat import torch_alias

    with torch_alias():
        import torch
        model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(),
                                    torch.nn.Linear(8, 3))
        model.load_state_dict(torch.load(str(DATA / "state_dict.pt")))
        model.eval()
        with torch.no_grad():
            out = model(torch.tensor(EXPECTED["input"]))
    np.testing.assert_allclose(out.numpy(), EXPECTED["output"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("map_location", [None, "cpu", "cpu:0", eg.device("cpu"), {"cuda:0": "cpu"},
                                          lambda storage, location: storage])
def test_map_location_is_accepted_for_the_cpu(map_location):
    with open(DATA / "state_dict.pt", "rb") as f:
        sd = eg.load(f, map_location=map_location)
    np.testing.assert_array_equal(sd["0.weight"].numpy(), EXPECTED["sd.0.weight"])
    assert sd._metadata["1"] == {"version": 2}  # kept when a callable maps the tensors


def test_a_training_checkpoint_loads_and_resumes():
    ck = eg.load(DATA / "training.pt")
    assert list(ck) == ["epoch", "model", "optimizer", "scheduler", "best_acc", "losses", "shape", "name", "config",
                        "size", "dtype", "device", "tags", "blob", "counts", "half"]
    assert ck["epoch"] == 7 and ck["best_acc"] == 0.875 and ck["losses"] == [1.5, 0.75, 0.5]
    assert ck["shape"] == (3, 4) and type(ck["shape"]) is tuple and ck["name"] == "mlp-ünï"
    assert type(ck["config"]) is OrderedDict and list(ck["config"].items()) == [
        ("hidden", 8), ("activation", "relu"), ("dropout", None), ("flags", [True, False])]
    assert type(ck["size"]) is eg.Size and ck["size"] == (2, 3) and ck["size"].numel() == 6
    assert ck["dtype"] is eg.float64 and ck["device"] == eg.device("cpu")
    assert ck["tags"] == {"a", "b"} and ck["blob"] == b"\x00\x01bytes"
    assert ck["counts"].dtype == eg.int32 and ck["counts"].tolist() == [0, 1, 2, 3, 4]
    assert ck["half"].dtype == eg.float16 and ck["half"].tolist() == [0.5, -2.0]
    opt_state = ck["optimizer"]
    assert sorted(opt_state["state"]) == list(range(6))
    for i, s in opt_state["state"].items():
        for k, v in s.items():
            np.testing.assert_array_equal(v.numpy(), EXPECTED[f"opt.{i}.{k}"])
    group = opt_state["param_groups"][0]
    assert group["lr"] == 0.005 and group["betas"] == (0.9, 0.999) and group["params"] == [0, 1, 2, 3, 4, 5]
    assert ck["scheduler"]["last_epoch"] == 3 and ck["scheduler"]["_last_lr"] == [0.005]

    model = mlp()
    opt = eg.optim.Adam(model.parameters(), lr=0.01)
    sched = eg.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    model.load_state_dict(ck["model"])
    opt.load_state_dict(ck["optimizer"])
    sched.load_state_dict(ck["scheduler"])
    assert opt.param_groups[0]["lr"] == 0.005
    before = [p.detach().numpy().copy() for p in model.parameters()]
    model(eg.randn(5, 4)).pow(2).mean().backward()
    opt.step()
    assert all(not np.array_equal(b, p.detach().numpy()) for b, p in zip(before, model.parameters()))


def test_tensors_that_shared_a_storage_share_memory():
    sh = eg.load(DATA / "shared.pt")
    base = sh["base"]
    for name in ("transposed", "strided", "row", "base"):
        np.testing.assert_array_equal(sh[name].numpy(), EXPECTED["shared." + name])
        assert np.shares_memory(sh[name].numpy(), base.numpy()), name
    assert sh["transposed"].stride() == (1, 6) and sh["transposed"].storage_offset() == 0
    assert sh["strided"].stride() == (6, 2) and sh["strided"].storage_offset() == 6
    assert sh["row"].storage_offset() == 12 and sh["row"].stride() == (1,)
    assert sh["expanded"].stride() == (0, 1) and sh["expanded"].tolist() == [[1.0, 2.0, 3.0]] * 2
    base.numpy()[2, 2] = -1.0  # a write through one is seen by the others, as in torch
    assert sh["transposed"][2, 2].item() == -1.0 and sh["strided"][1, 1].item() == -1.0
    assert sh["row"][2].item() == -1.0
    assert not np.shares_memory(sh["float32"].numpy(), base.numpy())


def test_every_dtype_and_flag_comes_back():
    sh = eg.load(DATA / "shared.pt")
    for name in ("float32", "float16", "int8", "int16", "int32", "int64", "uint8", "bool", "scalar", "empty"):
        want = EXPECTED["shared." + name]
        got = sh[name]
        assert type(got) is eg.Tensor and got.dtype == want.dtype and tuple(got.shape) == want.shape, name
        np.testing.assert_array_equal(got.numpy(), want)
    assert isinstance(sh["param"], nn.Parameter) and sh["param"].requires_grad
    assert isinstance(sh["frozen"], nn.Parameter) and not sh["frozen"].requires_grad
    assert type(sh["grad"]) is eg.Tensor and sh["grad"].requires_grad and sh["grad"].is_leaf
    assert not sh["float32"].requires_grad
    (sh["param"] * 3).sum().backward()  # trainable as loaded
    np.testing.assert_array_equal(sh["param"].grad.numpy(), [3.0, 3.0])


def test_a_malicious_checkpoint_is_refused_and_nothing_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(pickle.UnpicklingError, match=r"(?s)Weights only load failed for .*malicious\.pt.*"
                                                     r"GLOBAL (posix|nt|os)\.system was not an allowed global.*"
                                                     r"add_safe_globals"):
        eg.load(DATA / "malicious.pt")
    with pytest.raises(ValueError):  # the same error is a ValueError too
        eg.load(DATA / "malicious.pt")
    with safe_globals([dataclasses.dataclass]):  # an unrelated allow-list changes nothing
        with pytest.raises(WeightsOnlyUnpicklingError):
            eg.load(DATA / "malicious.pt")
    assert not (tmp_path / "eigengrad_pwned").exists() and os.listdir(tmp_path) == []


@pytest.mark.parametrize("global_name", [("os", "system"), ("builtins", "eval"), ("__builtin__", "getattr"),
                                         ("subprocess", "Popen"), ("builtins", "frozenset"), ("numpy", "load"),
                                         ("torch", "load"), ("torch._utils", "_rebuild_device_tensor_from_numpy")])
def test_globals_outside_the_allow_list_are_refused(global_name):
    body = pkl.g(*global_name) + pkl.t(pkl.s("echo hi")) + b"R"
    module, name = global_name
    named = f"{'builtins' if module == '__builtin__' else module}.{name}".replace(".", r"\.")
    with pytest.raises(WeightsOnlyUnpicklingError, match=rf"(?s)Weights only load failed for 'forged\.pt'.*"
                                                         rf"GLOBAL {named} (was not an allowed global|is a PyTorch "
                                                         rf"object that eigengrad cannot rebuild)"):
        load_bytes(checkpoint(body, {}))


def test_opcodes_that_apply_state_are_refused_on_tensors_and_builtins():
    tensor = pkl.tensor("0", 2, (2,), (1,))
    build_on_tensor = tensor + pkl.d(_data=pkl.i(1)) + b"b"
    with pytest.raises(WeightsOnlyUnpicklingError, match="sets the state of a eigengrad.tensor.Tensor object"):
        load_bytes(checkpoint(build_on_tensor, {"0": floats(1, 2)}))
    build_on_class = pkl.g("collections", "OrderedDict") + pkl.t(b"N", pkl.d(update=pkl.i(1))) + b"b"
    with pytest.raises(WeightsOnlyUnpicklingError, match="sets the state of a builtins.type object"):
        load_bytes(checkpoint(build_on_class, {}))
    newobj = pkl.g("torch", "Size") + pkl.t() + b"\x81"
    with pytest.raises(WeightsOnlyUnpicklingError, match=r"creates a .* object \(NEWOBJ\)"):
        load_bytes(checkpoint(newobj, {}))
    setitem_on_tensor = tensor + pkl.i(0) + pkl.i(5) + b"s"
    with pytest.raises(WeightsOnlyUnpicklingError, match="applies SETITEM to a eigengrad.tensor.Tensor object"):
        load_bytes(checkpoint(setitem_on_tensor, {"0": floats(1, 2)}))
    additems_on_tensor = b"\x80\x04" + tensor + b"(" + pkl.i(1) + b"\x90"
    with pytest.raises(WeightsOnlyUnpicklingError, match="applies ADDITEMS to a eigengrad.tensor.Tensor object"):
        load_bytes(checkpoint(additems_on_tensor, {"0": floats(1, 2)}))
    appends_on_bytearray = pkl.g("__builtin__", "bytearray") + b")R(" + pkl.i(1) + b"e"
    with pytest.raises(WeightsOnlyUnpicklingError, match="applies APPENDS to a builtins.bytearray object"):
        load_bytes(checkpoint(appends_on_bytearray, {}))
    extension = b"\x82\x01"
    with pytest.raises(WeightsOnlyUnpicklingError, match="extension code 1"):
        load_bytes(checkpoint(extension, {}))


@dataclasses.dataclass
class Config:
    depth: int
    name: str


def test_allow_listed_classes_load_with_add_safe_globals_and_safe_globals():
    qual = f"{Config.__module__}"
    body = pkl.d(cfg=pkl.g(qual, "Config") + pkl.t() + b"\x81" + pkl.d(depth=pkl.i(3), name=pkl.s("x")) + b"b",
                 w=pkl.tensor("0", 2, (2,), (1,)))
    data = checkpoint(body, {"0": floats(1, 2)})
    with pytest.raises(WeightsOnlyUnpicklingError, match=rf"GLOBAL {qual}\.Config was not an allowed global.*"
                                                         rf"add_safe_globals\(\[{qual}\.Config\]\)"):
        load_bytes(data)
    with safe_globals([Config]):
        out = load_bytes(data)
    assert out["cfg"] == Config(3, "x") and out["w"].tolist() == [1.0, 2.0]
    with pytest.raises(WeightsOnlyUnpicklingError):  # the context manager's allow-list ended with it
        load_bytes(data)
    add_safe_globals([(Config, f"{qual}.Config")])
    assert load_bytes(data)["cfg"] == Config(3, "x")


@pytest.mark.parametrize("dtype,storage", [(">f4", "FloatStorage"), (">f8", "DoubleStorage"),
                                           (">i2", "ShortStorage"), (">i8", "LongStorage"),
                                           (">f2", "HalfStorage"), ("<f4", "FloatStorage")])
def test_byte_order_is_read_from_the_byteorder_record(dtype, storage):
    order = b"big" if dtype[0] == ">" else b"little"
    values = np.array([1, -2, 3, 250], dtype=dtype)
    body = pkl.tensor("0", 4, (2, 2), (1, 2), cls=storage)  # a transposed view
    t = load_bytes(checkpoint(body, {"0": values.tobytes()}, byteorder=order))
    assert t.dtype == values.dtype.newbyteorder("=") and t.tolist() == [[1, 3], [-2, 250]]
    assert t.numpy().dtype.isnative


def test_a_file_without_a_byteorder_record_is_little_endian():
    t = load_bytes(checkpoint(pkl.tensor("0", 2, (2,), (1,)), {"0": floats(1.5, 2.5)}, byteorder=None))
    assert t.tolist() == [1.5, 2.5]


def test_bool_bytes_other_than_0_and_1_read_as_true():
    t = load_bytes(checkpoint(pkl.tensor("0", 3, (3,), (1,), cls="BoolStorage"), {"0": b"\x00\x02\x01"}))
    assert t.tolist() == [False, True, True] and t.numpy().view(np.uint8).tolist() == [0, 1, 1]


@pytest.mark.parametrize("cls,name", [("BFloat16Storage", "bfloat16"), ("QInt8Storage", "qint8")])
def test_dtypes_eigengrad_has_no_tensors_of_are_named(cls, name):
    with pytest.raises(ValueError, match=rf"forged\.pt': a tensor of dtype torch\.{name}: eigengrad has no {name} "):
        load_bytes(checkpoint(pkl.tensor("0", 2, (2,), (1,), cls=cls), {"0": b"\x00" * 2 * (2 if name[0] == "b"
                                                                                                 else 1)}))
    assert repr(load_bytes(checkpoint(pkl.g("torch", name), {}))) == f"eigengrad.{name}"  # a dtype can be named


# --- forged and damaged files -------------------------------------------------------------------------------

@pytest.mark.parametrize("numel,record", [(1000, floats(1, 2, 3, 4)), (2 ** 60, floats(1, 2, 3, 4)),
                                          (3, floats(1, 2, 3, 4)), (4, floats(1, 2, 3, 4)[:-1])])
def test_a_storage_record_must_hold_numel_elements(numel, record):
    body = pkl.tensor("0", numel, (2,), (1,))
    with pytest.raises(ValueError, match=rf"forged\.pt': storage record 'archive/data/0' holds {len(record)} bytes, "
                                         rf"but the checkpoint says {numel} elements of 4 bytes"):
        load_bytes(checkpoint(body, {"0": record}))


@pytest.mark.parametrize("size,stride,offset,message", [
    ((3, 3), (3, 1), 0, r"reads element 8 of storage '0', which has 4 elements"),
    ((2,), (2 ** 40,), 0, r"reads element 1099511627776 of storage '0'"),
    ((2,), (1,), 3, r"storage offset 3 reads element 4 of storage '0'"),
    ((2,), (1,), -1, r"storage offset must be an int in \[0, 2\*\*62\), got -1"),
    ((2,), (-1,), 1, r"stride must be an int in \[0, 2\*\*62\), got -1"),
    ((2, 2), (1,), 0, r"size \[2, 2\] and stride \[1\] differ in length"),
    ((2 ** 62,), (1,), 0, r"size must be an int in \[0, 2\*\*62\)"),
])
def test_tensor_geometry_is_checked_against_its_storage(size, stride, offset, message):
    body = pkl.tensor("0", 4, size, stride, offset=offset)
    with pytest.raises(ValueError, match=r"forged\.pt': .*" + message):
        load_bytes(checkpoint(body, {"0": floats(1, 2, 3, 4)}))


def test_empty_tensors_need_no_storage_elements():
    t = load_bytes(checkpoint(pkl.tensor("0", 0, (0, 5), (5, 1)), {"0": b""}))
    assert tuple(t.shape) == (0, 5) and t.dtype == eg.float32


def test_inconsistent_storages_and_tensors_are_errors():
    two_sizes = pkl.t(pkl.tensor("0", 2, (2,), (1,)), pkl.tensor("0", 1, (1,), (1,)))
    with pytest.raises(ValueError, match="storage '0' is named twice with different types or sizes"):
        load_bytes(checkpoint(two_sizes, {"0": floats(1, 2)}))
    v3 = pkl.g("torch._utils", "_rebuild_tensor_v3")
    two_dtypes = pkl.t(*(v3 + pkl.t(pkl.storage("0", 8, "UntypedStorage", "torch.storage"), pkl.i(0), pkl.t(pkl.i(n)),
                                   pkl.t(pkl.i(1)), b"\x89", pkl.d(), pkl.g("torch", dtype)) + b"R"
                         for n, dtype in ((4, "uint16"), (2, "uint32"))))
    with pytest.raises(ValueError, match="storage '0' is used as uint16 and as uint32"):
        load_bytes(checkpoint(two_dtypes, {"0": bytes(range(8))}))
    missing = pkl.tensor("7", 2, (2,), (1,))
    with pytest.raises(ValueError, match=r"forged\.pt' has no record 'archive/data/7'"):
        load_bytes(checkpoint(missing, {"0": floats(1, 2)}))
    bad_key = pkl.tensor("../../etc/passwd", 2, (2,), (1,))
    with pytest.raises(ValueError, match="is not a record name"):
        load_bytes(checkpoint(bad_key, {}))
    int_grad = pkl.tensor("0", 2, (2,), (1,), cls="LongStorage", requires_grad=True)
    with pytest.raises(ValueError, match="a tensor of dtype int64 cannot require grad"):
        load_bytes(checkpoint(int_grad, {"0": b"\x00" * 16}))
    hooks = pkl.tensor("0", 2, (2,), (1,), hooks=pkl.d(h=pkl.i(1)))
    with pytest.raises(ValueError, match="backward hooks"):
        load_bytes(checkpoint(hooks, {"0": floats(1, 2)}))
    not_a_storage = pkl.g("torch._utils", "_rebuild_tensor_v2") + pkl.t(pkl.i(0), pkl.i(0), pkl.t(), pkl.t(),
                                                                         b"\x89", pkl.d()) + b"R"
    with pytest.raises(ValueError, match="must be rebuilt from a storage record"):
        load_bytes(checkpoint(not_a_storage, {}))


def test_bad_byteorder_and_non_checkpoint_zips():
    with pytest.raises(ValueError, match=r"byteorder must be 'little' or 'big', got b'middle'"):
        load_bytes(checkpoint(pkl.i(1), {}, byteorder=b"middle"))
    buffer = io.BytesIO()
    np.savez(buffer, a=np.ones(2))
    with pytest.raises(ValueError, match=r"forged\.pt' is a zip archive but not a PyTorch checkpoint"):
        load_bytes(buffer.getvalue())
    script = rezip({"m/data.pkl": b"\x80\x02K\x01.", "m/constants.pkl": b"", "m/code/m.py": b"", "n/data.pkl": b""})
    with pytest.raises(ValueError, match=r"is a TorchScript archive \(torch.jit.save\)"):
        load_bytes(script)


def test_a_truncated_file_is_named_as_such():
    data = (DATA / "shared.pt").read_bytes()
    for cut in (10, len(data) // 3, len(data) // 2, len(data) - 30, len(data) - 1):
        with pytest.raises(ValueError, match=r"forged\.pt' is not a readable zip archive, it is truncated or "
                                             r"corrupted"):
            load_bytes(data[:cut])


def test_a_damaged_record_fails_its_crc():
    data = bytearray((DATA / "state_dict.pt").read_bytes())
    with zipfile.ZipFile(DATA / "state_dict.pt") as z:
        info = z.getinfo("state_dict/data/0")
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
    start = info.header_offset + 30 + name_len + extra_len  # the record's first byte (after the local header)
    data[start + 3] ^= 0x40
    with pytest.raises(ValueError, match=r"record 'state_dict/data/0' cannot be read, the file is corrupted "
                                         r"\(BadZipFile: Bad CRC-32"):
        load_bytes(bytes(data))


def test_a_record_claiming_more_bytes_than_the_file_holds_is_refused():
    """A forged local size (a stored record said to be 1 GB) is refused before anything is allocated."""
    blob = bytearray(checkpoint(pkl.tensor("0", 2 ** 28, (2,), (1,)), {"0": floats(1, 2)}))
    pos, patched = blob.find(b"PK\x01\x02"), 0  # the central directory's entries: sizes at +20, name at +46
    while pos >= 0:
        n = struct.unpack("<H", blob[pos + 28:pos + 30])[0]
        if blob[pos + 46:pos + 46 + n] == b"archive/data/0":
            blob[pos + 20:pos + 28] = struct.pack("<II", 2 ** 30, 2 ** 30)
            patched += 1
        pos = blob.find(b"PK\x01\x02", pos + 4)
    assert patched == 1
    with pytest.raises(ValueError, match=r"record 'archive/data/0' ends past the end of the file \(truncated\)"):
        load_bytes(bytes(blob))


def test_a_recompressed_checkpoint_still_loads():
    deflated = rezip(records_of(DATA / "shared.pt"), zipfile.ZIP_DEFLATED)
    sh = load_bytes(deflated)
    np.testing.assert_array_equal(sh["strided"].numpy(), EXPECTED["shared.strided"])


def test_random_damage_gives_value_errors_only():
    """Flipped bytes anywhere in a file, and in data.pkl behind a valid CRC: a ValueError (or a load), never
    another exception, a crash or a hang."""
    rng = random.Random(0)
    for path in ("state_dict.pt", "training.pt", "shared.pt"):
        data = (DATA / path).read_bytes()
        records = records_of(DATA / path)
        pkl_name = next(n for n in records if n.endswith("/data.pkl"))
        for _ in range(150):
            damaged = bytearray(data)
            for _ in range(rng.randint(1, 3)):
                damaged[rng.randrange(len(damaged))] = rng.randrange(256)
            try:
                load_bytes(bytes(damaged))
            except ValueError:
                pass
            pickled = bytearray(records[pkl_name])
            for _ in range(rng.randint(1, 3)):
                pickled[rng.randrange(2, len(pickled))] = rng.randrange(256)
            try:
                load_bytes(rezip({**records, pkl_name: bytes(pickled)}))
            except ValueError:
                pass


def test_legacy_checkpoints_are_named_as_such():
    legacy = LEGACY_MAGIC + pickle.dumps(1001, protocol=2) + b"rest"
    tar = io.BytesIO()
    import tarfile
    with tarfile.open(fileobj=tar, mode="w") as archive:
        info = tarfile.TarInfo("sys_info")
        info.size = 3
        archive.addfile(info, io.BytesIO(b"abc"))
    for data in (legacy, tar.getvalue()):
        with pytest.raises(ValueError, match=r"forged\.pt' is a PyTorch checkpoint in the legacy format of torch "
                                             r"< 1\.6"):
            load_bytes(data)
    import datetime

    def eigengrad_pickle(pad):
        buffer = io.BytesIO()
        with pytest.warns(UserWarning, match="written as a pickle"):
            eg.save({"x": "p" * pad + "ustar", "d": datetime.date(2024, 1, 2)}, buffer)
        return buffer.getvalue()

    data = eigengrad_pickle(250)
    data = eigengrad_pickle(250 - (data.index(b"ustar") - 257))
    assert data[257:262] == b"ustar"  # where a tar archive has its magic: eigengrad's pickle is not taken for one
    with pytest.raises(WeightsOnlyUnpicklingError, match="it is a pickle"):
        load_bytes(data)
    with pytest.warns(FutureWarning):
        assert load_bytes(data, weights_only=False)["d"] == datetime.date(2024, 1, 2)


def test_weights_only_false_gives_the_same_tensors_and_imports_only_what_is_outside_torch():
    plain = eg.load(DATA / "shared.pt", weights_only=False)
    np.testing.assert_array_equal(plain["transposed"].numpy(), EXPECTED["shared.transposed"])
    assert np.shares_memory(plain["transposed"].numpy(), plain["base"].numpy())
    body = pkl.d(when=pkl.g("datetime", "date") + pkl.t(pkl.i(2024), pkl.i(1), pkl.i(2)) + b"R")
    data = checkpoint(body, {})
    with pytest.raises(WeightsOnlyUnpicklingError, match=r"GLOBAL datetime\.date was not an allowed global"):
        load_bytes(data)
    with pytest.warns(FutureWarning, match=r"weights_only=False\) imported and called datetime\.date"):
        import datetime
        assert load_bytes(data, weights_only=False)["when"] == datetime.date(2024, 1, 2)
    module = pkl.g("torch.nn.modules.linear", "Linear") + pkl.t() + b"\x81"
    for weights_only in (True, False):
        with pytest.raises(WeightsOnlyUnpicklingError, match=r"GLOBAL torch\.nn\.modules\.linear\.Linear is a "
                                                             r"PyTorch object that eigengrad cannot rebuild"):
            load_bytes(checkpoint(module, {}), weights_only=weights_only)


def test_importing_eigengrad_does_not_import_the_checkpoint_reader():
    code = "import sys, eigengrad; print('eigengrad._torch_checkpoint' in sys.modules, 'zipfile' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    assert out.stdout.split() == ["False", "False"]


# --- live: fresh files written by PyTorch --------------------------------------------------------------------

def torch_save(obj, **kwargs):
    torch = torch_or_skip()
    buffer = io.BytesIO()
    torch.save(obj, buffer, **kwargs)
    return buffer.getvalue()


def assert_like_torch(ours, theirs):
    """eigengrad's load of a file matches torch.load's: types, values, dtypes, strides, offsets."""
    torch = torch_or_skip()
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, eg.Tensor)
        assert isinstance(ours, nn.Parameter) == isinstance(theirs, torch.nn.Parameter)
        assert ours.requires_grad == theirs.requires_grad
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
        assert tuple(ours.shape) == tuple(theirs.shape)
        if theirs.numel():
            assert ours.stride() == theirs.stride() and ours.storage_offset() == theirs.storage_offset()
        np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())
    elif isinstance(theirs, dict):
        assert type(ours).__name__ == type(theirs).__name__ and list(ours) == list(theirs)
        for k in theirs:
            assert_like_torch(ours[k], theirs[k])
    elif isinstance(theirs, (list, tuple)) and not isinstance(theirs, torch.Size):
        assert type(ours) is type(theirs) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_like_torch(a, b)
    elif isinstance(theirs, torch.dtype):
        assert repr(ours) == repr(theirs).replace("torch.", "eigengrad.")
    elif isinstance(theirs, torch.Size):
        assert type(ours) is eg.Size and tuple(ours) == tuple(theirs)
    elif isinstance(theirs, torch.device):
        assert type(ours) is eg.device and str(ours) == str(theirs)
    else:
        assert ours == theirs


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_live_every_dtype_and_layout_like_torch(protocol):
    torch = torch_or_skip()
    g = torch.Generator().manual_seed(1)
    x = torch.randn(5, 7, generator=g, dtype=torch.float64)
    obj = {
        "x": x, "t": x.t(), "cols": x[:, 1::3], "diag": x.diagonal(), "last": x[-1, -2:],
        "u16": torch.tensor([0, 65535], dtype=torch.uint16),
        "u32": torch.tensor([1, 2 ** 32 - 1], dtype=torch.uint32),
        "u64": torch.tensor([3, 2 ** 63], dtype=torch.uint64),
        "c64": torch.tensor([1 + 2j, 3 - 1j], dtype=torch.complex64),
        "f16": torch.randn(3, 2, generator=g).half(), "i8": torch.tensor([-1, 2], dtype=torch.int8),
        "bool": torch.rand(4, generator=g) > 0.5, "p": torch.nn.Parameter(torch.randn(2, 2, generator=g)),
        "nested": [(1, 2.5, "s", None, True), {"k": OrderedDict(a=torch.zeros(2, 0))}],
        "size": torch.Size([4, 1]), "dt": torch.bfloat16, "dev": torch.device("cpu"),
        "counter": __import__("collections").Counter(a=2), "bytes": b"\xff\x00", "complex": 2 - 3j,
    }
    data = torch_save(obj, pickle_protocol=protocol)
    ours = load_bytes(data)
    theirs = torch.load(io.BytesIO(data), weights_only=False)  # torch's own restricted unpickler knows protocol 2
    assert_like_torch(ours, theirs)
    assert np.shares_memory(ours["t"].numpy(), ours["x"].numpy())
    assert np.shares_memory(ours["diag"].numpy(), ours["cols"].numpy())


def test_live_models_and_optimizers_like_torch(tmp_path):
    torch = torch_or_skip()
    torch.manual_seed(3)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2), torch.nn.Flatten(),
                                torch.nn.Linear(8, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(2, 1, 4, 4)).sum().backward()
    opt.step()
    path = tmp_path / "ck.pth"
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "epoch": 1}, path)
    ours = eg.load(path)
    assert_like_torch(ours, torch.load(path))
    mine = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(8, 3))
    mine.load_state_dict(ours["model"])
    mine.eval(), model.eval()
    x = np.random.default_rng(0).standard_normal((3, 1, 4, 4)).astype(np.float32)
    with torch.no_grad():
        want = model(torch.tensor(x)).numpy()
    np.testing.assert_allclose(mine(eg.tensor(x)).detach().numpy(), want, rtol=1e-5, atol=1e-6)


def test_live_the_assembler_writes_what_torch_reads():
    """The hand-made checkpoints of these tests are PyTorch's format: torch.load reads them the same."""
    torch = torch_or_skip()
    body = pkl.d(a=pkl.tensor("0", 4, (2, 2), (1, 2)), b=pkl.tensor("0", 4, (3,), (1,), offset=1))
    data = checkpoint(body, {"0": np.array([1, 2, 3, 4], ">f4").tobytes()}, byteorder=b"big")
    theirs = torch.load(io.BytesIO(data))
    assert_like_torch(load_bytes(data), theirs)


def test_live_parameters_with_attributes_and_tensors_with_attributes():
    torch = torch_or_skip()
    p = torch.nn.Parameter(torch.ones(2))
    p.tag = "decay"
    ours = load_bytes(torch_save({"p": p}))
    assert isinstance(ours["p"], nn.Parameter) and ours["p"].tag == "decay"
    t = torch.ones(2)
    t.note = 1
    with pytest.raises(ValueError, match=r"a plain tensor with attributes \['note'\]"):
        load_bytes(torch_save({"t": t}))


def test_live_refusals_match_torchs():
    torch = torch_or_skip()
    for obj, name in [({"acc": np.float64(0.5)}, "numpy"), (torch.nn.Linear(2, 2), "torch.nn.modules.linear.Linear"),
                      ({"s": frozenset([1])}, "frozenset")]:
        data = torch_save(obj)
        with pytest.raises(pickle.UnpicklingError):
            torch.load(io.BytesIO(data))
        with pytest.raises(WeightsOnlyUnpicklingError, match=name):
            load_bytes(data)
    with pytest.raises(ValueError, match="eigengrad has no bfloat16 tensors"):
        load_bytes(torch_save(torch.ones(2, dtype=torch.bfloat16)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        assert load_bytes(torch_save({"acc": np.float64(0.5)}), weights_only=False)["acc"] == 0.5


def test_live_allow_listed_dataclass_like_torch():
    torch = torch_or_skip()
    data = torch_save({"cfg": Config(2, "net"), "w": torch.ones(1)})
    with pytest.raises(WeightsOnlyUnpicklingError, match="Config"):
        load_bytes(data)
    with safe_globals([Config]):
        assert load_bytes(data)["cfg"] == Config(2, "net")


def test_live_legacy_format_is_named():
    data = torch_save({"w": torch_or_skip().ones(2)}, _use_new_zipfile_serialization=False)
    with pytest.raises(ValueError, match="legacy format of torch < 1.6"):
        load_bytes(data)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_live_torchscript_archives_are_named():
    torch = torch_or_skip()
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), buffer)
    with pytest.raises(ValueError, match="TorchScript archive"):
        load_bytes(buffer.getvalue())


# --- writing PyTorch's format: eigengrad.serialization.save_torch_checkpoint -------------------------------------

def written(obj):
    from eigengrad.serialization import save_torch_checkpoint

    buffer = io.BytesIO()
    save_torch_checkpoint(obj, buffer)
    return buffer.getvalue()


def a_training_state():
    eg.manual_seed(0)
    model = mlp()
    opt = eg.optim.Adam(model.parameters(), lr=0.01)
    model(eg.randn(6, 4)).pow(2).mean().backward()
    opt.step()
    base = eg.tensor(np.arange(24, dtype=np.float64).reshape(4, 6))
    return model, opt, {
        "model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3, "lr": 0.01, "name": "run-ü",
        "base": base, "transposed": base.t(), "strided": base[1:3, ::2], "param": nn.Parameter(eg.ones(2)),
        "grad": eg.tensor([1.0, 2.0], requires_grad=True), "size": eg.Size([2, 3]), "dtype": eg.float16,
        "device": eg.device("cpu"), "tags": {"a", "b"}, "blob": b"\x00\xffz", "c": 1 - 2j, "big": 2 ** 80,
        "nested": [(1, None, True), OrderedDict(k=eg.zeros(0, 2))],
        "ints": eg.tensor(np.array([-1, 2 ** 40])), "u16": eg.tensor(np.array([1, 65535], dtype=np.uint16)),
        "bools": eg.tensor(np.array([True, False])), "half": eg.tensor(np.array([0.5, 2.0], dtype=np.float16)),
    }


def test_save_torch_checkpoint_reads_back_in_eigengrad(tmp_path):
    from eigengrad.serialization import save_torch_checkpoint

    _, _, state = a_training_state()
    save_torch_checkpoint(state, tmp_path / "ck.pt")
    back = eg.load(tmp_path / "ck.pt")
    assert list(back) == list(state)
    for k in ("epoch", "lr", "name", "size", "dtype", "device", "tags", "blob", "c", "big"):
        assert back[k] == state[k] and type(back[k]) is type(state[k]), k
    for k in ("base", "transposed", "strided", "ints", "u16", "bools", "half", "grad", "param"):
        assert type(back[k]) is type(state[k]) and back[k].dtype == state[k].dtype, k
        assert back[k].requires_grad == state[k].requires_grad
        np.testing.assert_array_equal(back[k].detach().numpy(), state[k].detach().numpy())
    assert back["strided"].stride() == (6, 2) and back["strided"].storage_offset() == 6
    assert np.shares_memory(back["transposed"].numpy(), back["base"].numpy())
    assert back["model"]._metadata == state["model"]._metadata
    fresh = mlp()
    fresh.load_state_dict(back["model"])
    x = eg.randn(3, 4)
    fresh.eval()
    model = mlp()
    model.load_state_dict(state["model"])
    model.eval()
    np.testing.assert_array_equal(fresh(x).detach().numpy(), model(x).detach().numpy())


@pytest.mark.parametrize("bad", [np.ones(2), np.float64(1.0), Config(1, "a"), object(), frozenset([1])],
                         ids=["array", "numpy scalar", "dataclass", "object", "frozenset"])
def test_save_torch_checkpoint_refuses_what_torch_would_not_load(bad):
    with pytest.raises(TypeError, match=r"^obj: a PyTorch checkpoint holds tensors, .* got "):
        written({"x": bad})


def test_live_torch_loads_what_save_torch_checkpoint_wrote(tmp_path):
    torch = torch_or_skip()
    from eigengrad.serialization import save_torch_checkpoint

    model, _, state = a_training_state()
    save_torch_checkpoint(state, tmp_path / "ck.pt")
    for kwargs in ({}, {"mmap": True}):
        theirs = torch.load(tmp_path / "ck.pt", weights_only=True, **kwargs)
        assert_like_torch(eg.load(tmp_path / "ck.pt"), theirs)
    assert theirs["transposed"].untyped_storage().data_ptr() == theirs["base"].untyped_storage().data_ptr()
    assert isinstance(theirs["param"], torch.nn.Parameter) and theirs["grad"].requires_grad
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    net.load_state_dict(theirs["model"])
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    opt.load_state_dict(theirs["optimizer"])
    net.eval(), model.eval()
    x = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32)
    with torch.no_grad():
        want = net(torch.tensor(x)).numpy()
    np.testing.assert_allclose(model(eg.tensor(x)).detach().numpy(), want, rtol=1e-5, atol=1e-6)


def test_live_numpy_values_load_once_allow_listed_as_in_torch():
    torch = torch_or_skip()
    data = torch_save({"acc": np.float64(0.5), "arr": np.arange(3)})
    core = np._core if hasattr(np, "_core") else np.core
    allow = [core.multiarray.scalar, np.dtype, type(np.dtype(np.float64)), type(np.dtype(np.int64)),
             core.multiarray._reconstruct, np.ndarray]
    with torch.serialization.safe_globals(allow):
        theirs = torch.load(io.BytesIO(data))
    with safe_globals(allow):
        ours = load_bytes(data)
    assert ours["acc"] == theirs["acc"] == 0.5 and type(ours["acc"]) is np.float64
    np.testing.assert_array_equal(ours["arr"], theirs["arr"])
    with safe_globals(allow[:4]), pytest.raises(WeightsOnlyUnpicklingError, match="_reconstruct"):
        load_bytes(data)


def test_a_ported_script_run_by_the_compat_launcher_loads_a_torch_checkpoint(tmp_path):
    """``python -m eigengrad.compat prog.py``: the script is PyTorch code, unchanged."""
    script = tmp_path / "prog.py"
    script.write_text(
        "import sys\n"
        "import numpy as np\n"
        "import torch\n"
        "import torch.nn as nn\n"
        "model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))\n"
        "checkpoint = torch.load(sys.argv[1], map_location=torch.device('cpu'))\n"
        "model.load_state_dict(checkpoint['model'])\n"
        "model.eval()\n"
        "with torch.no_grad():\n"
        "    out = model(torch.tensor(np.load(sys.argv[2])['input']))\n"
        "print(checkpoint['epoch'], torch.__name__)\n"
        "np.save(sys.argv[3], out.numpy())\n")
    out = subprocess.run([sys.executable, "-m", "eigengrad.compat", str(script), str(DATA / "training.pt"),
                          str(DATA / "expected.npz"), str(tmp_path / "out.npy")], capture_output=True, text=True,
                         cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["7", "eigengrad"]
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), EXPECTED["output"], rtol=1e-5, atol=1e-6)
