"""CPU per-op overhead of the NumPy backend, measured against PyTorch CPU in the same process.

Usage (from the repository root)::

    PYTHONPATH=$PWD python bench/dispatch_profile.py            # all cases, ratios
    PYTHONPATH=$PWD python bench/dispatch_profile.py add mlp    # some cases
    PYTHONPATH=$PWD python bench/dispatch_profile.py --profile mlp   # cProfile of ours
    PYTHONPATH=$PWD python bench/dispatch_profile.py --kernels lenet # ours, per backend kernel
    PYTHONPATH=$PWD python bench/dispatch_profile.py lenet --side ours   # one side alone
    ... --no-split      # our kernels' thread pieces run in sequence (an A/B of the splits)

Each case builds the same computation in ``framework`` and in ``torch`` and
times them *interleaved* in many short batches (ours, torch, ours, torch ...)
so that load from other processes on a shared machine hits both alike; the
numbers reported are the medians over the batches after warm-up and the
ratio ours / torch. Both libraries run with one
thread (``torch.set_num_threads(1)``, ``OPENBLAS_NUM_THREADS=1``) so that the
comparison is of per-op overhead, not of thread scheduling on a busy machine;
``OMP_NUM_THREADS=2`` in the environment runs both sides on two threads instead.

Cases:
  add     ``a + b`` on 10-element float32 tensors (dispatch overhead)
  add_s   ``a + 1.0`` (tensor with a Python scalar)
  sub mul div  ``a - b``, ``a * b``, ``a / b`` like ``add``
  relu    ``relu(a)`` on 10 elements
  add_rg  ``a + b`` where ``a`` requires grad (graph recording)
  mlp     one training step of an MLP 784-512-256-10, batch 128, Adam
  lenet   one LeNet-style CNN step, batch 64, Adam (needs F.conv2d)
  transformer  one step of a small transformer encoder, Adam (needs nn.TransformerEncoderLayer)
  gru     one step of a GRU(64, 128) sequence classifier, batch 32 x 32 steps, Adam
  lstm    the same with an LSTM
"""
from __future__ import annotations

import os

_THREADS = os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", _THREADS)

import argparse  # noqa: E402
import cProfile  # noqa: E402
import pstats  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

import framework as fw  # noqa: E402
import framework.nn as fnn  # noqa: E402
import framework.nn.functional as FF  # noqa: E402

torch.set_num_threads(int(_THREADS))


# ---------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------
def _time_batch(fn, inner: int) -> float:
    start = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - start) / inner


def compare(ours, theirs, inner: int, rounds: int, warmup: int = 3) -> tuple:
    """Median seconds per call of ``ours`` and ``theirs``, timed in alternating batches."""
    for _ in range(warmup):
        _time_batch(ours, inner)
        _time_batch(theirs, inner)
    a, b = [], []
    for _ in range(rounds):
        a.append(_time_batch(ours, inner))
        b.append(_time_batch(theirs, inner))
    return statistics.median(a), statistics.median(b)


# ---------------------------------------------------------------------------------------
# Cases: each returns (ours, theirs, inner, rounds)
# ---------------------------------------------------------------------------------------
def _pair(shape, requires_grad=False, seed=0):
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return (fw.tensor(x, requires_grad=requires_grad),
            torch.tensor(x, requires_grad=requires_grad))


def case_add():
    (a, ta), (b, tb) = _pair(10), _pair(10, seed=1)
    return (lambda: a + b), (lambda: ta + tb), 200, 151


def case_add_s():
    a, ta = _pair(10)
    return (lambda: a + 1.0), (lambda: ta + 1.0), 200, 151


def case_sub():
    (a, ta), (b, tb) = _pair(10), _pair(10, seed=1)
    return (lambda: a - b), (lambda: ta - tb), 200, 151


def case_mul():
    (a, ta), (b, tb) = _pair(10), _pair(10, seed=1)
    return (lambda: a * b), (lambda: ta * tb), 200, 151


def case_div():
    (a, ta), (b, tb) = _pair(10), _pair(10, seed=1)
    return (lambda: a / b), (lambda: ta / tb), 200, 151


def case_relu():
    a, ta = _pair(10)
    return (lambda: FF.relu(a)), (lambda: torch.relu(ta)), 200, 151


def case_add_rg():
    (a, ta), (b, tb) = _pair(10, requires_grad=True), _pair(10, seed=1)
    return (lambda: a + b), (lambda: ta + tb), 200, 151


def _copy_params(ours_module, torch_module) -> None:
    """Same initial weights in both models (by parameter order)."""
    with torch.no_grad():
        for p, tp in zip(ours_module.parameters(), torch_module.parameters()):
            tp.copy_(torch.from_numpy(np.array(p.detach().numpy())))


def _step_pair(model, tmodel, x, tx, y, ty, lr=1e-3):
    _copy_params(model, tmodel)
    opt = fw.optim.Adam(model.parameters(), lr=lr)
    topt = torch.optim.Adam(tmodel.parameters(), lr=lr)

    def ours():
        opt.zero_grad()
        loss = FF.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    def theirs():
        topt.zero_grad()
        loss = torch.nn.functional.cross_entropy(tmodel(tx), ty)
        loss.backward()
        topt.step()
    return ours, theirs


def case_mlp():
    model = fnn.Sequential(fnn.Linear(784, 512), fnn.ReLU(), fnn.Linear(512, 256), fnn.ReLU(),
                           fnn.Linear(256, 10))
    tmodel = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(),
                                 torch.nn.Linear(512, 256), torch.nn.ReLU(),
                                 torch.nn.Linear(256, 10))
    x, tx = _pair((128, 784))
    yn = np.random.default_rng(2).integers(0, 10, 128)
    ours, theirs = _step_pair(model, tmodel, x, tx, fw.tensor(yn), torch.tensor(yn))
    return ours, theirs, 1, 41


def _lenet(nn):
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, 10))


def case_lenet():
    if not hasattr(FF, "conv2d"):
        return None
    model, tmodel = _lenet(fnn), _lenet(torch.nn)
    x, tx = _pair((64, 1, 28, 28))
    yn = np.random.default_rng(2).integers(0, 10, 64)
    ours, theirs = _step_pair(model, tmodel, x, tx, fw.tensor(yn), torch.tensor(yn))
    return ours, theirs, 1, 31


class _TinyTransformer:
    """Embedding + 2 encoder layers (d=64, 4 heads, ff=128) + a linear head, batch 16 x 32."""

    def __init__(self, nn):
        self.nn = nn
        self.embed = nn.Embedding(100, 64)
        layer = nn.TransformerEncoderLayer(64, 4, 128, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2) if hasattr(nn, "TransformerEncoder") \
            else nn.Sequential(layer, nn.TransformerEncoderLayer(64, 4, 128, dropout=0.0,
                                                                 batch_first=True))
        self.head = nn.Linear(64, 100)
        self.model = nn.ModuleList([self.embed, self.encoder, self.head])

    def __call__(self, tokens):
        h = self.encoder(self.embed(tokens))
        return self.head(h).reshape(-1, 100)


def case_transformer():
    if not hasattr(fnn, "TransformerEncoderLayer"):
        return None
    try:
        model, tmodel = _TinyTransformer(fnn), _TinyTransformer(torch.nn)
        tok = np.random.default_rng(3).integers(0, 100, (16, 32))
        model(fw.tensor(tok))
    except Exception as exc:  # an op the transformer needs is not on this branch yet
        print(f"transformer: skipped ({type(exc).__name__}: {exc})")
        return None
    _copy_params(model.model, tmodel.model)
    yn = np.random.default_rng(4).integers(0, 100, 16 * 32)
    x, tx, y, ty = fw.tensor(tok), torch.tensor(tok), fw.tensor(yn), torch.tensor(yn)
    opt = fw.optim.Adam(model.model.parameters(), lr=1e-3)
    topt = torch.optim.Adam(tmodel.model.parameters(), lr=1e-3)

    def ours():
        opt.zero_grad()
        FF.cross_entropy(model(x), y).backward()
        opt.step()

    def theirs():
        topt.zero_grad()
        torch.nn.functional.cross_entropy(tmodel(tx), ty).backward()
        topt.step()
    return ours, theirs, 1, 31


class _Recurrent:
    """A GRU or LSTM (input 64, hidden 128, batch-first 32 x 32 steps) and a linear head on
    the last step's output: a sequence classifier's step."""

    def __init__(self, nn, kind: str):
        self.rnn = getattr(nn, kind)(64, 128, batch_first=True)
        self.head = nn.Linear(128, 10)
        self.model = nn.ModuleList([self.rnn, self.head])

    def __call__(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


def _case_recurrent(kind: str):
    if not hasattr(fnn, kind):
        return None
    model, tmodel = _Recurrent(fnn, kind), _Recurrent(torch.nn, kind)
    _copy_params(model.model, tmodel.model)
    x, tx = _pair((32, 32, 64))
    yn = np.random.default_rng(5).integers(0, 10, 32)
    y, ty = fw.tensor(yn), torch.tensor(yn)
    opt = fw.optim.Adam(model.model.parameters(), lr=1e-3)
    topt = torch.optim.Adam(tmodel.model.parameters(), lr=1e-3)

    def ours():
        opt.zero_grad()
        FF.cross_entropy(model(x), y).backward()
        opt.step()

    def theirs():
        topt.zero_grad()
        torch.nn.functional.cross_entropy(tmodel(tx), ty).backward()
        topt.step()
    return ours, theirs, 1, 31


def case_gru():
    return _case_recurrent("GRU")


def case_lstm():
    return _case_recurrent("LSTM")


CASES = {"add": case_add, "add_s": case_add_s, "sub": case_sub, "mul": case_mul, "div": case_div,
         "relu": case_relu, "add_rg": case_add_rg,
         "mlp": case_mlp, "lenet": case_lenet, "transformer": case_transformer, "gru": case_gru, "lstm": case_lstm}


def _fmt(seconds: float) -> str:
    return f"{seconds * 1e6:9.1f} us" if seconds < 1e-3 else f"{seconds * 1e3:9.2f} ms"


def no_split() -> None:
    """Run every kernel's pieces on the calling thread (``run_pieces`` in sequence): the
    thread pool's hand-offs out of the picture, for an A/B of the splits."""
    from framework._backends.numpy import _parallel, conv, pool

    def in_sequence(fn, pieces, count):
        return [fn(piece) for piece in pieces]
    for module in (_parallel, conv, pool):
        module.run_pieces = in_sequence


def kernel_times(name: str, steps: int = 30) -> None:
    """Our side of case ``name`` with each NumPy backend kernel timed: ms per call of the
    case, the 12 costliest kernels (``train_kernels.print_kernel_times``)."""
    from train_kernels import print_kernel_times  # bench/, next to this script
    print_kernel_times(name, CASES[name]()[0], steps, top=12)


def time_side(name: str, side: str) -> None:
    """Child process of ``--separate``: time one side of case ``name`` alone; print seconds."""
    ours, theirs, inner, rounds = CASES[name]()
    fn = ours if side == "ours" else theirs
    for _ in range(3):
        _time_batch(fn, inner)
    print(statistics.median(_time_batch(fn, inner) for _ in range(rounds)))


def compare_separately(name: str, processes: int, flags: tuple = ()) -> tuple:
    """Median seconds per call of each side, each timed alone in ``processes`` child
    processes per side, run in turn (``flags`` passed on to the children)."""
    import subprocess
    import sys
    times: dict = {"ours": [], "torch": []}
    for _ in range(processes):
        for side in times:
            out = subprocess.run([sys.executable, __file__, name, "--side", side, *flags],
                                 capture_output=True, text=True, check=True)
            times[side].append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times["ours"]), statistics.median(times["torch"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", default=list(CASES))
    parser.add_argument("--profile", action="store_true", help="cProfile our side of each case")
    parser.add_argument("--calls", type=int, default=0, help="calls to profile (default: auto)")
    parser.add_argument("--separate", action=argparse.BooleanOptionalAction,
                        default=int(_THREADS) > 1,
                        help="time each side in its own processes (default: with >1 thread)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="child processes per side with --separate")
    parser.add_argument("--side", choices=("ours", "torch"),
                        help="time only this side of the first case, alone (prints seconds)")
    parser.add_argument("--kernels", action="store_true",
                        help="our side of each case with every backend kernel timed")
    parser.add_argument("--no-split", action="store_true",
                        help="run our kernels' thread pieces in sequence (an A/B of the splits)")
    args = parser.parse_args()
    if args.no_split:
        no_split()
    if args.kernels:
        for name in args.cases:
            kernel_times(name)
        return
    if args.side:
        time_side(args.cases[0], args.side)
        return
    for name in args.cases:
        if args.separate and not args.profile:
            mine, ref = compare_separately(name, args.rounds,
                                           ("--no-split",) if args.no_split else ())
            print(f"{name:12s} ours {_fmt(mine)}  torch {_fmt(ref)}  ratio {mine / ref:6.2f}x"
                  f"  (separate processes)", flush=True)
            continue
        built = CASES[name]()
        if built is None:
            print(f"{name:12s} skipped (not on this branch)")
            continue
        ours, theirs, inner, rounds = built
        if args.profile:
            for _ in range(3):
                ours()
            calls = args.calls or inner * rounds * 2
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(calls):
                ours()
            profiler.disable()
            print(f"== {name}: {calls} calls")
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
            continue
        mine, ref = compare(ours, theirs, inner, rounds)
        print(f"{name:12s} ours {_fmt(mine)}  torch {_fmt(ref)}  ratio {mine / ref:6.2f}x",
              flush=True)


if __name__ == "__main__":
    main()
