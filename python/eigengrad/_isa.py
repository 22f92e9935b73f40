"""Which kernel module this CPU runs: the instruction-set level, chosen once at import.

The kernels are compiled once per level into their own extension modules (``eigengrad._C_<level>``; see
``cpp/cmake/isa.cmake`` for why they are kept apart). This module asks the CPU probe
(``eigengrad._cpuinfo``, compiled for the plain architecture so it runs anywhere) what the CPU and the OS
support, picks the highest level both support, and imports that module. ``EIGENGRAD_ISA`` forces a level.
Only :mod:`eigengrad._kernels` calls :func:`load`; everything else asks ``_kernels`` which level is in use.
"""
from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from types import ModuleType

from eigengrad import _cpuinfo

# The x86-64 levels, lowest first, with the features each needs beyond the one before (x86-64-v2, v3, v4).
X86_LEVELS: dict[str, tuple[str, ...]] = {
    "baseline": ("sse2", "sse3", "ssse3", "sse4_1", "sse4_2", "popcnt", "cx16", "lahf_lm"),
    "avx2": ("avx", "avx2", "fma", "f16c", "bmi1", "bmi2", "lzcnt", "movbe", "os_avx"),
    "avx512": ("avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd", "os_avx512"),
}
DESCRIPTIONS = {"baseline": "x86-64-v2: SSE4.2, POPCNT", "avx2": "x86-64-v3: AVX2, FMA, BMI2",
                "avx512": "x86-64-v4: AVX-512 F, BW, DQ, VL"}
ENV_VAR = "EIGENGRAD_ISA"


@dataclass(frozen=True)
class Choice:
    """The level in use and why: what the build has, what this CPU supports, what was asked for."""

    level: str
    reason: str
    built: tuple[str, ...]
    supported: tuple[str, ...]
    missing: dict[str, tuple[str, ...]] = field(default_factory=dict)  # level -> the features it lacks here


def supported_levels(features: dict[str, bool]) -> tuple[tuple[str, ...], dict[str, tuple[str, ...]]]:
    """The x86-64 levels these features allow (each needs every level below it), and what each other lacks."""
    ok: list[str] = []
    missing: dict[str, tuple[str, ...]] = {}
    needed: tuple[str, ...] = ()
    for level, extra in X86_LEVELS.items():
        needed += extra
        lacks = tuple(f for f in needed if not features.get(f, False))
        if lacks:
            missing[level] = lacks
        else:
            ok.append(level)
    return tuple(ok), missing


def choose(built: tuple[str, ...], features: dict[str, bool], native_level: str, forced: str | None) -> Choice:
    """The level to load. Raises ImportError when the CPU cannot run any module of this build, and
    ValueError when ``forced`` names a level that is not built or that this CPU lacks."""
    if built == ("generic",) or (built == ("native",) and not features):
        return Choice(built[0], "the only module of this build (not an x86-64 level build)", built, built)
    supported, missing = supported_levels(features)
    if built == ("native",):
        if forced and forced != "native":
            raise ValueError(f"{ENV_VAR}={forced}: this is a host-only build (EIGENGRAD_NATIVE=ON) with one "
                             "module, 'native'; the default build has every level")
        if native_level and native_level not in supported:
            raise ImportError(
                f"this eigengrad was built for its build host only (EIGENGRAD_NATIVE=ON, -march=native, level "
                f"{native_level}), and this CPU lacks {', '.join(missing[native_level])}; reinstall it with the "
                "default portable build")
        return Choice("native", "a host-only build (-march=native)", built, supported, missing)
    runnable = tuple(level for level in built if level in supported)
    if not runnable:
        lowest = built[0]
        raise ImportError(
            f"eigengrad needs an x86-64 CPU with at least the {lowest} level ({DESCRIPTIONS[lowest]}); this "
            f"CPU lacks {', '.join(missing.get(lowest, ()))}")
    if forced:
        if forced not in built:
            raise ValueError(f"{ENV_VAR}: expected one of the levels this build has ({', '.join(built)}), "
                             f"got {forced!r}")
        if forced not in runnable:
            raise ValueError(f"{ENV_VAR}={forced}: this CPU lacks {', '.join(missing[forced])}; the levels it "
                             f"supports are {', '.join(runnable)}")
        return Choice(forced, f"forced by {ENV_VAR}={forced}", built, runnable, missing)
    best = runnable[-1]
    above = [lvl for lvl in built if lvl not in runnable]
    why = f"the highest level this CPU supports (of {', '.join(built)})"
    if above:
        why += "; " + "; ".join(f"{lvl} needs {', '.join(missing[lvl])}" for lvl in above)
    return Choice(best, why, built, runnable, missing)


def load() -> tuple[ModuleType, Choice]:
    """Choose the level (``EIGENGRAD_ISA`` forces one) and import its kernel module."""
    forced = os.environ.get(ENV_VAR, "").strip().lower() or None
    built = tuple(_cpuinfo.build_levels)
    choice = choose(built, dict(_cpuinfo.features()), _cpuinfo.native_level, forced)
    return importlib.import_module(f"eigengrad._C_{choice.level}"), choice


def cpu_model() -> str:
    """The CPU's model name (for benchmark reports)."""
    return _cpuinfo.brand() or _cpuinfo.vendor() or "unknown CPU"
