"""Module registration, traversal, modes, state_dict and repr."""
from collections import OrderedDict

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn


class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 3)
        self.act = nn.Tanh()
        self.fc2 = nn.Linear(3, 2, bias=False)
        self.register_buffer("steps", eg.zeros(1))

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


def test_parameters_registered_by_attribute_in_order():
    m = TwoLayer()
    assert [n for n, _ in m.named_parameters()] == ["fc1.weight", "fc1.bias", "fc2.weight"]
    assert [p.shape for p in m.parameters()] == [(3, 4), (3,), (2, 3)]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in m.parameters())
    assert m.fc2.bias is None
    assert [n for n, _ in m.named_children()] == ["fc1", "act", "fc2"]
    assert [n for n, _ in m.named_modules()] == ["", "fc1", "act", "fc2"]
    assert [n for n, _ in m.named_buffers()] == ["steps"]


def test_shared_parameter_listed_once():
    lin = nn.Linear(2, 2)
    m = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(m.parameters())) == 2


def test_sequential_state_dict_keys_match_pytorch_names():
    m = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    assert list(m.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    named = nn.Sequential(OrderedDict([("hidden", nn.Linear(3, 4)), ("out", nn.Linear(4, 1))]))
    assert list(named.state_dict()) == ["hidden.weight", "hidden.bias", "out.weight", "out.bias"]
    assert TwoLayer().state_dict().keys() == {"fc1.weight", "fc1.bias", "fc2.weight", "steps"}


def test_state_dict_round_trip_copies_in_place():
    eg.manual_seed(0)
    a, b = TwoLayer(), TwoLayer()
    x = eg.randn(5, 4)
    assert not np.allclose(a(x).detach().numpy(), b(x).detach().numpy())
    w_before = b.fc1.weight.detach().numpy()
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert b.fc1.weight.detach().numpy() is w_before  # copied into the existing array (optimizer views stay valid)
    np.testing.assert_array_equal(a(x).detach().numpy(), b(x).detach().numpy())


def test_load_state_dict_reports_bad_keys_and_shapes():
    m = TwoLayer()
    sd = m.state_dict()
    extra = dict(sd, bogus=eg.zeros(1))
    with pytest.raises(RuntimeError, match='Unexpected key.*"bogus"'):
        m.load_state_dict(extra)
    missing = {k: v for k, v in sd.items() if k != "fc1.bias"}
    with pytest.raises(RuntimeError, match='Missing key.*"fc1.bias"'):
        m.load_state_dict(missing)
    keys = m.load_state_dict(missing, strict=False)
    assert keys.missing_keys == ["fc1.bias"]
    wrong = dict(sd, **{"fc1.weight": eg.zeros(4, 3)})
    with pytest.raises(RuntimeError, match=r"size mismatch for fc1.weight.*\[4, 3\].*\[3, 4\]"):
        m.load_state_dict(wrong)


def test_train_eval_propagate():
    m = TwoLayer()
    assert m.training and m.fc1.training
    m.eval()
    assert not m.training and not m.fc1.training and not m.act.training
    m.train()
    assert m.fc2.training


def test_zero_grad_and_requires_grad():
    m = TwoLayer()
    m(eg.randn(2, 4)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.numpy() == 0) for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())


def test_repr_is_pytorch_like():
    m = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10, bias=False))
    assert repr(m) == (
        "Sequential(\n"
        "  (0): Linear(in_features=64, out_features=128, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Linear(in_features=128, out_features=10, bias=False)\n"
        ")"
    )
    assert repr(nn.CrossEntropyLoss()) == "CrossEntropyLoss()"


def test_assigning_non_parameter_to_parameter_slot_is_an_error():
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="weight"):
        m.weight = eg.zeros(2, 2)
    m.weight = nn.Parameter(eg.zeros(2, 2))
    assert np.all(m.weight.detach().numpy() == 0)


def test_double_converts_parameters_and_forward_runs_in_float64():
    m = TwoLayer().double()
    assert all(p.dtype == np.float64 for p in m.parameters())
    assert m(eg.randn(3, 4, dtype=eg.float64)).dtype == np.float64
    with pytest.raises(TypeError, match="dtype"):
        m(eg.randn(3, 4))  # float32 input into a float64 model


def test_linear_default_init_bounds_and_shape():
    eg.manual_seed(3)
    lin = nn.Linear(400, 300)
    bound = 1 / np.sqrt(400)
    w = lin.weight.detach().numpy()
    assert w.shape == (300, 400) and lin.bias.shape == (300,)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.01 * bound  # U[-b, b] has std b / sqrt(3)
    assert np.abs(lin.bias.detach().numpy()).max() <= bound


def test_linear_bad_arguments():
    with pytest.raises(ValueError, match="in_features"):
        nn.Linear(-1, 3)
    with pytest.raises(ValueError, match="out_features"):
        nn.Linear(3, 2.5)
    with pytest.raises(ValueError, match="linear"):
        nn.Linear(3, 2)(eg.randn(4, 5))


def test_linear_handles_leading_dims_and_zero_batch():
    lin = nn.Linear(3, 2)
    x = eg.randn(4, 5, 3)
    y = lin(x)
    expected = x.detach().numpy() @ lin.weight.detach().numpy().T + lin.bias.detach().numpy()
    np.testing.assert_allclose(y.detach().numpy(), expected, rtol=1e-5, atol=1e-6)
    empty = lin(eg.zeros(0, 3, requires_grad=True))
    assert empty.shape == (0, 2)
    empty.sum().backward()
    assert np.all(lin.weight.grad.numpy() == 0) and np.all(lin.bias.grad.numpy() == 0)


def test_activation_and_loss_modules_match_functional():
    x = eg.randn(6, 5)
    t = eg.tensor(np.arange(6) % 5)
    F = nn.functional
    for mod, fn in [(nn.ReLU(), F.relu), (nn.Sigmoid(), F.sigmoid), (nn.Tanh(), F.tanh)]:
        np.testing.assert_array_equal(mod(x).numpy(), fn(x).numpy())
    np.testing.assert_array_equal(nn.CrossEntropyLoss()(x, t).numpy(), F.cross_entropy(x, t).numpy())
    y = eg.randn(6, 5)
    assert nn.MSELoss(reduction="sum")(x, y).item() == pytest.approx(((x.numpy() - y.numpy()) ** 2).sum(), rel=1e-5)
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")


def test_unpickled_modules_and_memory_mapped_inputs_run(tmp_path):
    """Unpickled and memory-mapped arrays carry dtype objects equal to, not identical with, NumPy's
    canonical ones: the kernels accept them (the bindings compare dtypes by equality)."""
    import pickle

    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    expected = model(eg.from_numpy(x)).detach().numpy()
    clone = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(clone(eg.from_numpy(x)).detach().numpy(), expected)
    path = tmp_path / "x.npy"
    np.save(path, x)
    mapped = np.load(path, mmap_mode="r")
    np.testing.assert_array_equal(model(eg.from_numpy(np.array(mapped, copy=False))).detach().numpy(), expected)


def test_submodules_parameters_and_buffers_by_dotted_path():
    net = eg.nn.Sequential(eg.nn.Linear(2, 3), eg.nn.Sequential(eg.nn.BatchNorm1d(3), eg.nn.Linear(3, 1)))
    assert net.get_submodule("1.1") is net[1][1] and net.get_submodule("") is net
    assert net.get_parameter("1.1.bias") is net[1][1].bias
    assert net.get_buffer("1.0.running_mean") is net[1][0].running_mean
    with pytest.raises(AttributeError, match="has no attribute `9`"):
        net.get_submodule("1.9")
    with pytest.raises(AttributeError, match="`weight` is not a buffer"):
        net.get_buffer("0.weight")
    net.set_submodule("1.1", eg.nn.Identity())
    assert isinstance(net[1][1], eg.nn.Identity)
    net.register_module("extra", eg.nn.ReLU())
    assert "extra" in dict(net.named_children())


def test_sequential_and_module_list_edit_like_lists_and_renumber():
    seq = eg.nn.Sequential(eg.nn.ReLU(), eg.nn.Tanh(), eg.nn.Sigmoid())
    seq.insert(1, eg.nn.Identity())
    assert [type(m).__name__ for m in seq] == ["ReLU", "Identity", "Tanh", "Sigmoid"]
    assert [n for n, _ in seq.named_children()] == ["0", "1", "2", "3"]
    assert type(seq.pop(0)).__name__ == "ReLU" and [n for n, _ in seq.named_children()] == ["0", "1", "2"]
    del seq[-1]
    seq[0] = eg.nn.ELU()
    seq.extend([eg.nn.ReLU()])
    assert [type(m).__name__ for m in seq] == ["ELU", "Tanh", "ReLU"] and len(seq + seq) == 6
    layers = eg.nn.ModuleList([eg.nn.Linear(2, 2) for _ in range(3)])
    assert isinstance(layers[1:], eg.nn.ModuleList) and len(layers[1:]) == 2
    layers += [eg.nn.Linear(2, 2)]
    assert len(list(layers.parameters())) == 8
    with pytest.raises(IndexError):
        layers[4]


class _Positional(nn.Module):
    """A positional table kept out of the state_dict (persistent=False), next to a persistent counter."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(3, 3)
        self.register_buffer("table", eg.arange(6.0).reshape(2, 3), persistent=False)
        self.register_buffer("seen", eg.zeros(1))

    def forward(self, x):
        return self.proj(x) + self.table[: x.shape[0]]


def test_non_persistent_buffers_stay_out_of_the_state_dict():
    m = _Positional()
    assert list(m.state_dict()) == ["seen", "proj.weight", "proj.bias"]  # (own entries first, as PyTorch)
    assert [n for n, _ in m.named_buffers()] == ["table", "seen"]  # still a buffer: moved and cast with the module
    sd = {k: v.clone() for k, v in m.state_dict().items()}
    other = _Positional()
    other.table.fill_(7.0)
    assert other.load_state_dict(sd) == ([], [])  # strict: the table is neither missing nor expected
    assert (other.table.numpy() == 7.0).all()
    assert other.double().table.dtype == eg.float64
    m.register_buffer("table", eg.zeros(2, 3))  # registered again as persistent: back in the state_dict
    assert "table" in m.state_dict()
    del m.table
    m.register_buffer("table", eg.zeros(1), persistent=False)
    assert "table" not in m.state_dict()
    torch = pytest.importorskip("torch", reason="PyTorch's keys for the same module")

    class TorchPositional(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = torch.nn.Linear(3, 3)
            self.register_buffer("table", torch.zeros(2, 3), persistent=False)
            self.register_buffer("seen", torch.zeros(1))
    assert list(TorchPositional().state_dict()) == list(_Positional().state_dict())


def test_apply_visits_children_before_parents_as_pytorch():
    # PyTorch's post-order (a shared module once per parent that holds it): an init function that draws
    # random numbers draws them in PyTorch's order
    shared = nn.Linear(2, 2)
    model = nn.Sequential(nn.Sequential(nn.Linear(1, 1), nn.ReLU()), shared, nn.Sequential(shared, nn.Tanh()),
                          nn.Linear(3, 3))
    seen = []
    assert model.apply(lambda m: seen.append((type(m).__name__, m is shared))) is model
    assert seen == [("Linear", False), ("ReLU", False), ("Sequential", False), ("Linear", True), ("Linear", True),
                    ("Tanh", False), ("Sequential", False), ("Linear", False), ("Sequential", False)]
