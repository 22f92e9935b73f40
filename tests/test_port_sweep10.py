"""What two sweeps of realistic PyTorch scripts (training recipes; scientific and autograd idioms), run with
only the import changed, found missing or different: each as PyTorch has it."""
import copy
import warnings

import numpy as np
import pytest

import eigengrad as eg


def test_deepcopy_of_a_compiled_model_is_an_independent_compiled_copy():
    """``model = torch.compile(model); ema = copy.deepcopy(model)`` (and AveragedModel of it) recursed forever."""
    eg.manual_seed(0)
    model = eg.compile(eg.nn.Sequential(eg.nn.Linear(4, 3), eg.nn.ReLU(), eg.nn.Linear(3, 2)))
    x = eg.randn(5, 4)
    with eg.no_grad():
        want = model(x).numpy().copy()
    ema = copy.deepcopy(model)
    assert type(ema) is type(model) and ema._orig_mod is not model._orig_mod
    assert list(ema.state_dict()) == list(model.state_dict())  # ('_orig_mod.0.weight', ...)
    with eg.no_grad():
        for _ in range(5):  # traced, verified, then replayed
            np.testing.assert_array_equal(ema(x).numpy(), want)
        assert ema.replays >= 1 and ema.fallback_reason is None  # its own compiled forward
        ema._orig_mod[0].weight.mul_(0.5)
        np.testing.assert_array_equal(model(x).numpy(), want)  # the original is untouched
        assert not np.array_equal(ema(x).numpy(), want)
    avg = eg.optim.swa_utils.AveragedModel(model)
    assert list(avg.state_dict())[:2] == ["n_averaged", "module._orig_mod.0.weight"]
    avg.update_parameters(model)


@pytest.mark.parametrize("call, want", [
    (lambda x, y: x.clone().add_(0.1, y), [1.0, 1.1, 1.2]),
    (lambda x, y: x.clone().sub_(0.1, y), [1.0, 0.9, 0.8]),
    (lambda x, y: x.add(0.1, y), [1.0, 1.1, 1.2]),
    (lambda x, y: eg.sub(x, 0.1, y), [1.0, 0.9, 0.8]),
    (lambda x, y: x.clone().addcmul_(0.5, y, y), [1.0, 1.5, 3.0]),
    (lambda x, y: eg.addcmul(x, 0.5, y, y), [1.0, 1.5, 3.0]),
    (lambda x, y: x.clone().addcdiv_(0.5, y, y + 1), [1.0, 1.25, 4 / 3]),
    (lambda x, y: eg.addcdiv(x, 0.5, y, y + 1), [1.0, 1.25, 4 / 3]),
])
def test_number_first_overloads_with_pytorchs_warning(call, want):
    """Pre-2021 optimizers' ``exp_avg_sq.mul_(b2).addcmul_(1 - b2, g, g)`` and ``p.data.add_(-lr, d_p)``."""
    x, y = eg.ones(3), eg.arange(3.0)
    with pytest.warns(UserWarning, match=r"This overload of \w+ is deprecated"):
        out = call(x, y)
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-6)


def test_number_first_overloads_reject_other_combinations():
    x, y = eg.ones(3), eg.arange(3.0)
    with pytest.raises(TypeError, match="invalid combination of arguments"):
        x.add(y, y)  # no number first
    with pytest.raises(TypeError, match="invalid combination of arguments"):
        x.add_(0.1, y, alpha=2)  # alpha twice
    with pytest.raises(TypeError, match="invalid combination of arguments"):
        eg.addcmul(x, 0.5, y, y, value=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(x.add(y, alpha=2).numpy(), [1, 3, 5])  # today's form: no warning


def test_private_names_that_copied_optimizers_and_scripts_import():
    from eigengrad._dynamo import allow_in_graph, mark_dynamic
    from eigengrad.optim.lr_scheduler import EPOCH_DEPRECATION_WARNING
    from eigengrad.optim.optimizer import (
        Optimizer, ParamsT, _default_to_fused_or_foreach, _get_value, _use_grad_for_differentiable)

    assert "epoch parameter" in EPOCH_DEPRECATION_WARNING
    assert _get_value(eg.tensor(3.0)) == 3.0 and _get_value(4) == 4
    assert _default_to_fused_or_foreach([], False) == (False, False)
    t = eg.ones(2)
    assert mark_dynamic(t, 0) is None and allow_in_graph(len) is len

    class Copied(Optimizer):  # a torch/optim-style optimizer: the step decorated, params typed ParamsT
        def __init__(self, params: ParamsT, lr=0.1, differentiable=False):
            super().__init__(params, {"lr": lr, "differentiable": differentiable})

        @_use_grad_for_differentiable
        def step(self, closure=None):
            seen.append(eg.is_grad_enabled())
            for group in self.param_groups:
                for p in group["params"]:
                    p.add_(p.grad, alpha=-_get_value(group["lr"]))

    seen = []
    w = eg.nn.Parameter(eg.ones(2))
    w.grad = eg.full((2,), 2.0)
    opt = Copied([w])
    opt.step()
    np.testing.assert_allclose(w.detach().numpy(), [0.8, 0.8])
    assert seen == [False] and eg.is_grad_enabled()
    assert Copied.step.__name__ == "step"


def test_inductor_config_is_settable():
    import eigengrad._inductor.config as config

    config.coordinate_descent_tuning = True
    config.triton.unique_kernel_names = True
    assert eg._inductor.config.coordinate_descent_tuning is True
    config.coordinate_descent_tuning = False


def test_collate_with_a_collate_fn_map():
    """PyTorch's documented way to extend default_collate: a map from a sample type to its batching function."""
    from eigengrad.utils.data._utils.collate import collate, default_collate_fn_map

    class Box:
        def __init__(self, v):
            self.v = v

    def collate_box(batch, *, collate_fn_map=None):
        return [b.v for b in batch]

    mapping = {**default_collate_fn_map, Box: collate_box}
    out = collate([{"x": eg.ones(2), "box": Box(1), "n": 3}, {"x": eg.zeros(2), "box": Box(2), "n": 4}],
                  collate_fn_map=mapping)
    np.testing.assert_array_equal(out["x"].numpy(), [[1, 1], [0, 0]])
    assert out["box"] == [1, 2] and out["n"].tolist() == [3, 4]
    with pytest.raises(TypeError):
        collate([Box(1)])  # no map: nothing batches a Box
    with pytest.raises(TypeError):
        collate([eg.ones(1)])  # (PyTorch: collate without a map has no rule for tensors either)


def test_weight_norm_loads_an_old_weight_norm_state_dict():
    """A checkpoint of the old nn.utils.weight_norm (``weight_g``, ``weight_v``: HiFi-GAN, wav2vec2) loads into
    parametrizations.weight_norm, as PyTorch's compatibility hook maps it, at any depth."""
    eg.manual_seed(0)
    old = eg.nn.Sequential(eg.nn.utils.weight_norm(eg.nn.Conv1d(2, 3, 3)))
    keys = sorted(old.state_dict())
    assert keys == ["0.bias", "0.weight_g", "0.weight_v"]
    new = eg.nn.Sequential(eg.nn.utils.parametrizations.weight_norm(eg.nn.Conv1d(2, 3, 3)))
    result = new.load_state_dict(old.state_dict())
    assert not result.missing_keys and not result.unexpected_keys
    x = eg.randn(1, 2, 5)
    np.testing.assert_allclose(new(x).detach().numpy(), old(x).detach().numpy(), rtol=1e-6)
    np.testing.assert_array_equal(new[0].parametrizations.weight.original0.detach().numpy(),
                                  old[0].weight_g.detach().numpy())


def test_linalg_on_a_matrix_holding_nan_raises_pytorchs_error():
    """PyTorch 2.13: the SVD family raises LinAlgError (a RuntimeError) on a NaN, naming the batch element; eig
    refuses non-finite input with a RuntimeError; eigh gives NaN where NumPy's raised a ValueError."""
    a = eg.ones(3, 3)
    a[1, 2] = float("nan")
    for f in (eg.linalg.svd, eg.linalg.svdvals, eg.linalg.pinv, lambda m: eg.linalg.matrix_norm(m, ord=2),
              eg.linalg.matrix_rank, eg.linalg.cond):
        with pytest.raises(eg.linalg.LinAlgError, match="^linalg.svd: The algorithm failed to converge"):
            f(a)
    with pytest.raises(RuntimeError, match=r"\(Batch element 1\): The algorithm failed"):
        eg.linalg.svdvals(eg.stack([eg.eye(3), a]))
    with pytest.raises(RuntimeError, match="input tensor should not contain infs or NaNs"):
        eg.linalg.eig(a)
    w, v = eg.linalg.eigh(eg.stack([eg.eye(3), a.T]))  # the NaN in the lower triangle of the second
    np.testing.assert_array_equal(w.numpy()[0], [1, 1, 1])
    assert np.isnan(w.numpy()[1]).all() and np.isnan(v.numpy()[1]).all()
    # an infinity, no NaN: NaN singular values at once (LAPACK can loop forever on one), as PyTorch's
    b = eg.ones(2, 2)
    b[0, 0] = float("inf")
    assert np.isnan(eg.linalg.svdvals(b).numpy()).all()


def test_reentrant_checkpoint_keeps_pytorchs_rules():
    """use_reentrant=True: no input requiring grad means the segment is not recorded (PyTorch's warning; its
    parameters get no gradient); keyword arguments are refused. use_reentrant=False records as usual."""
    from eigengrad.utils.checkpoint import checkpoint, checkpoint_sequential

    lin = eg.nn.Linear(4, 3)
    x = eg.ones(2, 4)
    with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
        out = checkpoint(lin, x, use_reentrant=True)
    assert not out.requires_grad
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert checkpoint(lin, x, use_reentrant=False).requires_grad
        xg = eg.ones(2, 4, requires_grad=True)
        checkpoint(lin, xg, use_reentrant=True).sum().backward()
    np.testing.assert_allclose(lin.weight.grad.numpy(), np.full((3, 4), 2.0))
    with pytest.raises(ValueError, match="Unexpected keyword arguments: scale"):
        checkpoint(lambda t, scale=1.0: t * scale, xg, scale=2.0, use_reentrant=True)
    # checkpoint_sequential: every segment but the last is checkpointed (PyTorch's split: 3 modules in 2 segments
    # are [0] and [1, 2]), so only the last segment trains here
    seq = eg.nn.Sequential(eg.nn.Linear(4, 4), eg.nn.Linear(4, 4), eg.nn.Linear(4, 2))
    with pytest.warns(UserWarning, match="None of the inputs"):
        checkpoint_sequential(seq, 2, x, use_reentrant=True).sum().backward()
    assert [m.weight.grad is None for m in seq] == [True, False, False]


def test_foreach_unary_family_and_maximum_in_place():
    xs = [eg.tensor([0.25, 4.0]), eg.tensor([1.0])]
    np.testing.assert_allclose(eg._foreach_rsqrt(xs)[0].numpy(), [2.0, 0.5])
    np.testing.assert_allclose(eg._foreach_log1p(xs)[1].numpy(), [np.log(2.0)], rtol=1e-6)
    assert [float(m) for m in eg._foreach_max(xs)] == [4.0, 1.0]
    clones = eg._foreach_clone(xs)
    assert clones[0] is not xs[0] and np.array_equal(clones[0].numpy(), xs[0].numpy())
    out = eg._foreach_maximum_(xs, 0.7)  # (no Tensor.maximum_: the result copied in, as PyTorch's kernel writes)
    assert out is xs
    np.testing.assert_allclose(xs[0].numpy(), [0.7, 4.0], rtol=1e-6)
    eg._foreach_minimum_(xs, [eg.tensor([0.5, 0.5]), eg.tensor([0.1])])
    np.testing.assert_allclose(xs[1].numpy(), [0.1], rtol=1e-6)
    for name in ("sin", "cos", "erf", "expm1", "floor", "trunc", "lgamma", "log2"):
        got = getattr(eg, f"_foreach_{name}")([eg.tensor([0.3, 1.7])])[0]
        np.testing.assert_allclose(got.numpy(), getattr(eg, name)(eg.tensor([0.3, 1.7])).numpy())


def test_optimizer_state_dict_hooks():
    w = eg.nn.Parameter(eg.ones(2))
    opt = eg.optim.Adam([w], lr=0.1)
    w.grad = eg.ones(2)
    opt.step()
    calls = []
    opt.register_state_dict_pre_hook(lambda o: calls.append("pre"))
    opt.register_state_dict_post_hook(lambda o, sd: {**sd, "extra": 1})
    opt.register_load_state_dict_pre_hook(lambda o, sd: {k: v for k, v in sd.items() if k != "extra"})
    h = opt.register_load_state_dict_post_hook(lambda o: calls.append("loaded"))
    opt.register_state_dict_pre_hook(lambda o: calls.append("first"), prepend=True)
    sd = opt.state_dict()
    assert sd["extra"] == 1 and calls == ["first", "pre"]
    opt.load_state_dict(sd)  # "extra" dropped by the pre-hook before loading
    assert calls[-1] == "loaded"
    h.remove()
    opt.load_state_dict(sd)
    assert calls.count("loaded") == 1


def test_small_pytorch_names():
    from eigengrad.nn.utils.rnn import invert_permutation
    from eigengrad.utils import checkpoint as ck

    assert invert_permutation(None) is None
    assert invert_permutation(eg.tensor([2, 0, 1])).tolist() == [1, 2, 0]
    assert eg.nn.Linear(2, 2)._get_name() == "Linear"
    s = eg.amp.GradScaler("cpu", init_scale=8.0)
    s.set_growth_factor(3.0)
    s.set_backoff_factor(0.25)
    s.set_growth_interval(5)
    assert (s.get_growth_factor(), s.get_backoff_factor(), s.get_growth_interval(), s.get_init_scale()) == \
        (3.0, 0.25, 5, 8.0)
    assert eg.compiler.list_backends() == ["eigengrad"]
    eg.compiler.cudagraph_mark_step_begin()
    with eg.compiler.set_stance("force_eager"):
        assert eg.compiler.get_stance() == "force_eager"
    assert eg.compiler.get_stance() == "default"
    with pytest.raises(RuntimeError, match="invalid torch.compile stance"):
        eg.compiler.set_stance("fastest")
    assert issubclass(ck.CheckpointError, RuntimeError) and ck.CheckpointPolicy.MUST_SAVE.value == 0
    ctx = ck.create_selective_checkpoint_contexts([eg.matmul])
    lin = eg.nn.Linear(2, 2)
    x = eg.ones(1, 2, requires_grad=True)
    y = ck.checkpoint(lin, x, use_reentrant=False, context_fn=lambda: ctx)
    np.testing.assert_allclose(y.detach().numpy(), lin(x).detach().numpy())


def test_bad_arguments_raise_pytorchs_classes():
    p = eg.nn.Parameter(eg.ones(2))
    p.grad = eg.ones(2)
    with pytest.raises(ValueError):  # PyTorch: float('fro') fails
        eg.nn.utils.clip_grad_norm_([p], 1.0, norm_type="fro")
    opt = eg.optim.SGD([p], lr=0.1)
    with pytest.raises(KeyError, match="param_groups"):
        opt.load_state_dict({"state": {}})
    with pytest.raises(RuntimeError, match="Unrecognized mode=fastest, should be one of: default, lite"):
        eg.compile(eg.nn.Linear(1, 1), mode="fastest")
    with pytest.raises(RuntimeError, match="Either mode or options"):
        eg.compile(eg.nn.Linear(1, 1), mode="default", options={})
    assert eg.compile(eg.nn.Linear(1, 1), mode="reduce-overhead") is not None


def test_vmap_in_dims_as_a_tree_and_its_range_check():
    xs = eg.arange(6.0).reshape(3, 2)
    b = eg.tensor([10.0, 20.0])

    def f(d):
        return d["a"] * 2 + d["b"] * eg.tensor([1.0, 1.5])

    want = np.array([[10.0, 32.0], [14.0, 36.0], [18.0, 40.0]])
    out = eg.func.vmap(f, in_dims=({"a": 0, "b": None},))({"a": xs, "b": b})
    np.testing.assert_allclose(out.numpy(), want)
    g = eg.func.vmap(lambda p: p[0] * 2 + p[1] * eg.tensor([1.0, 1.5]), in_dims=((0, None),))
    np.testing.assert_allclose(g((xs, b)).numpy(), want)
    np.testing.assert_allclose(eg.func.vmap(lambda r: r * 2, in_dims=-1)(xs.T).numpy(), xs.numpy() * 2)
    with pytest.raises(ValueError, match=r"Got in_dim=1 for some input, but that input is a Tensor of dimensionality"):
        eg.func.vmap(lambda r: r, in_dims=1)(eg.ones(3))
    with pytest.raises(ValueError, match="not compatible with the structure"):
        eg.func.vmap(f, in_dims=({"a": 0},))({"a": xs, "b": b})


def test_scatter_reduce_takes_max_and_min_as_amax_and_amin():
    """torch_scatter's names; PyTorch's forward takes them too."""
    idx, src = eg.tensor([0, 0, 1, 1]), eg.tensor([-3.0, 2.0, -1.0, 4.0])
    out = eg.full((3,), -10.0).scatter_reduce(0, idx, src, reduce="max", include_self=False)
    assert out.tolist() == [2.0, 4.0, -10.0]
    assert eg.full((3,), -10.0).scatter_reduce(0, idx, src, "min", include_self=False).tolist() == [-3.0, -1.0, -10.0]
    x = eg.zeros(3)
    x.scatter_reduce_(0, idx, src, "max")
    assert x.tolist() == [2.0, 4.0, 0.0]
    with pytest.raises(RuntimeError, match="reduce argument must be either sum, prod, mean, amax or amin, got foo"):
        x.scatter_reduce(0, idx, src, "foo")


def test_pytorchs_deprecation_warnings_for_T_and_cpu_amp():
    with pytest.warns(UserWarning, match="The use of `x.T` on tensors of dimension other than 2"):
        y = eg.ones(2, 3, 4).T
    assert tuple(y.shape) == (4, 3, 2)
    with pytest.warns(UserWarning, match="Tensor.T is deprecated on 0-D tensors"):
        eg.tensor(1.0).T
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tuple(eg.ones(2, 3).T.shape) == (3, 2)
    with pytest.warns(FutureWarning, match=r"torch.amp.autocast\('cpu', args...\)"):
        with eg.cpu.amp.autocast():
            pass
    with pytest.warns(FutureWarning, match=r"torch.amp.GradScaler\('cpu', args...\)"):
        s = eg.cpu.amp.GradScaler(init_scale=4.0)
    assert s.is_enabled() and s.get_scale() == 4.0  # the CPU's scaler scales


def test_numpy_ufuncs_of_tensors_give_tensors():
    """np.exp(t), np.sqrt(loss), np.isnan(t): PyTorch's __array_wrap__ (a bool result as uint8); ndarray <op>
    Tensor still defers to the tensor's operators (autograd kept)."""
    t = eg.tensor([0.0, 1.0])
    e = np.exp(t)
    assert isinstance(e, eg.Tensor) and np.allclose(e.numpy(), [1.0, np.e])
    s = np.sqrt(eg.tensor(4.0))
    assert isinstance(s, eg.Tensor) and s.ndim == 0 and float(s) == 2.0
    m = np.isnan(eg.tensor([1.0, float("nan")]))
    assert m.dtype == eg.uint8 and m.tolist() == [0, 1]
    w = eg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="Can't call numpy"):
        np.exp(w)
    y = np.full(2, 3.0, dtype=np.float32) * w
    assert isinstance(y, eg.Tensor) and y.requires_grad
    y.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [3.0, 3.0])


def test_tensor_of_an_array_like_keeps_its_dtype():
    """``torch.tensor(df["price"])``: a pandas Series (anything with __array__) is its array, float64 kept, as
    PyTorch's; a list of Python floats still gives the default dtype."""
    class SeriesLike:
        def __init__(self, values):
            self.values = np.asarray(values)

        def __array__(self, dtype=None, copy=None):
            return self.values if dtype is None else self.values.astype(dtype)

    s = SeriesLike([1.1, 2.2])
    assert eg.tensor(s).dtype == eg.float64 and eg.as_tensor(s).dtype == eg.float64
    assert eg.tensor(s)[0].item() == 1.1
    assert eg.tensor(SeriesLike(np.array([1, 2], np.int32))).dtype == eg.int32
    assert eg.tensor(s, dtype=eg.float32).dtype == eg.float32
    assert eg.tensor([1.1, 2.2]).dtype == eg.float32


def test_compiled_function_taking_the_model_and_optimizer_as_arguments():
    """gpt-fast's ``decode_one_token(model, x, pos)`` and ``step(model, opt, x, y)``: the models and optimizers
    passed as arguments are the step's state (it had fallen back: their parameters looked like foreign arrays)."""
    import copy as _copy

    def step(model, opt, x, y):
        opt.zero_grad()
        loss = eg.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        return loss

    eg.manual_seed(0)
    model = eg.nn.Sequential(eg.nn.Linear(3, 4), eg.nn.Tanh(), eg.nn.Linear(4, 1))
    twin = _copy.deepcopy(model)
    opt, opt_twin = eg.optim.Adam(model.parameters(), lr=0.01), eg.optim.Adam(twin.parameters(), lr=0.01)
    compiled = eg.compile(step)
    x, y = eg.randn(8, 3), eg.randn(8, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(6):
            got, want = compiled(model, opt, x, y), step(twin, opt_twin, x, y)
            assert got.item() == want.item()
    assert compiled.replays >= 1 and compiled.fallback_reason is None
    for p, q in zip(model.parameters(), twin.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
    # another model as the argument: its own state, not the first model's
    other = eg.nn.Sequential(eg.nn.Linear(3, 4), eg.nn.Tanh(), eg.nn.Linear(4, 1))
    other_twin = _copy.deepcopy(other)
    o1, o2 = eg.optim.Adam(other.parameters(), lr=0.01), eg.optim.Adam(other_twin.parameters(), lr=0.01)
    for _ in range(3):
        assert compiled(other, o1, x, y).item() == step(other_twin, o2, x, y).item()
    # a parameter replaced between calls is seen
    with eg.no_grad():
        model[0].weight = eg.nn.Parameter(eg.zeros(4, 3))
        twin[0].weight = eg.nn.Parameter(eg.zeros(4, 3))
    opt, opt_twin = eg.optim.Adam(model.parameters(), lr=0.01), eg.optim.Adam(twin.parameters(), lr=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(3):
            assert compiled(model, opt, x, y).item() == step(twin, opt_twin, x, y).item()


def test_bce_weights_of_another_float_dtype_and_target_range():
    """pos_weight computed from float64 labels (``torch.from_numpy(df.y.values)``): PyTorch multiplies it into the
    float32 loss; nll/cross-entropy class weights must match (PyTorch's RuntimeError); BCE's targets in [0, 1]."""
    F = eg.nn.functional
    y = eg.tensor([0.0, 0.0, 1.0, 1.0])
    x = eg.zeros(4)
    pw = eg.tensor([3.0], dtype=eg.float64)
    got = eg.nn.BCEWithLogitsLoss(pos_weight=pw)(x, y)
    want = eg.nn.BCEWithLogitsLoss(pos_weight=pw.float())(x, y)
    assert got.dtype == eg.float32 and got.item() == want.item()
    assert F.binary_cross_entropy_with_logits(x, y, weight=eg.ones(4, dtype=eg.float64)).dtype == eg.float32
    p = eg.full((4,), 0.3)
    assert F.binary_cross_entropy(p, y, weight=eg.ones(4, dtype=eg.float64)).dtype == eg.float32
    with pytest.raises(RuntimeError, match="expected dtype float32"):
        F.cross_entropy(eg.zeros(4, 2), y.long(), weight=eg.tensor([1.0, 2.0], dtype=eg.float64))
    for bad in ([0.0, 1.0, 2.0, 1.0], [0.0, -0.5, 1.0, 1.0], [0.0, float("nan"), 1.0, 1.0]):
        with pytest.raises(RuntimeError, match="all elements of target should be between 0 and 1"):
            F.binary_cross_entropy(p, eg.tensor(bad))


@pytest.mark.parametrize("workers", [0, 2])
def test_random_sampler_of_ten_billion_draws_is_drawn_as_it_is_read(workers):
    """minGPT's Trainer: RandomSampler(ds, replacement=True, num_samples=int(1e10)) (an allocation of 75 GiB was
    attempted). Pieces are drawn as the epoch is read, in the generator's order: the first batches are those of
    a short epoch from the same seed."""
    from eigengrad.data.sampler import EAGER_LIMIT

    ds = eg.utils.data.TensorDataset(eg.arange(100))
    huge = eg.utils.data.RandomSampler(ds, replacement=True, num_samples=10**10,
                                       generator=eg.Generator().manual_seed(3))
    short = eg.utils.data.RandomSampler(ds, replacement=True, num_samples=12, generator=eg.Generator().manual_seed(3))
    loader = eg.utils.data.DataLoader(ds, sampler=huge, batch_size=4, num_workers=workers)
    assert len(loader) == 2_500_000_000
    first = [b[0].tolist() for _, b in zip(range(3), loader)]
    assert sum(first, []) == list(short)
    fresh = eg.utils.data.RandomSampler(ds, replacement=True, num_samples=10**10,
                                        generator=eg.Generator().manual_seed(3))
    assert next(iter(fresh)) == first[0][0]
    # across a piece boundary the batches stay whole and the draws continue
    mid = eg.utils.data.RandomSampler(ds, replacement=True, num_samples=EAGER_LIMIT + 7)
    batches = eg.utils.data.BatchSampler(mid, 5, drop_last=False).batches()
    sizes = [len(b) for b in batches]
    assert sum(sizes) == EAGER_LIMIT + 7 and set(sizes[:-1]) == {5} and sizes[-1] == (EAGER_LIMIT + 7) % 5


@pytest.mark.parametrize("replacement", [False, True])
def test_random_sampler_pieces_are_the_eager_draws(replacement):
    """A long epoch drawn a piece at a time gives the eager epoch's indices from the same seed; without replacement
    the permutations run on across the pieces' ends (PyTorch's order: whole permutations, then the head of one)."""
    ds = eg.utils.data.TensorDataset(eg.arange(7))
    for k in (1, 5, 7, 20, 23):
        def sampler():
            return eg.utils.data.RandomSampler(ds, replacement=replacement, num_samples=k,
                                               generator=eg.Generator().manual_seed(1))
        eager = sampler()._draw()
        pieces = list(sampler()._draw_chunks(3))
        assert [len(p) for p in pieces] == [3] * (k // 3) + ([k % 3] if k % 3 else [])
        assert np.concatenate(pieces).tolist() == eager.tolist() == list(sampler())
        if not replacement:
            for w in range(0, k, 7):
                assert len(set(eager[w:w + 7].tolist())) == len(eager[w:w + 7])  # each window a permutation's part
            assert sorted(eager[:k - k % 7].tolist()) == sorted(list(range(7)) * (k // 7))


def test_backends_cuda_attention_switches():
    cuda = eg.backends.cuda
    assert cuda.cudnn_sdp_enabled()
    cuda.enable_cudnn_sdp(False)
    assert not cuda.cudnn_sdp_enabled()
    cuda.enable_cudnn_sdp(True)
    assert not cuda.fp16_bf16_reduction_math_sdp_allowed()
    cuda.allow_fp16_bf16_reduction_math_sdp(True)
    assert cuda.fp16_bf16_reduction_math_sdp_allowed()
    cuda.allow_fp16_bf16_reduction_math_sdp(False)
    q = eg.ones(1, 1, 2, 2)
    params = cuda.SDPAParams(q, q, q, None, 0.0, False, False)
    assert not cuda.is_flash_attention_available()
    assert not cuda.can_use_flash_attention(params) and not cuda.can_use_efficient_attention(params, debug=True)


def test_range_pin_memory_and_ipc_collect_as_pytorch_without_cuda():
    with pytest.warns(UserWarning, match="torch.range is deprecated"):
        r = eg.range(0, 3)
    assert r.tolist() == [0.0, 1.0, 2.0, 3.0] and r.dtype == eg.float32
    loader = eg.utils.data.DataLoader(eg.utils.data.TensorDataset(eg.ones(4)), batch_size=2, pin_memory=True)
    with pytest.warns(UserWarning, match="'pin_memory' argument is set as true but no accelerator is found"):
        assert len(list(loader)) == 2
    with pytest.raises(AssertionError, match="eigengrad runs on the CPU only"):
        eg.cuda.ipc_collect()


def test_documented_differences_at_target_zero_and_softmax_in_place():
    """docs/porting.md, 'Ties and tails': finite target gradients at target 0 where PyTorch's are NaN, and a softmax
    output changed in place keeps a right gradient (eigengrad's softmax backward reads the input)."""
    inp = eg.tensor([-1.0, -2.0, -0.5], requires_grad=True)
    tgt = eg.tensor([0.0, 0.3, 0.7], requires_grad=True)
    eg.nn.functional.kl_div(inp, tgt, reduction="sum").backward()
    assert tgt.grad.tolist()[0] == 0.0
    np.testing.assert_allclose(tgt.grad.numpy()[1:], np.log([0.3, 0.7]) + 1 - np.array([-2.0, -0.5]), rtol=1e-6)
    inp = eg.tensor([-1.0, 2.0, 0.5], requires_grad=True)
    tgt = eg.tensor([0.0, 3.0, 1.0], requires_grad=True)
    eg.nn.functional.poisson_nll_loss(inp, tgt, full=True).backward()
    assert float(tgt.grad[0]) == pytest.approx(1.0 / 3.0)  # -input / N: the Stirling term adds 0 below 1
    a = eg.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    w = eg.tensor([[0.5, -1.0, 2.0]])
    s = eg.softmax(a, dim=1)
    s.mul_(2)
    (s * w).sum().backward()
    b = eg.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    (eg.softmax(b, dim=1) * 2 * w).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-6)
    p = np.exp([1.0, 2.0, 3.0]) / np.exp([1.0, 2.0, 3.0]).sum()
    np.testing.assert_allclose(a.grad.numpy()[0], 2 * p * (w.numpy()[0] - (p * w.numpy()[0]).sum()), rtol=1e-6)
