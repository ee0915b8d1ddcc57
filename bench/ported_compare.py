"""Unseen-style PyTorch scripts, ported by swapping their imports: time on torch vs framework.

Each script in ``bench/ported/`` is plain PyTorch code that prints ``<name>: ... time <s> s``
per model it trains. This runs every script in child processes, alternately on torch and on
framework (the script's ``torch`` imports resolved to ``framework`` modules, as a user porting
a script by editing its imports gets), ``--rounds`` times each, and prints the median time
per model and the ratio framework / torch. Both sides get the same thread settings (set
``OMP_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS`` / ``MKL_NUM_THREADS`` in the environment).

    PYTHONPATH=$PWD python bench/ported_compare.py [--rounds 3] [bench/ported/chars.py ...]
"""
from __future__ import annotations

import argparse
import importlib
import re
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# the torch modules a ported script imports, and the framework module each resolves to
TORCH_NAMES = {
    "torch": "framework",
    "torch.nn": "framework.nn",
    "torch.nn.functional": "framework.nn.functional",
    "torch.optim": "framework.optim",
    "torch.optim.lr_scheduler": "framework.optim.lr_scheduler",
    "torch.utils": "framework.utils",
    "torch.utils.data": "framework.utils.data",
}
TIME_LINE = re.compile(r"^(\w+): .*time ([0-9.]+) s$")


def run_here(script: Path, side: str) -> None:
    """Execute ``script`` in this process, on ``side`` ("torch" or "framework")."""
    if side == "framework":
        for torch_name, name in TORCH_NAMES.items():
            sys.modules[torch_name] = importlib.import_module(name)
    else:
        import torch
        threads = __import__("os").environ.get("OMP_NUM_THREADS")
        if threads and threads.isdigit():
            torch.set_num_threads(int(threads))
    code = compile(script.read_text(), str(script), "exec")
    exec(code, {"__name__": "__main__", "__file__": str(script)})


def times_of(script: Path, side: str) -> dict:
    """``{model: seconds}`` printed by one child process running ``script`` on ``side``."""
    result = subprocess.run([sys.executable, __file__, "--run", side, str(script)],
                            capture_output=True, text=True, check=True)
    found = {}
    for line in result.stdout.splitlines():
        match = TIME_LINE.match(line.strip())
        if match:
            found[match.group(1)] = float(match.group(2))
    return found


def compare(script: Path, rounds: int) -> list:
    """Rows ``(model, torch median s, framework median s)`` over alternating rounds."""
    samples = {"torch": {}, "framework": {}}
    for _ in range(rounds):
        for side in ("torch", "framework"):
            for model, seconds in times_of(script, side).items():
                samples[side].setdefault(model, []).append(seconds)
    return [(model, statistics.median(samples["torch"][model]),
             statistics.median(samples["framework"].get(model, [float("nan")])))
            for model in samples["torch"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scripts", nargs="*", type=Path,
                        default=sorted((HERE / "ported").glob("*.py")))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--run", choices=("torch", "framework"),
                        help="run one script in this process (used by the child processes)")
    args = parser.parse_args()
    if args.run:
        run_here(args.scripts[0], args.run)
        return
    print(f"{'script':10s} {'model':12s} {'torch s':>9s} {'framework s':>12s} {'ratio':>6s}")
    for script in args.scripts:
        for model, torch_s, ours in compare(script, args.rounds):
            print(f"{script.stem:10s} {model:12s} {torch_s:9.3f} {ours:12.3f} "
                  f"{ours / torch_s:6.2f}")


if __name__ == "__main__":
    main()
