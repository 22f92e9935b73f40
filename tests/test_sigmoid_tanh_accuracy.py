"""float32 sigmoid and tanh within a few ulp of the float64 values everywhere (Eigen's rational fits had 2e-4
relative error in sigmoid's negative tail and clamped tanh to 1 beyond |x| = 7.9), in every kernel that takes
them: the activations, BCE-with-logits' gradient, and the LSTM / GRU / tanh-RNN cells."""
import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn.functional as F


def _ulps(got: np.ndarray, ref: np.ndarray) -> np.ndarray:
    return np.abs(got.astype(np.float64) - ref) / np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)


GRID = np.concatenate([np.linspace(-60, 60, 240_001), np.linspace(-1, 1, 100_001),
                       np.linspace(-1e-3, 1e-3, 10_001)]).astype(np.float32)


def test_sigmoid_within_a_few_ulp():
    ref = 1 / (1 + np.exp(-GRID.astype(np.float64)))
    got = eg.sigmoid(eg.from_numpy(GRID)).numpy()
    normal = ref > 1e-37
    assert _ulps(got[normal], ref[normal]).max() <= 6
    # the negative tail, where the rational fit was 2e-4 off
    tail = (GRID > -12) & (GRID < -4)
    assert (np.abs(got[tail] - ref[tail]) / ref[tail]).max() < 1e-6


def test_tanh_within_four_ulp_and_not_clamped():
    ref = np.tanh(GRID.astype(np.float64))
    got = eg.tanh(eg.from_numpy(GRID)).numpy()
    # (Eigen's fit inside, the exact tail beyond its clamp; the baseline level has no FMA, so each of the fit's
    # multiply-adds rounds twice: 5.4 ulp there on the Zen 5 host)
    bound = 6 if eg.backends.cpu.get_cpu_capability() == "baseline" else 4
    assert _ulps(got, ref).max() <= bound
    t8 = eg.tanh(eg.tensor([8.0, -8.5]))
    np.testing.assert_array_equal(t8.numpy(), np.tanh(np.array([8.0, -8.5])).astype(np.float32))
    assert float(t8[0]) < 1.0 and np.isfinite(eg.atanh(t8).numpy()).all()


def test_tanh_and_sigmoid_special_values():
    x = eg.tensor([0.0, -0.0, np.inf, -np.inf, np.nan, 100.0, -100.0])
    t, s = eg.tanh(x).numpy(), eg.sigmoid(x).numpy()
    np.testing.assert_array_equal(t[[0, 2, 3, 5, 6]], [0.0, 1.0, -1.0, 1.0, -1.0])
    assert np.signbit(t[1]) and np.isnan(t[4])
    np.testing.assert_array_equal(s[[0, 1, 2, 3, 5]], [0.5, 0.5, 1.0, 0.0, 1.0])
    assert np.isnan(s[4]) and 0 <= s[6] < 1e-38


def test_tanh_transform_log_prob_of_a_saturated_action():
    """SAC's stored action tanh(8): its log-probability under a TanhTransform is finite (it was NaN)."""
    D = eg.distributions
    pi = D.TransformedDistribution(D.Normal(eg.tensor([0.0]), eg.tensor([2.0])), [D.transforms.TanhTransform()])
    lp = pi.log_prob(eg.tanh(eg.tensor([8.0])))
    assert np.isfinite(lp.numpy()).all() and abs(float(lp[0]) - 5.0015) < 2e-3


def test_bce_with_logits_gradient_in_the_tail():
    x = eg.tensor([-9.0, -6.0, 5.0], requires_grad=True)
    y = eg.tensor([0.0, 1.0, 1.0])
    F.binary_cross_entropy_with_logits(x, y, reduction="sum").backward()
    ref = 1 / (1 + np.exp(-np.array([-9.0, -6.0, 5.0]))) - np.array([0.0, 1.0, 1.0])
    # sigmoid(x) - y in float32: the tail's small gradients within 1e-6 relative; near y, float32's cancellation
    np.testing.assert_allclose(x.grad.numpy()[:2], ref[:2], rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy()[2], ref[2], rtol=0, atol=1.2e-7)


def _sig(v):
    return 1 / (1 + np.exp(-v))


@pytest.mark.parametrize("cell", ["LSTM", "GRU", "RNN"])
def test_recurrent_cells_gates_in_the_tails(cell):
    """Zero weights, so each gate is its bias's sigmoid or tanh: pre-activations in sigmoid's negative tail and
    beyond tanh's old clamp, one step from h0 = 0, against the float64 formulas of the same float32 biases."""
    m = getattr(eg.nn, cell)(2, 3)
    gates = {"LSTM": 4, "GRU": 3, "RNN": 1}[cell]
    bias = {"LSTM": [-9.0, -6.5, 8.5, -4.25, 9.0, -8.0, -11.0, 7.75, -5.5, 8.25, -10.0, 6.0],
            "GRU": [-9.0, -6.5, 8.5, -9.5, -6.0, -11.0, 8.5, -8.25, 7.75],  # (z small: 1 - z does not cancel)
            "RNN": [8.5, -8.25, 8.0]}[cell]
    bias = np.array(bias, np.float32)
    with eg.no_grad():
        m.weight_ih_l0.zero_()
        m.weight_hh_l0.zero_()
        m.bias_ih_l0.copy_(eg.from_numpy(bias))
        m.bias_hh_l0.zero_()
    h = m(eg.zeros(1, 1, 2))[0].detach().numpy().reshape(3)
    b = bias.astype(np.float64).reshape(gates, 3)
    if cell == "LSTM":
        i, g, o = _sig(b[0]), np.tanh(b[2]), _sig(b[3])
        want = o * np.tanh(i * g)
    elif cell == "GRU":
        r, z = _sig(b[0]), _sig(b[1])
        want = (1 - z) * np.tanh(b[2] + r * 0.0)
    else:  # beyond |x| = 7.9, where tanh was clamped to +-1: within an ulp of the float32 tanh, not 1
        want = np.tanh(b[0])
        assert (np.abs(h) < 1).all()
        np.testing.assert_allclose(h, want, rtol=7e-8)
    np.testing.assert_allclose(h, want, rtol=1e-6)
