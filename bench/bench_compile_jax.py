"""The MLP training step of bench_compile.py in JAX (jit) + Optax: the issue-19 step with no Flax.

MLP 784-512-256-10; after each hidden Linear, BatchNorm (batch statistics in training, running
statistics updated with momentum 0.1 and the unbiased variance, as PyTorch), ReLU and inverted dropout
(p = 0.2, masks from ``jax.random``); cross-entropy with label smoothing 0.1 (PyTorch's definition:
``(1 - e) * nll + e * mean_c(-log p_c)``); ``optax.adamw`` (lr 1e-3, betas (0.9, 0.999), eps 1e-8,
weight decay 0.01 on every parameter: PyTorch's and eigengrad's AdamW defaults). The whole step (forward,
backward, update, running statistics, the next key) is one ``jax.jit`` function with its buffers
donated.

JAX is optional: :func:`load` imports it lazily and returns None with the reason when it is missing.
With one thread (``threads=1``) XLA's CPU intra-op pool is switched off before JAX is imported.

:func:`check` runs one step of the eigengrad model and of this JAX step from the same weights with
dropout off (p = 0) and compares the loss and the updated parameters and running statistics: the two
compute the same thing.
"""
from __future__ import annotations

import os
import sys

import numpy as np

EPS_BN, MOMENTUM, SMOOTHING, P_DROP = 1e-5, 0.1, 0.1, 0.2
ADAMW = dict(learning_rate=1e-3, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.01)


def load(threads: int | None = None):
    """``(jax, optax)``, or ``(None, reason)`` when they cannot be imported."""
    if threads == 1 and "jax" not in sys.modules:  # (XLA reads its flags once, at import)
        flags = os.environ.get("XLA_FLAGS", "")
        if "xla_cpu_multi_thread_eigen" not in flags:
            os.environ["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false "
                                       "intra_op_parallelism_threads=1").strip()
    try:
        import jax
        import optax
    except ImportError as exc:
        return None, f"JAX/Optax not importable ({exc}); pip install jax jaxlib optax"
    jax.config.update("jax_platforms", "cpu")
    return jax, optax


def params_from(model) -> tuple[dict, dict]:
    """(parameters, BatchNorm state) of an eigengrad/torch ``Sequential`` of bench_compile._model, as
    NumPy arrays: Linear weights transposed to (in, out)."""
    mods = list(model)
    arr = (lambda t: np.array(t.detach().numpy(), dtype=np.float32, copy=True))  # noqa: E731
    params, state = {}, {}
    for i, (lin, bn) in enumerate(((mods[0], mods[1]), (mods[4], mods[5]))):
        params[f"w{i}"], params[f"b{i}"] = arr(lin.weight).T.copy(), arr(lin.bias)
        params[f"g{i}"], params[f"beta{i}"] = arr(bn.weight), arr(bn.bias)
        state[f"mean{i}"], state[f"var{i}"] = arr(bn.running_mean), arr(bn.running_var)
    params["w2"], params["b2"] = arr(mods[8].weight).T.copy(), arr(mods[8].bias)
    return params, state


def make_step(jax, optax, p_drop: float = P_DROP):
    """``(init(params, state, seed) -> carry, step(carry, x, y) -> (carry, loss))``: the jitted step;
    ``step.grads(carry, x, y)`` gives the gradients alone (for :func:`check`; jit keeps the attribute)."""
    jnp = jax.numpy
    opt = optax.adamw(**ADAMW)

    def forward(params, state, key, x):
        new_state, h = {}, x
        for i in range(2):
            h = h @ params[f"w{i}"] + params[f"b{i}"]
            mean, var = h.mean(0), h.var(0)
            n = h.shape[0]
            new_state[f"mean{i}"] = (1 - MOMENTUM) * state[f"mean{i}"] + MOMENTUM * mean
            new_state[f"var{i}"] = (1 - MOMENTUM) * state[f"var{i}"] + MOMENTUM * var * (n / (n - 1))
            h = (h - mean) * jax.lax.rsqrt(var + EPS_BN) * params[f"g{i}"] + params[f"beta{i}"]
            h = jnp.maximum(h, 0)
            if p_drop > 0:
                key, sub = jax.random.split(key)
                keep = jax.random.bernoulli(sub, 1 - p_drop, h.shape)
                h = jnp.where(keep, h / (1 - p_drop), 0)
        return h @ params["w2"] + params["b2"], new_state

    def loss_fn(params, state, key, x, y):
        logits, new_state = forward(params, state, key, x)
        logp = jax.nn.log_softmax(logits)
        nll = -jnp.take_along_axis(logp, y[:, None], axis=1)[:, 0]
        loss = ((1 - SMOOTHING) * nll - SMOOTHING * logp.mean(1)).mean()
        return loss, new_state

    def step(carry, x, y):
        params, state, opt_state, key = carry
        key, sub = jax.random.split(key)
        (loss, state), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, state, sub, x, y)
        updates, opt_state = opt.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        return (params, state, opt_state, key), loss

    def init(params, state, seed: int = 0):
        params = {k: jnp.asarray(v) for k, v in params.items()}
        return params, {k: jnp.asarray(v) for k, v in state.items()}, opt.init(params), jax.random.PRNGKey(seed)

    def grads(carry, x, y):
        params, state, _, key = carry
        return jax.grad(loss_fn, has_aux=True)(params, state, key, x, y)[0]

    step.grads = grads
    return init, jax.jit(step, donate_argnums=(0,))


def runner(jax, optax, model, x: np.ndarray, y: np.ndarray):
    """A zero-argument callable doing one JAX step on (x, y) from ``model``'s initial weights (waits for
    the result: JAX dispatches asynchronously)."""
    init, step = make_step(jax, optax)
    carry = [init(*params_from(model))]
    xj, yj = jax.numpy.asarray(x), jax.numpy.asarray(y.astype(np.int32))

    def run():
        carry[0], loss = step(carry[0], xj, yj)
        return loss.block_until_ready()
    return run


def check(jax, optax, n: int = 32, seed: int = 0) -> dict:
    """One step of eigengrad's model (AdamW, dropout off) and of the JAX step from the same weights: the
    first step's losses, the largest relative difference of the gradients and of the running statistics
    after the step, and the share of the updated parameters' entries within 1e-6 of eigengrad's (Adam's
    first update is about lr * sign(g): an entry whose gradient is near zero may round either way). The
biases feeding BatchNorm are left out: their exact gradient is zero (both sides update them from
rounding noise)."""
    import eigengrad as eg
    from bench_compile import _model

    rng = np.random.default_rng(seed)
    eg.manual_seed(seed)
    model = _model(eg.nn)
    for m in model:
        if isinstance(m, eg.nn.Dropout):
            m.p = 0.0
    x = rng.standard_normal((n, 784), dtype=np.float32)
    y = rng.integers(0, 10, n, dtype=np.int64)
    init, step = make_step(jax, optax, p_drop=0.0)
    carry = init(*params_from(model))
    xj, yj = jax.numpy.asarray(x), jax.numpy.asarray(y.astype(np.int32))
    jgrads = {k: np.asarray(v) for k, v in step.grads(carry, xj, yj).items()}
    opt = eg.optim.AdamW(model.parameters(), lr=1e-3)
    opt.zero_grad()
    loss = eg.nn.CrossEntropyLoss(label_smoothing=SMOOTHING)(model(eg.from_numpy(x)), eg.from_numpy(y))
    loss.backward()
    grads = params_from(_as_grads(model))[0]
    opt.step()
    carry, jloss = step(carry, xj, yj)
    want_p, want_s = params_from(model)
    got_p, got_s = ({k: np.asarray(v) for k, v in carry[i].items()} for i in (0, 1))

    def rel(a: dict, b: dict, skip=()) -> float:
        return max(float(np.max(np.abs(a[k] - v)) / max(float(np.max(np.abs(v))), 1e-12))
                   for k, v in b.items() if k not in skip)
    moved = {k: v for k, v in want_p.items() if k not in ("b0", "b1")}
    close = sum(int(np.sum(np.abs(got_p[k] - v) <= 1e-6)) for k, v in moved.items())
    return {"eigengrad loss": float(loss.item()), "jax loss": float(jloss),
            # the biases feeding BatchNorm have an exact gradient of zero (rounding noise on both sides)
            "gradients": rel(jgrads, grads, skip=("b0", "b1")), "running statistics": rel(got_s, want_s),
            "parameters": close / sum(v.size for v in moved.values())}


def _as_grads(model):
    """A stand-in of ``model`` whose parameters are its gradients (for ``params_from``)."""
    class View:
        def __init__(self, m):
            self.m = m

        def __getattr__(self, name):
            v = getattr(self.m, name)
            return v.grad if name in ("weight", "bias") else v
    return [View(m) for m in model]
