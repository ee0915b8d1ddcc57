"""docs/tutorial.md's Python blocks run, in order, as one script."""
from __future__ import annotations

import re
from pathlib import Path

TUTORIAL = Path(__file__).resolve().parents[2] / "docs" / "tutorial.md"


def python_blocks(markdown: str) -> list[str]:
    """The bodies of the ```python fenced blocks."""
    return re.findall(r"^```python\n(.*?)^```", markdown, flags=re.S | re.M)


def test_tutorial_has_the_promised_sections():
    text = TUTORIAL.read_text()
    for section in ("## Install", "## Tensors", "## Autograd", "## A model", "## Data", "## Training",
                    "## Save and load", "## On a GPU", "## Sequences of different lengths"):
        assert section in text
    assert len(python_blocks(text)) == 8


def test_tutorial_code_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the tutorial writes checkpoint.pt
    namespace = {"__name__": "tutorial"}
    for number, block in enumerate(python_blocks(TUTORIAL.read_text()), 1):
        exec(compile(block, f"{TUTORIAL}:block{number}", "exec"), namespace)
    assert (tmp_path / "checkpoint.pt").exists()
    assert namespace["accuracy"] > 0.95
    assert "parameters" in capsys.readouterr().out
