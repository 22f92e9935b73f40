"""nn.Module API parity with torch.nn.Module: a seeded generated side-by-side comparison (module trees with
shared modules and tied weights, random container edits, registration, traversal, state_dict round trips,
hooks) and one regression test per difference fixed, with literal values."""
from __future__ import annotations

import random
from collections import OrderedDict

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn

# ------------------------------------------------------------------------------------------------
# Generated comparison with PyTorch
# ------------------------------------------------------------------------------------------------


def _norm(v, lib):
    if isinstance(v, lib.Tensor):
        return ("T", tuple(v.shape), np.round(v.detach().numpy().astype(float), 5).tolist())
    if isinstance(v, (list, tuple)):
        return [_norm(x, lib) for x in v]
    if isinstance(v, dict):
        return [(k, _norm(x, lib)) for k, x in v.items()]
    if isinstance(v, lib.nn.Module):
        return ("M", type(v).__name__)
    if isinstance(v, BaseException):
        return ("E", type(v).__name__, str(v).replace("torch.", "X.").replace("eigengrad.", "X."))
    return v


def _build(lib, seed: int):
    """A random module tree (the same for both libraries): Sequential/ModuleList/ModuleDict nesting,
    Linear and activation leaves, a module held twice, a tied weight, buffers (one non-persistent)."""
    rng = random.Random(seed)
    L = lib.nn
    lib.manual_seed(seed)
    leaves = []

    def leaf():
        if leaves and rng.random() < 0.15:
            return rng.choice(leaves)  # a module reached twice
        k = rng.randrange(4)
        m = L.Linear(2, 2) if k < 2 else (L.ReLU() if k == 2 else L.Tanh())
        leaves.append(m)
        return m

    def tree(depth):
        if depth == 0 or rng.random() < 0.3:
            return leaf()
        kind = rng.randrange(3)
        kids = [tree(depth - 1) for _ in range(rng.randrange(1, 4))]
        if kind == 0:
            return L.Sequential(*kids)
        if kind == 1:
            return L.ModuleList(kids)
        return L.ModuleDict(OrderedDict((f"k{j}", m) for j, m in enumerate(kids)))

    root = L.Module()
    root.body = tree(3)
    root.head = L.Linear(2, 2)
    root.register_buffer("steps", lib.zeros(1))
    root.register_buffer("cache", lib.ones(2), persistent=False)
    linears = [m for m in leaves if isinstance(m, L.Linear)]
    if linears and rng.random() < 0.5:
        root.head.weight = linears[0].weight  # tied
    return root, rng


def _observe(lib, seed: int):
    root, rng = _build(lib, seed)
    out = []

    def o(label, fn):
        try:
            v = fn()
        except Exception as e:  # the exception's type and message are compared
            v = e
        out.append((label, _norm(v, lib)))

    for rd in (True, False):
        o("params", lambda: [n for n, _ in root.named_parameters(prefix="p", remove_duplicate=rd)])
        o("modules", lambda: [n for n, _ in root.named_modules(remove_duplicate=rd)])
        o("buffers", lambda: [n for n, _ in root.named_buffers(remove_duplicate=rd)])
    o("children", lambda: [n for n, _ in root.named_children()])
    o("state keys", lambda: list(root.state_dict()))
    o("metadata", lambda: list(root.state_dict()._metadata))
    o("repr", lambda: repr(root))
    names = [n for n, _ in root.named_modules()]
    for _ in range(12):  # random edits and queries
        path = rng.choice(names)
        op = rng.randrange(9)
        if op == 0:
            o(f"get_submodule {path}", lambda: root.get_submodule(path))
        elif op == 1:
            o(f"get_parameter {path}", lambda: root.get_parameter(path + ".weight" if path else "steps").shape)
        elif op == 2:
            o(f"get_buffer {path}", lambda: root.get_buffer((path + "." if path else "") + "steps"))
        elif op == 3:
            m = root.get_submodule(path)
            o(f"append {path}", lambda: (m.append(lib.nn.ReLU()), list(m._modules))[1]
              if isinstance(m, (lib.nn.Sequential, lib.nn.ModuleList)) else None)
        elif op == 4:
            m = root.get_submodule(path)
            o(f"del {path}", lambda: (m.__delitem__(0), list(m._modules))[1]
              if isinstance(m, (lib.nn.Sequential, lib.nn.ModuleList)) and len(m) else None)
        elif op == 5 and path:
            o(f"set_submodule {path}", lambda: (root.set_submodule(path, lib.nn.Identity(), strict=True),
                                               [n for n, _ in root.named_modules()])[1])
        elif op == 6:
            o("bad setattr", lambda: setattr(root, "head", lib.ones(1)))
        elif op == 7:
            o("train", lambda: (root.get_submodule(path).eval(), [m.training for m in root.modules()])[1])
        else:
            o("register", lambda: root.get_submodule(path).register_buffer(rng.choice(["x", "a.b", ""]), lib.ones(1)))
        names = [n for n, _ in root.named_modules()]
    sd = root.state_dict()
    o("load", lambda: repr(root.load_state_dict(sd)))
    sd2 = OrderedDict(sd)
    sd2.pop(next(iter(sd2)))
    sd2["nope"] = lib.ones(1)
    o("load strict", lambda: root.load_state_dict(sd2))
    o("load lax", lambda: tuple(root.load_state_dict(sd2, strict=False)))
    return out


@pytest.mark.parametrize("seed", range(12))
def test_generated_module_trees_match_torch(seed):
    torch = pytest.importorskip("torch", reason="the side-by-side comparison needs PyTorch installed")
    assert _observe(eg, seed) == _observe(torch, seed)


# ------------------------------------------------------------------------------------------------
# Regression tests, one per difference fixed
# ------------------------------------------------------------------------------------------------


def test_reassigning_a_registered_name_raises_pytorchs_type_errors():
    m = nn.Module()
    m.w = nn.Parameter(eg.ones(2))
    m.register_buffer("b", eg.ones(1))
    m.c = nn.Linear(1, 1)
    with pytest.raises(TypeError) as e:
        m.w = eg.ones(2)
    assert str(e.value) == "cannot assign 'torch.FloatTensor' as parameter 'w' (torch.nn.Parameter or None expected)"
    with pytest.raises(TypeError) as e:
        m.b = 5
    assert str(e.value) == "cannot assign 'int' as buffer 'b' (torch.nn.Buffer, torch.Tensor or None expected)"
    with pytest.raises(TypeError) as e:
        m.c = 1
    assert str(e.value) == "cannot assign 'int' as child module 'c' (torch.nn.Module or None expected)"
    m.c = None
    assert list(m._modules.items()) == [("c", None)]


def test_plain_attributes_before_module_init_are_allowed():
    class Early(nn.Module):
        def __init__(self):
            self.size = 3  # before super().__init__(), as PyTorch allows
            super().__init__()

    assert Early().size == 3

    class EarlyParam(nn.Module):
        def __init__(self):
            self.p = nn.Parameter(eg.ones(1))

    with pytest.raises(AttributeError, match=r"^cannot assign parameters before Module.__init__\(\) call$"):
        EarlyParam()


def test_register_functions_raise_pytorchs_messages():
    m = nn.Module()
    with pytest.raises(TypeError) as e:
        m.register_parameter("q", eg.ones(1))
    assert str(e.value) == "cannot assign 'torch.FloatTensor' object to parameter 'q' (torch.nn.Parameter or None required)"
    with pytest.raises(TypeError) as e:
        m.register_buffer("z", 5)
    assert str(e.value) == "cannot assign 'int' object to buffer 'z' (torch Tensor or None required)"
    with pytest.raises(TypeError) as e:
        m.add_module("zz", 5)
    assert str(e.value) == "int is not a Module subclass"


def test_dir_lists_parameters_buffers_and_submodules():
    m = nn.Module()
    m.w = nn.Parameter(eg.ones(1))
    m.register_buffer("b", eg.ones(1))
    m.sub = nn.ReLU()
    d = dir(m)
    assert {"w", "b", "sub", "forward", "training"} <= set(d)
    assert "0" not in dir(nn.Sequential(nn.ReLU()))


def test_get_submodule_parameter_buffer_messages():
    net = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU()))
    net.register_buffer("b", eg.ones(1))
    with pytest.raises(AttributeError, match=r"^`weight` is not an nn.Module$"):
        net.get_submodule("0.weight")
    with pytest.raises(AttributeError, match=r"^`training` is not an nn.Module$"):
        net.get_submodule("training")
    with pytest.raises(AttributeError, match=r"^Linear has no attribute `nope`$"):
        net.get_parameter("0.nope")
    with pytest.raises(AttributeError, match=r"^`b` is not an nn.Parameter$"):
        net.get_parameter("b")
    with pytest.raises(AttributeError, match=r"^Sequential has no attribute `nope`$"):
        net.get_buffer("1.nope")
    with pytest.raises(AttributeError, match=r"^`weight` is not a buffer$"):
        net.get_buffer("0.weight")


def test_set_submodule_strict_and_errors():
    net = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU()))
    net.set_submodule("1.0", nn.Tanh(), strict=True)
    assert type(net[1][0]) is nn.Tanh
    net.set_submodule("1.extra", nn.ReLU())  # not strict: a new name is added
    assert list(net[1]._modules) == ["0", "extra"]
    with pytest.raises(AttributeError, match=r"^Sequential has no attribute `other`$"):
        net.set_submodule("1.other", nn.ReLU(), strict=True)
    with pytest.raises(AttributeError, match=r"^`weight` is not an nn.Module$"):
        net.set_submodule("0.weight", nn.ReLU())
    with pytest.raises(ValueError, match=r"^Cannot set the submodule without a target name!$"):
        net.set_submodule("", nn.ReLU())
    with pytest.raises(ValueError, match=r"^`module` is not an nn.Module, found <class 'int'>$"):
        net.set_submodule("0", 5)


def test_train_calls_each_childs_own_train_and_checks_the_mode():
    class FrozenBN(nn.Module):
        def __init__(self):
            super().__init__()
            self.bn = nn.BatchNorm1d(2)
            self.lin = nn.Linear(2, 2)

        def train(self, mode=True):
            super().train(mode)
            self.bn.eval()
            return self

    net = nn.Sequential(FrozenBN(), nn.Sequential(FrozenBN()))
    net.eval()
    net.train()
    assert [m.training for m in net.modules()] == [True, True, False, True, True, True, False, True]
    with pytest.raises(ValueError, match=r"^training mode is expected to be boolean$"):
        net.train(1)


def test_missing_forward_and_calling_parameter_containers():
    with pytest.raises(NotImplementedError, match=r'^Module \[ModuleList\] is missing the required "forward" function$'):
        nn.ModuleList()(1)
    with pytest.raises(RuntimeError, match=r"^ParameterList should not be called.$"):
        nn.ParameterList()(1)
    with pytest.raises(RuntimeError, match=r"^ParameterDict should not be called.$"):
        nn.ParameterDict()(1)


def test_always_call_forward_hook_runs_when_forward_raises():
    class Boom(nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    b, calls = Boom(), []
    b.register_forward_hook(lambda m, a, out: calls.append(("always", out)), always_call=True)
    b.register_forward_hook(lambda m, a, out: calls.append("normal"))
    with pytest.raises(ValueError, match="boom"):
        b(eg.ones(1))
    assert calls == [("always", None)]


def test_state_dict_post_hook_must_return_none_but_the_private_form_may_replace():
    m = nn.Linear(1, 1)
    h = m.register_state_dict_post_hook(lambda mod, sd, prefix, meta: {"x": 1})
    with pytest.raises(RuntimeError, match=r"^state_dict post-hook must return None$"):
        m.state_dict()
    h.remove()
    m._register_state_dict_hook(lambda mod, sd, prefix, meta: {"x": 1})
    assert m.state_dict() == {"x": 1}


def test_load_state_dict_error_layout():
    net = nn.Sequential(nn.Linear(3, 3))
    with pytest.raises(RuntimeError) as e:
        net.load_state_dict({"0.weight": eg.ones(2, 2), "0.bias": eg.ones(3), "zz": eg.ones(1)})
    assert str(e.value) == ("Error(s) in loading state_dict for Sequential:\n\tUnexpected key(s) in state_dict: \"zz\". "
                            "\n\tsize mismatch for 0.weight: copying a param with shape torch.Size([2, 2]) from "
                            "checkpoint, the shape in current model is torch.Size([3, 3]).")
    with pytest.raises(TypeError, match=r"^Expected state_dict to be dict-like, got <class 'list'>.$"):
        net.load_state_dict([1])


def test_load_post_hooks_run_children_first_and_may_clear_missing_keys():
    net = nn.Sequential(nn.Linear(1, 1))
    order = []
    net[0].register_load_state_dict_post_hook(lambda m, keys: order.append(("child", list(keys.missing_keys))))
    net.register_load_state_dict_post_hook(lambda m, keys: (order.append("root"), keys.missing_keys.clear())[0])
    result = net.load_state_dict({"0.weight": eg.full((1, 1), 5.0)})  # "0.bias" missing, cleared by the hook
    assert repr(result) == "<All keys matched successfully>"
    assert order == [("child", ["0.bias"]), "root"]
    assert net[0].weight.item() == 5.0
    net.register_load_state_dict_post_hook(lambda m, keys: 1)
    with pytest.raises(AssertionError, match="not expected to return new values"):
        net.load_state_dict(net.state_dict())


def test_extra_state_is_saved_and_loaded():
    class Counter(nn.Module):
        def __init__(self):
            super().__init__()
            self.n = 1

        def get_extra_state(self):
            return {"n": self.n}

        def set_extra_state(self, state):
            self.n = state["n"]

    c = Counter()
    net = nn.Sequential(c, nn.Linear(1, 1))
    assert list(net.state_dict()) == ["0._extra_state", "1.weight", "1.bias"]
    assert net.state_dict()["0._extra_state"] == {"n": 1}
    sd = net.state_dict()
    sd["0._extra_state"] = {"n": 7}
    net.load_state_dict(sd)
    assert c.n == 7
    del sd["0._extra_state"]
    with pytest.raises(RuntimeError, match=r'Missing key\(s\) in state_dict: "0._extra_state"'):
        net.load_state_dict(sd)


def test_sequential_list_operations():
    s = nn.Sequential(nn.Linear(1, 1), nn.ReLU())
    assert s.insert(1, nn.Tanh()) is s and [type(m).__name__ for m in s] == ["Linear", "Tanh", "ReLU"]
    with pytest.raises(IndexError, match=r"^Index out of range: 10$"):
        s.insert(10, nn.ReLU())
    with pytest.raises(AssertionError, match="module should be of type"):
        s.insert(0, 5)
    assert len(s) == 3  # a failed insert leaves the container as it was
    popped = s.pop(slice(0, 2))
    assert type(popped) is nn.Sequential and len(popped) == 2 and list(s._modules) == ["0"]
    with pytest.raises(TypeError, match=r"^cannot assign 'int' as child module '0'"):
        s[0] = 5
    a, b = nn.Sequential(nn.ReLU()), nn.Sequential(nn.Tanh())
    with pytest.raises(ValueError, match=r"^add operator supports only objects of Sequential class"):
        a + [nn.ReLU()]
    a += b
    assert list(a._modules) == ["0", "1"]
    twice = a * 2
    assert list(twice._modules) == ["0", "1", "2", "3"] and twice[2] is a[0]
    assert len(2 * a) == 4
    with pytest.raises(ValueError, match=r"^Non-positive multiplication factor 0 for"):
        a * 0
    a *= 2
    assert len(a) == 4
    with pytest.raises(TypeError, match=r"^ModuleList.extend should be called with an iterable, but got ReLU$"):
        nn.ModuleList().extend(nn.ReLU())


def test_moduledict_update_errors():
    md = nn.ModuleDict()
    with pytest.raises(TypeError, match=r"^ModuleDict.update should be called with an iterable of key/value pairs, "
                                         r"but got int$"):
        md.update(5)
    with pytest.raises(ValueError, match=r"^ModuleDict update sequence element #0 has length 1; 2 is required$"):
        md.update([("e",)])
    with pytest.raises(TypeError, match=r"^ModuleDict update sequence element #0 should be Iterable; isint$"):
        md.update([5])


def test_parameterdict_sorts_a_plain_dict_but_keeps_an_ordereddicts_order():
    pd = nn.ParameterDict({"b": nn.Parameter(eg.ones(1)), "a": eg.zeros(1)})
    assert list(pd.keys()) == ["a", "b"]
    assert [n for n, _ in pd.named_parameters()] == ["a", "b"]
    od = nn.ParameterDict(OrderedDict([("b", eg.ones(1)), ("a", eg.ones(1))]))
    assert list(od.keys()) == ["b", "a"]
    pd.update({"d": eg.ones(1), "c": eg.ones(1)})
    assert list(pd.keys()) == ["a", "b", "c", "d"]


def test_functional_call_ties_weights_and_reports_keys_as_pytorch():
    x = eg.ones(1, 2)
    tied = nn.Sequential(nn.Linear(2, 2, bias=False), nn.Linear(2, 2, bias=False))
    tied[1].weight = tied[0].weight
    out = eg.func.functional_call(tied, {"0.weight": eg.eye(2)}, (x,))
    assert out.tolist() == [[1.0, 1.0]]
    with pytest.raises(ValueError) as e:
        eg.func.functional_call(tied, {"0.weight": eg.eye(2), "1.weight": eg.eye(2) * 2}, (x,))
    assert str(e.value) == ("functional_call got multiple values for keys ['0.weight', '1.weight'], which are tied. "
                            "Consider using tie_weights=False")
    lin = nn.Linear(2, 1)
    with pytest.raises(RuntimeError) as e:
        eg.func.functional_call(lin, {"weight": eg.ones(1, 2), "zz": eg.ones(1)}, (x,), strict=True)
    assert str(e.value) == "Error(s) in reparametrizing for Linear:\n\tUnexpected key(s): 'zz'.\n\tMissing key(s): 'bias'."
    out = eg.func.functional_call(lin, {"weight": eg.ones(1, 2), "bias": eg.zeros(1), "zz": eg.ones(1)}, (x,))
    assert out.tolist() == [[2.0]] and not hasattr(lin, "zz")  # an unknown key is a plain attribute for the call
    with pytest.raises(ValueError, match=r"^\['weight'\] appeared in multiple dictionaries"):
        eg.func.functional_call(lin, ({"weight": eg.ones(1, 2)}, {"weight": eg.ones(1, 2)}), (x,))


def test_full_backward_hook_gets_none_for_an_unused_output():
    class Two(nn.Module):
        def forward(self, a):
            return a * 2, a * 3

    m, seen = Two(), []
    m.register_full_backward_hook(lambda mod, gi, go: seen.append(([g is None for g in go], gi[0].tolist())))
    a = eg.ones(2, requires_grad=True)
    m(a)[0].sum().backward()
    assert seen == [([False, True], [2.0, 2.0])]
    assert a.grad.tolist() == [2.0, 2.0]
