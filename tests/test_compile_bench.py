"""The benchmarks of eg.compile compare like with like: bench/bench_compile_jax.py's JAX step computes
eigengrad's MLP step (same loss, gradients and running statistics from the same weights), and the
benchmark scripts run end to end in their --quick form."""
import pytest

from source_tree import ROOT, needs_source_file

pytestmark = needs_source_file("bench/bench_compile_jax.py")


@pytest.fixture
def bench_path(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))


def test_jax_step_computes_eigengrad_step(bench_path):
    pytest.importorskip("jax", reason="JAX is optional for the benchmarks (pip install jax jaxlib optax)")
    pytest.importorskip("optax", reason="Optax is optional for the benchmarks (pip install optax)")
    import bench_compile_jax

    jax, optax = bench_compile_jax.load()
    c = bench_compile_jax.check(jax, optax, n=16)
    assert c["eigengrad loss"] == pytest.approx(c["jax loss"], rel=1e-5)
    assert c["gradients"] < 1e-4 and c["running statistics"] < 1e-4
    assert c["parameters"] > 0.999


def test_jax_step_without_the_check_would_be_caught(bench_path):
    """check() is not vacuous: a JAX step whose BatchNorm momentum differs from eigengrad's is caught."""
    pytest.importorskip("jax", reason="JAX is optional for the benchmarks (pip install jax jaxlib optax)")
    pytest.importorskip("optax", reason="Optax is optional for the benchmarks (pip install optax)")
    import bench_compile_jax

    jax, optax = bench_compile_jax.load()
    saved = bench_compile_jax.MOMENTUM
    try:
        bench_compile_jax.MOMENTUM = 0.2
        c = bench_compile_jax.check(jax, optax, n=16)
    finally:
        bench_compile_jax.MOMENTUM = saved
    assert c["running statistics"] > 1e-2


def test_compile_benchmark_runs_quick(bench_path, capsys):
    pytest.importorskip("torch", reason="the benchmark compares with PyTorch (pip install torch==2.13.0)")
    import bench_compile

    # (no --threads: it would set torch's and OpenBLAS's thread counts for the rest of the session)
    assert bench_compile.main(["--quick", "--rounds", "1", "--no-jax"]) == 0
    out = capsys.readouterr().out
    assert "jax: left out (--no-jax)" in out
    assert [line.split("|")[0].strip() for line in out.splitlines() if "|" in line][1:] == ["32", "128", "1024"]

