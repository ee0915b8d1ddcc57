"""``bench/frontend_check.py``: recorded kernel specializations run through Triton's front end.

The recorder (tests/specializations.py) writes the key Triton's binder builds
on a GPU; the checker rebuilds each key and compiles it in a subprocess
(kernels must be imported in compile mode). A kernel that calls ``.to()`` on an
int parameter compiles for most values but not for 1, which the binder turns
into a constexpr: the checker must report exactly that specialization.
"""
import json
import os
import subprocess
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_KERNELS = textwrap.dedent('''
    import triton
    import triton.language as tl


    @triton.jit
    def scale_kernel(out_ptr, n, factor, BLOCK: tl.constexpr):
        """Writes ``i * factor`` (as int64) into BLOCK elements; ``factor.to`` breaks for 1."""
        offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        tl.store(out_ptr + offs, offs.to(tl.int64) * factor.to(tl.int64), mask=offs < n)
''')


def _key(factor_spec: list) -> str:
    """A key as the recorder writes it for ``scale_kernel`` (int64 output, n = 1000)."""
    return json.dumps(["fe_check_kernels.scale_kernel",
                       [["'*i64'", "'D'"], ["'i32'", "''"], factor_spec, ["'constexpr'", "128"]],
                       [["num_warps", "4"]]])


def _run(tmp_path, keys: list) -> subprocess.CompletedProcess:
    (tmp_path / "fe_check_kernels.py").write_text(_KERNELS)
    report = tmp_path / "spec.json"
    report.write_text(json.dumps({"keys": keys}))
    env = {k: v for k, v in os.environ.items() if k not in ("TRITON_INTERPRET", "FRAMEWORK_TRITON_INTERPRET")}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), ROOT, env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, os.path.join(ROOT, "bench", "frontend_check.py"), str(report),
                           "--workers", "1"], capture_output=True, text=True, env=env, timeout=300)


def test_the_specialization_with_an_int_argument_equal_to_1_is_reported(tmp_path):
    general, one = _key(["'i32'", "''"]), _key(["'constexpr'", "1"])
    result = _run(tmp_path, [general, one, json.dumps(["fe_generated.fused_0", [], []])])
    assert result.returncode == 1, result.stdout + result.stderr
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 1 and "1 constexpr 1s" in failed[0], result.stdout
    assert "has no attribute 'to'" in failed[0], result.stdout
    assert "3 specializations, 1 ok, 1 failed, 1 skipped" in result.stdout, result.stdout


def test_every_specialization_compiling_exits_0(tmp_path):
    result = _run(tmp_path, [_key(["'i32'", "''"]), _key(["'i32'", "'D'"])])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 specializations, 2 ok, 0 failed" in result.stdout, result.stdout
