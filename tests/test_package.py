"""Packaging-level behaviour: config, threads, import hygiene, serialization, the command line."""
import os
import subprocess
import sys

import numpy as np
import pytest

import eigengrad as eg


def test_show_config_reports_the_build(capsys):
    eg.show_config()
    out = capsys.readouterr().out
    cfg = eg.get_config()
    assert f"eigengrad {eg.__version__}" in out
    assert cfg["eigen_version"].startswith("3.4") and cfg["eigen_version"] in out
    assert ("OpenMP:    yes" in out) == cfg["openmp"]
    assert cfg["simd"] in out and f"threads:   {eg.get_num_threads()}" in out
    assert cfg["dtypes"] == ("float32", "float64")


def test_set_num_threads_round_trip():
    before = eg.get_num_threads()
    try:
        eg.set_num_threads(1)
        assert eg.get_num_threads() == 1
        eg.set_num_threads(3)
        assert eg.get_num_threads() == (3 if eg.get_config()["openmp"] else 1)
    finally:
        eg.set_num_threads(before)
    with pytest.raises(ValueError, match="n"):
        eg.set_num_threads(0)
    with pytest.raises(TypeError, match="n"):
        eg.set_num_threads("2")


def run_python(code, env=None):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def test_import_is_light_and_changes_no_global_state():
    code = (
        "import sys, logging, warnings\n"
        "import numpy  # numpy installs warning filters of its own; eigengrad must add none\n"
        "filters = list(warnings.filters); handlers = list(logging.getLogger().handlers)\n"
        "import eigengrad\n"
        "heavy = [m for m in ('torch', 'sklearn', 'optuna', 'ray', 'matplotlib', 'tqdm', 'safetensors', 'scipy')"
        " if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "assert warnings.filters == filters and logging.getLogger().handlers == handlers\n"
        "print('ok')\n"
    )
    r = run_python(code)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_omp_num_threads_from_the_launcher_takes_effect():
    if not eg.get_config()["openmp"]:
        pytest.skip("this build has no OpenMP: kernels always run on one thread")
    r = run_python("import eigengrad; print(eigengrad.get_num_threads())", env={"OMP_NUM_THREADS": "1"})
    assert r.stdout.strip() == "1", r.stderr


def test_save_load_round_trip_is_safetensors_and_atomic(tmp_path):
    m = eg.nn.Sequential(eg.nn.Linear(3, 4), eg.nn.ReLU(), eg.nn.Linear(4, 2))
    path = tmp_path / "model.safetensors"
    eg.save(m.state_dict(), path, metadata={"epoch": 3})
    loaded = eg.load(path)
    assert list(loaded) == list(m.state_dict())
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(loaded[k].numpy(), v.numpy())
    from eigengrad.serialization import load_metadata

    assert load_metadata(path) == {"epoch": 3}
    with open(path, "rb") as f:
        header_len = int.from_bytes(f.read(8), "little")
        assert b'"0.weight"' in f.read(header_len)  # a safetensors header, not a pickle
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]  # no temporary left behind
    with pytest.raises(TypeError, match="^f: expected a path .* or a binary file object, got int"):
        eg.save({"a": [1, 2]}, 3)


def test_cli_train_reaches_95_percent_on_digits():
    r = subprocess.run([sys.executable, "-m", "eigengrad", "train", "--epochs", "20", "--quiet"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("test accuracy:")][-1]
    assert float(line.split()[2]) >= 0.95, line


def test_cli_rejects_bad_options():
    r = subprocess.run([sys.executable, "-m", "eigengrad", "train", "--test-fraction", "1.5", "--quiet"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "test-fraction" in r.stderr


def test_help_shows_the_command_the_user_typed():
    from eigengrad.__main__ import program_name

    assert program_name("/venv/bin/eigengrad") == "eigengrad"
    assert program_name("/site-packages/eigengrad/__main__.py") == "python -m eigengrad"
    r = subprocess.run([sys.executable, "-m", "eigengrad", "--help"], capture_output=True, text=True, timeout=60)
    assert r.stdout.startswith("usage: python -m eigengrad ")
    script = os.path.join(os.path.dirname(sys.executable), "eigengrad")
    if os.path.exists(script):  # the console script the wheel installs
        r = subprocess.run([script, "train", "--help"], capture_output=True, text=True, timeout=60)
        assert r.stdout.startswith("usage: eigengrad train "), r.stdout[:200]


def test_the_license_ships_with_the_package():
    from importlib import metadata

    dist = metadata.distribution("eigengrad")
    assert dist.metadata["License-Expression"] == "MIT"
    assert "LICENSE" in dist.metadata.get_all("License-File")
    shipped = [f for f in dist.files or () if f.name == "LICENSE"]
    assert shipped and "MIT License" in shipped[0].read_text()
