"""Regression tests for what porting tests/ported/realnvp_moons.py and simclr_ntxent.py found (session
2026-12-06, helper h2)."""
import re

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import distributions as D


# -------------------------------------------------------------- distributions' repr (PyTorch's rule)
def test_distribution_repr_shows_one_element_parameters_by_value():
    assert repr(D.Normal(eg.tensor([0.0]), eg.tensor([1.0]))) == "Normal(loc: tensor([0.]), scale: tensor([1.]))"
    assert repr(D.Normal(0.0, 1.0)) == "Normal(loc: 0.0, scale: 1.0)"
    assert repr(D.Normal(eg.zeros(2), 1.0)) == "Normal(loc: (2,), scale: (2,))"
    assert repr(D.Exponential(eg.tensor([1.0]))) == "Exponential(rate: tensor([1.]))"


def test_validation_error_names_the_bad_value():
    with pytest.raises(ValueError, match=r"distribution Normal\(loc: tensor\(\[0\.\]\), scale: tensor\(\[-1\.\]\)\)"):
        D.Normal(eg.tensor([0.0]), eg.tensor([-1.0]))


def test_multivariate_normal_repr_names_its_matrices():
    m = D.MultivariateNormal(eg.zeros(2), eg.eye(2))
    assert repr(m) == "MultivariateNormal(loc: (2,), covariance_matrix: (2, 2))"
    m.precision_matrix  # computed on first use, then shown (PyTorch's lazy_property)
    assert repr(m) == "MultivariateNormal(loc: (2,), covariance_matrix: (2, 2), precision_matrix: (2, 2))"
    assert repr(D.MultivariateNormal(eg.zeros(2), scale_tril=eg.eye(2))) == \
        "MultivariateNormal(loc: (2,), scale_tril: (2, 2))"
    assert repr(D.MultivariateNormal(eg.zeros(1), precision_matrix=eg.eye(1))) == \
        "MultivariateNormal(loc: tensor([0.]), precision_matrix: tensor([[1.]]))"


def test_distribution_repr_as_torch():
    torch = pytest.importorskip("torch", reason="PyTorch is the reference for the reprs")

    def theirs(r):  # torch.Size([2, 2]) prints as (2, 2) here (eigengrad.Size prints as a tuple)
        return re.sub(r"torch\.Size\(\[([^\]]*)\]\)",
                      lambda m: f"({m.group(1)},)" if "," not in m.group(1) else f"({m.group(1)})", r)

    for make in (lambda lib: lib.distributions.Normal(lib.tensor([0.0]), lib.tensor([2.0])),
                 lambda lib: lib.distributions.Normal(0.0, 1.0),
                 lambda lib: lib.distributions.Normal(lib.zeros(3), lib.ones(3)),
                 lambda lib: lib.distributions.MultivariateNormal(lib.zeros(2), lib.eye(2)),
                 lambda lib: lib.distributions.MultivariateNormal(lib.zeros(2), scale_tril=lib.eye(2)),
                 lambda lib: lib.distributions.MultivariateNormal(lib.zeros(1), precision_matrix=lib.eye(1)),
                 lambda lib: lib.distributions.Independent(lib.distributions.Normal(lib.zeros(1), lib.ones(1)), 1)):
        assert repr(make(eg)) == theirs(repr(make(torch)))


# -------------------------------------------------------------- roll / flip (the augmentations of simclr_ntxent)
def test_roll_needs_one_shift_per_dim():
    x = eg.arange(12.0).view(3, 4)
    for shifts, dims, message in [((1, 2), None, "shifts: 2, dims:0"), (1, (0, 1), "shifts: 1, dims:2"),
                                  ((1, 2), (0,), "shifts: 2, dims:1")]:
        with pytest.raises(RuntimeError, match=r"shifts and dimensions must align\. " + re.escape(message)):
            eg.roll(x, shifts, dims)
    with pytest.raises(RuntimeError, match="`shifts` required"):
        eg.roll(x, (), ())
    # one shift and no dims: the flattened tensor; a NumPy or 0-d tensor shift is an int
    assert eg.roll(x, [1], []).tolist() == [[11.0, 0.0, 1.0, 2.0], [3.0, 4.0, 5.0, 6.0], [7.0, 8.0, 9.0, 10.0]]
    assert eg.roll(x, eg.tensor(1), 1)[0].tolist() == [3.0, 0.0, 1.0, 2.0]
    assert eg.roll(x, (1, -1), (0, 1))[0].tolist() == [9.0, 10.0, 11.0, 8.0]
    with pytest.raises(IndexError, match="Dimension specified as 0 but tensor has no dimensions"):
        eg.roll(eg.tensor(3.0), 1, 0)
    with pytest.raises(TypeError, match="must be tuple of ints, not float"):
        eg.roll(x, 1.5, 1)


def test_flip_refuses_a_repeated_dim():
    x = eg.arange(12.0).view(3, 4)
    for dims, d in [((0, 0), 0), ((0, -2), 0), ((1, -1, 0), 1)]:
        with pytest.raises(RuntimeError, match=f"dim {d} appears multiple times in the list of dims"):
            eg.flip(x, dims)
    assert eg.flip(x, (-1, 0))[0].tolist() == [11.0, 10.0, 9.0, 8.0]
    a = eg.tensor(3.0, requires_grad=True)
    b = eg.flip(a, (0,))
    (2 * b).backward()
    assert b.item() == 3.0 and a.grad.item() == 2.0


def test_roll_flip_errors_as_torch():
    torch = pytest.importorskip("torch", reason="PyTorch is the reference for the error classes and messages")
    for call in (lambda lib, x: lib.roll(x, (1, 2)), lambda lib, x: lib.roll(x, 1, (0, 1)),
                 lambda lib, x: lib.roll(x, (), ()), lambda lib, x: lib.flip(x, (1, -1)),
                 lambda lib, x: lib.roll(x, 1, 2)):
        errors = []
        for lib in (torch, eg):
            with pytest.raises(Exception) as info:
                call(lib, lib.zeros(2, 3))
            errors.append(info.value)
        assert isinstance(errors[1], type(errors[0])) and str(errors[1]) == str(errors[0])
    x = np.arange(12.0).reshape(3, 4)
    for shifts, dims in [(5, None), ([1], []), ((1, -2), (1, 0)), (-7, 1)]:
        assert eg.roll(eg.tensor(x), shifts, dims).tolist() == torch.roll(torch.tensor(x), shifts, dims).tolist()


# -------------------------------------------------------------- masked_fill's mask shape (the NT-Xent mask)
def test_masked_fill_mask_that_does_not_broadcast():
    x = eg.zeros(3, 4)
    with pytest.raises(RuntimeError, match=r"The size of tensor a \(3\) must match the size of tensor b \(4\) at "
                                           r"non-singleton dimension 1"):
        x.masked_fill(eg.ones(3, dtype=eg.bool), 0.0)
    with pytest.raises(RuntimeError, match=r"The size of tensor a \(2\) must match the size of tensor b \(3\) at "
                                           r"non-singleton dimension 0"):
        x.masked_fill(eg.ones(2, 4, dtype=eg.bool), 0.0)
    # out of place the result takes the broadcast shape; in place it must fit the tensor
    assert tuple(x.masked_fill(eg.ones(2, 3, 4, dtype=eg.bool), 1.0).shape) == (2, 3, 4)
    with pytest.raises(RuntimeError, match=r"output with shape \[3, 4\] doesn't match the broadcast shape "
                                           r"\[2, 3, 4\]"):
        x.masked_fill_(eg.ones(2, 3, 4, dtype=eg.bool), 1.0)
    with pytest.raises(RuntimeError, match=r"output with shape \[3, 1\] doesn't match the broadcast shape \[3, 4\]"):
        eg.zeros(3, 1).masked_fill_(eg.ones(3, 4, dtype=eg.bool), 1.0)
    with pytest.raises(RuntimeError, match=r"output with shape \[3, 4\] doesn't match the broadcast shape "
                                           r"\[2, 3, 4\]"):
        x.lerp_(eg.ones(2, 3, 4), 0.5)
    assert x.tolist() == [[0.0] * 4] * 3  # untouched
    y = eg.zeros(3, 4)
    y.masked_fill_(eg.tensor([True, False, False, True]), 5.0)  # a smaller mask broadcasts
    assert y.sum().item() == 30.0


def test_masked_fill_shape_errors_as_torch():
    torch = pytest.importorskip("torch", reason="PyTorch is the reference for the error messages")
    for call in (lambda lib: lib.zeros(3, 4).masked_fill(lib.ones(3, dtype=lib.bool), 0.0),
                 lambda lib: lib.zeros(3, 4).masked_fill_(lib.ones(2, 3, 4, dtype=lib.bool), 0.0),
                 lambda lib: lib.zeros(3, 1).masked_fill_(lib.ones(3, 4, dtype=lib.bool), 0.0),
                 lambda lib: lib.zeros(3, 4).addcmul_(lib.ones(2, 3, 4), lib.ones(4))):
        messages = []
        for lib in (torch, eg):
            with pytest.raises(RuntimeError) as info:
                call(lib)
            messages.append(str(info.value))
        assert messages[1] == messages[0]


# -------------------------------------------------------------- rand / randn dtypes (the augmentation noise)
@pytest.mark.parametrize("fn, kernel", [("rand", "check_uniform_bounds"), ("randn", "normal_kernel_cpu")])
def test_rand_randn_refuse_integer_dtypes_as_torch(fn, kernel):
    for dt, name in [(eg.int64, "Long"), (eg.int32, "Int"), (eg.bool, "Bool")]:
        with pytest.raises(NotImplementedError, match=f'"{kernel}" not implemented for \'{name}\''):
            getattr(eg, fn)(3, dtype=dt)  # rand returned float64 draws here
        with pytest.raises(NotImplementedError, match=f'"{kernel}" not implemented for \'{name}\''):
            getattr(eg, fn + "_like")(eg.zeros(3, dtype=dt))
    with pytest.raises(TypeError, match=f"{fn}_like: draws floating-point numbers"):  # (also a TypeError)
        getattr(eg, fn + "_like")(eg.zeros(3, dtype=eg.int64))


@pytest.mark.parametrize("fn", ["rand", "randn"])
def test_rand_randn_keep_the_float16_and_complex_dtypes(fn):
    for dt in (eg.float16, eg.float32, eg.float64, eg.complex64, eg.complex128):
        assert getattr(eg, fn)(4, dtype=dt).dtype == dt
        assert getattr(eg, fn + "_like")(eg.zeros(2, dtype=dt)).dtype == dt
    eg.manual_seed(0)
    z = getattr(eg, fn)(40000, dtype=eg.complex128).numpy()
    if fn == "randn":  # real and imaginary parts N(0, 1/2): E|z|^2 = 1
        assert abs(np.mean(np.abs(z) ** 2) - 1.0) < 0.03 and abs(np.std(z.real) - np.sqrt(0.5)) < 0.02
    else:  # each part U[0, 1)
        assert 0 <= z.real.min() and z.real.max() < 1 and 0 <= z.imag.min() and z.imag.max() < 1
        assert abs(np.mean(np.abs(z) ** 2) - 2 / 3) < 0.02
    h = getattr(eg, fn)(1000, dtype=eg.float16).numpy()
    assert h.dtype == np.float16 and np.isfinite(h).all()


def test_rand_dtype_errors_as_torch():
    torch = pytest.importorskip("torch", reason="PyTorch is the reference for the error class and message")
    for fn in ("rand", "randn"):
        for dt in ("int64", "bool"):
            with pytest.raises(NotImplementedError) as theirs:
                getattr(torch, fn)(2, dtype=getattr(torch, dt))
            with pytest.raises(NotImplementedError) as ours:
                getattr(eg, fn)(2, dtype=getattr(eg, dt))
            assert str(ours.value) == str(theirs.value)
        for dt in ("float16", "complex64"):
            assert str(getattr(eg, fn)(2, dtype=getattr(eg, dt)).dtype) == str(
                getattr(torch, fn)(2, dtype=getattr(torch, dt)).dtype).replace("torch.", "")


# -------------------------------------------------------------- cosine_similarity's shape error (the UvA NT-Xent)
def test_cosine_similarity_shapes_that_do_not_broadcast():
    with pytest.raises(RuntimeError, match=r"^The size of tensor a \(3\) must match the size of tensor b \(2\) at "
                                           r"non-singleton dimension 0$"):
        eg.nn.functional.cosine_similarity(eg.ones(3, 4), eg.ones(2, 4))
    with pytest.raises(ValueError, match=r"tensor a \(5\) must match the size of tensor b \(4\) at non-singleton "
                                         r"dimension 2"):
        eg.nn.functional.cosine_similarity(eg.ones(2, 3, 5), eg.ones(3, 4), dim=-1)
    z = eg.tensor([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0]])
    sim = eg.nn.functional.cosine_similarity(z[:, None, :], z[None, :, :], dim=-1)  # broadcast (3, 3)
    assert np.allclose(sim.numpy(), [[1, 0, 0.5 ** 0.5], [0, 1, 0.5 ** 0.5], [0.5 ** 0.5, 0.5 ** 0.5, 1]], atol=1e-6)


def test_cosine_similarity_shape_error_as_torch():
    torch = pytest.importorskip("torch", reason="PyTorch is the reference for the error message")
    for a, b in [((3, 4), (2, 4)), ((2, 3, 5), (3, 4)), ((4, 1, 2), (3, 3, 2))]:
        with pytest.raises(RuntimeError) as theirs:
            torch.nn.functional.cosine_similarity(torch.ones(*a), torch.ones(*b), dim=-1)
        with pytest.raises(RuntimeError) as ours:
            eg.nn.functional.cosine_similarity(eg.ones(*a), eg.ones(*b), dim=-1)
        assert str(ours.value) == str(theirs.value)
