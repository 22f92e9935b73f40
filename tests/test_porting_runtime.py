"""The runtime modules PyTorch scripts touch beyond the tensors: ``torch.jit`` (script/trace run the Python
object), ``torch.onnx`` (importable; export is tested in test_onnx_export.py), ``torch.amp`` (autocast runs the block in
the tensors' dtypes; GradScaler is PyTorch's algorithm, checked step by step against PyTorch's),
``torch.cuda.amp`` (disabled without CUDA, as PyTorch), ``torch.testing.assert_close``, ``torch.profiler``,
the ``bfloat16`` name, ``torch.backends.cuda``/``mkldnn``, ``Optimizer.state`` and ``detach_``."""
from __future__ import annotations

import json
import logging

import numpy as np
import pytest

import eigengrad as eg


def test_jit_script_and_trace_give_back_what_runs():
    m = eg.nn.Linear(3, 2)
    x = eg.randn(4, 3)
    assert eg.jit.script(m) is m and eg.jit.trace(m, x) is m
    np.testing.assert_array_equal(eg.jit.trace(m, x)(x).detach().numpy(), m(x).detach().numpy())

    @eg.jit.ignore
    def f(a):
        return a + 1

    assert f(1) == 2 and not eg.jit.is_scripting() and not isinstance(m, eg.jit.ScriptModule)
    with pytest.raises(NotImplementedError, match="eigengrad.save"):
        eg.jit.save(m, "model.pt")


def test_onnx_imports_without_the_onnx_package():
    import eigengrad.onnx as onnx  # the package is needed only when export runs (tests/test_onnx_export.py)

    assert onnx.is_in_onnx_export() is False
    assert onnx.TrainingMode.EVAL == 0 and onnx.OperatorExportTypes.ONNX == 0


def test_autocast_runs_the_block_in_the_tensors_dtype_and_says_so_once(caplog):
    x = eg.ones(2, 2)
    with caplog.at_level(logging.WARNING, logger="eigengrad.amp"):
        with eg.autocast("cpu", dtype=eg.bfloat16):
            y = x @ x
        with eg.autocast("cpu", dtype=eg.bfloat16):
            pass
    assert y.dtype == eg.float32 and y.tolist() == [[2.0, 2.0], [2.0, 2.0]]
    assert sum("autocast" in r.getMessage() for r in caplog.records) <= 1
    with pytest.warns(UserWarning, match="CUDA is not available"):  # PyTorch's, on a machine without CUDA
        assert not eg.autocast("cuda").enabled


def _scaler_run(lib, steps):
    """A linear model trained with GradScaler; some steps get an inf in the loss. Returns (scales, weights)."""
    lib.manual_seed(0)
    w = lib.nn.Parameter(lib.tensor([[0.5, -0.25]], dtype=lib.float64))
    opt = lib.optim.SGD([w], lr=0.1)
    scaler = lib.amp.GradScaler("cpu", init_scale=8.0, growth_interval=2)
    x = lib.tensor([[1.0], [2.0]], dtype=lib.float64)
    scales = []
    for blow_up in steps:
        opt.zero_grad()
        loss = (w @ x).sum() * (float("inf") if blow_up else 1.0)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        scales.append(scaler.get_scale())
    return scales, w.detach().numpy().copy()


def test_grad_scaler_skips_the_steps_pytorch_skips_and_moves_the_scale_alike():
    torch = pytest.importorskip("torch", reason="PyTorch's GradScaler is the reference")
    steps = [False, False, True, False, False, False, True]
    ours, theirs = _scaler_run(eg, steps), _scaler_run(torch, steps)
    assert ours[0] == theirs[0]
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-12)


def test_grad_scaler_disabled_passes_through_and_state_round_trips():
    s = eg.amp.GradScaler(enabled=False)
    loss = eg.tensor(2.0)
    assert s.scale(loss) is loss and s.get_scale() == 1.0 and s.state_dict() == {}
    t = eg.amp.GradScaler("cpu", init_scale=4.0)
    u = eg.amp.GradScaler("cpu")
    u.load_state_dict(t.state_dict())
    assert u.get_scale() == 4.0


def test_grad_scaler_on_its_default_device_is_disabled_as_pytorchs_without_cuda():
    """torch.amp.GradScaler() is for "cuda": without CUDA PyTorch warns and disables it (the loss unscaled,
    the scale 1, an empty state_dict); "cpu" scales."""
    for make in (lambda: eg.amp.GradScaler(), lambda: eg.amp.GradScaler("cuda:0"),
                 lambda: eg.amp.GradScaler(device="cuda", init_scale=8.0)):
        with pytest.warns(UserWarning, match="CUDA is not available.  Disabling"):
            s = make()
        loss = eg.tensor(2.0)
        assert not s.is_enabled() and s.scale(loss) is loss and s.get_scale() == 1.0 and s.state_dict() == {}
    assert eg.amp.GradScaler("cpu").get_scale() == 2.0 ** 16
    assert eg.amp.GradScaler(enabled=False).get_scale() == 1.0  # (no warning: nothing to disable)


def test_cuda_amp_is_disabled_with_pytorchs_warning():
    with pytest.warns(UserWarning, match="CUDA is not available"):
        s = eg.cuda.amp.GradScaler()
    assert not s.is_enabled()
    with pytest.warns(UserWarning, match="CUDA is not available"):
        with eg.cuda.amp.autocast():
            pass
    with pytest.warns(FutureWarning, match=r"torch.amp.GradScaler\('cuda', args...\)"):
        eg.cuda.amp.GradScaler(enabled=False)


def test_cuda_amp_imports_as_a_module_under_compat(tmp_path):
    """``from torch.cuda.amp import autocast, GradScaler``: the import line of pre-2.4 AMP scripts (torch.cuda
    was a module, so this was "'torch.cuda' is not a package")."""
    import subprocess
    import sys

    script = tmp_path / "amp_script.py"
    script.write_text("import warnings\nwarnings.simplefilter('ignore')\n"
                      "from torch.cuda.amp import autocast, GradScaler, custom_fwd, custom_bwd\n"
                      "s = GradScaler()\nwith autocast():\n    pass\nprint(s.is_enabled(), s.get_scale())\n")
    r = subprocess.run([sys.executable, "-m", "eigengrad.compat", str(script)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["False", "1.0"]


def test_custom_fwd_and_bwd_decorate_a_function_as_pytorchs():
    class Square(eg.autograd.Function):
        @staticmethod
        @eg.amp.custom_fwd(device_type="cpu", cast_inputs=eg.float64)
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @eg.amp.custom_bwd(device_type="cpu")
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    x = eg.tensor([1.5, -2.0], requires_grad=True)
    y = Square.apply(x)  # outside autocast: no cast
    y.sum().backward()
    assert y.dtype == eg.float32 and x.grad.tolist() == [3.0, -4.0]
    with eg.autocast("cpu"):
        z = Square.apply(x)  # inside: the inputs cast to cast_inputs
    assert z.dtype == eg.float64 and z.tolist() == [2.25, 4.0]
    with pytest.raises(ValueError, match="Expected `device_type` of type `str`"):
        eg.amp.custom_fwd(lambda ctx: None, device_type=None)


def test_grad_scaler_stops_growing_where_float32_overflows_as_pytorchs():
    """PyTorch's scale is a float32 tensor: from 2**127 it cannot grow (2**128 is inf in float32). A float64
    scale grew, overflowed the scaled loss, skipped that step and backed off: a step lost every interval."""
    w = eg.nn.Parameter(eg.ones(3))
    opt = eg.optim.SGD([w], lr=0.1)
    s = eg.amp.GradScaler("cpu", init_scale=2.0 ** 126, growth_interval=1)
    weights = []
    for _ in range(4):
        opt.zero_grad()
        s.scale((w * 1e-3).sum()).backward()
        s.step(opt)
        s.update()
        weights.append(w.detach().numpy().copy())
    assert s.get_scale() == 2.0 ** 127
    assert all(not np.array_equal(a, b) for a, b in zip(weights, weights[1:]))  # no step skipped
    s.update(new_scale=1e40)  # (float32's range: inf, as PyTorch's fill_)
    assert s.get_scale() == float("inf")
    s.update(new_scale=0.1)
    assert s.get_scale() == float(np.float32(0.1))


def test_assert_close_uses_pytorchs_tolerances():
    eg.testing.assert_close(eg.tensor([1.0]), eg.tensor([1.0 + 1e-7]))
    with pytest.raises(AssertionError, match="Mismatched elements: 1 / 2"):
        eg.testing.assert_close(eg.tensor([1.0, 2.0]), eg.tensor([1.0, 2.1]))
    with pytest.raises(AssertionError, match="dtype"):
        eg.testing.assert_close(eg.tensor([1.0]), eg.tensor([1.0], dtype=eg.float64))
    eg.testing.assert_close({"a": [eg.tensor(1)]}, {"a": [eg.tensor(1)]})


def test_profiler_times_the_named_regions(tmp_path):
    with eg.profiler.profile(activities=[eg.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(3):
            with eg.profiler.record_function("step"):
                eg.ones(10) * 2
    rows = prof.key_averages()
    assert [(r["name"], r["count"]) for r in rows] == [("step", 3)]
    assert "step" in rows.table(sort_by="cpu_time_total", row_limit=5)
    prof.export_chrome_trace(str(tmp_path / "trace.json"))
    events = json.loads((tmp_path / "trace.json").read_text())["traceEvents"]
    assert len(events) == 3 and all(e["dur"] >= 0 for e in events)


def test_bfloat16_can_be_named_but_holds_no_tensors():
    assert repr(eg.bfloat16) == "eigengrad.bfloat16" and eg.bfloat16.is_floating_point
    with pytest.raises(TypeError, match="bfloat16"):
        eg.zeros(2, dtype=eg.bfloat16)
    x = eg.ones(2)
    # every spelling of the conversion raises (x.to(bfloat16) took the name for non_blocking and returned x)
    for convert in (lambda: x.to(eg.bfloat16), lambda: x.to("cpu", eg.bfloat16), lambda: x.to(dtype=eg.bfloat16),
                    lambda: x.bfloat16()):
        with pytest.raises(TypeError, match="bfloat16"):
            convert()
    info = eg.finfo(eg.bfloat16)  # PyTorch's limits (a mask value such as finfo(dtype).min)
    assert (info.bits, info.eps, info.max, info.min, info.tiny, info.resolution, info.dtype) == \
        (16, 0.0078125, 3.3895313892515355e38, -3.3895313892515355e38, 2.0 ** -126, 0.01, "bfloat16")


def test_cuda_and_mkldnn_backend_flags_can_be_set_and_read():
    """``torch.backends.cuda.matmul.allow_tf32 = True`` (a common first line) and ``torch.backends.mkldnn``."""
    cuda, mkldnn = eg.backends.cuda, eg.backends.mkldnn
    before = cuda.matmul.allow_tf32
    try:
        cuda.matmul.allow_tf32 = True
        assert cuda.matmul.allow_tf32 is True and not cuda.is_built() and cuda.math_sdp_enabled()
    finally:
        cuda.matmul.allow_tf32 = before
    assert mkldnn.is_available() is False and mkldnn.enabled is True
    assert cuda.flash_sdp_enabled() and cuda.mem_efficient_sdp_enabled()  # PyTorch's defaults
    try:
        cuda.enable_flash_sdp(False)  # read back as set (CUDA's switch: eigengrad's attention is unchanged)
        assert not cuda.flash_sdp_enabled()
    finally:
        cuda.enable_flash_sdp(True)


def test_optimizer_state_is_a_defaultdict_and_detach_in_place():
    """A hand-written optimizer reads ``self.state[p]`` before filling it (PyTorch's defaultdict(dict)); the
    optimizer's own state and state_dict are unchanged by an empty entry. ``detach_()`` cuts a tensor from the
    graph in place (a truncated backpropagation's hidden state)."""
    p = eg.nn.Parameter(eg.ones(3))
    opt = eg.optim.Adam([p], lr=0.1)
    assert opt.state[p] == {} and opt.state_dict()["state"] == {}
    p.grad = eg.ones(3)
    opt.step()
    assert set(opt.state[p]) >= {"step", "exp_avg", "exp_avg_sq"}
    h = eg.ones(2, requires_grad=True) * 2
    assert h.grad_fn is not None
    assert h.detach_() is h and h.grad_fn is None and not h.requires_grad and h.is_leaf
    (h * eg.ones(2, requires_grad=True)).sum().backward()  # the graph starts at h now


def test_checkpoint_runs_the_segment_with_its_gradients_and_fork_rng_restores_draws():
    """``torch.utils.checkpoint`` (activations kept: the same values and gradients as without it, PyTorch's
    warning when use_reentrant is not given) and ``torch.random.fork_rng`` (draws inside do not move the ones
    after it)."""
    from eigengrad.utils.checkpoint import checkpoint, checkpoint_sequential

    eg.manual_seed(0)
    seq = eg.nn.Sequential(eg.nn.Linear(3, 4), eg.nn.ReLU(), eg.nn.Linear(4, 2))
    x = eg.randn(5, 3, requires_grad=True)
    plain = seq(x).sum()
    plain.backward()
    want = x.grad.numpy().copy()
    x.grad = None
    checkpoint_sequential(seq, 2, x, use_reentrant=False).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), want)
    with pytest.warns(UserWarning, match="use_reentrant parameter should be passed explicitly"):
        out = checkpoint(seq, x)
    np.testing.assert_array_equal(out.detach().numpy(), seq(x).detach().numpy())
    eg.manual_seed(1)
    with eg.random.fork_rng():
        eg.rand(3)
    after = eg.rand(2).numpy()
    eg.manual_seed(1)
    np.testing.assert_array_equal(eg.rand(2).numpy(), after)
