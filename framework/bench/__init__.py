"""``framework bench``: the benchmark report, every row against a reference timed in the same run.

Suites (``--suite``):

- ``ops``: op micro-benchmarks: per-op dispatch overhead on tiny tensors,
  elementwise, reductions, softmax, layer_norm, cross_entropy, attention;
- ``matmul`` and ``conv``: shape sweeps;
- ``distributed`` (only when named, not in ``all``: it starts ``mpiexec``): all_reduce bus
  bandwidth against mpi4py on 2 cpu ranks and the DDP step's scaling from 1 to 2 ranks
  (``distributed.py``);
- ``compile``: ``framework.compile`` against our eager mode for the inference and
  the training steps of the examples' MLP, CNN and transformer: time and kernel
  launches per call or step (``compiled.py``);
- ``train``: whole training steps (forward, backward, Adam) of an MLP, a
  LeNet-style CNN and a small pre-LN transformer, written with framework ops
  and ``framework.nn.functional`` so that they run whatever layers exist.

The reference is PyTorch on the same device when it is importable (on
``cuda``: with a GPU), otherwise NumPy on the host; the report names it.
Times are medians of interleaved repeats after warm-up: wall-clock on the CPU, CUDA
events on a GPU (with the L2 cache flushed before each repeat of a kernel
benchmark). Each row gives ours / reference (the ratio: above 1 is slower),
the achieved GFLOP/s or GB/s, and on a GPU the fraction of the card's peak.
An op that is missing from this build gives a *skipped* row naming it,
never an error; a result that disagrees with the reference is flagged.

Modules: ``core`` (rows, cases, the builders' context), ``kernels`` (the
``ops``, ``matmul`` and ``conv`` suites), ``train`` (the ``train`` suite),
``compiled`` (the ``compile`` suite),
``timing`` (interleaved medians, CUDA events), ``runner`` (running specs into
rows, GPU peaks) and ``report`` (summaries, JSON, tables). The package lives
inside ``framework`` so that the ``framework`` console script finds it after
any install; it imports torch only as the reference, only when installed.
"""
from __future__ import annotations

from . import timing
from .core import EXTRA_SUITES, SUITES, Case, Context, Missing, Result, Spec
from .report import (CPU_TARGETS, cpu_target_status, environment, format_time, geometric_mean, render,
                     summary, write_json)
from .runner import GPU_PEAKS, agrees, gpu_peaks, op_names, run, run_spec, specs
from .timing import interleaved_medians, median_seconds

__all__ = ["SUITES", "EXTRA_SUITES", "CPU_TARGETS", "GPU_PEAKS", "Case", "Context", "Missing", "Result", "Spec",
           "agrees", "cpu_target_status", "environment", "format_time", "geometric_mean", "gpu_peaks",
           "interleaved_medians", "median_seconds", "op_names", "render", "run", "run_spec", "specs",
           "summary", "timing", "write_json"]
