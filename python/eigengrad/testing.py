"""``torch.testing.assert_close`` with PyTorch's default tolerances per dtype (float32: rtol 1.3e-6, atol 1e-5;
float64: rtol 1e-7, atol 1e-7; integers and bools exactly), for tensors, arrays, numbers and nested
sequences or dicts of them; the message says how many elements differ and by how much."""
from __future__ import annotations

import numpy as np

_TOLERANCES = {np.dtype(np.float16): (1e-3, 1e-5), np.dtype(np.float32): (1.3e-6, 1e-5),
               np.dtype(np.float64): (1e-7, 1e-7)}


def _array(x) -> np.ndarray:
    data = getattr(x, "_data", None)
    return np.asarray(data if data is not None else x)


def assert_close(actual, expected, *, allow_subclasses: bool = True, rtol=None, atol=None, equal_nan: bool = False,
                 check_device: bool = True, check_dtype: bool = True, check_layout: bool = True,
                 check_stride: bool = False, msg=None) -> None:
    """Raises AssertionError unless ``actual`` and ``expected`` are close: |a - e| <= atol + rtol * |e|."""
    if (rtol is None) != (atol is None):
        missing = "rtol" if rtol is None else "atol"
        raise ValueError(f"Both 'rtol' and 'atol' must be either specified or omitted, but got no {missing}.")
    if isinstance(expected, dict):
        if not isinstance(actual, dict) or actual.keys() != expected.keys():
            raise AssertionError(msg or "The mappings have different keys")
        for k in expected:
            assert_close(actual[k], expected[k], rtol=rtol, atol=atol, equal_nan=equal_nan, check_dtype=check_dtype,
                         msg=msg)
        return
    if isinstance(expected, (list, tuple)) and not isinstance(actual, np.ndarray):
        if len(actual) != len(expected):
            raise AssertionError(msg or f"The length of the sequences mismatch: {len(actual)} != {len(expected)}")
        for a, e in zip(actual, expected):
            assert_close(a, e, rtol=rtol, atol=atol, equal_nan=equal_nan, check_dtype=check_dtype, msg=msg)
        return
    a, e = _array(actual), _array(expected)
    if a.shape != e.shape:
        raise AssertionError(msg or f"The values for attribute 'shape' do not match: {a.shape} != {e.shape}.")
    if check_dtype and hasattr(actual, "_data") and hasattr(expected, "_data") and a.dtype != e.dtype:
        raise AssertionError(msg or f"The values for attribute 'dtype' do not match: {a.dtype} != {e.dtype}.")
    if rtol is None:
        rtol, atol = _TOLERANCES.get(np.result_type(a.dtype, e.dtype), (0.0, 0.0))
    if a.dtype.kind in "biu" and e.dtype.kind in "biu" and rtol == 0 and atol == 0:
        bad = a != e
    else:
        af, ef = a.astype(np.float64), e.astype(np.float64)
        with np.errstate(invalid="ignore"):
            bad = ~(np.abs(af - ef) <= atol + rtol * np.abs(ef))
        bad &= ~(af == ef)  # equal infinities
        if equal_nan:
            bad &= ~(np.isnan(af) & np.isnan(ef))
    if np.any(bad):
        n = int(np.count_nonzero(bad))
        diff = np.abs(a.astype(np.float64) - e.astype(np.float64))[bad]
        raise AssertionError(msg or f"Tensor-likes are not close!\n\nMismatched elements: {n} / {a.size} "
                             f"({100.0 * n / max(a.size, 1):.1f}%)\nGreatest absolute difference: "
                             f"{float(np.nanmax(diff)) if diff.size else float('nan')} (up to {atol} allowed)\n"
                             f"(rtol {rtol})")


def assert_allclose(actual, expected, rtol=None, atol=None, equal_nan: bool = True, msg: str = "") -> None:
    """The deprecated form of assert_close (NaNs equal by default)."""
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan, check_dtype=False, msg=msg or None)
