"""Compile a generated fused kernel for sm_90 with Triton's real compiler (no GPU needed).

Run as ``python compile_generated.py <fused_*.py> ...`` without ``TRITON_INTERPRET``
(tests/compiler/test_fusion.py, test_norms.py); prints ``ptx ok`` per layout.
"""
import importlib.util
import sys

import triton
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource


def main(path: str) -> None:
    spec = importlib.util.spec_from_file_location("generated", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fn = module.fused_kernel
    signature, attrs = {}, {}
    for index, name in enumerate(fn.arg_names):
        if name in ("STRIDED", "E_STRIDED", "INDEX32", "BLOCK", "BLOCK_R", "BLOCK_C",
                    "BLOCK_K", "INPUT_PRECISION", "ACTIVATION"):
            signature[name] = "constexpr"
        elif name.endswith("_ptr"):
            signature[name] = "*fp32"
            attrs[(index,)] = [["tt.divisibility", 16]]
        elif name == "eps" or name.lstrip("e")[:1] == "s" and name.lstrip("e")[1:].isdigit():
            signature[name] = "fp32"  # scalars (norm kernels: eps, the epilogue's esJ)
        else:
            signature[name] = "i32"
    for strided in (False, True):
        blocks = ({"BLOCK_R": 16, "BLOCK_C": 64} if "BLOCK_R" in fn.arg_names  # a fused sum
                  else {"BLOCK": 1024})
        constexprs = {"INDEX32": True, **blocks}
        if "STRIDED" in fn.arg_names:  # (a norm kernel computing a @ b has no prologue)
            constexprs["STRIDED"] = strided
        if "E_STRIDED" in fn.arg_names:  # a norm kernel's epilogue (norms.py)
            constexprs["E_STRIDED"] = strided
        if "BLOCK_K" in fn.arg_names:  # a norm kernel computing its gradient as a @ b
            constexprs.update(BLOCK_K=32, INPUT_PRECISION="tf32")
        if "ACTIVATION" in fn.arg_names:  # a matmul_epilogue's activation
            constexprs["ACTIVATION"] = "relu"
        compiled = triton.compile(ASTSource(fn, signature, constexprs, attrs),
                                  target=GPUTarget("cuda", 90, 32), options={"num_warps": 8})
        assert ".entry" in compiled.asm["ptx"]
        print("ptx ok", "strided" if strided else "flat")


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        main(argument)
