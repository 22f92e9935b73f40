"""Tests that read files of the source tree (README.md, examples/) skip with a reason when the tests run
without it, e.g. copied beside an installed wheel."""
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def needs_source_file(relative: str):
    """Skip unless ``relative`` (a path under the source tree's root) is beside the tests."""
    return pytest.mark.skipif(
        not (ROOT / relative).exists(),
        reason=f"{relative} is not in {ROOT}: the tests run outside eigengrad's source tree (against an installed "
               "wheel), and this one reads the source tree's own files")
