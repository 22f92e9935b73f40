"""L-BFGS with PyTorch's algorithm, options and state (``torch.optim.LBFGS``), and its strong-Wolfe line
search with cubic interpolation (``_strong_wolfe``, ``_cubic_interpolate``).

The parameters are handled as one flat vector, as PyTorch does: the gradient is gathered into a flat
array, directions and the curvature history are flat arrays, and a step adds ``t * d`` to each
parameter's slice. Vector work is NumPy (dot products, axpy); scalars are NumPy scalars of the
parameters' dtype, so that float32 runs round where PyTorch's 0-d tensors round.
"""
from __future__ import annotations

import copy
from typing import Callable

import numpy as np

from eigengrad.autograd.grad_mode import enable_grad, no_grad
from eigengrad.autograd.version import bump_all
from eigengrad.optim._checks import nonneg, one_of, positive_int
from eigengrad.optim.optimizer import Optimizer


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1 and g2, clamped to
    ``bounds`` (default: the interval between x1 and x2); the midpoint when the cubic has no minimum.
    Nocedal & Wright, "Numerical Optimization" (2006), eq. 3.59; PyTorch's port of polyinterp.lua."""
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square >= 0:
        d2 = np.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """A step ``t`` along ``d`` meeting the strong Wolfe conditions
    ``f(x + t d) <= f + c1 t gtd`` and ``|g(x + t d) . d| <= -c2 gtd`` (Nocedal & Wright, algorithms 3.5
    and 3.6: bracketing, then zoom by cubic interpolation); PyTorch's port of lswolfe.lua, step for step.
    Returns ``(f_new, g_new, t, function evaluations)``."""
    d_norm = np.abs(d).max()
    g = g.copy()
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = g_new.dot(d)

    # bracket an interval containing a point satisfying the Wolfe criteria
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        # interpolate
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new.copy(), gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1

    if ls_iter == max_ls:  # reached the maximum number of iterations
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    # zoom: refine the bracket until a point satisfies the criteria
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1])
        # a trial too close to an end of the bracket (twice, or at an end) moves 0.1 of its length inside
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                t = max(bracket) - eps if abs(t - max(bracket)) < abs(t - min(bracket)) else min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False

        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1

        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            # Armijo condition not met, or not lower than the lowest point
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new.copy(), gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True  # Wolfe conditions met
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                # the old high becomes the new low
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos], bracket_gtd[high_pos] = bracket_g[low_pos], bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new.copy(), gtd_new

    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals


class LBFGS(Optimizer):
    r"""L-BFGS (Liu & Nocedal, 1989, "On the limited memory BFGS method for large scale optimization"),
    PyTorch's algorithm (after minFunc), options, defaults and state.

    Each ``step(closure)`` runs up to ``max_iter`` iterations: the direction
    :math:`d = -H g` from the two-loop recursion over the last ``history_size`` pairs
    :math:`s = x_{k+1} - x_k`, :math:`y = g_{k+1} - g_k` (pairs with :math:`y^\top s \le 10^{-10}` are not
    stored), the initial inverse Hessian :math:`H_0 = (y^\top s / y^\top y) I`; then a step of ``lr``
    (the first one :math:`\min(1, 1/\|g\|_1)\,\mathrm{lr}`) or, with ``line_search_fn='strong_wolfe'``,
    one meeting the strong Wolfe conditions (cubic interpolation). It stops at ``max_eval`` closure
    calls, :math:`\|g\|_\infty \le` ``tolerance_grad``, or changes below ``tolerance_change``.

    ``closure`` re-evaluates the model (zero the gradients, compute the loss, ``backward()``) and
    returns the loss; ``step`` returns its first value. One parameter group only.
    The state (kept under the first parameter, as PyTorch) is ``func_evals``, ``n_iter``, ``d``, ``t``,
    ``old_dirs``, ``old_stps``, ``ro``, ``H_diag``, ``prev_flat_grad``, ``prev_loss`` and ``al``.
    """

    def __init__(self, params, lr: float = 1, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: str | None = None) -> None:
        nonneg("lr", lr)
        positive_int("max_iter", max_iter)
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        positive_int("max_eval", max_eval)
        positive_int("history_size", history_size)
        if line_search_fn is not None:
            one_of("line_search_fn", line_search_fn, ("strong_wolfe",))
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                        tolerance_change=tolerance_change, history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("params: LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]
        dtypes = {p.dtype for p in self._params}
        if len(dtypes) != 1:
            raise TypeError(f"params: LBFGS needs parameters of one dtype (one flat vector), got {sorted(map(str, dtypes))}")
        self._dtype = np.dtype(dtypes.pop())

    # --- the flat vector ---------------------------------------------------------------------------
    def _gather_flat_grad(self) -> np.ndarray:
        views = [np.zeros(p._data.size, self._dtype) if p.grad is None else p.grad._data.reshape(-1)
                 for p in self._params]
        return np.concatenate(views).astype(self._dtype, copy=False)

    def _add_grad(self, step_size, update: np.ndarray) -> None:
        """Every parameter += step_size * its slice of ``update``."""
        alpha = self._dtype.type(step_size)
        offset = 0
        for p in self._params:
            n = p._data.size
            p._data += alpha * update[offset:offset + n].reshape(p._data.shape)
            offset += n
        bump_all(self._params)

    def _clone_param(self) -> list:
        return [p._data.copy() for p in self._params]

    def _set_param(self, params_data: list) -> None:
        for p, data in zip(self._params, params_data):
            p._data[...] = data
        bump_all(self._params)

    def _directional_evaluate(self, closure, x, t, d):
        self._add_grad(t, d)
        loss = float(closure())
        flat_grad = self._gather_flat_grad()
        self._set_param(x)
        return loss, flat_grad

    # --- the step ----------------------------------------------------------------------------------
    def step(self, closure: Callable | None = None):
        """Up to ``max_iter`` L-BFGS iterations; returns the loss ``closure()`` gave first."""
        if closure is None or not callable(closure):
            raise TypeError(f"closure: LBFGS needs a closure that re-evaluates the model and returns the loss, "
                            f"got {type(closure).__name__}")
        def evaluate():  # the closure always runs with gradients enabled
            with enable_grad():
                return closure()

        with no_grad():
            return self._step(evaluate)

    def _step(self, closure):
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        line_search_fn, history_size = group["line_search_fn"], group["history_size"]

        # LBFGS has only global state, registered under the first parameter (as PyTorch)
        state = self.state.setdefault(self._params[0], {})
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = closure()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        if np.abs(flat_grad).max(initial=0) <= tolerance_grad:
            return orig_loss

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        H_diag, prev_flat_grad, prev_loss = state.get("H_diag"), state.get("prev_flat_grad"), state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            # the descent direction
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = y.dot(s)
                if ys > 1e-10:  # update the memory
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / y.dot(y)  # scale of the initial inverse Hessian
                d = self._two_loop(state, flat_grad, old_dirs, old_stps, ro, H_diag, history_size)

            if prev_flat_grad is None:
                prev_flat_grad = flat_grad.copy()
            else:
                prev_flat_grad[...] = flat_grad
            prev_loss = loss

            # the step length
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / np.abs(flat_grad).sum()) * lr
            else:
                t = lr
            gtd = flat_grad.dot(d)
            if gtd > -tolerance_change:  # the directional derivative is below tolerance
                break

            ls_func_evals = 0
            if line_search_fn is not None:
                x_init = self._clone_param()

                def obj_func(x, t, d):
                    return self._directional_evaluate(closure, x, t, d)

                loss, flat_grad, t, ls_func_evals = _strong_wolfe(obj_func, x_init, t, d, loss, flat_grad, gtd,
                                                                  max_ls=max_eval - current_evals)
                self._add_grad(t, d)
                opt_cond = np.abs(flat_grad).max() <= tolerance_grad
            else:
                self._add_grad(t, d)  # a fixed step
                opt_cond = False
                if n_iter != max_iter:  # re-evaluated except on the last iteration (PyTorch's choice)
                    loss = float(closure())
                    flat_grad = self._gather_flat_grad()
                    opt_cond = np.abs(flat_grad).max() <= tolerance_grad
                    ls_func_evals = 1

            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if np.abs(d * t).max() <= tolerance_change:  # lack of progress
                break
            if abs(loss - prev_loss) < tolerance_change:
                break

        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=H_diag,
                     prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return orig_loss

    @staticmethod
    def _two_loop(state, flat_grad, old_dirs, old_stps, ro, H_diag, history_size) -> np.ndarray:
        """-H g by the two-loop recursion (Nocedal & Wright, algorithm 7.4), on one buffer as PyTorch."""
        num_old = len(old_dirs)
        if "al" not in state:
            state["al"] = [None] * history_size
        al = state["al"]
        q = -flat_grad
        for i in range(num_old - 1, -1, -1):
            al[i] = old_stps[i].dot(q) * ro[i]
            q += (-al[i]) * old_dirs[i]
        r = q * H_diag
        for i in range(num_old):
            be_i = old_dirs[i].dot(r) * ro[i]
            r += (al[i] - be_i) * old_stps[i]
        return r

    # --- state_dict: the state is vectors and lists of them, not per-parameter slots ---------------
    def _packed_state(self) -> dict:
        packed = super()._packed_state()
        packed["state"] = copy.deepcopy(packed["state"])
        return packed

    def _load_packed_state(self, state_dict: dict) -> None:
        """As :meth:`Optimizer.load_state_dict`, then each state value as ``_step`` keeps it: vectors as
        arrays, the counts as ints, 0-d values (``H_diag``, ``ro``, ``al``) as numpy scalars. A state_dict of
        ``torch.optim.LBFGS`` (tensors, 0-d tensors) so continues where PyTorch's run stopped."""
        super()._load_packed_state(state_dict)
        for state in self.state.values():
            for name, value in list(state.items()):
                state[name] = _as_state_array(name, value)


def _as_state_array(name: str, v):
    """One loaded LBFGS state value in the form ``_step`` works with (see ``LBFGS.load_state_dict``)."""
    from eigengrad.tensor import Tensor

    if isinstance(v, Tensor):
        v = v._data
    if isinstance(v, np.ndarray):
        if v.ndim == 0:
            return int(v.item()) if name in ("func_evals", "n_iter") else v[()]
        return np.array(v, copy=True)
    if isinstance(v, list):
        return [_as_state_array(name, x) for x in v]
    return v
