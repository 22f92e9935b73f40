"""The README's example runs as written and trains."""
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_runs_and_learns(capsys):
    text = README.read_text()
    code = re.search(r"## Example\n\n```python\n(.*?)```", text, re.S).group(1)
    assert len(code.strip().splitlines()) <= 15
    exec(compile(code, "README example", "exec"), {})
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("train accuracy") and float(line.split()[-1]) > 0.97, line
