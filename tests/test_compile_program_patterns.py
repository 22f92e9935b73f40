"""eg.compile on patterns of real training scripts that a port of fifteen PyTorch programs and a sweep of 562
steps side by side found mishandled: each runs eagerly and compiled from the same seed and must give the same
bits, replaying (not falling back), with no warning."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn

F = nn.functional


def _side_by_side(build, calls: int = 6, args=None, fallback: str | None = None):
    """The compiled function, after checking that its results equal eager mode's bit for bit and that it warned
    not at all (or, with ``fallback``, once, naming it): ``build()`` gives (step, state); the step runs ``calls``
    times on ``args(i)``; results are each call's outputs and then the state's arrays."""
    runs = []
    for compiled in (False, True):
        eg.manual_seed(0)
        step, state = build()
        fn = eg.compile(step) if compiled else step
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            outs = [fn(*args(i)).detach().numpy().copy() for i in range(calls)]
        runs.append((outs + [t.detach().numpy().copy() for t in state()], fn,
                     [str(w.message) for w in caught if "eg.compile" in str(w.message)]))
    (want, _, _), (got, fn, messages) = runs
    if fallback is None:
        assert messages == [], messages
    else:
        assert len(messages) == 1 and fallback in messages[0], messages
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    return fn


def _linear_step(model, opt):
    def step(x, y):
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


step = None  # a global of the name the step's `opt.step()` calls (a script's `for step in range(...)`)


def test_a_global_named_like_an_attribute_the_step_calls_is_not_read():
    """The step reads globals, not attribute names: ``opt.step()`` beside a loop's ``for step in range(...)``
    looked like a name rebound at every call (traced again each time, then eager after 8 calls)."""
    global step
    x, y = eg.randn(8, 4), eg.randn(8, 1)

    def build():
        model = nn.Linear(4, 1)
        opt = eg.optim.SGD(model.parameters(), lr=0.1)
        return _linear_step(model, opt), lambda: list(model.parameters())

    def args(i):
        global step
        step = i  # rebound at every call, as the loop variable is
        return x, y

    fn = _side_by_side(build, calls=12, args=args)
    assert fn.replays >= 8


def test_a_buffer_made_by_expand():
    """Hugging Face's BERT registers ``position_ids`` as ``arange(n).expand((1, -1))``: a read-only array,
    which the replay check's snapshot tried to restore (ValueError: assignment destination is read-only)."""
    class Embed(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(8, 4)
            self.register_buffer("position_ids", eg.arange(8).expand((1, -1)), persistent=False)

        def forward(self, x):
            return self.emb(self.position_ids[:, :x.shape[1]]) + x

    x = eg.randn(2, 5, 4)

    def build():
        m = Embed()
        opt = eg.optim.Adam(m.parameters(), lr=0.1)

        def step(x):
            opt.zero_grad()
            loss = m(x).pow(2).mean()
            loss.backward()
            opt.step()
            return loss
        return step, lambda: list(m.parameters())

    fn = _side_by_side(build, args=lambda i: (x,))
    assert fn.replays >= 2


def test_vector_to_parameters_inside_the_step():
    """A SAM step moves the weights with vector_to_parameters and back: it wrote the parameters' arrays with
    NumPy, which the plan did not repeat (the replay check failed and the step ran eagerly)."""
    from eigengrad.nn.utils import parameters_to_vector, vector_to_parameters

    x, y = eg.randn(16, 4), eg.randn(16, 1)

    def build():
        model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
        opt = eg.optim.SGD(model.parameters(), lr=0.05)
        params = list(model.parameters())

        def sam_step(x, y):
            opt.zero_grad()
            F.mse_loss(model(x), y).backward()
            g = parameters_to_vector([p.grad for p in params])
            w = parameters_to_vector(params)
            with eg.no_grad():
                vector_to_parameters(w + 0.05 * g / g.norm(), params)
            opt.zero_grad()
            loss = F.mse_loss(model(x), y)
            loss.backward()
            with eg.no_grad():
                vector_to_parameters(w, params)
            opt.step()
            return loss
        return sam_step, lambda: params

    fn = _side_by_side(build, args=lambda i: (x, y))
    assert fn.replays >= 2


# Python values read from tensor values: each was frozen by the trace (later calls used the traced count or
# bool, silently); each must now fall back once with eager's numbers.
VALUE_READS = {
    "where(cond)": lambda h, y: h * eg.where(y > 0)[0].numel(),
    "argwhere": lambda h, y: h * eg.argwhere(y > 0).shape[0],
    "nonzero": lambda h, y: h * len((y > 0).nonzero()),
    "dlpack": lambda h, y: h * float(np.from_dlpack(y).sum()),
    "equal": lambda h, y: h * (2.0 if eg.equal(y, eg.ones_like(y)) else 1.0),
    "allclose": lambda h, y: h * (2.0 if eg.allclose(y, eg.ones_like(y)) else 1.0),
    "is_nonzero": lambda h, y: h * (2.0 if eg.is_nonzero(y[1] - 1) else 1.0),
    "bincount": lambda h, y: h * eg.bincount((y + 1).long()).shape[0],
    "unique": lambda h, y: h / eg.unique(y).numel(),
    "unique_consecutive": lambda h, y: h * eg.unique_consecutive(y).shape[0],
    "repeat_interleave": lambda h, y: h * eg.repeat_interleave((y + 1).long()).shape[0],
    "histc": lambda h, y: h * eg.histc(y, bins=4)[0],
}


@pytest.mark.parametrize("kind", sorted(VALUE_READS))
def test_a_python_value_read_from_tensor_values_falls_back(kind):
    r = np.random.RandomState(0)
    inputs = [(eg.from_numpy(r.randn(5, 4).astype(np.float32)),
               eg.tensor([1.0, -1.0, 1.0, -1.0, -1.0] if i < 5 else [1.0] * 5),  # then other values
               eg.from_numpy(r.randn(5, 3).astype(np.float32))) for i in range(8)]

    def build():
        m = nn.Linear(4, 3)
        opt = eg.optim.SGD(m.parameters(), 0.1)

        def step(x, y, t):
            opt.zero_grad()
            loss = F.mse_loss(VALUE_READS[kind](m(x), y), t)
            loss.backward()
            opt.step()
            return loss
        return step, lambda: list(m.parameters())

    _side_by_side(build, calls=8, args=lambda i: inputs[i], fallback="inside the step")


def test_the_default_dtype_is_part_of_the_signature():
    """set_default_dtype(float64) between calls: the factories inside the step make float64 from then on (the
    replays had kept making float32)."""
    def run(compiled):
        eg.manual_seed(0)
        m = nn.Linear(3, 1).double()
        opt = eg.optim.SGD(m.parameters(), lr=0.1)

        def step(x):
            opt.zero_grad()
            offset = eg.linspace(0.1, 0.7, 3)  # the default dtype's
            loss = (m(x.double() + offset) ** 2).mean() + offset.sum()
            loss.backward()
            opt.step()
            return loss, offset

        fn = eg.compile(step) if compiled else step
        out = []
        try:
            for i in range(8):
                if i == 5:
                    eg.set_default_dtype(eg.float64)
                loss, offset = fn(eg.ones(2, 3))
                out.append((loss.item(), offset.dtype))
        finally:
            eg.set_default_dtype(eg.float32)
        return out

    want = run(False)
    assert run(True) == want and want[-1][1] == eg.float64


@pytest.mark.parametrize("bad", ["categorical_value", "normal_scale"])
def test_a_distributions_value_checks_fall_back(bad):
    """validate_args (on by default) checks values in Python: a replay skipped them, so a bad value gave
    another exception class or a NaN instead of eager's ValueError."""
    def run(compiled):
        eg.manual_seed(0)
        m = nn.Linear(4, 5)
        opt = eg.optim.SGD(m.parameters(), lr=0.1)

        def step(x, y):
            opt.zero_grad()
            out = m(x)
            if bad == "categorical_value":
                loss = -eg.distributions.Categorical(logits=out).log_prob(y).mean()
            else:
                loss = -eg.distributions.Normal(out[:, 0], out[:, 1].exp() * y[0]).log_prob(out[:, 2]).mean()
            loss.backward()
            opt.step()
            return loss

        fn = eg.compile(step) if compiled else step
        losses, raised = [], None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for i in range(7):
                y = eg.tensor([1, 2, 3, 4] if i < 5 else [-1, 2, 3, 7])
                try:
                    losses.append(fn(eg.randn(4, 4), y).item())
                except ValueError as e:
                    raised = str(e)[:40]
                    break
        return losses, raised, [str(w.message) for w in caught if "eg.compile" in str(w.message)]

    want, want_raised, _ = run(False)
    got, got_raised, messages = run(True)
    assert got == want and got_raised == want_raised is not None
    assert len(messages) == 1 and "validate_args" in messages[0], messages


def test_a_hyperparameter_read_by_the_steps_own_code_falls_back():
    """A hand-written weight decay reads the scheduled lr from param_groups inside the step: the trace froze
    it, and once the scheduler changed it the replays applied the old one silently."""
    def build():
        m = nn.Linear(4, 2)
        opt = eg.optim.SGD(m.parameters(), lr=0.1)
        sched = eg.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)

        def step(x, y):
            opt.zero_grad()
            loss = F.mse_loss(m(x), y)
            loss.backward()
            lr = opt.param_groups[0]["lr"]
            with eg.no_grad():
                for p in m.parameters():
                    p.mul_(1 - lr * 0.01)
            opt.step()
            sched.step()
            return loss
        return step, lambda: list(m.parameters())

    _side_by_side(build, calls=8, args=lambda i: (eg.ones(3, 4) * i, eg.zeros(3, 2)),
                  fallback="param_groups[...]['lr']")


def test_a_scheduler_inside_the_step_still_compiles():
    def build():
        m = nn.Linear(4, 2)
        opt = eg.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
        sched = eg.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)

        def step(x, y):
            opt.zero_grad()
            loss = F.mse_loss(m(x), y)
            loss.backward()
            for group in opt.param_groups:  # (the params only: read live by eigengrad)
                nn.utils.clip_grad_norm_(group["params"], 1.0)
            opt.step()
            sched.step()
            return loss
        return step, lambda: list(m.parameters())

    fn = _side_by_side(build, calls=8, args=lambda i: (eg.ones(3, 4) * i, eg.zeros(3, 2)))
    assert fn.replays >= 4


@pytest.mark.parametrize("form", ["detach_clone", "param_clone", "grad_clone", "target_clone"])
def test_a_clone_without_grad_is_recorded(form):
    """``out.detach().clone()``, ``p.detach().clone()``, ``p.grad.clone()``: NumPy's copy outside the recorded
    kernels, so each step fell back ("computed outside the recorded kernels")."""
    x, y = eg.randn(5, 4), eg.randn(5, 3)

    def build():
        m = nn.Linear(4, 3)
        opt = eg.optim.Adam(m.parameters(), 0.1)

        def step(x, y):
            opt.zero_grad()
            out = m(x)
            loss = F.mse_loss(out, y)
            if form == "target_clone":
                loss = loss + F.mse_loss(out * 2, out.detach().clone())
            loss.backward()
            kept = {"detach_clone": lambda: out.detach().clone(), "param_clone": lambda: m.bias.detach().clone(),
                    "grad_clone": lambda: m.bias.grad.clone(), "target_clone": lambda: loss.detach().clone()}[form]()
            opt.step()
            return kept
        return step, lambda: list(m.parameters())

    fn = _side_by_side(build, args=lambda i: (x * (i + 1), y))
    assert fn.replays >= 2


def _train(model, opt, x, y):
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss


class _Trainer:
    def __init__(self, model, opt):
        self.model, self.opt = model, opt

    def __call__(self, x, y):
        return _train(self.model, self.opt, x, y)


@pytest.mark.parametrize("form", ["partial", "callable_object", "default_arguments"])
def test_a_step_reached_through_a_partial_a_callable_object_or_defaults(form):
    """The model and optimizer bound by functools.partial, held by a callable object, or given as default
    arguments: not found, so the trace saw the parameters as unknown arrays and fell back."""
    import functools

    x, y = eg.randn(8, 12), eg.randint(0, 5, (8,))

    def build():
        m = nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 5))
        opt = eg.optim.SGD(m.parameters(), 0.1, momentum=0.9)

        def with_defaults(x, y, model=m, o=opt):
            return _train(model, o, x, y)
        step = {"partial": functools.partial(_train, m, opt), "callable_object": _Trainer(m, opt),
                "default_arguments": with_defaults}[form]
        return step, lambda: list(m.parameters())

    fn = _side_by_side(build, args=lambda i: (x * (i + 1), y))
    assert fn.replays >= 2


@pytest.mark.parametrize("form", ["bce_weight", "scatter_number", "scatter_number_inplace"])
def test_a_weighted_bce_and_a_scatter_of_a_number_compile(form):
    """BCELoss(weight=...) and the one-hot idiom ``zeros.scatter_(1, y[:, None], 1.0)`` made NumPy arrays
    outside the recorded kernels, so both fell back."""
    x, y = eg.randn(6, 4), eg.randint(0, 3, (6,))

    def build():
        m = nn.Linear(4, 3)
        opt = eg.optim.Adam(m.parameters(), 0.05)
        weight = eg.tensor([1.0, 2.0, 0.5])

        def step(x, y):
            opt.zero_grad()
            out = m(x)
            if form == "bce_weight":
                loss = F.binary_cross_entropy(out.sigmoid(), F.one_hot(y, 3).float(), weight=weight)
            else:
                zeros = eg.zeros(out.shape[0], 3)
                onehot = zeros.scatter_(1, y[:, None], 1.0) if form.endswith("inplace") else \
                    zeros.scatter(1, y[:, None], 1.0)
                loss = F.mse_loss(out, onehot)
            loss.backward()
            opt.step()
            return loss
        return step, lambda: list(m.parameters())

    fn = _side_by_side(build, args=lambda i: (x * (i + 1), y))
    assert fn.replays >= 2


def test_rrelu_in_training_compiles():
    """RReLU's random slopes are a uniform fill kernel: it was not in the plan's kernels, so the step fell back."""
    x, y = eg.randn(6, 4), eg.randn(6, 3)

    def build():
        m = nn.Sequential(nn.Linear(4, 8), nn.RReLU(), nn.Linear(8, 3))
        opt = eg.optim.SGD(m.parameters(), 0.05)
        return _linear_step(m, opt), lambda: list(m.parameters())

    fn = _side_by_side(build, args=lambda i: (x * (i + 1), y))
    assert fn.replays >= 2


def test_param_groups_stay_dicts_through_copies():
    import copy
    import pickle

    opt = eg.optim.AdamW(nn.Linear(2, 2).parameters(), lr=0.1)
    for g in (opt.param_groups[0], copy.deepcopy(opt).param_groups[0], pickle.loads(pickle.dumps(opt)).param_groups[0]):
        assert isinstance(g, dict) and g["lr"] == 0.1
    assert type(opt.state_dict()["param_groups"][0]) is dict


_IDX = eg.tensor([0, 1, 0, 2, 2, 1])

# Steps whose index, mask or draw NumPy had computed outside the recorded kernels (so they fell back): each is a
# numpy_call now, made again at every replay. The input changes from call to call, so a frozen index or draw
# would show as different bits.
_ARRAY_STEPS = {
    "index_put_accumulate": lambda y: y.index_put((_IDX[:3],), eg.ones(3, 4), accumulate=True),
    "index_put_accumulate_number": lambda y: y.index_put((_IDX[:3], _IDX[1:4]), eg.tensor(2.0), accumulate=True),
    "index_put_mask": lambda y: y.index_put((y > 0,), eg.tensor(0.5)),
    "put_accumulate": lambda y: y.put(_IDX, eg.ones(6), accumulate=True),
    "index_copy": lambda y: eg.zeros(6, 4).index_copy(0, _IDX.flip(0) + 3 * (_IDX == 2), y),
    "fill_diagonal_": lambda y: (y * 1).fill_diagonal_(0.5),
    "literal_index": lambda y: y[eg.tensor([0, 2, 5])] * eg.tensor(0.5) + eg.as_tensor([1.0, 2.0, 3.0, 4.0]),
    "cummax": lambda y: eg.cummax(y, 1).values + eg.cummin(y, 0)[0],
    "gumbel_softmax": lambda y: F.gumbel_softmax(y, tau=0.5),
    "gumbel_softmax_hard": lambda y: F.gumbel_softmax(y, tau=0.5, hard=True) * y,
    "normal": lambda y: y + eg.normal(0.0, 0.1, size=(6, 4)) + eg.normal(y.detach(), 0.1),
    "windows": lambda y: y * eg.hann_window(4) + y * eg.kaiser_window(4, beta=5.0) + eg.bartlett_window(4),
    "logspace_scalar_tensor": lambda y: y * eg.logspace(-1, 1, 4) + eg.scalar_tensor(0.5),
    "triangle_indices": lambda y: y[:4, :4][tuple(eg.tril_indices(4, 4))].sum() + y[tuple(eg.triu_indices(4, 4, 1))],
    "combinations": lambda y: eg.combinations(y[0], 2).prod(1),
    "distribution_numbers": lambda y: -eg.distributions.Normal(y, 1.0, validate_args=False).log_prob(eg.zeros(6, 4))
    + eg.distributions.Normal(0.0, 1.0, validate_args=False).log_prob(y),
}


@pytest.mark.parametrize("name", sorted(_ARRAY_STEPS))
def test_index_writes_literals_and_draws_compile(name):
    x = eg.randn(6, 5)

    def build():
        m = nn.Linear(5, 4)
        opt = eg.optim.SGD(m.parameters(), 0.05)

        def step(x):
            opt.zero_grad()
            loss = _ARRAY_STEPS[name](m(x)).pow(2).sum()
            loss.backward()
            opt.step()
            return loss
        return step, lambda: list(m.parameters()) + [eg.random.get_rng_state()]

    fn = _side_by_side(build, calls=7, args=lambda i: (x * (i + 1) - i,))
    assert fn.replays >= 3
