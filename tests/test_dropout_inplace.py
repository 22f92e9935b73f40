"""``inplace=True`` of the dropouts writes into the input, as PyTorch's (it was accepted and ignored, so code
that drops the return value, ``F.dropout(h, p, True, inplace=True); return h``, trained without dropout).
The values and gradients are those of the out-of-place call with the same generator state."""
import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn.functional as F

CASES = [("dropout", lambda t, ip: F.dropout(t, 0.4, True, ip), (4, 6, 3, 3)),
         ("dropout1d", lambda t, ip: F.dropout1d(t, 0.4, True, ip), (4, 6, 5)),
         ("dropout2d", lambda t, ip: F.dropout2d(t, 0.4, True, ip), (4, 6, 3, 3)),
         ("dropout3d", lambda t, ip: F.dropout3d(t, 0.4, True, ip), (2, 6, 2, 3, 3)),
         ("alpha_dropout", lambda t, ip: F.alpha_dropout(t, 0.4, True, ip), (4, 6, 3, 3)),
         ("feature_alpha_dropout", lambda t, ip: F.feature_alpha_dropout(t, 0.4, True, ip), (4, 6, 3, 3))]


@pytest.mark.parametrize("name,call,shape", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("dtype", [eg.float32, eg.float64])
def test_inplace_writes_the_out_of_place_values_into_the_input(name, call, shape, dtype):
    x0 = np.random.default_rng(1).standard_normal(shape)
    results = []
    for inplace in (False, True):
        eg.manual_seed(7)
        x = eg.tensor(x0, dtype=dtype, requires_grad=True)
        h = x * 1.5
        version = h._version
        y = call(h, inplace)
        if inplace:
            assert y is h and h._version > version
        else:
            assert y is not h and np.array_equal(h.detach().numpy(), 1.5 * x0.astype(h.detach().numpy().dtype))
        (y * eg.arange(y.numel(), dtype=dtype).reshape(y.shape)).sum().backward()
        results.append((y.detach().numpy().copy(), x.grad.numpy().copy()))
    assert np.array_equal(results[0][0], results[1][0]) and np.array_equal(results[0][1], results[1][1])
    assert (results[1][0] != 1.5 * x0).any()  # something was dropped


def test_inplace_on_a_leaf_that_requires_grad_refuses():
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation"):
        F.dropout(eg.ones(3, requires_grad=True), 0.5, True, inplace=True)


def test_inplace_after_an_op_that_saved_its_output_fails_in_backward_as_pytorchs():
    # ReLU saves its output for backward, so PyTorch's ReLU -> Dropout(inplace=True) raises there too
    m = eg.nn.Sequential(eg.nn.Linear(8, 16), eg.nn.ReLU(), eg.nn.Dropout(0.3, inplace=True))
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        m(eg.randn(4, 8)).sum().backward()


def test_inplace_is_a_no_op_in_eval_and_at_p_zero():
    x = eg.ones(5)
    assert F.dropout(x, 0.5, False, inplace=True) is x and F.dropout(x, 0.0, True, inplace=True) is x
    assert x.tolist() == [1.0] * 5 and x._version == 0


def test_module_inplace_and_compiled_step_equal_eager():
    def run(compiled):
        eg.manual_seed(0)
        model = eg.nn.Sequential(eg.nn.Linear(8, 16), eg.nn.GELU(), eg.nn.Dropout(0.3, inplace=True), eg.nn.Linear(16, 2))
        opt = eg.optim.SGD(model.parameters(), lr=0.1)
        x, y = eg.randn(12, 8), eg.randint(0, 2, (12,))

        def step():
            opt.zero_grad()
            loss = eg.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss

        fn = eg.compile(step) if compiled else step
        losses = [float(fn()) for _ in range(6)]
        return losses, [p.detach().numpy().copy() for p in model.parameters()]

    eager, compiled = run(False), run(True)
    assert eager[0] == compiled[0]
    assert all(np.array_equal(a, b) for a, b in zip(eager[1], compiled[1]))


def test_side_by_side_with_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch is needed for the side-by-side check")
    for lib in (eg, torch):
        h = lib.ones(100) * 2.0
        out = lib.nn.functional.dropout(h, 0.5, True, inplace=True)
        assert out is h and 20 < int((h == 0).sum()) < 80 and set(h.unique().tolist()) == {0.0, 4.0}
