"""Schedulers against PyTorch 2.13 where torch's behaviour is not a number: the warning of a direct
``get_lr()`` call, the state_dict keys of CyclicLR/OneCycleLR (a torch state_dict resumes the same
sequence in eigengrad) and ``SequentialLR.step(epoch)``. torch's outputs are written out literally
(recorded side by side with torch 2.13), so these tests run without torch."""
import warnings

import pytest

import eigengrad as eg
from eigengrad.optim import lr_scheduler as S
from eigengrad.optim.swa_utils import SWALR

GET_LR_WARNING = "To get the last learning rate computed by the scheduler, please use `get_last_lr()`."

# Every scheduler whose get_lr() torch 2.13 makes warn when called directly (eigengrad's extras too).
BUILDERS = {
    "LambdaLR": lambda o: S.LambdaLR(o, lr_lambda=lambda e: 0.9 ** e),
    "MultiplicativeLR": lambda o: S.MultiplicativeLR(o, lr_lambda=lambda e: 0.9),
    "StepLR": lambda o: S.StepLR(o, step_size=2),
    "MultiStepLR": lambda o: S.MultiStepLR(o, milestones=[2]),
    "ConstantLR": lambda o: S.ConstantLR(o),
    "LinearLR": lambda o: S.LinearLR(o),
    "ExponentialLR": lambda o: S.ExponentialLR(o, gamma=0.9),
    "PolynomialLR": lambda o: S.PolynomialLR(o),
    "CosineAnnealingLR": lambda o: S.CosineAnnealingLR(o, T_max=5),
    "CosineAnnealingWarmRestarts": lambda o: S.CosineAnnealingWarmRestarts(o, T_0=3),
    "CyclicLR": lambda o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1),
    "OneCycleLR": lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=10),
    "SWALR": lambda o: SWALR(o, swa_lr=0.05),
    "InverseTimeLR": lambda o: S.InverseTimeLR(o, gamma=0.1),
    "NaturalExpLR": lambda o: S.NaturalExpLR(o, k=0.1),
}


def make_opt(lrs=(0.1, 0.2), adam=False):
    groups = [{"params": [eg.zeros(1, requires_grad=True)], "lr": lr} for lr in lrs]
    return eg.optim.Adam(groups) if adam else eg.optim.SGD(groups, lr=0.1, momentum=0.9)


def get_lr_warnings(record):
    return [w for w in record if str(w.message) == GET_LR_WARNING]


def steps(opt, sched, n, adam=False):
    """The (lrs, momenta) after each of ``n`` steps."""
    out = []
    for _ in range(n):
        opt.step()
        sched.step()
        groups = opt.param_groups
        out.append(([g["lr"] for g in groups], [g["betas"][0] if adam else g["momentum"] for g in groups]))
    return out


# --- 1. get_lr() called directly --------------------------------------------------------------------
@pytest.mark.parametrize("name", list(BUILDERS))
def test_direct_get_lr_warns_as_torch_and_step_does_not(name):
    opt = make_opt()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        sched = BUILDERS[name](opt)
        steps(opt, sched, 3)
        assert get_lr_warnings(record) == []
        sched.get_lr()
    (warning,) = get_lr_warnings(record)
    assert warning.category is UserWarning
    assert warning.filename == __file__  # points at the caller's line, not inside eigengrad
    assert sched._get_lr_called_within_step is False


def test_steps_that_bypass_the_plain_step_do_not_warn():
    """step(epoch) (closed form), CosineAnnealingWarmRestarts.step(epoch), SequentialLR's milestone
    restart and ChainedScheduler all compute the rates inside a step."""
    opt = make_opt()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        S.StepLR(opt, step_size=2).step(5)
        S.CosineAnnealingWarmRestarts(opt, T_0=3).step(4.5)
        seq = S.SequentialLR(opt, [S.ConstantLR(opt, total_iters=2), S.ExponentialLR(opt, 0.9)], milestones=[2])
        steps(opt, seq, 4)
        chain = S.ChainedScheduler([S.ExponentialLR(opt, 0.9), S.StepLR(opt, 2)])
        steps(opt, chain, 3)
    assert get_lr_warnings(record) == []


def test_every_scheduler_that_steps_saves_get_lr_called_within_step_as_torch():
    # torch 2.13: StepLR(SGD(lr=0.1), 2).state_dict() after one step.
    torch_keys = {"step_size", "gamma", "base_lrs", "last_epoch", "_step_count", "_is_initial",
                  "_get_lr_called_within_step", "_last_lr"}
    opt = make_opt((0.1,))
    sched = S.StepLR(opt, 2)
    steps(opt, sched, 1)
    assert set(sched.state_dict()) == torch_keys
    assert sched.state_dict()["_get_lr_called_within_step"] is False


# --- 2. CyclicLR / OneCycleLR state_dict -----------------------------------------------------------
# torch 2.13: CyclicLR(SGD([0.1, 0.2] groups, momentum=0.9), base_lr=[0.01, 0.02], max_lr=0.1,
# step_size_up=3, step_size_down=2, mode="triangular2").state_dict() after 4 steps, and the 8 next steps.
TORCH_CYCLIC_STATE = {
    "max_lrs": [0.1, 0.1], "total_size": 5.0, "step_ratio": 0.6, "mode": "triangular2", "gamma": 1.0,
    "scale_mode": "cycle", "cycle_momentum": True, "use_beta1": False, "base_momentums": [0.8, 0.8],
    "max_momentums": [0.9, 0.9], "base_lrs": [0.01, 0.02], "last_epoch": 4, "_step_count": 5,
    "_is_initial": False, "_get_lr_called_within_step": False, "_last_lr": [0.055, 0.06],
    "_scale_fn_custom": None,
}
TORCH_CYCLIC_NEXT = [
    ([0.01, 0.02], [0.9, 0.9]),
    ([0.025000000000000015, 0.03333333333333335], [0.8833333333333333, 0.8833333333333333]),
    ([0.039999999999999994, 0.04666666666666666], [0.8666666666666667, 0.8666666666666667]),
    ([0.055, 0.06], [0.8500000000000001, 0.8500000000000001]),
    ([0.03250000000000002, 0.04000000000000002], [0.875, 0.875]),
    ([0.01, 0.02], [0.9, 0.9]),
    ([0.01750000000000001, 0.026666666666666672], [0.8916666666666667, 0.8916666666666667]),
    ([0.024999999999999998, 0.03333333333333333], [0.8833333333333334, 0.8833333333333334]),
]
# eigengrad's state_dict of the same point before it kept torch's keys (step sizes instead).
OLD_EG_CYCLIC_STATE = {
    key: value for key, value in TORCH_CYCLIC_STATE.items()
    if key not in ("total_size", "step_ratio", "_get_lr_called_within_step")
} | {"step_size_up": 3.0, "step_size_down": 2.0}

# torch 2.13: OneCycleLR(Adam([0.1, 0.2] groups), max_lr=[0.5, 1.0], total_steps=12, pct_start=0.25,
# three_phase=True).state_dict() after 4 steps, and the 8 next steps (lr, beta1).
TORCH_ONE_CYCLE_STATE = {
    "total_steps": 12,
    "_schedule_phases": [
        {"end_step": 2.0, "start_lr": "initial_lr", "end_lr": "max_lr",
         "start_momentum": "max_momentum", "end_momentum": "base_momentum"},
        {"end_step": 4.0, "start_lr": "max_lr", "end_lr": "initial_lr",
         "start_momentum": "base_momentum", "end_momentum": "max_momentum"},
        {"end_step": 11, "start_lr": "initial_lr", "end_lr": "min_lr",
         "start_momentum": "max_momentum", "end_momentum": "max_momentum"},
    ],
    "_anneal_func_type": "cos", "cycle_momentum": True, "use_beta1": True, "base_lrs": [0.02, 0.04],
    "last_epoch": 4, "_step_count": 5, "_is_initial": False, "_get_lr_called_within_step": False,
    "_last_lr": [0.02, 0.04],
}
TORCH_ONE_CYCLE_NEXT = [
    ([0.019009787710156288, 0.038019575420312576], [0.95, 0.95]),
    ([0.016235274528785478, 0.032470549057570956], [0.95, 0.95]),
    ([0.012225986818629188, 0.024451973637258376], [0.95, 0.95]),
    ([0.007776013181370814, 0.015552026362741628], [0.95, 0.95]),
    ([0.0037667254712145243, 0.0075334509424290486], [0.95, 0.95]),
    ([0.0009922122898437123, 0.0019844245796874246], [0.95, 0.95]),
    ([2e-06, 4e-06], [0.95, 0.95]),
    ([0.000992212289843711, 0.001984424579687422], [0.95, 0.95]),
]
OLD_EG_ONE_CYCLE_STATE = {
    key: value for key, value in TORCH_ONE_CYCLE_STATE.items()
    if key not in ("_schedule_phases", "_get_lr_called_within_step")
} | {"pct_start": 0.25, "three_phase": True}


def cyclic(opt, **kwargs):
    return S.CyclicLR(opt, **{"base_lr": [0.01, 0.02], "max_lr": 0.1, "step_size_up": 3, "step_size_down": 2,
                              "mode": "triangular2", **kwargs})


def one_cycle(opt, **kwargs):
    return S.OneCycleLR(opt, **{"max_lr": [0.5, 1.0], "total_steps": 12, "pct_start": 0.25,
                                "three_phase": True, **kwargs})


def test_cyclic_state_dict_equals_torchs():
    opt = make_opt()
    sched = cyclic(opt)
    steps(opt, sched, 4)
    assert sched.state_dict() == TORCH_CYCLIC_STATE


def test_one_cycle_state_dict_equals_torchs():
    opt = make_opt(adam=True)
    sched = one_cycle(opt)
    steps(opt, sched, 4, adam=True)
    assert sched.state_dict() == TORCH_ONE_CYCLE_STATE


@pytest.mark.parametrize("state", [TORCH_CYCLIC_STATE, OLD_EG_CYCLIC_STATE], ids=["torch", "old_eigengrad"])
def test_cyclic_resumes_torchs_sequence_from_a_state_dict(state):
    # Built with another shape: everything that shapes the cycle must come from the state_dict.
    opt = make_opt()
    sched = cyclic(opt, step_size_up=10, step_size_down=None, mode="triangular")
    saved = dict(state)
    sched.load_state_dict(saved)
    assert saved == state  # the caller's dict is left as it was
    assert steps(opt, sched, 8) == TORCH_CYCLIC_NEXT
    assert set(sched.state_dict()) == set(TORCH_CYCLIC_STATE)


@pytest.mark.parametrize("state", [TORCH_ONE_CYCLE_STATE, OLD_EG_ONE_CYCLE_STATE], ids=["torch", "old_eigengrad"])
def test_one_cycle_resumes_torchs_sequence_from_a_state_dict(state):
    opt = make_opt(adam=True)
    sched = one_cycle(opt, pct_start=0.3, three_phase=False)  # the phases must come from the state_dict
    saved = dict(state)
    sched.load_state_dict(saved)
    assert saved == state
    assert steps(opt, sched, 8, adam=True) == TORCH_ONE_CYCLE_NEXT
    assert set(sched.state_dict()) == set(TORCH_ONE_CYCLE_STATE)


# --- 3. SequentialLR.step(epoch) ------------------------------------------------------------------
def sequential(opt):
    # torch 2.13's docstring example, shortened: lr 0.005 until epoch 3, then 0.05 * 0.9 ** (epoch - 3).
    return S.SequentialLR(opt, [S.ConstantLR(opt, factor=0.1, total_iters=3), S.ExponentialLR(opt, gamma=0.9)],
                          milestones=[3])


@pytest.mark.parametrize("call", [lambda s: s.step(5), lambda s: s.step(epoch=5)], ids=["positional", "keyword"])
def test_sequential_step_with_an_epoch_raises_type_error_as_torch(call):
    opt = make_opt((0.05,))
    sched = sequential(opt)
    opt.step()
    sched.step()
    # torch 2.13: "SequentialLR.step() takes 1 positional argument but 2 were given" / "got an unexpected
    # keyword argument 'epoch'", with the schedule left where it was.
    with pytest.raises(TypeError, match=r"SequentialLR\.step\(\) (takes 1 positional argument but 2 were given"
                                        r"|got an unexpected keyword argument 'epoch')"):
        call(sched)
    assert sched.last_epoch == 1
    assert sched.get_last_lr() == [0.005000000000000001]
    # torch 2.13's lrs for the following steps (epochs 2..5).
    assert [steps(opt, sched, 1)[0][0][0] for _ in range(4)] == [0.005000000000000001, 0.05, 0.045000000000000005,
                                                                0.04050000000000001]


def test_sequential_with_a_plateau_phase_still_takes_its_metric():
    """eigengrad's extension (torch refuses ReduceLROnPlateau in a SequentialLR): step(metrics)."""
    opt = make_opt((0.1,))
    sched = S.SequentialLR(opt, [S.ConstantLR(opt, factor=0.5, total_iters=2), S.ReduceLROnPlateau(opt, patience=0)],
                           milestones=[2])
    lrs = []
    for metric in (1.0, 1.0, 1.0, 0.5):  # the plateau phase starts at 0.1, then a bad step, then better
        opt.step()
        sched.step(metric)
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs == pytest.approx([0.05, 0.1, 0.01, 0.01])


def test_one_cycle_pct_start_must_be_a_float_as_pytorch():
    """torch 2.13: pct_start=1 (an int) raises ValueError 'Expected float between 0 and 1 pct_start, but got 1'."""
    for pct in (0, 1):
        opt = eg.optim.SGD([eg.nn.Parameter(eg.zeros(2))], lr=0.1)
        with pytest.raises(ValueError, match=f"^Expected float between 0 and 1 pct_start, but got {pct}$"):
            eg.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10, pct_start=pct)
    opt = eg.optim.SGD([eg.nn.Parameter(eg.zeros(2))], lr=0.1)
    eg.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10, pct_start=1.0)  # the float is fine


def test_chained_scheduler_step_takes_no_epoch_as_pytorch():
    """torch 2.13: ChainedScheduler.step(3) is a TypeError (it takes no argument); eigengrad's takes a metric
    only when the chain holds a ReduceLROnPlateau."""
    opt = eg.optim.SGD([eg.nn.Parameter(eg.zeros(2))], lr=0.1)
    S = eg.optim.lr_scheduler
    chain = S.ChainedScheduler([S.StepLR(opt, 2), S.ExponentialLR(opt, 0.9)])
    with pytest.raises(TypeError, match="takes 1 positional argument but 2 were given"):
        chain.step(3)
    chain.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.09)
