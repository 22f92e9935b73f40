"""Indices that mix integers with advanced indices (lists, arrays, tensors) follow PyTorch's rule: the integers
(and 0-d integer tensors) select first, then the advanced indices apply to that view. NumPy counts an integer
as an advanced index, so that ``x[0, :, [1, 2]]`` would put the list's dim first: shapes and values differed,
and writes were transposed. A uint8 tensor index is a mask, as PyTorch's legacy idiom."""
import random

import numpy as np
import pytest

import eigengrad as eg


def test_values_and_shapes_as_pytorch():
    x = eg.arange(24).view(2, 3, 4)
    assert x[0, :, [1, 2]].tolist() == [[1, 2], [5, 6], [9, 10]]
    assert x[eg.tensor(0), :, eg.tensor([1, 2])].tolist() == [[1, 2], [5, 6], [9, 10]]
    x4 = eg.arange(120).view(2, 3, 4, 5)
    assert x4[:, [0, 2], :, 0].flatten()[:8].tolist() == [0, 5, 10, 15, 40, 45, 50, 55]
    assert x[0, None, [0, 1]].shape == (1, 2, 4)
    assert x4[:, [0, 1], 0, [1, 2]].shape == (2, 2) and x4[0, [0, 1], :, [1, 2]].shape == (2, 4)
    assert x4[..., 0, [1, 2]].shape == (2, 3, 2) and x4[0, ..., [1, 2]].shape == (3, 4, 2)
    assert x[[0, 1], 0, [1, 2]].tolist() == [1, 14]  # adjacent once the integer is gone


def test_writes_as_pytorch():
    y = eg.zeros(1, 3, 2)
    y[0, 1:, [0, 1]] = eg.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert y[0].tolist() == [[0.0, 0.0], [1.0, 2.0], [3.0, 4.0]]
    y = eg.zeros(2, 3, 4)
    y[0, :, [1, 2]] = eg.arange(6.0).view(3, 2)
    assert y[0].tolist() == [[0.0, 0.0, 1.0, 0.0], [0.0, 2.0, 3.0, 0.0], [0.0, 4.0, 5.0, 0.0]]
    assert y[1].sum().item() == 0.0


def test_gradients_through_mixed_indices():
    rs = np.random.RandomState(0)
    x = eg.tensor(rs.randn(2, 3, 4), requires_grad=True)
    w = eg.tensor(np.arange(6.0).reshape(3, 2))
    b = x * 1.0
    c = b.clone()
    c[1, 1:, [0, 3]] = eg.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=eg.float64) * x[0, 0, 0]
    ((b[0, :, [1, 2]] * w).sum() + (c ** 2).sum()).backward()
    expect = 2 * x.detach().numpy()
    expect[1, 1:, :][:, [0, 3]] = 0.0  # overwritten
    expect[0, :, [1, 2]] += w.numpy().T
    expect[0, 0, 0] += 2 * x.detach().numpy()[0, 0, 0] * 30.0  # d/dx of sum((k * x0)^2), k = 1..4
    np.testing.assert_allclose(x.grad.numpy(), expect, rtol=1e-12)


def test_uint8_index_is_a_mask():
    x = eg.arange(24).view(2, 3, 4)
    with pytest.warns(UserWarning, match="uint8 is now deprecated"):
        picked = x[:, eg.tensor([1, 0, 1], dtype=eg.uint8)]
    assert picked.shape == (2, 2, 4) and picked[0, 1].tolist() == [8, 9, 10, 11]


def test_random_indices_side_by_side_with_torch():
    torch = pytest.importorskip("torch", reason="torch is the reference for the random mixed indices")
    rnd = random.Random(0)
    base = np.arange(120).reshape(2, 3, 4, 5)
    for _ in range(800):
        idx, dim = [], 0
        for _ in range(rnd.randint(1, 4)):
            kind = rnd.choice(["int", "slice", "list", "none", "ellipsis", "t0", "tlist"])
            if kind == "ellipsis":
                if Ellipsis not in idx:
                    idx.append(Ellipsis)
                continue
            if kind == "none":
                idx.append(None)
                continue
            size = base.shape[min(dim, 3)]
            dim += 1
            if kind == "int":
                idx.append(rnd.randrange(-size, size))
            elif kind == "slice":
                idx.append(rnd.choice([slice(None), slice(1, None), slice(None, 1)]))
            else:
                value = rnd.randrange(size) if kind == "t0" else rnd.sample(range(size), min(2, size))
                idx.append(("tensor", value) if kind != "list" else value)

        def key(lib):
            return tuple(lib.tensor(i[1]) if isinstance(i, tuple) else i for i in idx)

        try:
            want = torch.from_numpy(base.copy())[key(torch)]
        except (IndexError, RuntimeError):
            with pytest.raises((IndexError, RuntimeError, ValueError)):
                eg.tensor(base.copy())[key(eg)]
            continue
        got = eg.tensor(base.copy())[key(eg)]
        assert tuple(got.shape) == tuple(want.shape), idx
        np.testing.assert_array_equal(got.numpy(), want.numpy(), err_msg=str(idx))
        value = np.arange(want.numel()).reshape(tuple(want.shape)) + 1000
        a, b = torch.from_numpy(base.copy()), eg.tensor(base.copy())
        a[key(torch)] = torch.tensor(value)
        b[key(eg)] = eg.tensor(value)
        np.testing.assert_array_equal(b.numpy(), a.numpy(), err_msg=str(idx))


def test_a_value_with_leading_ones_fits_a_smaller_target():
    # PyTorch drops the value's leading size-1 dims before broadcasting: the RL rollout idiom
    # values[t] = critic(obs) writes a (1,) output into one element
    v = eg.zeros(3)
    v[0] = eg.ones(1)
    p = eg.nn.Parameter(eg.ones(1))
    v[1] = p * 2
    assert v.tolist() == [1.0, 2.0, 0.0] and v.requires_grad
    v.sum().backward()
    assert p.grad.tolist() == [2.0]
    b = eg.zeros(2, 3)
    b[1, 2] = eg.ones(1, 1)
    b[0] = eg.ones(1, 1, 3) * 5
    b[:, 0] = eg.tensor([[7.0, 8.0]])
    assert b.tolist() == [[7.0, 5.0, 5.0], [8.0, 0.0, 1.0]]
    with pytest.raises(RuntimeError, match="expand"):
        b[0] = eg.ones(2, 3)
