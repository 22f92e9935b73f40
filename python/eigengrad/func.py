"""``torch.func``: function transforms over eigengrad's autograd, for the scripts that compute per-sample
gradients, Jacobians and ensembles functionally: ``functional_call``, ``grad``/``grad_and_value``,
``vmap``, ``jacrev``/``jacfwd``, ``hessian``, ``vjp``, ``jvp``/``linearize``, ``stack_module_state``.

``vmap`` runs the function once per index of the mapped dims and stacks the results (the numbers are those
of the batched computation; it is a loop, not a batching compiler). ``grad`` differentiates with
``autograd.grad`` and records its own backward, so transforms nest (``grad(grad(f))``, ``vmap(grad(f))``).
Arguments and results may be tensors or dicts, lists and tuples of them (pytrees).
"""
from __future__ import annotations

import contextlib

from eigengrad.autograd.differentiate import grad as _autograd_grad
from eigengrad.autograd.functional import differentiable_input
from eigengrad.autograd.grad_mode import enable_grad
from eigengrad.tensor import Tensor

__all__ = ["functional_call", "grad", "grad_and_value", "vmap", "jacrev", "jacfwd", "hessian", "vjp", "jvp",
           "linearize", "stack_module_state", "replace_all_batch_norm_modules_"]


# --- pytrees --------------------------------------------------------------------------------------

def _leaves(tree) -> list:
    if isinstance(tree, Tensor):
        return [tree]
    if isinstance(tree, dict):
        return [x for v in tree.values() for x in _leaves(v)]
    if isinstance(tree, (list, tuple)):
        return [x for v in tree for x in _leaves(v)]
    return []


def _rebuild(tree, leaves):
    """``tree`` with its tensors replaced, in order, by ``leaves`` (an iterator)."""
    if isinstance(tree, Tensor):
        return next(leaves)
    if isinstance(tree, dict):
        return {k: _rebuild(v, leaves) for k, v in tree.items()}
    if isinstance(tree, tuple):
        items = [_rebuild(v, leaves) for v in tree]
        return type(tree)(*items) if hasattr(tree, "_fields") else tuple(items)
    if isinstance(tree, list):
        return [_rebuild(v, leaves) for v in tree]
    return tree


def _map(fn, tree):
    return _rebuild(tree, iter([fn(x) for x in _leaves(tree)]))


def _reaches_outer(results: list, own: list) -> bool:
    """Whether the graph of ``results`` reaches a tensor that requires grad other than ``own`` (the inputs a
    transform made to differentiate at): a parameter the function uses, or an outer transform's input. A
    transform's results keep their graph then, as PyTorch's (a Jacobian penalty trains the weights through
    them); otherwise they are returned detached, as plain values."""
    own_ids = {id(t) for t in own}
    stack = [t for t in results if isinstance(t, Tensor) and t.requires_grad]
    seen: set = set()
    while stack:
        t = stack.pop()
        if id(t) in own_ids:
            continue
        ctx = t._ctx
        if ctx is None:
            return True
        if id(ctx) not in seen:
            seen.add(id(ctx))
            stack.extend(x for x in ctx.inputs if x is not None and x.requires_grad)
    return False


# --- functional_call --------------------------------------------------------------------------------

@contextlib.contextmanager
def _swapped(module, tensors: dict):
    """The module's parameters and buffers named in ``tensors`` replaced by them inside the block."""
    saved = []
    try:
        for name, value in tensors.items():
            owner, _, leaf = name.rpartition(".")
            sub = module.get_submodule(owner)
            store = sub._parameters if leaf in sub._parameters else sub._buffers if leaf in sub._buffers else None
            if store is None:  # no such member: a plain attribute for the call, as PyTorch's (non-strict)
                store = sub.__dict__
            saved.append((store, leaf, store.get(leaf, _ABSENT)))
            store[leaf] = value
        yield
    finally:
        for store, leaf, old in reversed(saved):
            if old is _ABSENT:
                store.pop(leaf, None)
            else:
                store[leaf] = old


_ABSENT = object()


def _tie(module, tensors: dict) -> dict:
    """``tensors`` with each value also given to the names tied to its name (one parameter or buffer held
    under several names); ValueError if tied names were given different values (PyTorch's tie_weights)."""
    groups: dict = {}
    for name, t in [*module.named_parameters(remove_duplicate=False), *module.named_buffers(remove_duplicate=False)]:
        groups.setdefault(id(t), []).append(name)
    out = dict(tensors)
    for names in groups.values():
        given = [n for n in names if n in tensors]
        if len(names) < 2 or not given:
            continue
        if any(tensors[n] is not tensors[given[0]] for n in given[1:]):
            raise ValueError(f"functional_call got multiple values for keys {sorted(given)}, which are tied. "
                             "Consider using tie_weights=False")
        for n in names:
            out[n] = tensors[given[0]]
    return out


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *, tie_weights: bool = True,
                    strict: bool = False):
    """``module(*args, **kwargs)`` with its parameters and buffers taken from the given dict(s) by name
    (those not given stay the module's own)."""
    dicts = parameter_and_buffer_dicts if isinstance(parameter_and_buffer_dicts, (list, tuple)) \
        else [parameter_and_buffer_dicts]
    tensors: dict = {}
    repeated: list = []
    for d in dicts:
        for k, v in d.items():
            if k in tensors and k not in repeated:
                repeated.append(k)
            tensors[k] = v
    if repeated:
        raise ValueError(f"{repeated} appeared in multiple dictionaries; behavior of functional call is ambiguous")
    if tie_weights:
        tensors = _tie(module, tensors)
    if strict:
        own = {n for n, _ in module.named_parameters(remove_duplicate=False)} | \
            {n for n, _ in module.named_buffers(remove_duplicate=False)}
        missing, unexpected = sorted(own - set(tensors)), sorted(set(tensors) - own)
        errors = ([f"Unexpected key(s): {', '.join(map(repr, unexpected))}."] if unexpected else []) + \
            ([f"Missing key(s): {', '.join(map(repr, missing))}."] if missing else [])
        if errors:
            raise RuntimeError(f"Error(s) in reparametrizing for {type(module).__name__}:\n\t" + "\n\t".join(errors))
    args = () if args is None else args if isinstance(args, tuple) else (args,)
    with _swapped(module, tensors):
        return module(*args, **(kwargs or {}))


# --- grad -----------------------------------------------------------------------------------------

def _differentiable(t: Tensor) -> Tensor:
    """A tensor to differentiate with respect to, connected to t's graph when t has one (nesting)."""
    return differentiable_input(t, connected=True)


def grad_and_value(func, argnums=0, has_aux: bool = False):
    """``(gradient of func's scalar output with respect to the argnums argument(s), output)``."""
    def wrapper(*args, **kwargs):
        nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
        args = list(args)
        outer_graph = any(t.requires_grad for i in nums for t in _leaves(args[i]))
        for i in nums:
            args[i] = _map(_differentiable, args[i])
        with enable_grad():
            out = func(*args, **kwargs)
        aux = None
        if has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise RuntimeError("grad_and_value(f)(*args): output of function f should be a tuple: (output, aux) "
                                   "if has_aux is True")
            out, aux = out
        if not isinstance(out, Tensor) or out.numel() != 1:
            dims = out.ndim if isinstance(out, Tensor) else "no"
            raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got tensor "
                               f"with {dims} dims. Maybe you wanted to use the vjp or jacrev APIs instead?")
        leaves = [t for i in nums for t in _leaves(args[i])]
        gs = _autograd_grad(out, leaves, retain_graph=True, create_graph=True, allow_unused=True) if out.requires_grad \
            else (None,) * len(leaves)
        outer_graph = outer_graph or _reaches_outer([out, *gs], leaves)
        gs = [t.new_zeros(t.shape) if g is None else (g if outer_graph else g.detach()) for g, t in zip(gs, leaves)]
        it = iter(gs)
        grads = tuple(_rebuild(args[i], it) for i in nums)
        grads = grads[0] if isinstance(argnums, int) else grads
        value = out if outer_graph else out.detach()
        aux = aux if outer_graph else _map(lambda t: t.detach(), aux)  # (functorch returns aux unwrapped)
        return (grads, (value, aux)) if has_aux else (grads, value)
    return wrapper


def grad(func, argnums=0, has_aux: bool = False):
    """The gradient of func's scalar output with respect to its argnums argument(s) (a function)."""
    inner = grad_and_value(func, argnums, has_aux)

    def wrapper(*args, **kwargs):
        grads, value = inner(*args, **kwargs)
        return (grads, value[1]) if has_aux else grads
    return wrapper


# --- vmap -----------------------------------------------------------------------------------------

def vmap(func, in_dims=0, out_dims=0, randomness: str = "error", *, chunk_size=None):
    """``func`` mapped over dim ``in_dims`` of its arguments (None: not mapped; a tuple: one per argument),
    its results stacked along ``out_dims``. A random draw inside runs once per index, so each gets its own
    numbers with ``randomness='different'``, the first index's numbers with 'same', and PyTorch's error with
    'error' (the default); ``chunk_size`` changes nothing in a loop."""
    from eigengrad import random as _random
    from eigengrad.tensor_ops.shape import stack

    if randomness not in _random.VMAP_RANDOMNESS:
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or 'same'. Got {randomness}")

    def wrapper(*args, **kwargs):
        dims = in_dims if isinstance(in_dims, (tuple, list)) else (in_dims,) * len(args)
        if len(dims) != len(args):
            raise ValueError(f"vmap(f, in_dims={in_dims}, ...)(<inputs>): in_dims is not compatible with the structure "
                             f"of `inputs`. in_dims has structure of length {len(dims)} but inputs has {len(args)}")
        # one dim (or None) per tensor of every argument: an argument's in_dim is an int or None for all of its
        # tensors, or a tree of them in the argument's structure ({'a': 0, 'b': None} for a dict argument)
        leaf_dims = [[_in_dim(t, d, in_dims) for t, d in _dims_per_leaf(a, spec, in_dims)]
                     for a, spec in zip(args, dims)]
        sizes = [t.shape[d] for a, ds in zip(args, leaf_dims) for t, d in zip(_leaves(a), ds) if d is not None]
        if not sizes:
            raise ValueError("vmap(f, in_dims, ...)(<inputs>): at least one input must be mapped over (got in_dims "
                             "all None or no Tensor inputs)")
        if len(set(sizes)) != 1:
            raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped dimension, got sizes "
                             f"{sizes} for the mapped dimension")
        n = sizes[0]
        outs = []
        with _random.mapped_draws(randomness) as rewind:
            for i in range(n):
                rewind()
                sliced = [_rebuild(a, iter([t if d is None else t.select(d, i) for t, d in zip(_leaves(a), ds)]))
                          for a, ds in zip(args, leaf_dims)]
                outs.append(func(*sliced, **kwargs))
        if not outs:
            raise ValueError("vmap: the mapped dimension has size 0")
        per_leaf = list(zip(*[_leaves(o) for o in outs]))
        leaf_dims = _out_dims_per_leaf(outs[0], out_dims)
        stacked = [group[0] if d is None else stack(list(group), dim=d) for group, d in zip(per_leaf, leaf_dims)]
        return _rebuild(outs[0], iter(stacked))
    return wrapper


def _dims_per_leaf(arg, spec, in_dims) -> list:
    """(tensor, in_dim) for each tensor of ``arg``: ``spec`` an int or None for all of them, or a tree of those in
    ``arg``'s structure (a dict's keys, a list's or tuple's positions)."""
    if spec is None or isinstance(spec, int):
        return [(t, spec) for t in _leaves(arg)]
    if isinstance(spec, dict) and isinstance(arg, dict) and set(spec) == set(arg):
        return [pair for k in arg for pair in _dims_per_leaf(arg[k], spec[k], in_dims)]
    if isinstance(spec, (list, tuple)) and isinstance(arg, (list, tuple)) and len(spec) == len(arg):
        return [pair for a, s in zip(arg, spec) for pair in _dims_per_leaf(a, s, in_dims)]
    raise ValueError(f"vmap(f, in_dims={in_dims}, ...)(<inputs>): in_dims is not compatible with the structure of "
                     f"`inputs`: {spec!r} for an input of type {type(arg).__name__}")


def _in_dim(t: Tensor, d, in_dims):
    """``d`` for tensor ``t``, negative dims wrapped; PyTorch's ValueError for one out of range."""
    if d is None:
        return None
    if not -t.ndim <= d < t.ndim:
        raise ValueError(f"vmap(f, in_dims={in_dims}, ...)(<inputs>): Got in_dim={d} for some input, but that input "
                         f"is a Tensor of dimensionality {t.ndim} so expected in_dim to satisfy -{t.ndim} <= in_dim < "
                         f"{t.ndim}.")
    return d % t.ndim


def _out_dims_per_leaf(out, out_dims) -> list:
    """vmap's ``out_dims`` (an int or None for every output, or a tuple matching the output's structure)
    expanded to one entry per tensor of ``out``."""
    if isinstance(out_dims, (tuple, list)):
        if not isinstance(out, (tuple, list)) or len(out) != len(out_dims):
            n = len(out) if isinstance(out, (tuple, list)) else 1
            raise ValueError(f"vmap(f, ..., out_dims={out_dims})(<inputs>): out_dims is not compatible with the "
                             f"structure of `outputs`. out_dims has structure of length {len(out_dims)} but outputs "
                             f"has structure of length {n}")
        return [d for o, od in zip(out, out_dims) for d in _out_dims_per_leaf(o, od)]
    return [out_dims] * len(_leaves(out))


# --- Jacobians --------------------------------------------------------------------------------------

def _jacobian(func, argnums, has_aux: bool):
    from eigengrad.autograd import functional as AF

    def wrapper(*args):
        nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
        aux, outs = [], []
        # the selected arguments may be pytrees (a dict of parameters): the Jacobian is taken with respect to
        # their tensors, and each output tensor's block is that argument's tree of Jacobians
        trees = [_map(_differentiable, args[i]) for i in nums]
        flat = tuple(t for tree in trees for t in _leaves(tree))

        def of_flat(*tensors):
            it, full = iter(tensors), list(args)
            for i, tree in zip(nums, trees):
                full[i] = _rebuild(tree, it)
            out = func(*full)
            if has_aux:  # (output, aux): the Jacobian of the output, aux returned beside it
                if not (isinstance(out, tuple) and len(out) == 2):
                    raise RuntimeError("jacrev(f, ...)(*args): output of function f should be a tuple: (output, aux) "
                                       "if has_aux is True")
                out, extra = out
                aux.append(extra)
            outs.append(out)
            return tuple(_leaves(out))
        outer_graph = any(t.requires_grad for i in nums for t in _leaves(args[i]))
        blocks = AF.jacobian(of_flat, flat, create_graph=True)  # per output tensor, per input tensor
        per_output = []
        for row in blocks:
            it = iter(row)
            per_arg = tuple(_rebuild(tree, it) for tree in trees)
            per_output.append(per_arg[0] if isinstance(argnums, int) else per_arg)
        jac = _rebuild(outs[0], iter(per_output))
        if not (outer_graph or _reaches_outer(_leaves(jac) + _leaves(aux), list(flat))):  # (as grad_and_value)
            jac, aux[:] = _map(Tensor.detach, jac), [_map(Tensor.detach, a) for a in aux]
        return (jac, aux[0]) if has_aux else jac
    return wrapper


def jacrev(func, argnums=0, *, has_aux: bool = False, chunk_size=None):
    """The Jacobian of func with respect to its argnums argument(s), by reverse mode (``chunk_size``: how
    PyTorch batches its passes; one pass per output element here)."""
    return _jacobian(func, argnums, has_aux)


def jacfwd(func, argnums=0, has_aux: bool = False, *, randomness: str = "error"):
    """The Jacobian of func (here by reverse mode too: the same numbers)."""
    return _jacobian(func, argnums, has_aux)


def hessian(func, argnums=0):
    """The Hessian of func's scalar output (the Jacobian of its gradient)."""
    return jacrev(grad(func, argnums), argnums)


def _traced_call(func, primals, has_aux: bool) -> tuple:
    """(the primals as tensors to differentiate with respect to, func's output, its aux or None)."""
    xs = [_map(_differentiable, p) for p in primals]
    with enable_grad():
        out = func(*xs)
    aux = None
    if has_aux:
        out, aux = out
    return xs, out, aux


def vjp(func, *primals, has_aux: bool = False):
    """``(func(*primals), vjp_fn)``: ``vjp_fn(v)`` gives v^T J for each primal, as a tuple."""
    outer_graph = any(t.requires_grad for p in primals for t in _leaves(p))
    xs, out, aux = _traced_call(func, primals, has_aux)
    leaves = [t for p in xs for t in _leaves(p)]

    def vjp_fn(*cotangents):
        outs, cts = _leaves(out), [t for c in cotangents for t in _leaves(c)]
        gs = _autograd_grad(outs, leaves, grad_outputs=cts, retain_graph=True, create_graph=True, allow_unused=True)
        keep = outer_graph or _reaches_outer(list(gs), leaves)  # (as grad_and_value: plain values otherwise)
        it = iter([t.new_zeros(t.shape) if g is None else (g if keep else g.detach()) for g, t in zip(gs, leaves)])
        return tuple(_rebuild(p, it) for p in xs)
    primal = out if outer_graph or _reaches_outer(_leaves(out), leaves) else _map(lambda t: t.detach(), out)
    return (primal, vjp_fn, aux) if has_aux else (primal, vjp_fn)  # (PyTorch's output keeps an outer graph)


def jvp(func, primals: tuple, tangents: tuple, *, strict: bool = False, has_aux: bool = False):
    """``(func(*primals), J t)``: the Jacobian-vector product, as the transpose of a vector-Jacobian product
    (the double-vjp trick: J t = d/du <u^T J, t> at any u), so it costs two backward passes."""
    if not isinstance(primals, tuple) or not isinstance(tangents, tuple):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals and tangents to be tuples")
    if len(primals) != len(tangents):
        raise RuntimeError(f"jvp(f, primals, tangents): Expected primals and tangents to have the same length, got "
                           f"{len(primals)} and {len(tangents)}")
    xs, out, aux = _traced_call(func, primals, has_aux)
    leaves, ts = [t for p in xs for t in _leaves(p)], [t for p in tangents for t in _leaves(p)]
    outs = _leaves(out)
    us = [differentiable_input(o.new_zeros(o.shape), connected=False) for o in outs]
    with enable_grad():
        vj = _autograd_grad(outs, leaves, grad_outputs=us, retain_graph=True, create_graph=True, allow_unused=True)
        pairs = [(g, t) for g, t in zip(vj, ts) if g is not None and g.requires_grad]
        jt = _autograd_grad([g for g, _ in pairs], us, grad_outputs=[t for _, t in pairs], allow_unused=True) \
            if pairs else [None] * len(us)
    jt = [o.new_zeros(o.shape) if g is None else g.detach() for g, o in zip(jt, outs)]
    primal_out = _map(lambda t: t.detach(), out)
    tangent_out = _rebuild(out, iter(jt))
    return (primal_out, tangent_out, aux) if has_aux else (primal_out, tangent_out)


def linearize(func, *primals):
    """``(func(*primals), jvp_fn)`` with ``jvp_fn(*tangents)`` the Jacobian-vector product at ``primals``."""
    out = _map(lambda t: t.detach(), func(*primals))
    return out, lambda *tangents: jvp(func, tuple(primals), tuple(tangents))[1]


def stack_module_state(models) -> tuple[dict, dict]:
    """``(params, buffers)``: each parameter and buffer name mapped to the models' tensors stacked along a new
    first dim (the ensembling recipe: vmap a functional_call over them). The stacked parameters are new
    leaves that require grad; the models must share one structure."""
    from eigengrad.tensor_ops.shape import stack

    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if any(m.training != models[0].training for m in models):
        raise RuntimeError("stack_module_state: Expected all models to have the same training/eval mode.")
    names = [n for n, _ in models[0].named_parameters()]
    if any([n for n, _ in m.named_parameters()] != names for m in models):
        raise RuntimeError("stack_module_state: Expected all models to have the same parameters.")
    each_params = [dict(m.named_parameters()) for m in models]
    each_buffers = [dict(m.named_buffers()) for m in models]
    params = {n: stack([p[n].detach() for p in each_params]).requires_grad_() for n in names}
    buffers = {n: stack([b[n] for b in each_buffers]) for n in each_buffers[0]}
    return params, buffers


def replace_all_batch_norm_modules_(root):
    """In place: every BatchNorm module of ``root`` (itself included) stops tracking running statistics
    (``running_mean``, ``running_var``, ``num_batches_tracked`` None, ``track_running_stats`` False), so that
    it normalises with the batch's own statistics in every mode (vmap's per-sample-gradient recipe with
    BatchNorm models); returns ``root``."""
    from eigengrad.nn.modules.batchnorm import _BatchNorm

    for module in root.modules():
        if isinstance(module, _BatchNorm) and module.track_running_stats:
            module.running_mean = None
            module.running_var = None
            module.num_batches_tracked = None
            module.track_running_stats = False
    return root
