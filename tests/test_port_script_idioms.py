"""Idioms of real training scripts found by porting them (each failed or differed before): generic dataset
annotations, DataLoader's full keyword set, a warm-up switched off (LinearLR total_iters=0), tied weights
listed with remove_duplicate=False, the DataParallel prefix stripped, the old _LRScheduler base."""
from typing import Iterator, Tuple

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn
from eigengrad.nn import functional as F
from eigengrad.data import DataLoader, Dataset, IterableDataset, Sampler


def test_generic_annotations_of_data_classes():
    class Pairs(Dataset[Tuple[eg.Tensor, int]]):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return eg.tensor([float(i)]), i

    class Backwards(Sampler[int]):
        def __iter__(self) -> Iterator[int]:
            return iter([3, 1])

        def __len__(self):
            return 2

    class Stream(IterableDataset[int]):
        def __iter__(self):
            return iter(range(3))

    def labels(loader: DataLoader[Tuple[eg.Tensor, int]]):
        return [b[1].tolist() for b in loader]

    assert labels(DataLoader(Pairs(), sampler=Backwards(), batch_size=2)) == [[3, 1]]
    assert [b.tolist() for b in DataLoader(Stream(), batch_size=2)] == [[0, 1], [2]]


def test_dataloader_takes_pytorchs_whole_signature():
    ds = eg.data.TensorDataset(eg.arange(6.0))
    loader = DataLoader(ds, 4, False, None, None, 0, None, False, False, 0, None, None, eg.Generator(),
                        prefetch_factor=None, persistent_workers=False, pin_memory_device="", in_order=True)
    assert [b[0].tolist() for b in loader] == [[0.0, 1.0, 2.0, 3.0], [4.0, 5.0]]
    with pytest.raises(ValueError, match="multiprocessing_context can only be used with multi-process loading"):
        DataLoader(ds, 4, False, None, None, 0, None, False, False, 0, None, "spawn")  # as PyTorch's
    loader = DataLoader(ds, 4, False, None, None, 1, None, False, False, 0, None, "spawn", eg.Generator())
    assert [b[0].tolist() for b in loader] == [[0.0, 1.0, 2.0, 3.0], [4.0, 5.0]]


def test_linear_warmup_switched_off():
    opt = eg.optim.SGD([eg.zeros(1, requires_grad=True)], lr=0.1)
    sched = eg.optim.lr_scheduler.LinearLR(opt, start_factor=1e-3, total_iters=0)
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(3):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    np.testing.assert_allclose(lrs, [1e-4] * 4)  # PyTorch's: the start factor throughout
    assert eg.optim.schedules.linear_lr(5, 0.1, 1e-3, 1.0, 0) == pytest.approx(1e-4)
    with pytest.raises(ValueError, match="total_iters"):
        eg.optim.lr_scheduler.LinearLR(opt, total_iters=-1)


def test_remove_duplicate_false_lists_tied_members_under_each_path():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, nn.Sequential(lin, nn.ReLU()))
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias"]
    assert [n for n, _ in seq.named_parameters(remove_duplicate=False)] == ["0.weight", "0.bias", "1.0.weight",
                                                                            "1.0.bias"]
    assert [n for n, _ in seq.named_modules()] == ["", "0", "1", "1.1"]
    assert [n for n, _ in seq.named_modules(remove_duplicate=False)] == ["", "0", "1", "1.0", "1.1"]


def test_consume_prefix_and_old_scheduler_base():
    from eigengrad.nn.modules.utils import consume_prefix_in_state_dict_if_present
    from eigengrad.optim.lr_scheduler import LRScheduler, _LRScheduler

    wrapped = nn.DataParallel(nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)))
    sd = wrapped.state_dict()
    consume_prefix_in_state_dict_if_present(sd, "module.")
    assert list(sd) == ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
                        "1.num_batches_tracked"]
    assert dict(sd._metadata) == {"": {"version": 1}, "0": {"version": 1}, "1": {"version": 2}}
    nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)).load_state_dict(sd)
    assert _LRScheduler is LRScheduler


def test_scheduler_stepped_before_the_optimizer_warns_once_at_the_callers_line():
    import warnings

    for order in ("optimizer first", "scheduler first"):
        opt = eg.optim.SGD([eg.zeros(1, requires_grad=True)], lr=0.1)
        sched = eg.optim.lr_scheduler.StepLR(opt, 2)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(3):
                if order == "optimizer first":
                    opt.step()
                sched.step()
                if order == "scheduler first":
                    opt.step()
        messages = [(str(w.message), w.filename) for w in caught]
        if order == "optimizer first":
            assert messages == []
        else:
            assert len(messages) == 1 and "before `optimizer.step()`" in messages[0][0]
            assert messages[0][1] == __file__


def test_fuse_batchnorm_into_the_layer_before_it():
    from eigengrad.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

    rs = np.random.RandomState(0)
    cases = [(nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4), (2, 3, 5, 5)),
             (nn.ConvTranspose2d(3, 4, 3), nn.BatchNorm2d(4), (2, 3, 5, 5)),
             (nn.Linear(3, 4), nn.BatchNorm1d(4), (2, 3))]
    for layer, bn, shape in cases:
        layer, bn = layer.double(), bn.double()
        with eg.no_grad():
            for p in [*layer.parameters(), *bn.parameters(), bn.running_mean]:
                p.copy_(eg.from_numpy(rs.randn(*p.shape)))
            bn.running_var.copy_(eg.from_numpy(rs.rand(4) + 0.5))
        layer.eval()
        bn.eval()
        x = eg.from_numpy(rs.randn(*shape))
        fused = (fuse_linear_bn_eval(layer, bn) if isinstance(layer, nn.Linear)
                 else fuse_conv_bn_eval(layer, bn, transpose=isinstance(layer, nn.ConvTranspose2d)))
        np.testing.assert_allclose(fused(x).detach().numpy(), bn(layer(x)).detach().numpy(), rtol=1e-12, atol=1e-12)
        assert isinstance(fused.bias, nn.Parameter) and fused is not layer
    with pytest.raises(AssertionError, match="Fusion only for eval"):
        fuse_conv_bn_eval(nn.Conv2d(1, 1, 1), nn.BatchNorm2d(1))


def test_stack_dataset_and_older_import_paths():
    from eigengrad.data import StackDataset, TensorDataset
    from eigengrad.data._utils.collate import default_collate
    from eigengrad.nn.common_types import _size_2_t  # noqa: F401
    from eigengrad.nn.parameter import UninitializedParameter, is_lazy
    from eigengrad.nn.utils.stateless import functional_call

    s = StackDataset(TensorDataset(eg.arange(4.0)), eg.arange(4) * 10)
    assert len(s) == 4 and s[1][1].item() == 10
    batches = list(DataLoader(s, batch_size=2))
    assert batches[1][0][0].tolist() == [2.0, 3.0] and batches[1][1].tolist() == [20, 30]
    d = StackDataset(a=eg.arange(3), b=[5, 6, 7])
    batch = next(iter(DataLoader(d, batch_size=3)))
    assert batch["a"].tolist() == [0, 1, 2] and batch["b"].tolist() == [5, 6, 7]
    with pytest.raises(ValueError, match="Size mismatch"):
        StackDataset(eg.arange(3), eg.arange(4))
    assert [t.tolist() for t in default_collate([(1, 2.0), (3, 4.0)])] == [[1, 3], [2.0, 4.0]]
    m = nn.Linear(2, 1)
    out = functional_call(m, {"weight": eg.ones(1, 2), "bias": eg.zeros(1)}, (eg.ones(3, 2),))
    assert out.tolist() == [[2.0]] * 3
    lazy = nn.LazyLinear(3)
    assert all(isinstance(p, UninitializedParameter) and is_lazy(p) for p in lazy.parameters())
    lazy(eg.ones(2, 5))
    assert not any(isinstance(p, UninitializedParameter) for p in lazy.parameters()) and lazy.weight.shape == (3, 5)


def test_keyword_forms_of_split_repeat_and_where():
    x = eg.arange(12.0).view(2, 6)
    assert [tuple(t.shape) for t in x.split(split_size=[2, 4], dim=-1)] == [(2, 2), (2, 4)]  # mamba-minimal
    assert [tuple(t.shape) for t in x.tensor_split(sections=3, dim=1)] == [(2, 2)] * 3
    assert [tuple(t.shape) for t in x.tensor_split(indices=[1, 4], dim=1)] == [(2, 1), (2, 3), (2, 2)]
    assert x.repeat(repeats=(2, 1)).shape == (4, 6) and x.repeat(1, 2).shape == (2, 12)
    c = x > 5
    assert eg.where(condition=c, input=x, other=-x).sum().item() == 36.0
    assert eg.exp(input=x).shape == (2, 6)
    with pytest.raises(TypeError, match="tensor_split\\(\\): expected one of"):
        x.tensor_split(2, sections=3)
    with pytest.raises(TypeError, match="argument 'input' \\(position 1\\) must be Tensor, not list"):
        eg.exp(input=[1.0])


def test_nan_to_integer_cast_is_quiet():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert eg.tensor([float("nan"), 1.5]).long()[1].item() == 1


@pytest.mark.parametrize("call,message", [
    (lambda x, i, dt: x.index_add_(0, i, eg.ones(2, 2, dtype=dt)),
     r"index_add_\(\): self \(Float\) and source \(Double\) must have the same"),
    (lambda x, i, dt: x.index_copy_(0, i, eg.ones(2, 2, dtype=dt)),
     r"index_copy_\(\): self and source expected to have the same dtype"),
    (lambda x, i, dt: x.index_put_((i,), eg.ones(2, 2, dtype=dt)),
     "Index put requires the source and destination dtypes match"),
    (lambda x, i, dt: x.masked_scatter_(eg.ones(3, 2, dtype=eg.bool), eg.ones(6, dtype=dt)),
     "masked_scatter: expected self and source to have same dtypes"),
])
def test_index_writes_refuse_another_dtype_as_pytorch(call, message):
    x, i = eg.zeros(3, 2), eg.tensor([0, 2])
    with pytest.raises(RuntimeError, match=message):  # a float64 source was cast silently
        call(x, i, eg.float64)
    call(x, i, eg.float32)  # the same dtype works
    assert x.sum().item() > 0


def test_meta_device_builds_real_cpu_tensors():
    # torchtitan/litgpt build on 'meta', then to_empty and their own init; the ensembling tutorial uses a
    # 'meta' copy as functional_call's skeleton: eigengrad makes CPU tensors there
    import copy

    with eg.device("meta"):
        m = nn.Linear(2, 3)
    m = nn.Linear(2, 3, device="meta").to_empty(device="cpu")
    with eg.no_grad():
        m.weight.fill_(1.0)
        m.bias.zero_()
    assert m(eg.ones(1, 2)).tolist() == [[2.0, 2.0, 2.0]]
    models = [nn.Linear(2, 1) for _ in range(3)]
    params, buffers = eg.func.stack_module_state(models)
    base = copy.deepcopy(models[0]).to("meta")
    out = eg.vmap(lambda p, b, x: eg.func.functional_call(base, (p, b), (x,)), in_dims=(0, 0, None))(
        params, buffers, eg.ones(4, 2))
    np.testing.assert_allclose(out.detach().numpy()[1], models[1](eg.ones(4, 2)).detach().numpy(), rtol=1e-6)
    assert eg.empty(2, device="meta").device == eg.device("cpu")
    with pytest.raises(RuntimeError, match="eigengrad runs on the CPU only"):
        eg.empty(2, device="cuda")


def test_global_module_forward_hooks():
    from eigengrad.nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook

    seen = []
    pre = register_module_forward_pre_hook(lambda m, a: seen.append(("pre", type(m).__name__)))
    post = register_module_forward_hook(lambda m, a, o: seen.append(("post", type(m).__name__, tuple(o.shape))))
    m = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    m.register_forward_hook(lambda mod, a, o: seen.append(("own", type(mod).__name__)))
    try:
        m(eg.ones(1, 2))
    finally:
        pre.remove()
        post.remove()
    m(eg.ones(1, 2))
    assert seen == [("pre", "Sequential"), ("pre", "Linear"), ("post", "Linear", (1, 3)), ("pre", "ReLU"),
                    ("post", "ReLU", (1, 3)), ("post", "Sequential", (1, 3)), ("own", "Sequential"),
                    ("own", "Sequential")]
    zero = register_module_forward_hook(lambda mod, a, k, o: o * 0 if isinstance(mod, nn.ReLU) else None,
                                        with_kwargs=True)
    try:
        assert m(eg.ones(1, 2)).sum().item() == 0.0
        step = eg.compile(lambda x: m(x).sum())
        import warnings

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(3):
                assert step(eg.ones(1, 2)).item() == 0.0
        assert any("hooks" in str(w.message) for w in caught)  # compile falls back, naming the hooks
    finally:
        zero.remove()
    assert m(eg.ones(1, 2)).shape == (1, 3)


def test_tensor_learning_rate():
    w = nn.Parameter(eg.tensor([1.0, -2.0], dtype=eg.float64))
    opt = eg.optim.Adam([w], lr=eg.tensor(0.5, dtype=eg.float64))
    sched = eg.optim.lr_scheduler.StepLR(opt, 1, 0.5)
    opt.zero_grad()
    (w ** 2).sum().backward()
    opt.step()
    sched.step()
    np.testing.assert_allclose(w.detach().numpy(), [0.5, -1.5])  # Adam's first step moves each weight by lr
    assert float(opt.param_groups[0]["lr"]) == 0.25
    with pytest.raises(TypeError, match="lr"):
        eg.optim.Adam([w], lr=eg.tensor([0.1, 0.2]))


def test_backend_switches_scripts_set():
    eg.backends.mha.set_fastpath_enabled(False)
    try:
        assert eg.backends.mha.get_fastpath_enabled() is False
    finally:
        eg.backends.mha.set_fastpath_enabled(True)
    import importlib.util

    assert eg.backends.opt_einsum.is_available() == (importlib.util.find_spec("opt_einsum") is not None)
    assert eg.backends.opt_einsum.enabled is True and eg.backends.opt_einsum.strategy == "auto"


def test_bfloat16_is_refused_with_the_same_clear_message_everywhere():
    for make in (lambda: eg.ones(2).to(eg.bfloat16), lambda: eg.ones(2, dtype=eg.bfloat16),
                 lambda: nn.Linear(2, 2).to(eg.bfloat16), lambda: eg.ones(2).bfloat16()):
        with pytest.raises(TypeError, match="computes in float32 and float64; bfloat16 tensors are not supported"):
            make()


def test_warnings_from_inside_backward_point_at_the_script():
    import warnings

    m = nn.Linear(2, 2)
    m.register_full_backward_hook(lambda mod, gi, go: None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m(eg.ones(1, 2)).sum().backward()  # no input requires grad: PyTorch's warning
    assert [w.filename for w in caught if "Full backward hook" in str(w.message)] == [__file__]


def test_lp_pool_infinite_norms_are_max_pooling_of_magnitudes():
    x = eg.tensor([[[1.5, -2.0, 0.5, 3.0, -0.25]]], dtype=eg.float64, requires_grad=True)
    y = F.lp_pool1d(x, float("inf"), 2)
    y.sum().backward()
    assert y.tolist() == [[[2.0, 3.0]]] and x.grad.tolist() == [[[0.0, -1.0, 0.0, 1.0, 0.0]]]
    assert F.lp_pool1d(x, float("-inf"), 2).tolist() == [[[1.5, 0.5]]]
    assert F.lp_pool1d(x.detach(), float("inf"), 2, ceil_mode=True).tolist() == [[[2.0, 3.0, 0.25]]]
    assert nn.LPPool2d(float("inf"), 2)(eg.arange(16.0).reshape(1, 1, 4, 4)).tolist() == [[[[5.0, 7.0], [13.0, 15.0]]]]


def test_pad_with_mixed_signs_and_instance_norm_channel_checks():
    x = eg.arange(4.0).reshape(1, 1, 4)
    # reflect and replicate read the whole input, then a negative amount crops (PyTorch's order)
    assert F.pad(x, (2, -2), mode="reflect").tolist() == [[[2.0, 1.0, 0.0, 1.0]]]
    assert F.pad(eg.arange(3.0).reshape(1, 1, 3), (-1, 2), mode="reflect").tolist() == [[[1.0, 2.0, 1.0, 0.0]]]
    assert F.pad(eg.zeros(1, 1, 1), (2, -2), mode="replicate").tolist() == [[[0.0]]]
    assert F.pad(x, (1, -1), mode="circular").tolist() == [[[2.0, 0.0, 1.0, 2.0]]]  # wraps what is left
    with pytest.raises(RuntimeError, match="running_mean should contain 1 elements not 2"):
        nn.InstanceNorm2d(2, track_running_stats=True)(eg.arange(9.0).reshape(1, 1, 3, 3))


def test_layer_argument_checks_as_pytorch():
    with pytest.raises(RuntimeError, match="ignore_index is not supported for floating point target"):
        F.cross_entropy(eg.tensor([[1.0, 2.0]]), eg.tensor([[0.3, 0.7]]), ignore_index=0)
    with pytest.raises(RuntimeError, match="Expected more than 1 value per channel"):
        F.group_norm(eg.tensor([[1.0, 2.0, 3.0]]), 3)
    assert F.group_norm(eg.zeros(0, 3), 3).shape == (0, 3)
    with pytest.raises(ValueError, match="input_size"):
        nn.LSTM(0, 3)
    loss = F.binary_cross_entropy(eg.tensor(0.3), eg.tensor(1.0), weight=eg.tensor(2.0))  # all 0-d
    np.testing.assert_allclose(loss.item(), -2 * np.log(0.3), rtol=1e-6)


def test_constants_and_foreach_in_place_returns():
    import math

    assert (eg.pi, eg.e, eg.inf) == (math.pi, math.e, math.inf) and math.isnan(eg.nan) and eg.newaxis is None
    a = [eg.zeros(2)]
    assert eg._foreach_lerp_(a, [eg.ones(2)], 0.5) is a and eg._foreach_mul_(a, 2.0) is a  # PyTorch 2.x's lists
    assert eg._foreach_zero_(a) is a and a[0].tolist() == [0.0, 0.0]
