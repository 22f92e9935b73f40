"""The table-driven check of every function of the compiled module (tests/binding_table.py): each valid call
matches the NumPy reference; every array argument is checked for its dtype, its layout (C-contiguous and
aligned) and, when written, its writeability; no output may share memory with another argument except
exactly where the kernel works in place. A function of ``_C`` without an entry in the table fails the
first test, so a new binding cannot skip the checks. Every call runs in a forked child."""
import numpy as np
import pytest

from binding_calls import Recipe, array_paths, base_name, is_output
from binding_table import TABLE, Case
from eigengrad._kernels import _C

NAMES = sorted(TABLE)
LAYOUTS = ("fortran", "strided", "negative", "unaligned")


def test_every_compiled_function_has_an_entry():
    compiled = {n for n in dir(_C) if not n.startswith("_") and callable(getattr(_C, n))}
    missing, stale = sorted(compiled - set(TABLE)), sorted(set(TABLE) - compiled)
    assert not missing, f"functions of _C with no entry in tests/binding_table.py (add one): {missing}"
    assert not stale, f"entries of tests/binding_table.py for functions _C does not have: {stale}"


def _verdict(fork_server, recipe):
    outcome = fork_server.run("binding_calls", "run", recipe, timeout=60.0)
    assert outcome.kind == "returned", f"{recipe}: {outcome}"
    return outcome.value


def _wrong_dtype(a: np.ndarray) -> str:
    return {"f": "int32", "i": "float64", "u": "float32", "b": "int32"}[a.dtype.kind]


def _problems(fork_server, name, recipes_and_checks):
    problems = []
    for recipe, check in recipes_and_checks:
        v = _verdict(fork_server, recipe)
        if v["status"] == "skipped":
            continue
        why = check(v)
        if why:
            problems.append(f"{recipe.mutation}: {why} (call: {v.get('call')})")
    return problems


def _raised(error, pattern):
    import re

    def check(v):
        if v["status"] != "raised":
            return f"expected {error.__name__} matching {pattern!r}, it returned"
        if v["error_type"] != error.__name__ or not re.search(pattern, v["message"]):
            return f"expected {error.__name__} matching {pattern!r}, got {v['error_type']}: {v['message']}"
        return None
    return check


def _returned_right(v):
    if v["status"] != "returned":
        return f"expected a result, got {v['error_type']}: {v['message']}"
    return v["mismatch"]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", NAMES)
def test_valid_calls_match_the_reference(fork_server, name, dtype):
    checks = [(Recipe(name, seed, dtype, full=seed == 0), _returned_right) for seed in range(4)]
    problems = _problems(fork_server, name, checks)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", NAMES)
def test_every_array_argument_is_checked(fork_server, name):
    """Wrong dtype: TypeError naming the argument. Not C-contiguous or not aligned: ValueError naming it (never
    a silent copy; an input the kernel reads through its strides takes any aligned layout and must give the
    right result). Read-only: ValueError for an output, fine for an input."""
    kw = TABLE[name].make(Case(0, "float64", full=True))
    checks = []
    for path in array_paths(kw):
        arg = "^" + path.replace("[", r"\[").replace("]", r"\]") + ": "
        a = kw[base_name(path)] if path == base_name(path) else kw[base_name(path)][int(path[path.index("[") + 1:-1])]
        recipe = lambda m: Recipe(name, 0, "float64", mutation=m, full=True)  # noqa: E731
        named = arg if base_name(path) not in TABLE[name].any_dtype else r"^\w+: "  # see Binding.any_dtype
        checks.append((recipe(("dtype", path, _wrong_dtype(a))), _raised(TypeError, named + "expected")))
        for layout in LAYOUTS:
            what = "an aligned array" if layout == "unaligned" else "a C-contiguous array"
            strided_ok = layout != "unaligned" and base_name(path) in TABLE[name].strided
            checks.append((recipe(("layout", path, layout)),
                           _returned_right if strided_ok else _raised(ValueError, arg + "expected " + what)))
        checks.append((recipe(("readonly", path)), _raised(ValueError, arg + "expected a writeable array")
                       if is_output(name, path) else _returned_right))
    problems = _problems(fork_server, name, checks)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", [n for n in NAMES if TABLE[n].outputs])
def test_the_overlap_rule(fork_server, name):
    """Every output against every other array argument: exactly the same array only where the kernel works in
    place (then the result is right), any other sharing (the same array elsewhere, a partial overlap) is a
    ValueError naming both."""
    entry = TABLE[name]
    kw = entry.make(Case(0, "float64", full=True))
    paths = array_paths(kw)
    checks = []
    for out in (p for p in paths if is_output(name, p)):
        for other in paths:
            if other == out:
                continue
            names = "|".join(p.replace("[", r"\[").replace("]", r"\]") for p in (out, other))
            refused = _raised(ValueError, rf"^({names}): must (not share memory with|be .* itself or not overlap)")
            allowed = (base_name(out), base_name(other)) in entry.in_place
            recipe = lambda m: Recipe(name, 0, "float64", mutation=m, full=True)  # noqa: E731
            checks.append((recipe(("alias", out, other)), _returned_right if allowed else refused))
            checks.append((recipe(("overlap", out, other)), refused))
    problems = _problems(fork_server, name, checks)
    assert not problems, "\n".join(problems)
