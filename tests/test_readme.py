"""The README's example runs as written and trains."""
import re

from source_tree import ROOT, needs_source_file

README = ROOT / "README.md"
pytestmark = needs_source_file("README.md")


def test_readme_example_runs_and_learns(capsys):
    text = README.read_text()
    code = re.search(r"## Example\n\n```python\n(.*?)```", text, re.S).group(1)
    assert len(code.strip().splitlines()) <= 15
    exec(compile(code, "README example", "exec"), {})
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("train accuracy") and float(line.split()[-1]) > 0.97, line


def test_readme_fit_example_runs_after_the_first(capsys, tmp_path, monkeypatch):
    text = README.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text.split("## Example", 1)[1], re.S)
    assert len(blocks) >= 2 and "fit(" in blocks[1]
    monkeypatch.chdir(tmp_path)  # the example writes last.safetensors
    scope = {}
    exec(compile(blocks[0], "README example", "exec"), scope)
    exec(compile(blocks[1], "README fit example", "exec"), scope)
    val_accuracy = float(capsys.readouterr().out.strip().splitlines()[-1])
    assert val_accuracy > 0.9 and (tmp_path / "last.safetensors").exists()
