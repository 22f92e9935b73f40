"""eigengrad.save / eigengrad.load with PyTorch's names and arguments: what PyTorch users save (tensors,
arrays, nested containers, numbers, strings, state_dicts of modules, optimizers and schedulers, whole
training states) to paths and file objects, in the safe format; pickles only for what that format cannot
hold, loaded only with weights_only=False; allow-listed classes; map_location. And: loading never runs
code from a file unless weights_only=False."""
import dataclasses
import enum
import io
import json
import os
import pickle
import warnings
from collections import OrderedDict, namedtuple

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn
from eigengrad.serialization import (
    WeightsOnlyUnpicklingError, add_safe_globals, clear_safe_globals, get_safe_globals, safe_globals,
)


@pytest.fixture(autouse=True)
def empty_allow_list():
    clear_safe_globals()
    yield
    clear_safe_globals()


def destinations(tmp_path):
    """Every kind of ``f``: a str path, a PathLike, an open binary file, a BytesIO."""
    return [("str", str(tmp_path / "a.pt")), ("pathlike", tmp_path / "b.pt"), ("file", tmp_path / "c.pt"),
            ("bytesio", None)]


def round_trip(obj, kind="bytesio", where=None, **load_kwargs):
    if kind == "bytesio":
        buffer = io.BytesIO()
        eg.save(obj, buffer)
        buffer.seek(0)
        return eg.load(buffer, **load_kwargs)
    if kind == "file":
        with open(where, "wb") as f:
            eg.save(obj, f)
        with open(where, "rb") as f:
            return eg.load(f, **load_kwargs)
    eg.save(obj, where)
    return eg.load(where, **load_kwargs)


def assert_same(a, b):
    """Equal values of the same types, recursively (tensors by dtype, shape, values, requires_grad)."""
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, eg.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and a.requires_grad == b.requires_grad
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b)
    else:
        assert a == b


NESTED = {
    "tensor": eg.tensor([[1.0, 2.0], [3.0, 4.0]]),
    "float64": eg.tensor(np.arange(5, dtype=np.float64)),
    "int64": eg.tensor(np.array([3, -1, 2**40])),
    "bool": eg.tensor(np.array([True, False])),
    "scalar": eg.tensor(np.float32(2.5)),
    "grad": eg.tensor([1.0, 2.0], requires_grad=True),
    "array": np.arange(6, dtype=np.int32).reshape(2, 3),
    "empty": np.zeros((0, 4), dtype=np.float32),
    "numbers": [1, 2.5, -0.0, float("inf"), float("nan"), 2**70, True, None],
    "text": ("a string", "ünïcode", ""),
    "int keys": {0: "zero", 1: {"deeper": [eg.ones(2)]}, (1, 2): "tuple key"},
    "ordered": OrderedDict([("b", 1), ("a", eg.zeros(1))]),
    "dtype": eg.float64,
    "same names": {"a.b": eg.ones(1), "a": {"b": eg.zeros(1)}},
}


@pytest.mark.parametrize("i", range(4), ids=["str", "pathlike", "file", "bytesio"])
def test_nested_objects_round_trip_to_every_kind_of_file(tmp_path, i):
    kind, where = destinations(tmp_path)[i]
    assert_same(round_trip(NESTED, kind, where), NESTED)


@pytest.mark.parametrize("obj", [eg.tensor([1.0, 2.0]), np.arange(3.0), 3, 2.5, "text", None, True, [1, 2], (1,),
                                 {}, []], ids=repr)
def test_top_level_values_round_trip(obj):
    assert_same(round_trip(obj), obj)


@pytest.mark.parametrize("obj", [{1, 2, (3, "x")}, frozenset({"a"}), set(), b"\x00ab", bytearray(b"xy"), 1 + 2j,
                                 complex(float("inf"), -0.0), eg.device("cpu"), np.float32(1.5), np.int64(-3),
                                 np.bool_(True), np.complex64(1 - 2j), np.float16(0.1)], ids=repr)
def test_sets_bytes_complex_devices_and_numpy_scalars_round_trip(obj):
    """What PyTorch's weights_only load also rebuilds (a checkpoint with the set of labels seen, a device, a
    complex number had been pickled and refused at load, so the resume failed), and NumPy scalars with their
    type (they had come back as Python numbers), all in the safe format."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (no pickle)
        back = round_trip({"v": obj, "w": eg.ones(2)})
    assert_same(back["v"], obj)
    if isinstance(obj, np.generic):
        assert back["v"].dtype == obj.dtype


def test_parameters_stay_parameters():
    p = nn.Parameter(eg.randn(3))
    back = round_trip({"p": p})["p"]
    assert isinstance(back, nn.Parameter) and back.requires_grad
    np.testing.assert_array_equal(back.detach().numpy(), p.detach().numpy())


def test_a_state_dict_file_is_plain_safetensors(tmp_path):
    """Any safetensors reader sees the tensors under their state_dict names."""
    from safetensors.numpy import load_file
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    eg.save(model.state_dict(), tmp_path / "m.pt")
    arrays = load_file(str(tmp_path / "m.pt"))
    assert sorted(arrays) == sorted(model.state_dict())
    loaded = eg.load(tmp_path / "m.pt")
    assert isinstance(loaded, OrderedDict) and list(loaded) == list(model.state_dict())
    fresh = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    fresh.load_state_dict(loaded)
    x = eg.randn(5, 3)
    np.testing.assert_array_equal(fresh(x).detach().numpy(), model(x).detach().numpy())


def _train(model, opt, sched, steps, seed):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        x = eg.tensor(rng.standard_normal((8, 4)).astype(np.float32))
        opt.zero_grad()
        ((model(x) - 1.0) ** 2).mean().backward()
        opt.step()
        sched.step()


@pytest.mark.parametrize("rule,kwargs", [("Adam", dict(lr=0.01, amsgrad=True)), ("SGD", dict(lr=0.1, momentum=0.9)),
                                         ("NAdam", dict(lr=0.01)), ("RAdam", dict(lr=0.01)),
                                         ("Adamax", dict(lr=0.01))])
def test_a_whole_training_state_resumes_bitwise(tmp_path, rule, kwargs):
    """Model, optimizer (param_groups and the arena's state) and scheduler state_dicts and counters in one
    file: the resumed run ends with the same bits as the uninterrupted one."""
    def make():
        eg.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
        opt = getattr(eg.optim, rule)([{"params": model[0].parameters()},
                                       {"params": model[2].parameters(), "lr": 0.005}], **kwargs)
        return model, opt, eg.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)

    straight = make()
    _train(*straight, 10, seed=1)
    _train(*straight, 10, seed=2)
    first = make()
    _train(*first, 10, seed=1)
    eg.save({"epoch": 10, "model": first[0].state_dict(), "optimizer": first[1].state_dict(),
             "scheduler": first[2].state_dict(), "history": [0.5, 0.25], "best": None}, tmp_path / "ckpt.pt")
    state = eg.load(tmp_path / "ckpt.pt")
    resumed = make()
    resumed[0].load_state_dict(state["model"])
    resumed[1].load_state_dict(state["optimizer"])
    resumed[2].load_state_dict(state["scheduler"])
    assert state["epoch"] == 10 and state["history"] == [0.5, 0.25] and state["best"] is None
    assert state["optimizer"]["param_groups"][1]["lr"] == first[1].param_groups[1]["lr"]
    _train(*resumed, 10, seed=2)
    for a, b in zip(straight[0].parameters(), resumed[0].parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_lbfgs_state_round_trips():
    x = eg.tensor(np.zeros(5), requires_grad=True)
    opt = eg.optim.LBFGS([x], max_iter=3)

    def closure():
        opt.zero_grad()
        loss = ((x - eg.tensor(np.arange(5.0))) ** 2).sum()
        loss.backward()
        return loss
    opt.step(closure)
    saved = opt.state_dict()
    back = round_trip(saved)
    assert_same(back["state"][0]["old_dirs"], saved["state"][0]["old_dirs"])
    assert back["param_groups"] == saved["param_groups"]


# --- pickles: only for what the safe format cannot hold, loaded only when asked ------------------------

class Unsafe:
    """Unpickling it writes a file: the proof of executed code."""
    marker = None

    def __reduce__(self):
        return (open, (Unsafe.marker, "w"))


def test_a_whole_module_is_pickled_with_a_warning_and_refused_by_default(tmp_path):
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
    with pytest.warns(UserWarning, match=r"eigengrad.save: .*Sequential.* is written as a pickle"):
        eg.save(model, tmp_path / "model.pt")
    with pytest.raises(pickle.UnpicklingError, match=r"(?s)^Weights only load failed for '.*model\.pt'.*"
                                                     r"it is a pickle.*`weights_only` set to `False`"):
        eg.load(tmp_path / "model.pt")
    with pytest.raises(ValueError, match="Weights only load failed"):  # also eigengrad's bad-input type
        eg.load(tmp_path / "model.pt", weights_only=True)
    with pytest.warns(FutureWarning, match="unpickles the file, which can run arbitrary code"):
        back = eg.load(tmp_path / "model.pt", weights_only=False)
    x = eg.randn(4, 3)
    np.testing.assert_array_equal(back(x).detach().numpy(), model(x).detach().numpy())


def test_loading_never_runs_code_from_a_pickle_unless_asked(tmp_path):
    Unsafe.marker = str(tmp_path / "executed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eg.save({"payload": Unsafe()}, tmp_path / "evil.pt")
    for kwargs in ({}, {"weights_only": True}, {"weights_only": None}):
        with pytest.raises(WeightsOnlyUnpicklingError, match=r"The pickle names: io\.open\."):
            eg.load(tmp_path / "evil.pt", **kwargs)
    assert not os.path.exists(Unsafe.marker)
    with pytest.warns(FutureWarning):
        eg.load(tmp_path / "evil.pt", weights_only=False)
    assert os.path.exists(Unsafe.marker)  # the same file does run code when the user asks for it


class _Touch:
    """Unpickling it calls pathlib.Path.touch: the proof of executed code, pickled by hand (not by eg.save)."""

    def __init__(self, path) -> None:
        self.path = path

    def __reduce__(self):
        import pathlib
        return (pathlib.Path.touch, (pathlib.Path(self.path),))


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_a_hand_made_pickle_runs_nothing_unless_weights_only_is_false(tmp_path, protocol):
    """Any pickle the user is given (every protocol; a path, an open file, a buffer; cut short) is refused
    under the default, and the code it names is not run; only weights_only=False runs it."""
    marker = tmp_path / "executed"
    data = pickle.dumps({"state": [_Touch(marker), np.ones(2)]}, protocol=protocol)
    (tmp_path / "given.pt").write_bytes(data)
    sources = [lambda: tmp_path / "given.pt", lambda: str(tmp_path / "given.pt"), lambda: io.BytesIO(data),
               lambda: open(tmp_path / "given.pt", "rb"), lambda: io.BytesIO(data[:len(data) // 2])]
    for source in sources:
        for kwargs in ({}, {"weights_only": True}, {"weights_only": None}, {"mmap": True}):
            f = source()
            with pytest.raises((pickle.UnpicklingError, ValueError)):
                eg.load(f, **kwargs)
            if hasattr(f, "close"):
                f.close()
    assert not marker.exists()
    if protocol < 2:  # no PROTO opcode: not recognised as a pickle at all (as torch.load's magic-number check)
        with pytest.raises(ValueError, match="is not a valid safetensors file"):
            eg.load(tmp_path / "given.pt", weights_only=False)
        assert not marker.exists()
        return
    with pytest.warns(FutureWarning):
        eg.load(tmp_path / "given.pt", weights_only=False)
    assert marker.exists()


def test_a_safe_file_naming_a_function_runs_nothing(tmp_path):
    """A hand-made safe file whose tree names os.system: refused, not called, even when allow-listing
    something else; with weights_only=False the name is only looked up for an object entry."""
    from safetensors.numpy import save as st_save
    called = []
    fields = {"eigengrad.keys": "[]", "eigengrad.tree": json.dumps({"__object__": "os.system", "state": {}})}
    (tmp_path / "crafted.pt").write_bytes(st_save({}, metadata=fields))
    with safe_globals([dataclasses.dataclass]):
        with pytest.raises(pickle.UnpicklingError, match=r"GLOBAL os.system was not an allowed global"):
            eg.load(tmp_path / "crafted.pt")
    assert called == []


@dataclasses.dataclass
class Config:
    lr: float
    layers: tuple
    weights: object = None


class Mode(enum.Enum):
    TRAIN = "train"
    EVAL = "eval"


Point = namedtuple("Point", ["x", "y"])


class Plain:
    def __init__(self, a):
        self.a = a


def test_user_classes_load_only_when_allow_listed():
    obj = {"config": Config(0.1, (64, 32), eg.ones(2)), "mode": Mode.EVAL, "point": Point(1, eg.zeros(1))}
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # dataclasses, enums and namedtuples need no pickle
        eg.save(obj, buffer)
    buffer.seek(0)
    with pytest.raises(pickle.UnpicklingError,
                       match=r"GLOBAL test_serialization_torch.Config was not an allowed global by default.*"
                             r"eigengrad.serialization.add_safe_globals\(\[test_serialization_torch.Config\]\)"):
        eg.load(buffer)
    for allow in (lambda: add_safe_globals([Config, Mode, Point]), lambda: safe_globals([Config, Mode, Point])):
        buffer.seek(0)
        ctx = allow()
        if ctx is None:
            back = eg.load(buffer)
        else:
            with ctx:
                back = eg.load(buffer)
            assert get_safe_globals() == [Config, Mode, Point]  # added before, by the first variant
        assert back["mode"] is Mode.EVAL and isinstance(back["point"], Point)
        assert back["config"].lr == 0.1 and back["config"].layers == (64, 32)
        np.testing.assert_array_equal(back["config"].weights.numpy(), 1)
    clear_safe_globals()
    assert get_safe_globals() == []
    with safe_globals([(Config, "test_serialization_torch.Config"), Mode, Point]):  # (class, name) pairs
        buffer.seek(0)
        assert eg.load(buffer)["config"].layers == (64, 32)
    assert get_safe_globals() == []


def test_other_classes_are_safe_only_when_allow_listed_at_save():
    with pytest.warns(UserWarning, match="written as a pickle"):
        eg.save({"p": Plain(3)}, io.BytesIO())
    add_safe_globals([Plain])
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        eg.save({"p": Plain([1, eg.ones(1)])}, buffer)
    buffer.seek(0)
    back = eg.load(buffer)["p"]
    assert isinstance(back, Plain) and back.a[0] == 1


def test_bad_safe_globals():
    with pytest.raises(TypeError, match=r"^safe_globals\[0\]: expected a class or function, got int"):
        add_safe_globals([3])
    with pytest.raises(TypeError, match="^safe_globals: expected a list"):
        add_safe_globals(Config)


# --- map_location and other arguments -----------------------------------------------------------------

class Device:
    type = "cpu"


@pytest.mark.parametrize("location", ["cpu", "cpu:0", {"cuda:0": "cpu"}, Device(), lambda storage, loc: storage])
def test_map_location_to_the_cpu(location):
    back = round_trip({"w": eg.ones(2)}, map_location=location)
    np.testing.assert_array_equal(back["w"].numpy(), 1)


def test_map_location_callable_is_applied_to_every_tensor():
    back = round_trip({"w": eg.ones(2), "n": [eg.zeros(1)], "x": 3}, map_location=lambda t, loc: t * 2)
    np.testing.assert_array_equal(back["w"].numpy(), 2)
    assert back["x"] == 3 and float(back["n"][0].item()) == 0.0


@pytest.mark.parametrize("location", ["cuda", "cuda:0", {"cpu": "mps"}])
def test_map_location_elsewhere_is_refused(location):
    with pytest.raises(ValueError, match="^map_location: eigengrad runs on the CPU only"):
        round_trip({"w": eg.ones(2)}, map_location=location)


def test_bad_destinations_and_sources(tmp_path):
    with pytest.raises(TypeError, match=r"^f: expected a path \(str or os.PathLike\) or a binary file object"):
        eg.save({"a": 1}, 3.5)
    with pytest.raises(TypeError, match=r"^f: expected a binary file object"):
        eg.load(io.StringIO("text"))
    with pytest.raises(FileNotFoundError, match="nothere.pt"):
        eg.load(tmp_path / "nothere.pt")


def test_a_pytorch_checkpoint_loads(tmp_path):
    """torch.save's zip format is read with a restricted unpickler (test_serialization_torch_checkpoints.py)."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: needed to write its checkpoint")
    torch.save({"w": torch.ones(2)}, tmp_path / "torch.pt")
    loaded = eg.load(tmp_path / "torch.pt")
    assert list(loaded) == ["w"] and isinstance(loaded["w"], eg.Tensor) and loaded["w"].tolist() == [1.0, 1.0]


def test_the_same_objects_as_torch_save_and_load():
    """What torch.save/torch.load (weights_only=True) gives back, eigengrad gives back: the same
    container types, keys, numbers and tensor values."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: it is the yardstick here")
    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    opt = eg.optim.Adam(model.parameters(), lr=0.1)
    model(eg.ones(1, 2)).sum().backward()
    opt.step()
    tmodel = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Linear(3, 1))
    topt = torch.optim.Adam(tmodel.parameters(), lr=0.1)
    tmodel(torch.ones(1, 2)).sum().backward()
    topt.step()
    ours = round_trip({"model": model.state_dict(), "opt": opt.state_dict(), "n": (1, 2.0, "s", None, [True])})
    buffer = io.BytesIO()
    torch.save({"model": tmodel.state_dict(), "opt": topt.state_dict(), "n": (1, 2.0, "s", None, [True])}, buffer)
    buffer.seek(0)
    theirs = torch.load(buffer)
    assert type(ours["model"]) is type(theirs["model"]) is OrderedDict
    assert list(ours["model"]) == list(theirs["model"])
    assert ours["n"] == theirs["n"]
    assert set(ours["opt"]) == set(theirs["opt"]) and list(ours["opt"]["state"]) == list(theirs["opt"]["state"])
    assert set(ours["opt"]["state"][0]) == set(theirs["opt"]["state"][0])
    assert ours["opt"]["param_groups"][0]["params"] == theirs["opt"]["param_groups"][0]["params"]
