"""Generators, seeding and the random tensor factories."""
import numpy as np
import pytest

import eigengrad as eg


def test_manual_seed_makes_draws_repeatable():
    eg.manual_seed(5)
    a = eg.rand(100).numpy()
    b = eg.randn(3, 4).numpy()
    eg.manual_seed(5)
    np.testing.assert_array_equal(eg.rand(100).numpy(), a)
    np.testing.assert_array_equal(eg.randn(3, 4).numpy(), b)


def test_consecutive_draws_differ_and_generators_are_independent():
    g = eg.Generator(1)
    a, b = eg.rand(10, generator=g).numpy(), eg.rand(10, generator=g).numpy()
    assert not np.array_equal(a, b)
    # a draw of 20 equals two draws of 10: the stream is indexed by offset
    np.testing.assert_array_equal(eg.rand(20, generator=eg.Generator(1)).numpy(), np.concatenate([a, b]))
    eg.manual_seed(1)
    eg.rand(5)  # the default generator does not touch g's stream
    np.testing.assert_array_equal(eg.rand(10, generator=eg.Generator(1)).numpy(), a)


def test_state_round_trip():
    g = eg.Generator(9)
    eg.rand(7, generator=g)
    state = g.get_state()  # PyTorch's ByteTensor: seed and offset, 8 little-endian bytes each
    assert isinstance(state, eg.Tensor) and state.dtype == eg.uint8 and state.shape == (16,)
    assert state.numpy().view("<u8").tolist() == [9, 7]
    saved = state.clone()
    x = eg.randn(5, generator=g).numpy()
    g.set_state(saved)
    np.testing.assert_array_equal(eg.randn(5, generator=g).numpy(), x)
    g.set_state(np.array([9, 7], dtype=np.uint64))  # an older checkpoint's [seed, offset]
    np.testing.assert_array_equal(eg.randn(5, generator=g).numpy(), x)
    eg.rand(3)
    default = eg.get_rng_state()
    y = eg.rand(4).numpy()
    eg.set_rng_state(default)
    np.testing.assert_array_equal(eg.rand(4).numpy(), y)
    with pytest.raises(ValueError, match="new_state: expected a uint8 tensor of 16 bytes"):
        g.set_state([1, 2, 3])


def test_distributions_and_dtypes():
    g = eg.Generator(0)
    u = eg.rand(200_000, generator=g, dtype=eg.float64).numpy()
    assert u.dtype == np.float64 and 0 <= u.min() and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.005 and abs(u.var() - 1 / 12) < 0.002
    n = eg.randn(200_000, generator=g).numpy()
    assert n.dtype == np.float32 and abs(n.mean()) < 0.01 and abs(n.std() - 1) < 0.01
    p = eg.randperm(1000, generator=g).numpy()
    np.testing.assert_array_equal(np.sort(p), np.arange(1000))
    assert p.dtype == np.int64 and not np.array_equal(p, np.arange(1000))
    assert eg.randperm(0).shape == (0,) and eg.randperm(1).tolist() == [0]


def test_bad_seeds_and_generators():
    with pytest.raises(TypeError, match="seed"):
        eg.manual_seed(1.5)
    with pytest.raises(TypeError, match="generator"):
        eg.rand(3, generator=np.random.default_rng())
    with pytest.raises(ValueError, match="n"):
        eg.randperm(-1)
    assert eg.Generator().manual_seed(-1).initial_seed() == 2**64 - 1  # taken modulo 2**64, as PyTorch


@pytest.mark.parametrize("seed", [2**64, 2**70, -(2**63) - 1, -(2**100)])
def test_seed_outside_pytorchs_range_raises(seed):
    """manual_seed(2**70) used to give the stream of manual_seed(0) (taken modulo 2**64); PyTorch raises."""
    match = r"^seed: expected an int in \[-0x8000_0000_0000_0000, 0xffff_ffff_ffff_ffff\], got " + str(seed)
    with pytest.raises(ValueError, match=match):
        eg.manual_seed(seed)
    with pytest.raises(ValueError, match=match):
        eg.Generator().manual_seed(seed)
    with pytest.raises(ValueError, match=match):
        eg.Generator(seed)


@pytest.mark.parametrize("seed,stored", [(0, 0), (2**64 - 1, 2**64 - 1), (-1, 2**64 - 1), (-(2**63), 2**63),
                                         (-5, 2**64 - 5), (np.int64(-3), 2**64 - 3), (np.uint64(2**64 - 2), 2**64 - 2)])
def test_seed_range_ends_and_negatives_as_pytorch(seed, stored):
    assert eg.Generator().manual_seed(seed).initial_seed() == stored
    assert eg.manual_seed(seed).initial_seed() == stored


def test_seed_range_matches_torch():
    torch = pytest.importorskip("torch", reason="PyTorch is needed for the side-by-side check")
    for seed in (2**64, -(2**63) - 1):
        with pytest.raises(ValueError):
            torch.manual_seed(seed)
        with pytest.raises(ValueError):
            eg.manual_seed(seed)
    for seed in (-1, -(2**63), 2**64 - 1, 12345):
        assert eg.Generator().manual_seed(seed).initial_seed() == torch.Generator().manual_seed(seed).initial_seed()
