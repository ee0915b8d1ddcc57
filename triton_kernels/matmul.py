"""Batched matrix multiply: C[b] = A[b] @ B[b] for strided (B, M, K) and (B, K, N) operands.

A tiled GEMM after Triton's matmul tutorial. Program ``(pid, b)`` computes
one BLOCK_M x BLOCK_N tile of ``C[b]``: it walks K in steps of BLOCK_K,
loading a BLOCK_M x BLOCK_K tile of A and a BLOCK_K x BLOCK_N tile of B and
accumulating their ``tl.dot`` in fp32 (fp64 for float64 inputs), then casts
the tile to C's element type on store.

Operands are read through arbitrary element strides (a transposed operand
is just swapped strides; a batch broadcast is batch stride 0), so the host
never copies a view to feed this kernel.
"""
import triton
import triton.language as tl

from .elementwise import _tanh

# Config space. Each entry: tile sizes, the L2 grouping of tile rows, the K
# split, and launch options. ``config_space`` enumerates what the autotuner
# tries (``framework/_backends/triton/matmul.py`` and ``framework.autotune``);
# ``default_config`` is the heuristic used on a cache miss. The configs below
# are the heuristic's; their register use was checked with cuobjdump for sm_90
# and sm_80 (no spills as used):
#  - 64x64x32, 4 warps: the tutorial's general tile for fp16/bf16 (tensor
#    cores: HGMMA on sm_90, HMMA on sm_80; 168 registers).
#  - 128x128x32, 8 warps: large fp16/bf16 and tf32 problems, twice the reuse per load.
#  - 32x32x32, 4 warps: small problems, more programs to spread over the SMs.
#  - 64x64x32, 8 warps: exact fp32 ("ieee": FMA, no tensor cores) and fp64 (DMMA);
#    with 4 warps these spill registers on sm_90.
#  - 64x64x64 split-K: few output tiles, long K.
MATMUL_CONFIGS = [
    {"BLOCK_M": 64, "BLOCK_N": 64, "BLOCK_K": 32, "GROUP_M": 8, "SPLIT_K": 1, "num_warps": 4,
     "num_stages": 3},
    {"BLOCK_M": 128, "BLOCK_N": 128, "BLOCK_K": 32, "GROUP_M": 8, "SPLIT_K": 1, "num_warps": 8,
     "num_stages": 3},
    {"BLOCK_M": 32, "BLOCK_N": 32, "BLOCK_K": 32, "GROUP_M": 8, "SPLIT_K": 1, "num_warps": 4,
     "num_stages": 3},
    {"BLOCK_M": 64, "BLOCK_N": 64, "BLOCK_K": 32, "GROUP_M": 8, "SPLIT_K": 1, "num_warps": 8,
     "num_stages": 3},
]

# Tile shapes and pipeline depths the autotuner tries (before pruning).
_TILES = [(128, 256), (256, 128), (128, 128), (128, 64), (64, 128), (64, 64), (32, 64),
          (64, 32), (32, 32)]
_SPLITS = (2, 4, 8, 16)


def config_space(itemsize: int, shared_memory: int, tensor_cores: bool) -> list:
    """Every config worth timing for ``itemsize``-byte operands on a GPU with ``shared_memory``.

    Pruned by shared memory (``num_stages`` buffered A and B tiles must fit)
    and by register pressure (big tiles get 8 warps, small ones 4). Without
    tensor cores (exact fp32, fp64) only tiles up to 64x64 are kept. Split-K
    variants of the mid-size tiles are included for problems with few tiles.
    """
    configs = []
    for bm, bn in _TILES:
        if not tensor_cores and bm * bn > 64 * 64:
            continue
        warps = 8 if bm * bn >= 128 * 128 or not tensor_cores else 4
        for bk in (32, 64):
            for stages in (3, 4) if itemsize <= 2 else (2, 3):
                if stages * (bm * bk + bk * bn) * itemsize > shared_memory:
                    continue
                configs.append({"BLOCK_M": bm, "BLOCK_N": bn, "BLOCK_K": bk, "GROUP_M": 8,
                                "SPLIT_K": 1, "num_warps": warps, "num_stages": stages})
    for split in _SPLITS:
        for bm, bn in ((64, 64), (32, 64)):
            configs.append({"BLOCK_M": bm, "BLOCK_N": bn, "BLOCK_K": 64, "GROUP_M": 8,
                            "SPLIT_K": split, "num_warps": 4, "num_stages": 3})
    return configs


def _compile_spec(label: str, dtype: str, config: dict, sass: dict,
                  precision: str = "ieee", out: str | None = None) -> dict:
    acc = "tl.float64" if dtype == "fp64" else "tl.float32"
    constexprs = {key: config[key] for key in ("BLOCK_M", "BLOCK_N", "BLOCK_K", "GROUP_M",
                                               "SPLIT_K")}
    constexprs.update(ACC_DTYPE=acc, INPUT_PRECISION=precision, INTERPRET_BF16=False,
                      HAS_BIAS=False, ACTIVATION="none", HAS_RESIDUAL=False, STORE_PREACT=False)
    # Row-major operands, as the binder sees them: unit inner strides are constexpr 1.
    constexprs.update(stride_ak=1, stride_bn=1, stride_cn=1)
    return {"kernel": "matmul_kernel", "label": label, "constexprs": constexprs,
            "signature": {"a_ptr": f"*{dtype}", "b_ptr": f"*{dtype}",
                          "c_ptr": f"*{out or dtype}"},
            # 16-divisible sizes and leading strides, as in most real problems
            "divisible": ["M", "N", "K", "stride_ab", "stride_am", "stride_bb", "stride_bk",
                          "stride_cb", "stride_cm", "stride_cs"],
            "num_warps": config["num_warps"], "num_stages": config["num_stages"],
            "no_spills": True, "sass": sass}


# Tensor-core products, fed by a pipelined K loop of asynchronous copies (cp.async).
_TENSOR_CORES = {90: ["HGMMA", "LDGSTS"], 80: ["HMMA", "LDGSTS"]}


def epilogue_config(config: dict) -> dict:
    """``config`` for a launch with a fused activation: 8 warps from 64x64 tiles up.

    The activation's math (erf, exp) on a whole fp32 tile next to the
    accumulator spills registers with 4 warps (checked with ptxas for sm_90
    and sm_80 on the 64x64 bf16 tile); 8 warps halve the tile per thread.
    """
    if config["BLOCK_M"] * config["BLOCK_N"] >= 64 * 64 and config["num_warps"] < 8:
        return dict(config, num_warps=8)
    return config


def _epilogue_spec() -> dict:
    """bf16 linear with bias, GELU, residual and the saved pre-activation (training MLPs)."""
    spec = _compile_spec("bf16-epilogue-64x64x32-w8", "bf16", epilogue_config(MATMUL_CONFIGS[0]),
                         _TENSOR_CORES)
    spec["signature"].update({"bias_ptr": "*bf16", "res_ptr": "*bf16", "z_ptr": "*bf16"})
    spec["constexprs"].update(HAS_BIAS=True, ACTIVATION="gelu", HAS_RESIDUAL=True,
                              STORE_PREACT=True)
    return spec


_SPLIT_CONFIG = {"BLOCK_M": 64, "BLOCK_N": 64, "BLOCK_K": 64, "GROUP_M": 8, "SPLIT_K": 4,
                 "num_warps": 4, "num_stages": 3}

# What tests/test_compile.py compiles for sm_90 and sm_80: each heuristic config with
# the dtypes it serves; no spills, tensor cores for the half types and tf32.
COMPILE_SPECS = [
    _compile_spec("bf16-64x64x32", "bf16", MATMUL_CONFIGS[0], _TENSOR_CORES),
    _compile_spec("fp16-128x128x32", "fp16", MATMUL_CONFIGS[1], _TENSOR_CORES),
    _compile_spec("tf32-128x128x32", "fp32", MATMUL_CONFIGS[1], _TENSOR_CORES, "tf32"),
    _compile_spec("fp32-32x32x32", "fp32", MATMUL_CONFIGS[2], {}),
    _compile_spec("fp32-64x64x32-w8", "fp32", MATMUL_CONFIGS[3], {}),
    _compile_spec("fp64-32x32x32", "fp64", MATMUL_CONFIGS[2], {90: "DMMA", 80: "DMMA"}),
    _compile_spec("fp64-64x64x32-w8", "fp64", MATMUL_CONFIGS[3], {90: "DMMA", 80: "DMMA"}),
    _compile_spec("bf16-splitk4-64x64x64", "bf16", _SPLIT_CONFIG, _TENSOR_CORES, out="fp32"),
    _epilogue_spec(),
]


# tl.dot needs every tile dim >= 16; the interpreter tiles stay within these bounds.
MIN_BLOCK = 16
MAX_INTERPRETER_BLOCK = 64


def default_config(m: int, n: int, k: int, itemsize: int, interpreter: bool,
                   tensor_cores: bool = True, batch: int = 1, sms: int = 132) -> dict:
    """The heuristic config for a batch of (M, N, K) problems of ``itemsize``-byte elements.

    GPU: split-K (64x64x64, up to 16 splits) when the output has fewer tiles
    than half the SMs and K is at least 8x longer than M and N; else 32x32
    tiles when M and N are both <= 256 (enough programs to fill the SMs);
    otherwise 128x128 for large problems on tensor cores (2-byte or tf32),
    64x64 with 4 warps for other 2-byte ones and 64x64 with 8 warps for exact
    fp32/fp64.
    Interpreter (each program instance costs ~1.5 ms): one tile per problem
    up to 64 in each dim (power-of-two sizes >= 16), so small test shapes
    launch one program per batch entry.
    """
    if interpreter:
        return {
            "BLOCK_M": _pow2_block(m), "BLOCK_N": _pow2_block(n), "BLOCK_K": _pow2_block(k),
            "GROUP_M": 8, "SPLIT_K": 1, "num_warps": 4, "num_stages": 1,
        }
    tiles = triton.cdiv(m, 64) * triton.cdiv(n, 64) * batch
    if tiles * 2 <= sms and k >= 8 * max(m, n) and k >= 1024:
        split = max(2, min(16, sms // max(tiles, 1), k // 512))
        split = 1 << (split.bit_length() - 1)  # a power of two
        return dict(_SPLIT_CONFIG, SPLIT_K=split)
    if m <= 256 and n <= 256:
        return MATMUL_CONFIGS[2]
    if not tensor_cores or itemsize == 8:
        return MATMUL_CONFIGS[3]
    if m >= 1024 and n >= 1024:
        return MATMUL_CONFIGS[1]
    return MATMUL_CONFIGS[0]


def heuristic_configs(itemsize: int, tensor_cores: bool = True) -> list:
    """Every config ``default_config`` can return on a GPU for ``itemsize``-byte operands.

    A tuned entry may hold the heuristic config of the problem it was tuned on; another
    problem of the same shape bucket can have a different one (split-K or not), so the
    cache accepts any of these as well as the tuned space.
    """
    tiles = [MATMUL_CONFIGS[2]] + ([MATMUL_CONFIGS[3]] if not tensor_cores or itemsize == 8
                                   else [MATMUL_CONFIGS[0], MATMUL_CONFIGS[1]])
    return tiles + [dict(_SPLIT_CONFIG, SPLIT_K=split) for split in _SPLITS]


def _pow2_block(size: int) -> int:
    block = MIN_BLOCK
    while block < size and block < MAX_INTERPRETER_BLOCK:
        block *= 2
    return block


# Every argument is specialized, M, N and K too: their divisibility by 16 is what tells
# Triton that the edge masks are constant over 16-element groups, so that the masked tile
# loads can be vectorized into the asynchronous copies (cp.async / LDGSTS) of a pipelined K
# loop. With M, N, K unspecialized (before the first H200 run) the loads were scalar, the
# loop was not pipelined and registers spilled: bf16 4096^3 ran at 0.2x cuBLAS's speed.
# tests/test_compile.py holds this (LDGSTS in the SASS of the tensor-core specs).
@triton.jit
def matmul_kernel(a_ptr, b_ptr, c_ptr, M, N, K,
                  stride_ab, stride_am, stride_ak,
                  stride_bb, stride_bk, stride_bn,
                  stride_cb, stride_cm, stride_cn, stride_cs,
                  BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
                  GROUP_M: tl.constexpr, SPLIT_K: tl.constexpr, ACC_DTYPE: tl.constexpr,
                  INPUT_PRECISION: tl.constexpr, INTERPRET_BF16: tl.constexpr,
                  bias_ptr=None, res_ptr=None, z_ptr=None,
                  stride_rb=0, stride_rm=0, stride_rn=0,
                  HAS_BIAS: tl.constexpr = False, ACTIVATION: tl.constexpr = "none",
                  HAS_RESIDUAL: tl.constexpr = False, STORE_PREACT: tl.constexpr = False):
    """Program (pid, b, s) computes tile (pid_m, pid_n) of C[b] = A[b] @ B[b] over K-split s.

    Grid: axis 0 = cdiv(M, BLOCK_M) * cdiv(N, BLOCK_N) tiles, axis 1 = batch,
    axis 2 = SPLIT_K. With SPLIT_K > 1 (split-K, for problems with few output
    tiles and a long K) each program sums only its share of the K blocks and
    stores the partial tile at ``c_ptr + s * stride_cs`` of an fp32 workspace;
    the host then adds the SPLIT_K partials (a deterministic reduction, no
    atomics).

    Fused epilogue (``nn.Linear`` and MLP blocks; SPLIT_K == 1 only): add
    ``bias[n]`` (HAS_BIAS), store that pre-activation tile to ``z_ptr`` for the
    backward (STORE_PREACT), apply ``ACTIVATION`` (relu, gelu, gelu_tanh,
    silu) and add a residual tile read through its own strides (HAS_RESIDUAL),
    all in registers before the single store of C.
    ``INTERPRET_BF16`` (bfloat16 under the interpreter only) works around two
    interpreter gaps: its dot multiplies bfloat16 bit patterns as integers, so
    the tiles are upcast first (bfloat16 products are exact in fp32: same
    result as the GPU's bf16 tensor cores), and its fp32 -> bfloat16 cast
    truncates, so the store rounds to nearest even by hand like the GPU does.
    """
    # Grouped ordering: consecutive pids sweep GROUP_M tile rows column by
    # column, so the A rows and B columns they read stay hot in L2.
    pid = tl.program_id(0)
    batch = tl.program_id(1).to(tl.int64)
    num_pid_m = tl.cdiv(M, BLOCK_M)
    num_pid_n = tl.cdiv(N, BLOCK_N)
    num_pid_in_group = GROUP_M * num_pid_n
    group_id = pid // num_pid_in_group
    first_pid_m = group_id * GROUP_M
    group_size_m = min(num_pid_m - first_pid_m, GROUP_M)
    pid_m = first_pid_m + ((pid % num_pid_in_group) % group_size_m)
    pid_n = (pid % num_pid_in_group) // group_size_m

    # Row/column indices of this tile (int64: offsets of large views overflow int32).
    offs_m = pid_m.to(tl.int64) * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = pid_n.to(tl.int64) * BLOCK_N + tl.arange(0, BLOCK_N)
    mask_m = offs_m < M  # the last tile row/column may hang over the edge
    mask_n = offs_n < N

    # This program's share of the K blocks: [k_first, k_last) (all of them when SPLIT_K == 1).
    split = tl.program_id(2)
    k_blocks = tl.cdiv(K, BLOCK_K)
    per_split = tl.cdiv(k_blocks, SPLIT_K)
    k_first = split * per_split
    k_last = tl.minimum(k_first + per_split, k_blocks)
    offs_k = tl.arange(0, BLOCK_K)
    k_start = k_first.to(tl.int64) * BLOCK_K

    a_ptrs = (a_ptr + batch * stride_ab + offs_m[:, None] * stride_am
              + (k_start + offs_k[None, :]) * stride_ak)
    b_ptrs = (b_ptr + batch * stride_bb + (k_start + offs_k[:, None]) * stride_bk
              + offs_n[None, :] * stride_bn)

    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=ACC_DTYPE)
    for k in range(k_first, k_last):
        # The last K step is partial: masked-out elements load as 0 and add nothing.
        k_left = K - k * BLOCK_K
        a = tl.load(a_ptrs, mask=mask_m[:, None] & (offs_k[None, :] < k_left), other=0.0)
        b = tl.load(b_ptrs, mask=(offs_k[:, None] < k_left) & mask_n[None, :], other=0.0)
        if INTERPRET_BF16:
            a = a.to(tl.float32)
            b = b.to(tl.float32)
        acc = tl.dot(a, b, acc, input_precision=INPUT_PRECISION, out_dtype=ACC_DTYPE)
        a_ptrs += BLOCK_K * stride_ak
        b_ptrs += BLOCK_K * stride_bk

    mask_c = mask_m[:, None] & mask_n[None, :]
    if HAS_BIAS:
        bias = tl.load(bias_ptr + offs_n, mask=mask_n, other=0.0).to(ACC_DTYPE)
        acc = acc + bias[None, :]
    if STORE_PREACT:
        z_ptrs = z_ptr + batch * stride_cb + offs_m[:, None] * stride_cm + offs_n[None, :] * stride_cn
        if INTERPRET_BF16 and z_ptr.dtype.element_ty == tl.bfloat16:
            z = _round_to_bf16(acc)  # the interpreter's own fp32 -> bf16 cast is wrong
        else:
            z = acc.to(z_ptr.dtype.element_ty)
        tl.store(z_ptrs, z, mask=mask_c)
    acc = _activation(acc, ACTIVATION)
    if HAS_RESIDUAL:
        r_ptrs = (res_ptr + batch * stride_rb + offs_m[:, None] * stride_rm
                  + offs_n[None, :] * stride_rn)
        acc = acc + tl.load(r_ptrs, mask=mask_c, other=0.0).to(ACC_DTYPE)
    c_ptrs = (c_ptr + split.to(tl.int64) * stride_cs + batch * stride_cb
              + offs_m[:, None] * stride_cm + offs_n[None, :] * stride_cn)
    if INTERPRET_BF16 and c_ptr.dtype.element_ty == tl.bfloat16:
        c = _round_to_bf16(acc)
    else:
        c = acc.to(c_ptr.dtype.element_ty)
    tl.store(c_ptrs, c, mask=mask_c)


@triton.jit
def _activation(x, ACTIVATION: tl.constexpr):
    """The epilogue activation of an fp32/fp64 tile (formulas as in the elementwise kernels)."""
    if ACTIVATION == "relu":
        x = tl.where(x < 0, 0.0, x)
    elif ACTIVATION == "gelu":
        x = 0.5 * x * (1.0 + tl.erf(x * 0.70710678118654752440))
    elif ACTIVATION == "gelu_tanh":
        inner = 0.79788456080286535588 * (x + 0.044715 * x * x * x)
        x = 0.5 * x * (1.0 + _tanh(inner))
    elif ACTIVATION == "silu":
        x = x / (1.0 + tl.exp(-x))
    return x


@triton.jit
def _round_to_bf16(x):
    """fp32 -> bfloat16 rounding to nearest even, by bit arithmetic (Inf/NaN kept)."""
    bits = x.to(tl.uint32, bitcast=True)
    bits = bits + 0x7FFF + ((bits >> 16) & 1)
    return (bits >> 16).to(tl.uint16).to(tl.bfloat16, bitcast=True)
