"""GPU checks of the stream policy and the device error flag (needs a real GPU).

Run on a GPU machine (compiled kernels, not the interpreter):
``python bench/gpu_reliability_check.py``. Prints one PASS/FAIL line per check
and exits non-zero when one fails. The CPU suite holds the same guarantees
with a fake driver (tests/test_streams.py) and the interpreter
(tests/test_host_syncs.py, tests/ops/test_indexing.py); this runs them on the
real driver and Triton's real launcher (on Triton 3.6/3.7 with torch imported).
"""
from __future__ import annotations

import sys
import threading

import numpy as np


def check_torch_stream_does_not_redirect_kernels(results: dict) -> None:
    """Under ``torch.cuda.stream(s)`` a framework kernel still runs on the library's stream,
    so the copy back (on that stream) sees its result."""
    try:
        import torch
    except ImportError:
        results["torch stream"] = "SKIP (torch not installed)"
        return
    import framework
    from triton.runtime import driver
    a = np.random.default_rng(0).standard_normal((2048, 2048)).astype(np.float32)
    x = framework.tensor(a, device="cuda")
    side = torch.cuda.Stream()
    with torch.cuda.stream(side):
        launch_stream = driver.active.get_current_stream(0)
        sums = [(x @ x).sum().item() for _ in range(3)]  # a long kernel, then an immediate read
    expected = float((a.astype(np.float64) @ a.astype(np.float64)).sum())
    ok = launch_stream == 0 and all(abs(s - expected) <= 1e-3 * abs(expected) + 1.0 for s in sums)
    results["torch stream"] = "PASS" if ok else f"FAIL (stream {launch_stream}, sums {sums})"


def check_worker_thread(results: dict) -> None:
    """A new thread allocates, launches and reads back (the context is made current there)."""
    import framework
    out = {}

    def work():
        try:
            out["value"] = (framework.arange(10, device="cuda") * 2).sum().item()
        except Exception as exc:  # noqa: BLE001 - reported
            out["error"] = repr(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    results["worker thread"] = "PASS" if out.get("value") == 90 else f"FAIL ({out})"


def check_device_error_flag(results: dict) -> None:
    """An out-of-range index raises at the next sync, not at the call; the flag then clears."""
    import framework
    x = framework.zeros(4, 3, device="cuda")
    y = x.index_select(0, framework.tensor([1, 9], device="cuda"))
    try:
        y.sum().item()
        results["device error flag"] = "FAIL (no error)"
        return
    except RuntimeError as exc:
        message = str(exc)
    ok = "device-side assert triggered" in message and "index 9" in message
    ok = ok and x.sum().item() == 0.0  # cleared
    results["device error flag"] = "PASS" if ok else f"FAIL ({message})"


def check_training_step_syncs(results: dict) -> None:
    """forward + cross_entropy + backward + Adam step + zero_grad does no implicit sync."""
    import framework
    import framework.nn as nn
    import framework.nn.functional as F
    model = nn.Sequential(nn.Embedding(50, 32), nn.Flatten(), nn.Linear(32 * 8, 10)).to("cuda")
    opt = framework.optim.Adam(model.parameters())
    tokens = framework.randint(0, 50, (16, 8), device="cuda")
    target = framework.randint(0, 10, (16,), device="cuda")
    framework.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(2):
            F.cross_entropy(model(tokens), target).backward()
            opt.step()
            opt.zero_grad()
        results["training step syncs"] = "PASS"
    except RuntimeError as exc:
        results["training step syncs"] = f"FAIL ({exc})"
    finally:
        framework.cuda.set_sync_debug_mode(0)


def check_cuda_graphs(results: dict, repeats: int = 200) -> None:
    """``framework.compile(mode="reduce-overhead")``: an MLP's inference and training plans are
    captured as CUDA graphs (one capture each, none disabled), replays with new inputs match
    eager, and the replay's time per call is printed against the plain compiled plan's."""
    import time

    import framework
    import framework.nn as nn
    from framework.compiler.cudagraphs import GraphedPlan

    def mlp():
        framework.manual_seed(0)
        return nn.Sequential(nn.Linear(16, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(),
                             nn.Linear(64, 4)).to("cuda")
    model, twin = mlp(), mlp()
    graphed = framework.compile(twin, mode="reduce-overhead")
    plain = framework.compile(mlp())
    problems = []
    with framework.no_grad():
        xs = [framework.randn(32, 16, device="cuda") * (k + 1) for k in range(5)]
        outs = [graphed(x) for x in xs]
        for x, y in zip(xs, outs):
            if not np.allclose(y.cpu().numpy(), model(x).cpu().numpy(), rtol=1e-5, atol=1e-5):
                problems.append("an inference replay differs from eager")
        plan = next(iter(graphed._compiled.cache.values()))._plan
        if not isinstance(plan, GraphedPlan) or plan.disabled is not None or plan.captures != 1:
            problems.append(f"inference plan: {type(plan).__name__}, "
                            f"{getattr(plan, 'disabled', None)}, {getattr(plan, 'captures', 0)}")
        timings = {}
        for name, fn in (("eager", model), ("compiled", plain), ("reduce-overhead", graphed)):
            for _ in range(5):
                fn(xs[0])
            framework.cuda.synchronize()
            start = time.perf_counter()
            for _ in range(repeats):
                fn(xs[0])
            framework.cuda.synchronize()
            timings[name] = (time.perf_counter() - start) / repeats * 1e6
    opts = [framework.optim.SGD(m.parameters(), lr=0.05) for m in (model, twin)]
    for step in range(4):
        x = framework.randn(32, 16, device="cuda") + step
        for net, opt in zip((model, graphed), opts):
            opt.zero_grad()
            net(x).pow(2).mean().backward()
            opt.step()
    for p, q in zip(model.parameters(), twin.parameters()):
        if not np.allclose(p.detach().cpu().numpy(), q.detach().cpu().numpy(), rtol=1e-4, atol=1e-5):
            problems.append("training diverged from eager")
            break
    entry = [e for e in graphed._compiled.cache.values() if hasattr(e, "run_backward")]
    for runner in (entry[0].run_forward, entry[0].run_backward) if entry else ():
        if not isinstance(runner, GraphedPlan) or runner.disabled is not None:
            problems.append(f"training plan not graphed: {getattr(runner, 'disabled', runner)}")
    times = ", ".join(f"{k} {v:.1f} us" for k, v in timings.items())
    results["cuda graphs"] = (f"FAIL ({'; '.join(problems)}; {times})" if problems
                              else f"PASS (per call: {times})")


def main() -> int:
    import framework
    if framework.cuda.is_interpreter() or not framework.cuda.is_available():
        print("needs a GPU without FRAMEWORK_TRITON_INTERPRET")
        return 2
    results: dict = {}
    for check in (check_torch_stream_does_not_redirect_kernels, check_worker_thread,
                  check_device_error_flag, check_training_step_syncs, check_cuda_graphs):
        done = set(results)
        try:
            check(results)
        except Exception as exc:  # noqa: BLE001 - one failing check must not hide the others
            results[check.__name__] = f"FAIL ({type(exc).__name__}: {exc})"
        for name in [n for n in results if n not in done]:  # printed as each check ends: a
            print(f"{name}: {results[name]}", flush=True)  # phase time limit keeps them
    return 1 if any(v.startswith("FAIL") for v in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
