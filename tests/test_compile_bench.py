"""The benchmarks of eg.compile compare like with like: bench/bench_compile_jax.py's JAX step computes
eigengrad's MLP step (same loss, gradients and running statistics from the same weights), and the
benchmark scripts run end to end in their --quick form."""
import functools
import importlib.util
import json
import subprocess
import sys

import pytest

from source_tree import ROOT, needs_source_file

pytestmark = needs_source_file("bench/bench_compile_jax.py")


@pytest.fixture
def bench_path(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))


# JAX runs in a child process: once imported, its threads make every later fork in this process (the fuzz
# suite's children, Ray's workers) liable to deadlock. One child checks every momentum the tests ask for
# (importing JAX and eigengrad's model once: two children took a minute of the suite).
_CHECK = """
import json, sys
sys.path.insert(0, sys.argv[1])
import bench_compile_jax
jax, optax = bench_compile_jax.load()
results = {}
for momentum in sys.argv[2:]:
    bench_compile_jax.MOMENTUM = float(momentum)
    results[momentum] = bench_compile_jax.check(jax, optax, n=16)
print(json.dumps(results))
"""
_WRONG_MOMENTUM = 0.2  # a JAX step whose BatchNorm momentum is not eigengrad's


@functools.lru_cache(maxsize=None)
def _checks_in_child() -> dict:
    """check() at the benchmark's momentum and at _WRONG_MOMENTUM, by momentum (as str(float))."""
    import bench_compile_jax  # noqa: F401  (the default momentum, without importing JAX here)

    momenta = [str(float(bench_compile_jax.MOMENTUM)), str(_WRONG_MOMENTUM)]
    out = subprocess.run([sys.executable, "-c", _CHECK, str(ROOT / "bench"), *momenta], capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _check_in_child(momentum: float) -> dict:
    for name in ("jax", "optax"):
        if importlib.util.find_spec(name) is None:
            pytest.skip(f"{name} is not installed: it is needed only for the optional JAX column of "
                        "bench/bench_compile.py, which this checks (pip install jax jaxlib optax)")
    return _checks_in_child()[str(float(momentum))]


def test_jax_step_computes_eigengrad_step(bench_path):
    import bench_compile_jax  # noqa: F401  (the default momentum, without importing JAX here)

    c = _check_in_child(bench_compile_jax.MOMENTUM)
    assert c["eigengrad loss"] == pytest.approx(c["jax loss"], rel=1e-5)
    assert c["gradients"] < 1e-4 and c["running statistics"] < 1e-4
    assert c["parameters"] > 0.999


def test_jax_step_without_the_check_would_be_caught(bench_path):
    """check() is not vacuous: a JAX step whose BatchNorm momentum differs from eigengrad's is caught."""
    c = _check_in_child(_WRONG_MOMENTUM)
    assert c["running statistics"] > 1e-2


def test_compile_benchmark_runs_quick(bench_path, capsys):
    pytest.importorskip("torch", reason="the benchmark compares with PyTorch (pip install torch==2.13.0)")
    import bench_compile

    # (no --threads: it would set torch's and OpenBLAS's thread counts for the rest of the session)
    assert bench_compile.main(["--quick", "--rounds", "1", "--no-jax"]) == 0
    out = capsys.readouterr().out
    assert "jax: left out (--no-jax)" in out
    assert [line.split("|")[0].strip() for line in out.splitlines() if "|" in line][1:] == ["32", "128", "1024"]



def test_fusion_benchmark_runs_quick(bench_path, capsys):
    """Both steps trace with two fused blocks and with none, with and without the native executor and the
    per-parameter optimizer updates, and the table prints the three ratios per row."""
    import bench_compile_fusion

    bench_compile_fusion.main(["--quick", "--rounds", "1", "--steps", "1"])
    out = capsys.readouterr().out.splitlines()
    rows = [line for line in out if "unfused / fused" in line]
    assert len([line for line in out if "cross-entropy fwd+bwd" in line and "two / fused" in line]) == 4
    assert len([line for line in out if "ReLU -> MaxPool" in line and "separate / fused" in line]) == 4
    assert [r.split(":")[0].split() for r in rows] == [["bn", "batch", "32"], ["bn", "batch", "128"],
                                                       ["linear", "batch", "32"], ["linear", "batch", "128"]]
    for r in rows:
        fused, rest = r.split("unfused / fused ")[1].split(", Python loop / native ")
        native, at_end = rest.split(", updates at the end / per parameter ")
        assert float(fused.rstrip("x")) > 0 and float(native.rstrip("x")) > 0 and float(at_end.rstrip("x")) > 0


def test_ops_benchmark_sums_the_plans_kernels(bench_path, capsys):
    """The per-op table of the CNN's compiled step names its fused kernels and sums to 100%."""
    import bench_compile_ops

    bench_compile_ops.main(["--model", "cnn", "--batch", "4", "--rounds", "1"])
    out = capsys.readouterr().out
    assert "cnn batch 4: compiled step" in out
    for name in ("conv2d_backward", "batch_norm_relu_max_pool2d_forward", "max_pool2d_relu_backward",
                 "weighted_softmax_cross_entropy_forward_backward"):
        assert name in out
    shares = [float(line.split()[-1].rstrip("%")) for line in out.splitlines() if line.strip().endswith("%")]
    assert abs(sum(shares) - 100) < 1


def test_numpy_primitives_benchmark_runs_compiled(bench_path, capsys):
    """The steps with NumPy primitives replay (the script asserts no fallback) and hold such plan steps."""
    import bench_compile_numpy

    bench_compile_numpy.main(["--quick", "--rounds", "1", "--batch", "8"])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.count("|") == 6 and "ms)" not in line
            and not line.startswith("-")]
    assert [r.split("|")[0].strip() for r in rows] == list(bench_compile_numpy.LOSSES)
    assert all(int(r.split("|")[-1]) >= 5 for r in rows)
