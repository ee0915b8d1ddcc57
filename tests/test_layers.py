"""The layer rules of docs/architecture.md that an import graph can hold.

Each check reads the modules' import statements (module level and inside
functions, relative imports resolved), so a lazy import breaks it too.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> set:
    """Absolute names of every module ``path`` imports (``from a import b`` gives a and a.b)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _offenders(folder: str, forbidden) -> dict:
    result = {}
    for path in sorted((ROOT / folder).rglob("*.py")):
        bad = sorted(m for m in imported_modules(path) if forbidden(m))
        if bad:
            result[str(path.relative_to(ROOT))] = bad
    return result


def test_imported_modules_resolves_relative_and_lazy_imports():
    """The checker itself sees a relative import inside a function."""
    probe = ROOT / "framework" / "autotune" / "command.py"
    assert "framework.autotune.keys" in imported_modules(probe)
    assert "framework.autotune.tuner.tune" in imported_modules(probe)
    backend = ROOT / "framework" / "_backends" / "triton" / "matmul.py"
    assert "framework.autotune" in imported_modules(backend)  # the allowed direction


def test_autotune_never_imports_a_backend():
    """One-way: launch wrappers use ``framework.autotune``; the tuner is handed its platform."""
    assert _offenders("framework/autotune", lambda m: m.startswith("framework._backends")) == {}


def _launch_constants(path: Path) -> list:
    """Block sizes and warp counts written as numbers in a launch wrapper: module-level
    ``*BLOCK*``/``*WARPS*`` integer constants and integer ``BLOCK*=``/``num_warps=`` keywords of
    kernel launches (``kernel[grid](...)``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, (ast.Constant, ast.BinOp)):
            for target in node.targets:
                if isinstance(target, ast.Name) and ("BLOCK" in target.id or "WARPS" in target.id):
                    found.append(f"{target.id} = ... (line {node.lineno})")
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Subscript):
            for keyword in node.keywords:
                if keyword.arg and (keyword.arg == "num_warps" or keyword.arg.startswith("BLOCK")) \
                        and isinstance(keyword.value, ast.Constant):
                    found.append(f"{keyword.arg}={keyword.value.value} (line {node.lineno})")
    return found


def test_launch_wrappers_read_block_sizes_from_the_kernel_modules():
    """One source: configs live next to the kernels (``triton_kernels/<family>.py``)."""
    copied = {}
    for path in sorted((ROOT / "framework" / "_backends" / "triton").glob("*.py")):
        found = _launch_constants(path)
        if found:
            copied[path.name] = found
    assert copied == {}


def test_the_launch_constant_check_sees_a_copied_block(tmp_path):
    probe = tmp_path / "wrapper.py"
    probe.write_text("_BLOCK = 1024\n\ndef f(k, g):\n    k.kernel[g](1, BLOCK=_BLOCK, num_warps=4)\n")
    assert _launch_constants(probe) == ["_BLOCK = ... (line 1)", "num_warps=4 (line 4)"]


def test_ops_never_import_numpy():
    """Layer 3 holds no NumPy: host data goes through ``framework._backends.host`` and the
    backend's ``from_numpy`` kernel."""
    assert _offenders("framework/ops", lambda m: m == "numpy" or m.startswith("numpy.")) == {}


def test_tensor_reaches_memory_through_the_contract():
    """``Tensor.numpy()``/``data_ptr()`` call the contract's ``as_numpy``/``data_ptr`` kernels,
    not one backend's internals."""
    backend_internals = ("framework._backends.numpy.", "framework._backends.triton.")
    found = sorted(m for m in imported_modules(ROOT / "framework" / "tensor.py")
                   if m.startswith(backend_internals))
    assert found == []
