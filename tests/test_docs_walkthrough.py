"""docs/add_an_op.md stays true: every file its table names exists and defines the names given.

The table's rows are ``| step | `path` | what | `name`, `name` |``; a name is found when
the file defines it (``def``/``class``/assignment, by AST) or holds it as a dict key
(``"name":``) or calls it (``register(``). The op the page follows must be registered
with the kernel the contract row names, and tested in the test file it names.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import framework  # noqa: F401 - registers every op
from framework._backends import contract
from framework.ops import registry

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "add_an_op.md"
ROW = re.compile(r"^\| *(\w+) *\| *`([^`]+)` *\|[^|]*\| *(.+?) *\|$")


def _rows() -> list:
    rows = []
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match and match.group(1) != "#":
            rows.append((match.group(1), match.group(2), re.findall(r"`([^`]+)`", match.group(3))))
    return rows


def _defined(path: Path) -> set:
    """Names defined at any level of the module, dict string keys, and names called."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.Dict):
            names.update(k.value for k in node.keys if isinstance(k, ast.Constant))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            names.add(node.func.id)
    return names


def test_the_table_lists_five_files_and_a_test():
    steps = [step for step, _, _ in _rows()]
    assert steps == ["1", "2", "3", "4", "5", "test"], steps


@pytest.mark.parametrize("step,path,names", _rows(), ids=[r[0] for r in _rows()])
def test_each_named_file_defines_the_named_parts(step, path, names):
    file = ROOT / path
    assert file.is_file(), f"docs/add_an_op.md step {step}: {path} does not exist"
    missing = [name.strip('"') for name in names if name.strip('"') not in _defined(file)]
    assert not missing, f"docs/add_an_op.md step {step}: {path} has no {missing}"


def test_the_followed_op_is_registered_with_the_contract_kernel():
    text = PAGE.read_text(encoding="utf-8")
    op = re.search(r"follows one real op, `framework\.(\w+)`", text).group(1)
    assert op in registry.OPS and callable(getattr(framework, op))
    contract_names = dict(_rows_by_step())["1"]
    kernel = contract_names[1].strip('"')
    assert kernel in registry.OPS[op].kernels
    assert kernel in getattr(contract, contract_names[0])


def _rows_by_step():
    return [(step, names) for step, _, names in _rows()]


def test_custom_ops_tutorial_code_parses_and_names_the_examples_parts():
    """docs/custom_ops.md: every Python block parses, and the example functions and ops it
    builds step by step exist in examples/custom_ops/rms_norm.py."""
    text = (ROOT / "docs" / "custom_ops.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 6
    for block in blocks:
        ast.parse(block)
    example = _defined(ROOT / "examples" / "custom_ops" / "rms_norm.py")
    for name in ("rms_norm_op", "rms_norm", "rms_norm_composite", "rms_norm_fwd_kernel",
                 "_setup_context", "_backward", "rms_norm_backward_op",
                 "rms_norm_backward_composite"):
        assert name in text and name in example, name
