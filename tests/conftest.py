"""Shared fixtures and tolerances for the test suite."""
import numpy as np
import pytest

import eigengrad

# Kernel vs NumPy reference: float64 to 1e-12 relative, float32 to 1e-5 (the acceptance criteria).
RTOL = {np.float32: 1e-5, np.float64: 1e-12}
DTYPES = [np.float32, np.float64]


def assert_close(actual, expected, dtype, scale=None):
    """Relative agreement at the dtype's tolerance; ``scale`` (default max|expected|, at least 1e-30)
    is what the error is relative to, so values near zero do not demand impossible precision."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"shape {actual.shape} != {expected.shape}"
    if expected.size == 0:
        return
    ref = scale if scale is not None else max(float(np.max(np.abs(expected))), 1e-30)
    err = float(np.max(np.abs(actual.astype(np.float64) - expected.astype(np.float64)))) / ref
    assert err <= RTOL[np.dtype(dtype).type], f"relative error {err:.3e} > {RTOL[np.dtype(dtype).type]:.0e}"


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(params=DTYPES, ids=["float32", "float64"])
def dtype(request):
    return request.param


@pytest.fixture
def restore_threads():
    """Puts eigengrad's thread count back after a test that changes it."""
    before = eigengrad.get_num_threads()
    try:
        yield
    finally:
        eigengrad.set_num_threads(before)
        assert eigengrad.get_num_threads() == before


@pytest.fixture(scope="session")
def fork_server():
    """A fork server (tests/forked.py) with the binding table loaded: each call runs in a child of its own,
    so a crash or a hang is a failed test, not the end of the session."""
    import os

    from forked import ForkServer

    if not hasattr(os, "fork"):
        pytest.skip("the fork server needs os.fork (POSIX)")

    here = os.path.dirname(os.path.abspath(__file__))
    server = ForkServer(preload=["binding_calls", "functional_calls"], paths=[here])
    yield server
    server.close()


def pytest_terminal_summary(terminalreporter):
    """The fuzz suite (tests/fuzz) prints how many calls it made and how they ended."""
    import sys

    fuzzing = sys.modules.get("fuzzing")
    if fuzzing is not None and (fuzzing.STATS["calls"] or fuzzing.STATS["skipped"]):
        terminalreporter.write_line(fuzzing.summary())


@pytest.fixture(autouse=True, scope="session")
def _check_compile_guard():
    """Every compiled call that the guard lets through (compile/guard.py) also asks the full path, and the
    test fails where the two would decide differently."""
    from eigengrad.compile.api import CompiledFunction

    CompiledFunction._check_guard = True
    yield
    CompiledFunction._check_guard = False
