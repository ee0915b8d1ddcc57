"""Who asks for torch while framework runs: a script the torch-import tests run in a subprocess
(``run``; importing this module installs nothing).

    python tests/torch_import_probe.py block|watch

Imports framework, runs a small ``cuda`` program (randn, matmul, exp, sum, backward) and
prints one JSON line: ``torch_loaded`` (torch in ``sys.modules`` after the program),
``importers`` (the file of each frame that asked for torch), ``control`` (the importers
recorded for one ``import torch`` compiled as a file of framework's package, run after the
program: the tests check the probe names it, so a framework import could not go unseen),
``x`` and ``grad`` (the program's input and gradient, for a NumPy check).

An attempt is charged to the innermost frame outside importlib and this file. Import
statements, ``__import__`` and Python's C API (Triton 3.6's argument specialization imports
torch from C++ under the interpreter) all go through ``builtins.__import__``;
``importlib.import_module`` is wrapped. ``block`` also puts a finder first on
``sys.meta_path`` that fails every import of torch, whatever the route, as if torch were
not installed: the program must work without it. ``watch`` lets torch load (a GPU run on
Triton <= 3.7, whose launcher needs torch).
"""
from __future__ import annotations

import builtins
import importlib
import json
import os
import subprocess
import sys

BLOCK = False
HERE = os.path.abspath(__file__)
IMPORTLIB_DIR = os.path.dirname(importlib.__file__)
attempts: list = []


def _is_torch(name: str) -> bool:
    return name == "torch" or name.startswith("torch.")


def _record() -> None:
    """Charge an attempt to the innermost frame outside importlib and this file (torch's
    imports of its own submodules, once it loads, are not attempts)."""
    frame = sys._getframe(1)
    while frame is not None:
        path = frame.f_code.co_filename
        if not (path.startswith("<frozen importlib") or path == HERE
                or path.startswith(IMPORTLIB_DIR + os.sep)):
            break
        frame = frame.f_back
    if frame is None:
        attempts.append("?")
    elif not _is_torch(frame.f_globals.get("__name__") or ""):
        attempts.append(os.path.abspath(frame.f_code.co_filename))


def _blocked(name: str) -> ModuleNotFoundError:
    return ModuleNotFoundError(f"No module named {name!r} (blocked by the probe)", name=name)


_real_import = builtins.__import__
_real_import_module = importlib.import_module


def _import(name, globals=None, locals=None, fromlist=(), level=0):
    if level == 0 and _is_torch(name):
        _record()
        if BLOCK:
            raise _blocked(name)
    return _real_import(name, globals, locals, fromlist, level)


def _import_module(name, package=None):
    if _is_torch(name):
        _record()
        if BLOCK:
            raise _blocked(name)
    return _real_import_module(name, package)


class _Blocker:
    """First on ``sys.meta_path`` in block mode: every other route to torch fails here."""

    def find_spec(self, name, path=None, target=None):
        if _is_torch(name):
            _record()
            raise _blocked(name)
        return None


def run(mode: str, interpret: bool, timeout: float) -> dict:
    """Run the probe in a subprocess (``block`` or ``watch``, on the interpreter or the GPU)
    and return its JSON result; an assertion error with its stderr if it failed."""
    env = {**os.environ, "FRAMEWORK_TRITON_INTERPRET": "1" if interpret else "0"}
    out = subprocess.run([sys.executable, HERE, mode], capture_output=True, text=True,
                         timeout=timeout, env=env)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def own_importers(result: dict, key: str = "importers") -> list:
    """The importers that are framework's own code (its ``framework/`` and ``triton_kernels/``
    folders, where the probe found them)."""
    own = tuple(folder + os.sep for folder in result["own_code"])
    return [path for path in result[key] if path.startswith(own)]


def main(mode: str) -> None:
    global BLOCK
    BLOCK = mode == "block"
    builtins.__import__ = _import
    importlib.import_module = _import_module
    if BLOCK:
        sys.meta_path.insert(0, _Blocker())

    import framework
    import framework.nn
    import framework.optim
    import framework.utils.data  # noqa: F401  (imported for their import-time code)

    x = framework.randn(3, 3, requires_grad=True, device="cuda")
    (x @ x).exp().sum().backward()
    package = os.path.dirname(os.path.abspath(framework.__file__))
    result = {"torch_loaded": "torch" in sys.modules, "importers": sorted(set(attempts)),
              "own_code": [package, os.path.join(os.path.dirname(package), "triton_kernels")],
              "x": x.tolist(), "grad": x.grad.tolist()}
    attempts.clear()
    control = os.path.join(package, "_probe.py")
    try:
        exec(compile("import torch", control, "exec"), {})
    except ImportError:
        pass
    result["control"] = sorted(set(attempts))
    print(json.dumps(result))


if __name__ == "__main__":
    if sys.argv[1:] not in (["block"], ["watch"]):
        sys.exit("usage: torch_import_probe.py block|watch")
    main(sys.argv[1])
