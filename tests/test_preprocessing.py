"""Scalers and whitening fitted on training data only: statistics, reuse on test data, round trips,
constant features, state_dict, errors."""
import numpy as np
import pytest

import eigengrad as eg
from eigengrad.preprocessing import MinMaxScaler, PCAWhitening, StandardScaler


def _data(rng, n=500, d=6):
    mix = rng.standard_normal((d, d))
    return rng.standard_normal((n, d)) @ mix + rng.uniform(-5, 5, d)


def test_standard_scaler_train_stats_and_test_reuse(rng):
    train, test = _data(rng), _data(rng, n=50) + 3.0
    s = StandardScaler().fit(train)
    z = s.transform(train)
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(z.std(axis=0), 1, atol=1e-6)
    # test data uses the train statistics, not its own
    np.testing.assert_allclose(s.transform(test), (test - train.mean(0)) / train.std(0), rtol=1e-12)
    assert not np.allclose(s.transform(test).mean(axis=0), 0, atol=0.1)
    np.testing.assert_allclose(s.inverse_transform(s.transform(test)), test, rtol=1e-12)


def test_standard_scaler_constant_feature_and_images(rng):
    x = rng.standard_normal((40, 3, 4))
    x[:, 1, 2] = 7.0
    z = StandardScaler().fit_transform(x)
    assert z.shape == (40, 3, 4) and np.all(np.isfinite(z))
    np.testing.assert_array_equal(z[:, 1, 2], 0.0)


def test_minmax_scaler_range_constant_and_clip(rng):
    train = _data(rng)
    train[:, 2] = -1.5
    s = MinMaxScaler(feature_range=(-1, 2)).fit(train)
    y = s.transform(train)
    np.testing.assert_allclose(np.delete(y.min(0), 2), -1, atol=1e-12)
    np.testing.assert_allclose(np.delete(y.max(0), 2), 2, atol=1e-12)
    np.testing.assert_array_equal(y[:, 2], -1)  # constant: the low end, no division by zero
    outside = train[:3] * 100
    assert np.abs(MinMaxScaler(clip=True).fit(train).transform(outside)).max() <= 1
    np.testing.assert_allclose(s.inverse_transform(s.transform(outside)), outside, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("zca", [False, True])
def test_whitening_gives_identity_covariance_and_round_trips(rng, zca):
    train = _data(rng, n=1000, d=8)
    w = PCAWhitening(zca=zca).fit(train)
    z = w.transform(train)
    np.testing.assert_allclose(np.cov(z, rowvar=False), np.eye(8), atol=1e-4)
    np.testing.assert_allclose(w.inverse_transform(z), train, atol=1e-5)
    test = _data(rng, n=20, d=8)
    np.testing.assert_allclose(w.inverse_transform(w.transform(test)), test, atol=1e-5)


def test_zca_stays_close_to_the_input_and_pca_truncates(rng):
    train = _data(rng, n=1000, d=8)
    zca = PCAWhitening(zca=True).fit(train)
    cov = np.cov(train, rowvar=False)
    values, vectors = np.linalg.eigh(cov)
    expected = (train - train.mean(0)) @ vectors @ np.diag(1 / np.sqrt(values + 1e-8)) @ vectors.T
    np.testing.assert_allclose(zca.transform(train), expected, atol=1e-8)  # the symmetric whitening matrix
    pca = PCAWhitening(n_components=3).fit(train)
    z = pca.transform(train)
    assert z.shape == (1000, 3)
    np.testing.assert_allclose(np.cov(z, rowvar=False), np.eye(3), atol=1e-4)
    assert np.all(np.diff(pca.explained_variance_) <= 0)


def test_whitening_with_constant_features_is_finite(rng):
    x = rng.standard_normal((100, 5))
    x[:, 0] = 3.0
    z = PCAWhitening().fit_transform(x)
    assert np.all(np.isfinite(z))


def test_tensor_in_tensor_out_and_dtypes(rng):
    x = eg.tensor(rng.standard_normal((30, 4)).astype(np.float32))
    z = StandardScaler().fit_transform(x)
    assert isinstance(z, eg.Tensor) and z.dtype == np.float32
    ints = rng.integers(0, 256, (10, 3, 3), dtype=np.uint8)
    assert StandardScaler().fit_transform(ints).dtype == np.float32


@pytest.mark.parametrize("cls,kwargs", [(StandardScaler, {}), (MinMaxScaler, {"feature_range": (-2, 3)}),
                                        (PCAWhitening, {"zca": True}), (PCAWhitening, {"n_components": 2})])
def test_state_dict_round_trip_through_eg_save(tmp_path, rng, cls, kwargs):
    train, test = _data(rng, n=200, d=4), _data(rng, n=10, d=4)
    a = cls(**kwargs).fit(train)
    eg.save(a.state_dict(), tmp_path / "pre.safetensors")
    b = cls().load_state_dict(eg.load(tmp_path / "pre.safetensors"))
    np.testing.assert_array_equal(b.transform(test), a.transform(test))


def test_errors(rng):
    with pytest.raises(RuntimeError, match="not fitted"):
        StandardScaler().transform(np.zeros((2, 2)))
    s = StandardScaler().fit(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"^X: expected samples of shape \(4,\)"):
        s.transform(np.zeros((3, 5)))
    with pytest.raises(ValueError, match=r"^X: expected an array of shape \(n_samples"):
        StandardScaler().fit(np.zeros(5))
    with pytest.raises(ValueError, match=r"^feature_range: "):
        MinMaxScaler(feature_range=(1, 0))
    with pytest.raises(ValueError, match=r"^n_components: "):
        PCAWhitening(n_components=0)
    with pytest.raises(ValueError, match=r"^n_components: expected at most 2"):
        PCAWhitening(n_components=3).fit(np.zeros((5, 2)))
    with pytest.raises(TypeError, match=r"^X: expected a numeric"):
        StandardScaler().fit(np.array([["a", "b"]]))
