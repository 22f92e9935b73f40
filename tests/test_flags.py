"""The global switches PyTorch scripts set (matmul precision, deterministic algorithms, inter-op threads,
print options, backends.openmp): they round-trip as in PyTorch and change nothing they should not."""
import numpy as np
import pytest

import eigengrad as eg
from eigengrad import _flags, _printing


@pytest.fixture(autouse=True)
def restore():
    flags, printing = dict(_flags._state), dict(_printing._options)
    yield
    _flags._state.update(flags)
    _printing._options.update(printing)


def test_matmul_precision_round_trips_and_changes_no_number():
    a = eg.tensor(np.random.default_rng(0).standard_normal((5, 7)).astype(np.float32))
    before = (a @ a.T).numpy()
    assert eg.get_float32_matmul_precision() == "highest"
    for p in ("high", "medium", "highest"):
        eg.set_float32_matmul_precision(p)
        assert eg.get_float32_matmul_precision() == p
        np.testing.assert_array_equal((a @ a.T).numpy(), before)
    with pytest.raises(ValueError, match="^precision: expected one of 'highest', 'high', 'medium', got 'low'"):
        eg.set_float32_matmul_precision("low")


def test_deterministic_algorithms_round_trip():
    assert not eg.are_deterministic_algorithms_enabled()
    eg.use_deterministic_algorithms(True, warn_only=True)
    assert eg.are_deterministic_algorithms_enabled() and eg.is_deterministic_algorithms_warn_only_enabled()
    eg.use_deterministic_algorithms(False)
    assert not eg.are_deterministic_algorithms_enabled() and not eg.is_deterministic_algorithms_warn_only_enabled()
    with pytest.raises(TypeError, match="^mode: expected a bool, got int"):
        eg.use_deterministic_algorithms(1)


def test_interop_threads_round_trip():
    eg.set_num_interop_threads(3)
    assert eg.get_num_interop_threads() == 3
    with pytest.raises(ValueError, match="^n: expected a positive number of threads, got 0"):
        eg.set_num_interop_threads(0)
    with pytest.raises(TypeError, match="^n: expected a positive int"):
        eg.set_num_interop_threads(2.0)


def test_openmp_backend_reports_the_build():
    assert eg.backends.openmp.is_available() == eg.get_config()["openmp"]


def test_set_printoptions_as_torch():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: print options are compared with it")
    values = [1.0 / 3, 2.5, -1234.5678]
    default = repr(eg.tensor(values))
    try:
        for opts in [dict(precision=2), dict(precision=6), dict(profile="short"), dict(sci_mode=True, precision=3),
                     dict(sci_mode=False), dict(linewidth=30), dict(threshold=2, edgeitems=1)]:
            torch.set_printoptions(**opts)
            eg.set_printoptions(**opts)
            for t in (values, [[1e-6, 3.0], [2.0, 5.0]], list(range(12))):
                theirs = repr(torch.tensor(t)).replace("torch.", "eigengrad.")
                assert repr(eg.tensor(t)) == theirs, (opts, repr(eg.tensor(t)), theirs)
        eg.set_printoptions(threshold=5, edgeitems=2)
        assert "..." in repr(eg.arange(100))
        eg.set_printoptions(profile="full")
        assert "..." not in repr(eg.arange(5000))
    finally:
        torch.set_printoptions(profile="default", sci_mode=None)
        eg.set_printoptions(profile="default", sci_mode=None)
    assert repr(eg.tensor(values)) == default == "tensor([ 3.3333e-01,  2.5000e+00, -1.2346e+03])"
    with pytest.raises(ValueError, match="^profile: expected one of"):
        eg.set_printoptions(profile="long")
    with pytest.raises(ValueError, match="^precision: expected an int >= 0, got -1"):
        eg.set_printoptions(precision=-1)
