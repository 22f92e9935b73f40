"""eg.compile on the training-step patterns PyTorch scripts use: each replays and equals eager mode bit for
bit, or falls back to eager mode naming why; never a silent difference (a scheduler stepped inside the step,
zero_grad outside it and tensor arithmetic on the loss each once made one of these fail)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn.functional as F
from eigengrad import nn
from compile_cases import step_of

_RNG = np.random.default_rng(0)
DATA = [(eg.from_numpy(_RNG.standard_normal((8, 6)).astype(np.float32)), eg.from_numpy(_RNG.integers(0, 3, 8)))
        for _ in range(12)]


def _model(seed: int = 0):
    eg.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 3))


def _pattern(name: str, m, opt, m2, opt2, ema: list, calls: list):
    """The step of pattern ``name`` (returns a tensor, a tuple of tensors or None)."""
    def step(x, y):
        if name == "two_micro_batches":
            opt.zero_grad()
            for xs, ys in ((x[:4], y[:4]), (x[4:], y[4:])):
                (F.cross_entropy(m(xs), ys) / 2).backward()
            opt.step()
            return None
        if name == "python_counter_accumulation":  # steps every other call, counting in a list the step appends to:
            # a change a replay would not make (before, this compiled only because the two branches happened to
            # have two signatures; a counter whose branch the signature did not tell apart replayed one)
            calls.append(1)
            loss = F.cross_entropy(m(x), y)
            loss.backward()
            if len(calls) % 2 == 0:
                opt.step()
                opt.zero_grad()
            return loss
        if name in ("ema", "ema_module", "manual_weight_decay", "manual_sgd", "weight_clipping"):
            return _in_place(name, m, opt, m2 if name == "ema_module" else ema, x, y)
        opt.zero_grad()
        if name == "random_fills":  # in-place random fills: redrawn at every replay, as in eager mode
            with eg.no_grad():
                x = x + eg.empty_like(x).uniform_(-0.1, 0.1)  # input noise
                x = x * eg.empty_like(x).bernoulli_(0.9)  # feature dropout by hand
            x = x + 0.01 * eg.empty_like(x).normal_() * m[0].bias[:6]  # reparameterised noise (records a graph)
            x = x + 1e-3 * eg.empty_like(x).exponential_(2.0) + 1e-4 * eg.zeros_like(x).random_(0, 5)
        logits = m(x)
        loss = F.cross_entropy(logits, y)
        if name == "index_ops":  # index tensors made in the step; their range checks run at every replay
            cols = eg.randperm(3)
            logits = logits.index_select(1, cols) + eg.take(logits, cols).sum() * 1e-3
            logits = logits.index_fill(1, cols[:1], 0.0) + eg.zeros(8, 3).index_add(0, cols, logits[:3])
            logits = logits + F.fold(F.unfold(logits.reshape(1, 1, 8, 3), 2), (8, 3), 2).reshape(8, 3) * 0.1
            loss = F.cross_entropy(logits, y) + logits.median(1).values.mean() + logits.median() * 0.1
        if name == "elementwise_masks":  # masks and constants made from values and shapes inside the step
            h = logits
            h = F.relu6(h) + F.hardswish(h) + F.hardtanh(h) + F.threshold(h, 0.1, 0.0) + F.hardshrink(h) \
                + F.softshrink(h)
            h = h + eg.where(eg.isfinite(h.log()), h, 0.0) + eg.nan_to_num(h.log(), nan=0.0, posinf=0.0, neginf=0.0)
            h = h * (((h > 0) & (h < 1)) | ~(h > 0.5)).float()
            h = F.pad(h, (1, 1), value=0.5)[:, 1:-1] + F.pad(h.unsqueeze(0), (2, 2), mode="reflect")[0, :, 2:-2]
            h = h.repeat_interleave(2, dim=1)[:, ::2]
            h = h + eg.bucketize(h.detach(), eg.linspace(-1, 1, 5)).float() * 1e-2 \
                + eg.heaviside(h.detach(), eg.zeros_like(h)) * 1e-2 + eg.quantile(h, 0.3, dim=1, keepdim=True) * 0.1
            loss = F.cross_entropy(h, y) + F.hinge_embedding_loss(h[:, 0], (y > 0).float() * 2 - 1)
        if name == "sampling":  # multinomial and bernoulli draws inside the step: anew at every replay
            probs = F.softmax(logits.detach(), 1)
            loss = loss + logits.gather(1, eg.multinomial(probs, 2)).mean() * 0.1 \
                + logits.gather(1, eg.multinomial(probs, 3, replacement=True)).mean() * 0.01 \
                + (logits * eg.bernoulli(probs)).mean() * 0.1 + (logits * eg.bernoulli(probs, 0.3)).mean() * 0.1
        if name == "manual_nll":  # indexing by a tuple holding index tensors (and a slice), with autograd
            logp = F.log_softmax(logits[:, eg.arange(2, -1, -1)], dim=1)  # (columns reversed: same shape)
            loss = -logp[eg.arange(x.shape[0]), y].mean()
        if name == "l1_penalty":
            loss = loss + 1e-3 * sum(p.abs().sum() for p in m.parameters())
        if name == "two_models":
            opt2.zero_grad()
            loss = loss + F.cross_entropy(m2(x), y)
        loss.backward()
        clipped = nn.utils.clip_grad_norm_(m.parameters(), 0.5)
        opt.step()
        if name == "two_models":
            opt2.step()
        if name == "train_eval_inside":
            m.eval()
        if name == "accuracy":
            with eg.no_grad():
                return loss.detach(), (logits.argmax(1) == y).float().mean(), clipped
        return loss

    return step


def _in_place(name, m, opt, ema, x, y):
    """Patterns that change tensors in place outside autograd (each change one plan step)."""
    opt.zero_grad()
    loss = F.cross_entropy(m(x), y)
    loss.backward()
    if name == "manual_weight_decay":
        for p in m.parameters():
            p.grad.add_(p.detach(), alpha=1e-2)
    if name == "manual_sgd":
        with eg.no_grad():
            for p in m.parameters():
                p -= 0.1 * p.grad
        return loss
    opt.step()
    if name == "weight_clipping":  # a WGAN critic's clipping, and a bias reset by hand
        with eg.no_grad():
            for p in m.parameters():
                p.clamp_(-0.05, 0.05)
            m[-1].bias.fill_(0.0)
            m[0].bias.sigmoid_()  # (an in-place method of an out-of-place operation: its primitives are recorded)
            m[0].weight.masked_fill_(m[0].weight.abs() < 1e-3, 0.0)
            m[-1].weight[0, :2] = 0.5  # (item assignment, basic index)
            m[0].weight[m[0].weight.abs() < 1e-2] = 0.0  # (by a mask: pruning)
            m[0].bias[eg.arange(2)] = 0.1  # (by an index tensor)
            m[0].weight[eg.arange(3), eg.arange(3) + 1] = 0.2  # (by a tuple of index tensors)
            m[-1].weight[:, eg.arange(0, 4, 2)] = m[-1].weight[:, eg.arange(1, 4, 2)] * 0.5  # (a slice and a tensor)
    if name == "ema":  # a list of tensors in the closure (buffers of the plan: the step reaches them by name)
        with eg.no_grad():
            for e, p in zip(ema, m.parameters()):
                e.mul_(0.9).add_(p, alpha=0.1)
    if name == "ema_module":  # an averaged copy of the model (a module the step reaches: its buffers are the plan's)
        with eg.no_grad():
            for e, p in zip(ema.parameters(), m.parameters()):
                e.mul_(0.9).add_(p, alpha=0.1)
            for e, b in zip(ema.buffers(), m.buffers()):
                e.copy_(b)
    return loss


def _run(name: str, compiled: bool):
    m, m2 = _model(0), _model(1)
    opt, opt2 = eg.optim.AdamW(m.parameters(), lr=1e-2), eg.optim.SGD(m2.parameters(), lr=0.1, momentum=0.9)
    ema = [p.detach().clone() for p in m.parameters()]
    fn = _pattern(name, m, opt, m2, opt2, ema, [])
    fn = eg.compile(fn) if compiled else fn
    outs = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for x, y in DATA:
            if name == "train_eval_inside":
                m.train()
            r = fn(x, y)
            outs += [t.detach().numpy().copy() for t in (r if isinstance(r, tuple) else (r,)) if t is not None]
    state = [p.detach().numpy().copy() for p in [*m.parameters(), *m2.parameters()]] + [e.numpy().copy() for e in ema]
    state += [b.numpy().copy() for _, b in m.named_buffers()] + [eg.default_generator.get_state().numpy()]
    return outs + state, fn, [str(w.message) for w in caught if "eg.compile" in str(w.message)]


def _replays_as_eager(build, batches, min_replays: int = 4):
    """``build()`` -> (step, tensors to compare), called from the same state for an eager and a compiled run:
    the compiled one replays (no fallback, no warning) and equals eager mode bit for bit (its results, the
    tensors, the default generator's state). Returns the compiled function."""
    results = []
    for compiled in (False, True):
        step, tensors = build()
        fn = eg.compile(step) if compiled else step
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = [fn(*b).detach().numpy().copy() for b in batches]
        out += [t.detach().numpy().copy() for t in tensors] + [eg.default_generator.get_state().numpy()]
        results.append((out, fn, [str(w.message) for w in caught if "eg.compile" in str(w.message)]))
    (want, _, _), (got, fn, caught) = results
    assert fn.fallback_reason is None and caught == [] and fn.replays >= min_replays
    assert len(got) == len(want) and all(a.tobytes() == b.tobytes() for a, b in zip(got, want))
    return fn


COMPILES = ["two_micro_batches", "train_eval_inside", "accuracy", "l1_penalty",
            "two_models", "plain", "ema", "ema_module", "manual_weight_decay", "manual_sgd", "weight_clipping",
            "random_fills", "manual_nll", "index_ops", "elementwise_masks", "sampling"]
FALLS_BACK: dict = {"python_counter_accumulation": "the step changes the Python state calls"}


@pytest.mark.parametrize("name", COMPILES + sorted(FALLS_BACK))
def test_pattern_replays_or_falls_back_never_differs(name):
    want, _, _ = _run(name, False)
    got, fn, caught = _run(name, True)
    assert len(got) == len(want)
    assert all(a.dtype == b.dtype and a.tobytes() == b.tobytes() for a, b in zip(got, want))
    if name in FALLS_BACK:
        assert fn.fallback_reason is not None and FALLS_BACK[name] in fn.fallback_reason and len(caught) == 1
    else:
        assert fn.fallback_reason is None and caught == [] and fn.replays >= 4


class _Trainer:
    """A user's object holding the model and the optimizer (and a counter that changes at every call)."""

    def __init__(self, m, opt):
        self.model, self.opt, self.seen = m, opt, 0


def _loss_of(x, y):  # a helper that names the global model: the step itself does not
    return F.cross_entropy(_HELPER_MODEL[0](x), y)


_HELPER_MODEL: list = []


@pytest.mark.parametrize("how", ["helper_function", "users_object"])
def test_models_one_step_further_than_the_step_are_found(how):
    """The model reached through a helper function's globals or a user's object's attribute is the plan's:
    the step replays (before: its parameters were unknown and the step fell back) and equals eager mode."""
    results = []
    for compiled in (False, True):
        m = _model(0)
        opt = eg.optim.AdamW(m.parameters(), lr=1e-2)
        _HELPER_MODEL[:] = [m]
        trainer = _Trainer(m, opt)

        def helper_step(x, y):
            opt.zero_grad()
            loss = _loss_of(x, y)
            loss.backward()
            opt.step()
            return loss

        def object_step(x, y):
            trainer.opt.zero_grad()
            loss = F.cross_entropy(trainer.model(x), y)
            loss.backward()
            trainer.opt.step()
            return loss

        fn = helper_step if how == "helper_function" else object_step
        fn = eg.compile(fn) if compiled else fn
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            outs = []
            for x, y in DATA:
                outs.append(fn(x, y).detach().numpy().copy())
                trainer.seen += 1
        results.append((outs + [p.detach().numpy().copy() for p in m.parameters()], fn, caught))
    (want, _, _), (got, fn, caught) = results
    assert [str(w.message) for w in caught if "eg.compile" in str(w.message)] == []
    assert fn.replays >= 4 and all(a.tobytes() == b.tobytes() for a, b in zip(got, want))


_CLASS_WEIGHTS = eg.tensor([1.0, 2.0, 0.5])
_PICK = [eg.tensor([2, 0])]


def _weighted_loss(logits, y):  # a helper naming global tensors: class weights, a list holding an index
    return F.cross_entropy(logits, y, weight=_CLASS_WEIGHTS) + logits.index_select(1, _PICK[0]).mean() * 0.1


def test_tensors_a_helper_function_reaches_are_read_live():
    """Tensors named by a helper the step calls (not by the step itself) are the plan's, read at every
    replay (before: 'computed outside the recorded kernels', and the step fell back)."""
    results = []
    for compiled in (False, True):
        _CLASS_WEIGHTS.fill_(1.0)
        m = _model(0)
        step = step_of(m, eg.optim.AdamW(m.parameters(), lr=1e-2), _weighted_loss)
        fn = eg.compile(step) if compiled else step
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            outs = []
            for i, (x, y) in enumerate(DATA):
                _CLASS_WEIGHTS[i % 3] = 0.5 + i * 0.1  # changed in place between calls: read live
                outs.append(fn(x, y).detach().numpy().copy())
        results.append((outs + [p.detach().numpy().copy() for p in m.parameters()], fn, caught))
    (want, _, _), (got, fn, caught) = results
    assert [str(w.message) for w in caught if "eg.compile" in str(w.message)] == []
    assert fn.replays >= 4 and all(a.tobytes() == b.tobytes() for a, b in zip(got, want))


def test_tensors_the_step_reaches_by_name_are_read_live_and_their_replacement_falls_back():
    """A closure tensor (PReLU's weight held outside any module) and a list of them: the plan reads them at
    every call (changed in place between calls: the replay sees it); a list element replaced falls back."""
    def plain():  # (no dropout: the compiled and the eager model here draw from one generator in turn)
        eg.manual_seed(0)
        return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))

    m = plain()
    opt = eg.optim.SGD(m.parameters(), lr=0.1)
    slope = eg.full((1,), 0.25)
    shift = [eg.zeros(3)]

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(F.prelu(m(x), slope) + shift[0], y)
        loss.backward()
        opt.step()
        return loss

    fn = eg.compile(step)
    eager_m = plain()
    eager_opt = eg.optim.SGD(eager_m.parameters(), lr=0.1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i, (x, y) in enumerate(DATA[:8]):
            with eg.no_grad():
                slope.fill_(0.1 * i)  # outside the step, in place
            got = fn(x, y)
            eager_opt.zero_grad()
            want = F.cross_entropy(F.prelu(eager_m(x), slope) + shift[0], y)
            want.backward()
            eager_opt.step()
            assert got.detach().numpy().tobytes() == want.detach().numpy().tobytes()
        assert fn.replays >= 4 and fn.fallback_reason is None
        shift[0] = eg.ones(3)  # a new tensor in the list: the plan would still read the old one
        fn(*DATA[8])
    messages = [str(w.message) for w in caught if "eg.compile" in str(w.message)]
    assert len(messages) == 1 and "a tensor the step reaches by name" in messages[0]


def test_a_check_of_the_values_runs_at_every_replay():
    """gaussian_nll_loss refuses a negative variance, in eager mode by reading the values: a compiled step runs
    that check at every replay too (it once ran only while tracing, and a replay computed with it silently)."""
    eg.manual_seed(0)
    m = nn.Linear(3, 2)
    opt = eg.optim.SGD(m.parameters(), lr=0.01)

    def step(x, y, var):
        opt.zero_grad()
        loss = F.gaussian_nll_loss(m(x), y, var)
        loss.backward()
        opt.step()
        return loss

    fn = eg.compile(step)
    x, y = eg.randn(4, 3), eg.randn(4, 2)
    for _ in range(6):
        fn(x, y, eg.ones(4, 2))
    assert fn.replays >= 2 and fn.fallback_reason is None
    with pytest.raises(ValueError, match="var has negative entry/entries"):
        fn(x, y, -eg.ones(4, 2))


def test_decoder_layers_replay_with_new_draws():
    """A decoder's ConvTranspose2d, Dropout2d's channel draws and SELU's AlphaDropout inside a compiled step:
    replayed natively (each once fell back: the transposed convolution's kernels and the two dropouts' draws
    were not in the recorder's table), bit for bit eager mode's, the generator advanced alike."""
    def build():
        eg.manual_seed(3)
        m = nn.Sequential(nn.Linear(6, 12), nn.Unflatten(1, (3, 2, 2)),
                          nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1), nn.BatchNorm2d(4),
                          nn.ReLU(), nn.Dropout2d(0.3), nn.Flatten(), nn.Linear(64, 16), nn.SELU(),
                          nn.AlphaDropout(0.2), nn.Linear(16, 3))
        return step_of(m, eg.optim.AdamW(m.parameters(), lr=1e-2), nn.CrossEntropyLoss()), list(m.parameters())
    fn = _replays_as_eager(build, DATA)
    names = {op.name for op in next(iter(fn._plans.values())).plan.ops}
    assert {"conv_transpose2d_forward", "conv_transpose2d_backward", "alpha_dropout_forward",
            "feature_dropout_forward"} <= names


@pytest.mark.parametrize("form", ["rows", "offsets"])
def test_embedding_bag_steps_replay_with_each_calls_bags(form):
    """EmbeddingBag in a compiled step: the bags' starts are a plan step (from the rows, or from this call's
    offsets, checked at every replay); before, the step fell back ('computed outside the recorded kernels')."""
    rng = np.random.default_rng(5)
    batches = []
    for _ in range(8):
        if form == "rows":
            batches.append((eg.from_numpy(rng.integers(0, 20, (4, 5))), None, eg.from_numpy(rng.integers(0, 3, 4))))
        else:
            cuts = np.sort(rng.choice(np.arange(1, 12), 3, replace=False))
            batches.append((eg.from_numpy(rng.integers(0, 20, 12)), eg.from_numpy(np.concatenate([[0], cuts])),
                            eg.from_numpy(rng.integers(0, 3, 4))))

    def build():
        eg.manual_seed(1)
        bag, head = nn.EmbeddingBag(20, 6, mode="mean"), nn.Linear(6, 3)
        opt = eg.optim.SGD([*bag.parameters(), *head.parameters()], lr=0.1)

        def step(idx, offsets, y):
            opt.zero_grad()
            loss = F.cross_entropy(head(bag(idx, offsets)), y)
            loss.backward()
            opt.step()
            return loss
        return step, [bag.weight]
    fn = _replays_as_eager(build, batches)
    if form == "offsets":  # a bad offsets array at a replay raises as in eager mode
        with pytest.raises(ValueError, match="offsets"):
            fn(batches[0][0], eg.tensor([0, 5, 3, 8]), batches[0][2])


@pytest.mark.parametrize("mode, padding", [("bilinear", "zeros"), ("nearest", "border")])
def test_spatial_transformer_steps_replay(mode, padding):
    """affine_grid + grid_sample (a spatial transformer) in a compiled step: the base grid, the sampling
    positions' integer parts and masks are plan steps computed from each call's grid (they were NumPy on the
    values: the step fell back); bit for bit eager mode."""
    rng = np.random.default_rng(2)
    data = [(eg.from_numpy(rng.standard_normal((3, 2, 5, 6)).astype(np.float32)), eg.from_numpy(rng.integers(0, 3, 3)))
            for _ in range(6)]

    def build():
        eg.manual_seed(4)
        loc, head = nn.Linear(60, 6), nn.Linear(60, 3)
        opt = eg.optim.SGD([*loc.parameters(), *head.parameters()], lr=0.05)

        def step(x, y):
            opt.zero_grad()
            theta = loc(x.flatten(1)).reshape(-1, 2, 3) * 0.1 + eg.eye(2, 3)
            grid = F.affine_grid(theta, list(x.shape), align_corners=False)
            z = F.grid_sample(x, grid, mode=mode, padding_mode=padding, align_corners=False)
            loss = F.cross_entropy(head(z.flatten(1)), y)
            loss.backward()
            opt.step()
            return loss
        return step, list(loc.parameters())
    _replays_as_eager(build, data, min_replays=2)
