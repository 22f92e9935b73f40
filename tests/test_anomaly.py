"""Anomaly detection: eg.autograd.detect_anomaly / set_detect_anomaly / is_anomaly_enabled, the forward
and backward NaN/Inf checks naming the op, the input or gradient and the user's line, forward stacks in
the version error, and PyTorch's message for a non-finite gradient side by side."""
import inspect
import warnings

import numpy as np
import pytest

import eigengrad as eg
from eigengrad.autograd import (
    detect_anomaly, is_anomaly_check_nan_enabled, is_anomaly_enabled, set_detect_anomaly,
)

HERE = __file__


@pytest.fixture(autouse=True)
def anomaly_off():
    """Every test starts and ends with anomaly detection off (the mode is process-wide)."""
    set_detect_anomaly(False)
    yield
    set_detect_anomaly(False)


def line_of(marker: str) -> int:
    """The line number in this file of the line holding ``marker``."""
    lines, start = inspect.getsourcelines(inspect.getmodule(line_of))
    return next(i for i, text in enumerate(lines, start=start or 1) if marker in text and "line_of" not in text)


def test_modes_switch_and_restore():
    assert not is_anomaly_enabled() and is_anomaly_check_nan_enabled()
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
        with detect_anomaly(check_nan=False):
            assert is_anomaly_enabled() and not is_anomaly_check_nan_enabled()
    assert not is_anomaly_enabled() and is_anomaly_check_nan_enabled()
    with set_detect_anomaly(True):
        assert is_anomaly_enabled()
    assert not is_anomaly_enabled()
    set_detect_anomaly(True)
    assert is_anomaly_enabled()


def test_log_of_zero_is_named_with_the_users_line():
    """The acceptance check: the error names the log op and the line that called it."""
    x = eg.tensor([0.0, 1.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with detect_anomaly(), pytest.raises(RuntimeError) as info:
            (x.log() * 0).sum().backward()  # marker: log-line
    message = str(info.value)  # log(0) = -inf passes (as PyTorch's); -inf * 0 is the first NaN
    assert message.startswith("Function 'Mul' returned NaN values in its forward output (1 nan among 2 elements")
    assert "Its inputs held no NaN: the NaN starts at Mul." in message
    assert f'File "{HERE}", line {line_of("marker: log-line")}' in message
    assert "(x.log() * 0).sum().backward()" in message
    assert "eigengrad" not in message.split("was:")[1].split("(which called")[0]  # only the user's frames


def test_nan_in_a_forward_output_is_named_where_it_starts():
    x = eg.tensor([-1.0, 4.0], requires_grad=True)
    with set_detect_anomaly(True), pytest.raises(RuntimeError) as info:
        x.sqrt()  # marker: sqrt-nan-line
    message = str(info.value)
    assert "Function 'Sqrt' returned NaN values in its forward output (1 nan among 2 elements" in message
    assert "Its inputs held no NaN: the NaN starts at Sqrt." in message
    assert f"line {line_of('marker: sqrt-nan-line')}" in message


def test_infinities_pass_as_in_pytorch():
    """-inf attention masks, log(0), and sqrt's infinite gradient at 0 are not anomalies (PyTorch's rule)."""
    x = eg.tensor([0.0, 4.0], requires_grad=True)
    with set_detect_anomaly(True):
        scores = eg.zeros(2, 2).masked_fill(eg.eye(2).bool(), float("-inf"))
        assert scores.tolist() == [[float("-inf"), 0.0], [0.0, float("-inf")]]
        assert eg.tensor([0.0]).log().tolist() == [float("-inf")]
        x.sqrt().sum().backward()
    assert x.grad.tolist() == [float("inf"), 0.25]


def test_non_finite_input_is_named_as_coming_from_before_the_op():
    data = np.ones((4, 3), dtype=np.float32)
    data[2, 1] = np.nan
    layer = eg.nn.Linear(3, 2)
    with set_detect_anomaly(True), pytest.raises(RuntimeError, match=r"Function 'Linear' .* Its input 0 already "
                                                                     r"held NaN \(1 nan among 12"):
        layer(eg.from_numpy(data))


def test_backward_gradient_check_names_the_node_and_the_forward_line():
    x = eg.tensor([0.0, 4.0], requires_grad=True)
    with set_detect_anomaly(True):
        y = x.sqrt() * 0  # marker: sqrt-line (finite forward; backward 0 / (2 sqrt(0)) = nan)
        with pytest.raises(RuntimeError) as info:
            y.sum().backward()
    message = str(info.value)
    assert message.startswith("Function 'SqrtBackward0' returned nan values in its 0th output")
    assert "(the gradient for its input 0: 1 nan among 2 elements" in message
    assert f"line {line_of('marker: sqrt-line')}" in message


def test_check_nan_false_records_stacks_but_does_not_check():
    x = eg.tensor([0.0], requires_grad=True)
    with set_detect_anomaly(True, check_nan=False):
        y = x.log()
        assert y.grad_fn.stack is not None
        (y * 0).sum().backward()
    assert np.isnan(x.grad.numpy()[0])


def test_version_error_in_anomaly_mode_shows_the_forward_call():
    x = eg.ones(3, requires_grad=True)
    with set_detect_anomaly(True):
        y = x.exp()  # marker: exp-line
        y.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation") as info:
            y.sum().backward()
    assert f"line {line_of('marker: exp-line')}" in str(info.value)


def test_nodes_recorded_before_the_mode_have_no_stack():
    x = eg.tensor([0.0, 1.0], requires_grad=True)
    y = x.sqrt() * 0
    with set_detect_anomaly(True), pytest.raises(RuntimeError, match="recorded before anomaly detection"):
        y.sum().backward()


def test_outside_the_mode_nothing_is_recorded_or_checked():
    x = eg.tensor([0.0], requires_grad=True)
    y = x.log()
    assert y.grad_fn.stack is None
    (y * 0).sum().backward()
    assert np.isnan(x.grad.numpy()[0])


def test_mode_is_restored_after_an_error():
    with pytest.raises(RuntimeError):
        with set_detect_anomaly(True):
            eg.tensor([-1.0]).sqrt()  # nan in forward, checked also without grad
    assert not is_anomaly_enabled()


def test_backward_message_matches_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch is needed for the side-by-side message check")
    messages = []
    for lib in (eg, torch):
        x = lib.tensor([0.0, 4.0], requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with lib.autograd.set_detect_anomaly(True):
                y = x.sqrt() * 0  # finite forward; backward 0 / (2 sqrt(0)) = nan (PyTorch checks only nan)
                with pytest.raises(RuntimeError) as info:
                    y.sum().backward()
        messages.append(str(info.value).split(" (the gradient")[0].replace("SqrtBackward0", "SqrtBackward"))
    assert messages[0] == messages[1].rstrip(".")
