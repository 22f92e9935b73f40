"""The overlap rule (checks.hpp ``check_overlaps``): every output against every input and every other output,
in every binding; an output may be exactly an input only where the kernel works in place. These are the
bindings issue 16 found without the check (aliased buffers gave wrong numbers); the table-driven test
(test_binding_checks.py) applies the rule to every binding."""
import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn.functional as F
from eigengrad import reference as ref
from eigengrad._kernels import _C


def _bn_forward_args(x, **over):
    c = x.shape[1]
    args = dict(input=x, weight=np.ones(c), bias=np.zeros(c), running_mean=np.zeros(c), running_var=np.ones(c),
                out=np.empty_like(x), save_mean=np.empty(c), save_invstd=np.empty(c), training=True, momentum=0.1,
                eps=1e-5)
    args.update(over)
    return args


def test_batch_norm_forward_outputs_may_not_overlap_the_statistics(rng):
    x = rng.standard_normal((4, 3, 5))
    buf = np.empty(x.size + 3)
    with pytest.raises(ValueError, match=r"^save_mean: must not share memory with out"):
        _C.batch_norm_forward(**_bn_forward_args(x, out=buf[:x.size].reshape(x.shape), save_mean=buf[-4:-1]))
    x2 = np.concatenate([rng.standard_normal(3), x.ravel()])
    with pytest.raises(ValueError, match=r"^save_invstd: must not share memory with input"):
        _C.batch_norm_forward(**_bn_forward_args(x2[3:].reshape(x.shape), save_invstd=x2[1:4]))
    w = np.ones(6)
    with pytest.raises(ValueError, match=r"^running_mean: must not share memory with weight"):
        _C.batch_norm_forward(**_bn_forward_args(x, weight=w[:3], running_mean=w[2:5]))


def test_batch_norm_backward_gradients_may_not_overlap_the_saved_statistics(rng):
    x, dy = rng.standard_normal((4, 3, 5)), rng.standard_normal((4, 3, 5))
    stats = np.ones(4)
    with pytest.raises(ValueError, match=r"^grad_weight: must not share memory with save_invstd"):
        _C.batch_norm_backward(dy, x, np.zeros(3), stats[1:], np.ones(3), np.empty_like(x), stats[:3], None, True)


def test_layer_norm_backward_gradients_may_not_overlap_the_saved_statistics(rng):
    x, dy = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    mean = np.zeros(5)
    with pytest.raises(ValueError, match=r"^grad_bias: must not share memory with mean"):
        _C.layer_norm_backward(dy, x, mean[:3], np.ones(3), None, np.empty_like(x), None, mean[1:5])


def test_bce_with_logits_backward_refuses_grad_in_aliasing_grad_out(rng):
    """The kernel writes sigmoid(x) into grad_in before it reads grad_out: in place gave wrong numbers."""
    x, y, g = rng.standard_normal(7), rng.random(7), rng.standard_normal(7)
    expected = ref.bce_with_logits_backward(x, y, None, None, g, 0.5)
    gin = g.copy()
    with pytest.raises(ValueError, match=r"^grad_in: must not share memory with grad_out"):
        _C.bce_with_logits_backward(x, y, None, None, gin, 0.5, gin)
    w = np.ones(8)
    with pytest.raises(ValueError, match=r"^grad_in: must not share memory with weight"):
        _C.bce_with_logits_backward(x, y, w[:7], None, g, 0.5, w[1:])
    out = np.empty(7)
    _C.bce_with_logits_backward(x, y, None, None, g, 0.5, out)
    np.testing.assert_allclose(out, expected, rtol=1e-12)


def test_in_place_where_supported_partial_overlap_never(rng):
    x = rng.standard_normal(9)
    expected = ref.relu_forward(x)
    y = x.copy()
    _C.relu_forward(y, y)  # exactly the input: supported
    np.testing.assert_array_equal(y, expected)
    buf = x.copy()
    with pytest.raises(ValueError, match=r"^out: must be x itself or not overlap it in memory, got a partial"):
        _C.relu_forward(buf[:8], buf[1:])


def test_eval_batch_norm_reads_read_only_running_statistics(rng):
    """Evaluation only reads the running statistics: read-only arrays are fine (they were refused with
    'array is not writeable', naming no argument)."""
    x = rng.standard_normal((4, 3, 5)).astype(np.float32)
    rm, rv = np.full(3, 0.5, np.float32), np.full(3, 2.0, np.float32)
    rm.flags.writeable = rv.flags.writeable = False
    y = F.batch_norm(eg.from_numpy(x), eg.from_numpy(rm), eg.from_numpy(rv), training=False)
    expected = (x - 0.5) / np.sqrt(2.0 + 1e-5)
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-5)
    with pytest.raises(ValueError, match=r"^running_mean: expected a writeable array, got a read-only one"):
        F.batch_norm(eg.from_numpy(x), eg.from_numpy(rm), eg.from_numpy(rv), training=True)
