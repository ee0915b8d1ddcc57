"""docs/reliability.md names the test that holds each guarantee: every name must exist."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "reliability.md"


def _defined_tests() -> set:
    names = set()
    for path in (ROOT / "tests").rglob("*.py"):
        names |= set(re.findall(r"def (test_\w+)", path.read_text(encoding="utf-8")))
    return names


def test_every_test_named_in_the_reliability_page_exists():
    text = DOC.read_text(encoding="utf-8")
    files = set(re.findall(r"\b(test_\w+)\.py", text))
    functions = set(re.findall(r"\b(test_\w+)\b(?!\.py)", text)) - files
    assert functions, "the page names no test"
    missing = sorted(functions - _defined_tests())
    assert not missing, f"docs/reliability.md names tests that do not exist: {missing}"
    test_files = {path.stem for path in (ROOT / "tests").rglob("test_*.py")}
    assert files <= test_files, sorted(files - test_files)
