"""Kernels per instruction-set level: the CPU probe, the choice at import, EIGENGRAD_ISA, and the levels'
numbers against each other (and, under qemu-user, on CPUs this machine is not)."""
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import _cpuinfo, _isa, _kernels

HERE = Path(__file__).parent
X86 = _cpuinfo.architecture == "x86_64"
BUILT = tuple(_cpuinfo.build_levels)
LEVEL_BUILD = set(BUILT) <= set(_isa.X86_LEVELS)  # the default portable build (not native/generic)
needs_level_build = pytest.mark.skipif(not (X86 and LEVEL_BUILD),
                                       reason=f"not an x86-64 build of ISA levels (this build has {BUILT})")

V2 = dict.fromkeys(_isa.X86_LEVELS["baseline"], True)
V3 = {**V2, **dict.fromkeys(_isa.X86_LEVELS["avx2"], True)}
V4 = {**V3, **dict.fromkeys(_isa.X86_LEVELS["avx512"], True)}
ALL = ("baseline", "avx2", "avx512")


def supported_here():
    return _isa.supported_levels(dict(_cpuinfo.features()))[0]


def usable_here():
    """The levels this CPU supports that this build has (a one-level build, such as CI's without OpenMP, has one)."""
    return [level for level in supported_here() if level in BUILT]


def best_built_up_to(level):
    """The level the package picks on a CPU whose highest level is ``level``."""
    return [lv for lv in ALL[:ALL.index(level) + 1] if lv in BUILT][-1]


def run_python(args, env=None, timeout=300, runner=()):
    """Python in a subprocess with this environment updated by ``env`` (a value None removes the variable)."""
    env = {k: v for k, v in {**os.environ, **(env or {})}.items() if v is not None}
    return subprocess.run([*runner, sys.executable, *args], capture_output=True, text=True, timeout=timeout, env=env)


# --- the choice, from feature sets --------------------------------------------------------------

@pytest.mark.parametrize("features, level", [(V2, "baseline"), (V3, "avx2"), (V4, "avx512")])
def test_the_highest_supported_level_is_chosen(features, level):
    c = _isa.choose(ALL, features, "", None)
    assert c.level == level and c.supported == ALL[:ALL.index(level) + 1]
    assert "highest level" in c.reason


def test_avx512_instructions_without_os_support_are_not_used():
    # cpuid lists AVX-512 but the OS does not save ZMM state (XCR0): the level is unusable
    c = _isa.choose(ALL, {**V4, "os_avx512": False}, "", None)
    assert c.level == "avx2" and "os_avx512" in c.reason
    c = _isa.choose(ALL, {**V4, "os_avx": False, "os_avx512": False}, "", None)
    assert c.level == "baseline"


def test_a_level_needs_every_feature_of_the_levels_below():
    with pytest.raises(ImportError, match=r"x86-64-v2.*lacks popcnt"):
        _isa.choose(ALL, {**V4, "popcnt": False}, "", None)


def test_a_cpu_below_the_baseline_gets_an_import_error():
    with pytest.raises(ImportError, match=r"at least the baseline level .* lacks sse4_2, popcnt"):
        _isa.choose(ALL, {**V2, "sse4_2": False, "popcnt": False}, "", None)


def test_forcing_a_level():
    assert _isa.choose(ALL, V4, "", "avx2").level == "avx2"
    assert _isa.choose(ALL, V4, "", "baseline").reason == "forced by EIGENGRAD_ISA=baseline"
    with pytest.raises(ValueError, match=r"EIGENGRAD_ISA=avx512: this CPU lacks avx512f.*supports are baseline, avx2"):
        _isa.choose(ALL, V3, "", "avx512")
    with pytest.raises(ValueError, match=r"EIGENGRAD_ISA: expected one of the levels this build has \(baseline, "
                                         r"avx2, avx512\), got 'sse9'"):
        _isa.choose(ALL, V4, "", "sse9")
    # a build of fewer levels picks among those it has
    assert _isa.choose(("baseline", "avx2"), V4, "", None).level == "avx2"
    with pytest.raises(ValueError, match="got 'avx512'"):
        _isa.choose(("baseline",), V4, "", "avx512")


def test_a_native_build_refuses_a_cpu_below_its_level():
    assert _isa.choose(("native",), V4, "avx512", None).level == "native"
    with pytest.raises(ImportError, match=r"build host only .*level avx512.*lacks avx512f"):
        _isa.choose(("native",), V3, "avx512", None)
    with pytest.raises(ValueError, match="host-only build"):
        _isa.choose(("native",), V4, "avx512", "avx2")


def test_other_architectures_have_one_generic_module():
    c = _isa.choose(("generic",), {}, "", None)
    assert c.level == "generic"
    with pytest.raises(ImportError, match=r"at least the avx2 level \(x86-64-v3: AVX2, FMA"):
        _isa.choose(("avx2", "avx512"), V2, "", None)


# --- this machine -------------------------------------------------------------------------------

@pytest.mark.skipif(not (X86 and sys.platform.startswith("linux")), reason="reads /proc/cpuinfo (Linux, x86-64)")
def test_the_probe_agrees_with_the_kernel():
    flags = set()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    f = _cpuinfo.features()
    # Linux lists a feature only when the CPU has it and the kernel enables its state
    for ours, linux in [("sse4_2", "sse4_2"), ("popcnt", "popcnt"), ("avx2", "avx2"), ("fma", "fma"),
                        ("bmi2", "bmi2"), ("movbe", "movbe"), ("avx512f", "avx512f"), ("avx512bw", "avx512bw"),
                        ("avx512vl", "avx512vl"), ("avx512dq", "avx512dq")]:
        assert f[ours] == (linux in flags), ours
    assert f["os_avx"] == ("avx" in flags)


def test_the_level_in_use_is_reported():
    level = eg.backends.cpu.get_cpu_capability()
    cfg = eg.get_config()
    assert level == cfg["isa"] == _kernels.isa_choice.level
    assert cfg["isa_levels"] == list(BUILT)
    assert _kernels._C.__name__ == f"eigengrad._C_{level}"
    assert _kernels._C.build_info["isa"] == level
    forced = os.environ.get("EIGENGRAD_ISA")
    if forced:
        assert level == forced
    elif LEVEL_BUILD:
        assert level == usable_here()[-1]


def test_show_config_says_which_level_and_why(capsys):
    eg.show_config()
    out = capsys.readouterr().out
    c = _kernels.isa_choice
    assert f"in use:    {c.level} ({c.reason})" in out
    assert f"built {', '.join(BUILT)}" in out


@needs_level_build
@pytest.mark.parametrize("level", ALL)
def test_eigengrad_isa_forces_each_level(level):
    code = "import eigengrad as eg; print(eg.backends.cpu.get_cpu_capability())"
    r = run_python(["-c", code], env={"EIGENGRAD_ISA": level})
    if level not in BUILT:
        assert r.returncode != 0
        assert f"expected one of the levels this build has ({', '.join(BUILT)}), got '{level}'" in r.stderr
    elif level in supported_here():
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == level
    else:
        assert r.returncode != 0
        assert f"EIGENGRAD_ISA={level}: this CPU lacks" in r.stderr


def smoke(env=None, runner=()):
    r = run_python([str(HERE / "isa_smoke.py")], env=env, runner=runner, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def assert_same_numbers(a, b):
    """Two levels' results: equal to float32 tolerance (FMA contraction and vector widths reorder the sums)."""
    np.testing.assert_allclose(a["losses"], b["losses"], rtol=2e-5)
    np.testing.assert_allclose(a["gemm"], b["gemm"], rtol=1e-4, atol=1e-4 * np.max(np.abs(b["gemm"])))


@needs_level_build
def test_every_level_trains_to_the_same_numbers():
    levels = usable_here()
    results = {level: smoke({"EIGENGRAD_ISA": level}) for level in levels}
    for level, r in results.items():
        assert r["level"] == level
        assert_same_numbers(r, results[levels[-1]])


QEMU = shutil.which("qemu-x86_64")


@needs_level_build
@pytest.mark.skipif(QEMU is None, reason="qemu-x86_64 (Debian's qemu-user) is not installed")
@pytest.mark.skipif(platform.machine() != "x86_64", reason="runs x86-64 CPUs under qemu-user on an x86-64 host")
@pytest.mark.parametrize("cpu, level", [("Haswell", "avx2"), ("Nehalem", "baseline")])
def test_the_wheel_runs_on_older_cpus_under_qemu(cpu, level):
    """The same installed package on an emulated CPU: it picks that CPU's level and trains to the native
    numbers (no SIGILL from code of a higher level anywhere on the import path)."""
    if level not in BUILT and not [lv for lv in ALL[:ALL.index(level)] if lv in BUILT]:  # e.g. an avx512-only build
        r = run_python(["-c", "import eigengrad"], env={"EIGENGRAD_ISA": None}, runner=(QEMU, "-cpu", cpu))
        assert r.returncode == 1 and f"ImportError: eigengrad needs an x86-64 CPU with at least the {BUILT[0]}" in r.stderr
        return
    # OPENBLAS_CORETYPE: NumPy's OpenBLAS, not eigengrad, misreads the emulated CPU on some hosts (NumPy 2.4.6 on
    # an AMD Zen 5 host: OPENBLAS_VERBOSE=2 printed "Core: Haswell" under -cpu Nehalem, and NumPy's own import
    # died of SIGILL in its BLAS sanity check before eigengrad was imported); it is told the CPU it runs on.
    emulated = smoke(env={"EIGENGRAD_ISA": None, "OMP_NUM_THREADS": "1", "OPENBLAS_CORETYPE": cpu},
                     runner=(QEMU, "-cpu", cpu))
    expected = best_built_up_to(level)
    assert emulated["level"] == expected
    native = smoke({"EIGENGRAD_ISA": expected}) if expected in supported_here() else smoke()
    assert_same_numbers(emulated, native)


@needs_level_build
@pytest.mark.skipif(QEMU is None, reason="qemu-x86_64 (Debian's qemu-user) is not installed")
@pytest.mark.skipif(platform.machine() != "x86_64", reason="runs x86-64 CPUs under qemu-user on an x86-64 host")
def test_a_cpu_below_the_baseline_gets_an_import_error_under_qemu():
    r = run_python(["-c", "import eigengrad"], env={"EIGENGRAD_ISA": None}, runner=(QEMU, "-cpu", "qemu64"))
    assert r.returncode == 1
    assert f"ImportError: eigengrad needs an x86-64 CPU with at least the {BUILT[0]} level" in r.stderr


@needs_level_build
@pytest.mark.skipif(not {"avx2", "avx512"} <= set(usable_here()),
                    reason="needs a CPU with both the avx2 and avx512 levels and a build of both")
def test_the_gemm_gives_the_same_bits_at_avx2_and_avx512():
    """Each element is one FMA chain per k-block of 256 at both levels (docs/architecture.md, issue 15).
    (Not x @ W^T with at most 16 columns: its dot form sums lanes of the level's vector width.)"""
    import importlib

    mods = [importlib.import_module(f"eigengrad._C_{level}") for level in ("avx2", "avx512")]
    rng = np.random.default_rng(0)
    for m, n, k in [(37, 53, 600), (128, 512, 784), (5, 3, 1000), (1024, 10, 256)]:
        a, b = rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((k, n)).astype(np.float32)
        bias = rng.standard_normal(n).astype(np.float32)
        outs = []
        for mod in mods:
            out = np.empty((m, n), np.float32)
            mod.gemm(a, b, out, bias, False, False, False)
            outs.append(out)
        np.testing.assert_array_equal(outs[0], outs[1])
