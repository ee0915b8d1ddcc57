"""Fused optimizer updates: one kernel launch updates a parameter and its state in place.

Each program instance owns BLOCK consecutive elements of a contiguous
parameter, its gradient and its state buffers (all of the same length n). It
loads them once, does the whole update in float32 registers and stores the
new parameter and state, so an optimizer step costs one read and one write of
each buffer instead of the chain of elementwise ops an eager update would run.

Step-dependent scalars (bias corrections, the learning rate of this step) are
computed on the host and passed in as float64 (``tl.float64`` parameters, converted
once to ``ACC``: exact for float64 parameters; docs/architecture.md, "Numerics of
compiled kernels"); flags that change the code path
(``NESTEROV``, ``AMSGRAD`` ...) are constexpr so each variant compiles to
straight-line code. ``ACC`` is the arithmetic type: float32, or float64 for
float64 parameters.
"""
import triton
import triton.language as tl

from .scalars import compute_scalar

F64 = tl.float64  # the type of every float scalar parameter, converted to ACC once at the top

# Elements per program instance: the updates are memory bound; 1024 elements with 4 warps
# gives each thread 8 elements of every buffer.
OPTIM_CONFIGS = [{"BLOCK": 1024, "num_warps": 4}]


@triton.jit
def _load_grad(grad_ptr, param, offs, mask, weight_decay, MAXIMIZE: tl.constexpr,
               COUPLED_DECAY: tl.constexpr, ACC: tl.constexpr):
    """The gradient in ACC, negated when maximizing, plus L2 weight decay when coupled and
    nonzero (as PyTorch: a NaN or inf parameter must not turn the gradient NaN via 0 * p)."""
    grad = tl.load(grad_ptr + offs, mask=mask, other=0.0).to(ACC)
    if MAXIMIZE:
        grad = -grad
    if COUPLED_DECAY:
        grad = tl.where(weight_decay != 0, grad + weight_decay * param, grad)
    return grad


@triton.jit
def _adam_moments(exp_avg_ptr, exp_avg_sq_ptr, offs, mask, grad, beta1, beta2,
                  ACC: tl.constexpr):
    """Adam's moment updates m = lerp(m, g, 1-β1), v = β2·v + (1-β2)·g², stored and returned."""
    exp_avg = tl.load(exp_avg_ptr + offs, mask=mask, other=0.0).to(ACC)
    exp_avg_sq = tl.load(exp_avg_sq_ptr + offs, mask=mask, other=0.0).to(ACC)
    exp_avg = exp_avg + (1.0 - beta1) * (grad - exp_avg)
    exp_avg_sq = beta2 * exp_avg_sq + (1.0 - beta2) * grad * grad
    tl.store(exp_avg_ptr + offs, exp_avg.to(exp_avg_ptr.dtype.element_ty), mask=mask)
    tl.store(exp_avg_sq_ptr + offs, exp_avg_sq.to(exp_avg_sq_ptr.dtype.element_ty), mask=mask)
    return exp_avg, exp_avg_sq


@triton.jit
def _sgd_update(param_ptr, grad_ptr, buf_ptr, offs, mask, lr, momentum, dampening, weight_decay,
                first, MOMENTUM: tl.constexpr, NESTEROV: tl.constexpr, MAXIMIZE: tl.constexpr,
                ACC: tl.constexpr):
    """SGD on the elements ``offs`` (``mask``): the body of ``sgd_kernel`` and
    ``sgd_multi_kernel``; scalars are ACC already, ``first`` (buf = g) is a constexpr or a
    runtime bool."""
    param = tl.load(param_ptr + offs, mask=mask, other=0.0).to(ACC)
    grad = _load_grad(grad_ptr, param, offs, mask, weight_decay, MAXIMIZE, True, ACC)
    step = grad
    if MOMENTUM:
        if first:
            buf = grad
        else:
            buf = tl.load(buf_ptr + offs, mask=mask, other=0.0).to(ACC)
            buf = momentum * buf + (1.0 - dampening) * grad
        tl.store(buf_ptr + offs, buf.to(buf_ptr.dtype.element_ty), mask=mask)
        if NESTEROV:
            step = grad + momentum * buf
        else:
            step = buf
    param = param - lr * step
    tl.store(param_ptr + offs, param.to(param_ptr.dtype.element_ty), mask=mask)


@triton.jit
def sgd_kernel(param_ptr, grad_ptr, buf_ptr, n,
               lr: F64, momentum: F64, dampening: F64, weight_decay: F64,
               MOMENTUM: tl.constexpr, FIRST: tl.constexpr, NESTEROV: tl.constexpr,
               MAXIMIZE: tl.constexpr, ACC: tl.constexpr, BLOCK: tl.constexpr):
    """SGD: buf = momentum·buf + (1 − dampening)·g (buf = g on the first step); p −= lr·d."""
    lr = compute_scalar(lr, ACC)
    momentum = compute_scalar(momentum, ACC)
    dampening = compute_scalar(dampening, ACC)
    weight_decay = compute_scalar(weight_decay, ACC)
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n  # the last block is partial
    _sgd_update(param_ptr, grad_ptr, buf_ptr, offs, mask, lr, momentum, dampening, weight_decay,
                FIRST, MOMENTUM, NESTEROV, MAXIMIZE, ACC)


@triton.jit
def _adam_update(param_ptr, grad_ptr, exp_avg_ptr, exp_avg_sq_ptr, max_sq_ptr, offs, mask,
                 lr, beta1, beta2, eps, weight_decay, bias_correction1, bias_correction2_sqrt,
                 DECOUPLED: tl.constexpr, AMSGRAD: tl.constexpr, MAXIMIZE: tl.constexpr,
                 ACC: tl.constexpr):
    """Adam on the elements ``offs`` (``mask``): the body of ``adam_kernel`` and
    ``adam_multi_kernel`` (so both give the same bits); scalars are ACC already."""
    param = tl.load(param_ptr + offs, mask=mask, other=0.0).to(ACC)
    grad = _load_grad(grad_ptr, param, offs, mask, weight_decay, MAXIMIZE, not DECOUPLED, ACC)
    if DECOUPLED:
        param = param * (1.0 - lr * weight_decay)
    exp_avg, exp_avg_sq = _adam_moments(exp_avg_ptr, exp_avg_sq_ptr, offs, mask, grad, beta1,
                                        beta2, ACC)
    second = exp_avg_sq
    if AMSGRAD:
        max_sq = tl.load(max_sq_ptr + offs, mask=mask, other=0.0).to(ACC)
        max_sq = tl.maximum(max_sq, exp_avg_sq, propagate_nan=tl.PropagateNan.ALL)  # as torch.maximum
        tl.store(max_sq_ptr + offs, max_sq.to(max_sq_ptr.dtype.element_ty), mask=mask)
        second = max_sq
    denom = tl.sqrt(second) / bias_correction2_sqrt + eps
    param = param - (lr / bias_correction1) * exp_avg / denom
    tl.store(param_ptr + offs, param.to(param_ptr.dtype.element_ty), mask=mask)


@triton.jit
def adam_kernel(param_ptr, grad_ptr, exp_avg_ptr, exp_avg_sq_ptr, max_sq_ptr, n,
                lr: F64, beta1: F64, beta2: F64, eps: F64, weight_decay: F64, bias_correction1: F64,
                bias_correction2_sqrt: F64,
                DECOUPLED: tl.constexpr, AMSGRAD: tl.constexpr, MAXIMIZE: tl.constexpr,
                ACC: tl.constexpr, BLOCK: tl.constexpr):
    """Adam/AdamW: moments m, v; p −= lr/bc1 · m / (sqrt(v_hat)/sqrt(bc2) + eps)."""
    lr = compute_scalar(lr, ACC)
    beta1 = compute_scalar(beta1, ACC)
    beta2 = compute_scalar(beta2, ACC)
    eps = compute_scalar(eps, ACC)
    weight_decay = compute_scalar(weight_decay, ACC)
    bias_correction1 = compute_scalar(bias_correction1, ACC)
    bias_correction2_sqrt = compute_scalar(bias_correction2_sqrt, ACC)
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    _adam_update(param_ptr, grad_ptr, exp_avg_ptr, exp_avg_sq_ptr, max_sq_ptr, offs, mask, lr,
                 beta1, beta2, eps, weight_decay, bias_correction1, bias_correction2_sqrt,
                 DECOUPLED, AMSGRAD, MAXIMIZE, ACC)


# Multi-tensor ("foreach") updates: one launch over a list of tensors of one dtype.
#
# The host packs an int64 table (framework/_backends/triton/optim.py, ``_multi_table``):
#   table[0:C]        the tensor each program instance works on (C programs in all),
#   table[C:2C]       the first element of that program's block within its tensor,
#   table[2C + t·W:]  tensor t's record of W words: its NUM_PTRS buffer addresses (parameter
#                     first), its element count, then its per-tensor float64 scalars (bits).
# Program i loads its entry, turns the addresses into typed pointers (int64 -> pointer cast)
# and runs the per-tensor kernel's body on its block: the same arithmetic, so the same bits.


@triton.jit
def _multi_block(table_ptr, num_chunks, RECORD: tl.constexpr, BLOCK: tl.constexpr):
    """This program's tensor record (a pointer into the table) and its block ``offs``."""
    pid = tl.program_id(0)
    index = tl.load(table_ptr + pid)
    start = tl.load(table_ptr + num_chunks + pid)
    record = table_ptr + 2 * num_chunks + index * RECORD
    offs = start + tl.arange(0, BLOCK)  # int64: the start is
    return record, offs


@triton.jit
def _record_pointer(record, slot: tl.constexpr, DTYPE: tl.constexpr):
    """Buffer ``slot`` of a tensor record, as a pointer to DTYPE."""
    return tl.load(record + slot).to(tl.pointer_type(DTYPE))


@triton.jit
def _record_scalar(record, slot: tl.constexpr, ACC: tl.constexpr):
    """Word ``slot`` of a tensor record read as float64 bits, converted to ACC (as
    ``compute_scalar`` converts a float64 argument)."""
    return tl.load(record + slot).to(tl.float64, bitcast=True).to(ACC)


@triton.jit
def sgd_multi_kernel(table_ptr, num_chunks,
                     lr: F64, momentum: F64, dampening: F64, weight_decay: F64,
                     MOMENTUM: tl.constexpr, NESTEROV: tl.constexpr, MAXIMIZE: tl.constexpr,
                     DTYPE: tl.constexpr, ACC: tl.constexpr, BLOCK: tl.constexpr):
    """SGD over many tensors: program i updates BLOCK elements of one tensor (table above).

    Record: parameter, gradient, momentum buffer (the parameter's address when unused), element
    count, ``first`` (1: the buffer starts as the gradient).
    """
    lr = compute_scalar(lr, ACC)
    momentum = compute_scalar(momentum, ACC)
    dampening = compute_scalar(dampening, ACC)
    weight_decay = compute_scalar(weight_decay, ACC)
    record, offs = _multi_block(table_ptr, num_chunks, 5, BLOCK)
    mask = offs < tl.load(record + 3)  # the tensor's last block is partial
    first = tl.load(record + 4) != 0
    _sgd_update(_record_pointer(record, 0, DTYPE), _record_pointer(record, 1, DTYPE),
                _record_pointer(record, 2, DTYPE), offs, mask, lr, momentum, dampening,
                weight_decay, first, MOMENTUM, NESTEROV, MAXIMIZE, ACC)


@triton.jit
def adam_multi_kernel(table_ptr, num_chunks,
                      lr: F64, beta1: F64, beta2: F64, eps: F64, weight_decay: F64,
                      DECOUPLED: tl.constexpr, AMSGRAD: tl.constexpr, MAXIMIZE: tl.constexpr,
                      DTYPE: tl.constexpr, ACC: tl.constexpr, BLOCK: tl.constexpr):
    """Adam/AdamW over many tensors: program i updates BLOCK elements of one tensor (table
    above).

    Record: parameter, gradient, exp_avg, exp_avg_sq, max_exp_avg_sq (the parameter's address
    when unused), element count, then the tensor's own bias_correction1 and
    bias_correction2_sqrt (its step count may differ from the others').
    """
    lr = compute_scalar(lr, ACC)
    beta1 = compute_scalar(beta1, ACC)
    beta2 = compute_scalar(beta2, ACC)
    eps = compute_scalar(eps, ACC)
    weight_decay = compute_scalar(weight_decay, ACC)
    record, offs = _multi_block(table_ptr, num_chunks, 8, BLOCK)
    mask = offs < tl.load(record + 5)  # the tensor's last block is partial
    _adam_update(_record_pointer(record, 0, DTYPE), _record_pointer(record, 1, DTYPE),
                 _record_pointer(record, 2, DTYPE), _record_pointer(record, 3, DTYPE),
                 _record_pointer(record, 4, DTYPE), offs, mask, lr, beta1, beta2, eps,
                 weight_decay, _record_scalar(record, 6, ACC), _record_scalar(record, 7, ACC),
                 DECOUPLED, AMSGRAD, MAXIMIZE, ACC)


@triton.jit
def adamax_kernel(param_ptr, grad_ptr, exp_avg_ptr, exp_inf_ptr, n,
                  lr: F64, beta1: F64, beta2: F64, eps: F64, weight_decay: F64,
                  bias_correction1: F64,
                  MAXIMIZE: tl.constexpr, ACC: tl.constexpr, BLOCK: tl.constexpr):
    """Adamax: m = lerp(m, g, 1−β1); u = max(β2·u, |g| + eps); p −= lr/bc1 · m / u."""
    lr = compute_scalar(lr, ACC)
    beta1 = compute_scalar(beta1, ACC)
    beta2 = compute_scalar(beta2, ACC)
    eps = compute_scalar(eps, ACC)
    weight_decay = compute_scalar(weight_decay, ACC)
    bias_correction1 = compute_scalar(bias_correction1, ACC)
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    param = tl.load(param_ptr + offs, mask=mask, other=0.0).to(ACC)
    grad = _load_grad(grad_ptr, param, offs, mask, weight_decay, MAXIMIZE, True, ACC)
    exp_avg = tl.load(exp_avg_ptr + offs, mask=mask, other=0.0).to(ACC)
    exp_inf = tl.load(exp_inf_ptr + offs, mask=mask, other=0.0).to(ACC)
    exp_avg = exp_avg + (1.0 - beta1) * (grad - exp_avg)
    exp_inf = tl.maximum(beta2 * exp_inf, tl.abs(grad) + eps, propagate_nan=tl.PropagateNan.ALL)
    tl.store(exp_avg_ptr + offs, exp_avg.to(exp_avg_ptr.dtype.element_ty), mask=mask)
    tl.store(exp_inf_ptr + offs, exp_inf.to(exp_inf_ptr.dtype.element_ty), mask=mask)
    param = param - (lr / bias_correction1) * exp_avg / exp_inf
    tl.store(param_ptr + offs, param.to(param_ptr.dtype.element_ty), mask=mask)


@triton.jit
def adadelta_kernel(param_ptr, grad_ptr, square_avg_ptr, acc_delta_ptr, n,
                    lr: F64, rho: F64, eps: F64, weight_decay: F64,
                    MAXIMIZE: tl.constexpr, ACC: tl.constexpr, BLOCK: tl.constexpr):
    """Adadelta: v = ρ·v + (1−ρ)·g²; Δ = √(u + eps) / √(v + eps) · g; u = ρ·u + (1−ρ)·Δ²;
    p −= lr·Δ."""
    lr = compute_scalar(lr, ACC)
    rho = compute_scalar(rho, ACC)
    eps = compute_scalar(eps, ACC)
    weight_decay = compute_scalar(weight_decay, ACC)
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    param = tl.load(param_ptr + offs, mask=mask, other=0.0).to(ACC)
    grad = _load_grad(grad_ptr, param, offs, mask, weight_decay, MAXIMIZE, True, ACC)
    square_avg = tl.load(square_avg_ptr + offs, mask=mask, other=0.0).to(ACC)
    acc_delta = tl.load(acc_delta_ptr + offs, mask=mask, other=0.0).to(ACC)
    square_avg = rho * square_avg + (1.0 - rho) * grad * grad
    delta = tl.sqrt(acc_delta + eps) / tl.sqrt(square_avg + eps) * grad
    acc_delta = rho * acc_delta + (1.0 - rho) * delta * delta
    tl.store(square_avg_ptr + offs, square_avg.to(square_avg_ptr.dtype.element_ty), mask=mask)
    tl.store(acc_delta_ptr + offs, acc_delta.to(acc_delta_ptr.dtype.element_ty), mask=mask)
    param = param - lr * delta
    tl.store(param_ptr + offs, param.to(param_ptr.dtype.element_ty), mask=mask)


@triton.jit
def rmsprop_kernel(param_ptr, grad_ptr, square_avg_ptr, buf_ptr, grad_avg_ptr, n,
                   lr: F64, alpha: F64, eps: F64, weight_decay: F64, momentum: F64,
                   MOMENTUM: tl.constexpr, CENTERED: tl.constexpr, MAXIMIZE: tl.constexpr,
                   ACC: tl.constexpr, BLOCK: tl.constexpr):
    """RMSprop: v = α·v + (1−α)·g²; optional centering by the mean gradient and momentum."""
    lr = compute_scalar(lr, ACC)
    alpha = compute_scalar(alpha, ACC)
    eps = compute_scalar(eps, ACC)
    weight_decay = compute_scalar(weight_decay, ACC)
    momentum = compute_scalar(momentum, ACC)
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    param = tl.load(param_ptr + offs, mask=mask, other=0.0).to(ACC)
    grad = _load_grad(grad_ptr, param, offs, mask, weight_decay, MAXIMIZE, True, ACC)
    square_avg = tl.load(square_avg_ptr + offs, mask=mask, other=0.0).to(ACC)
    square_avg = alpha * square_avg + (1.0 - alpha) * grad * grad
    tl.store(square_avg_ptr + offs, square_avg.to(square_avg_ptr.dtype.element_ty), mask=mask)
    if CENTERED:
        grad_avg = tl.load(grad_avg_ptr + offs, mask=mask, other=0.0).to(ACC)
        grad_avg = grad_avg + (1.0 - alpha) * (grad - grad_avg)
        tl.store(grad_avg_ptr + offs, grad_avg.to(grad_avg_ptr.dtype.element_ty), mask=mask)
        avg = tl.sqrt(square_avg - grad_avg * grad_avg) + eps
    else:
        avg = tl.sqrt(square_avg) + eps
    if MOMENTUM:
        buf = tl.load(buf_ptr + offs, mask=mask, other=0.0).to(ACC)
        buf = momentum * buf + grad / avg
        tl.store(buf_ptr + offs, buf.to(buf_ptr.dtype.element_ty), mask=mask)
        param = param - lr * buf
    else:
        param = param - lr * grad / avg
    tl.store(param_ptr + offs, param.to(param_ptr.dtype.element_ty), mask=mask)


@triton.jit
def adagrad_kernel(param_ptr, grad_ptr, sum_ptr, n,
                   clr: F64, eps: F64, weight_decay: F64,
                   MAXIMIZE: tl.constexpr, ACC: tl.constexpr, BLOCK: tl.constexpr):
    """Adagrad: s += g²; p −= clr · g / (sqrt(s) + eps), clr the decayed learning rate."""
    clr = compute_scalar(clr, ACC)
    eps = compute_scalar(eps, ACC)
    weight_decay = compute_scalar(weight_decay, ACC)
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    param = tl.load(param_ptr + offs, mask=mask, other=0.0).to(ACC)
    grad = _load_grad(grad_ptr, param, offs, mask, weight_decay, MAXIMIZE, True, ACC)
    state_sum = tl.load(sum_ptr + offs, mask=mask, other=0.0).to(ACC) + grad * grad
    tl.store(sum_ptr + offs, state_sum.to(sum_ptr.dtype.element_ty), mask=mask)
    param = param - clr * grad / (tl.sqrt(state_sum) + eps)
    tl.store(param_ptr + offs, param.to(param_ptr.dtype.element_ty), mask=mask)


@triton.jit
def nadam_kernel(param_ptr, grad_ptr, exp_avg_ptr, exp_avg_sq_ptr, n,
                 lr: F64, beta1: F64, beta2: F64, eps: F64, weight_decay: F64,
                 bias_correction2: F64, grad_coef: F64, avg_coef: F64,
                 DECOUPLED: tl.constexpr, MAXIMIZE: tl.constexpr, ACC: tl.constexpr,
                 BLOCK: tl.constexpr):
    """NAdam: Adam moments; p += grad_coef·g/denom + avg_coef·m/denom (momentum-decay coefs)."""
    lr = compute_scalar(lr, ACC)
    beta1 = compute_scalar(beta1, ACC)
    beta2 = compute_scalar(beta2, ACC)
    eps = compute_scalar(eps, ACC)
    weight_decay = compute_scalar(weight_decay, ACC)
    bias_correction2 = compute_scalar(bias_correction2, ACC)
    grad_coef = compute_scalar(grad_coef, ACC)
    avg_coef = compute_scalar(avg_coef, ACC)
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    param = tl.load(param_ptr + offs, mask=mask, other=0.0).to(ACC)
    grad = _load_grad(grad_ptr, param, offs, mask, weight_decay, MAXIMIZE, not DECOUPLED, ACC)
    if DECOUPLED:
        param = param * (1.0 - lr * weight_decay)
    exp_avg, exp_avg_sq = _adam_moments(exp_avg_ptr, exp_avg_sq_ptr, offs, mask, grad, beta1,
                                        beta2, ACC)
    denom = tl.sqrt(exp_avg_sq / bias_correction2) + eps
    param = param + grad_coef * grad / denom + avg_coef * exp_avg / denom
    tl.store(param_ptr + offs, param.to(param_ptr.dtype.element_ty), mask=mask)


@triton.jit
def radam_kernel(param_ptr, grad_ptr, exp_avg_ptr, exp_avg_sq_ptr, n,
                 lr: F64, beta1: F64, beta2: F64, eps: F64, weight_decay: F64,
                 bias_correction1: F64, bias_correction2_sqrt: F64, rect: F64,
                 DECOUPLED: tl.constexpr, RECTIFIED: tl.constexpr, MAXIMIZE: tl.constexpr,
                 ACC: tl.constexpr, BLOCK: tl.constexpr):
    """RAdam: Adam moments; the adaptive step (times ``rect``) only once the variance is tractable."""
    lr = compute_scalar(lr, ACC)
    beta1 = compute_scalar(beta1, ACC)
    beta2 = compute_scalar(beta2, ACC)
    eps = compute_scalar(eps, ACC)
    weight_decay = compute_scalar(weight_decay, ACC)
    bias_correction1 = compute_scalar(bias_correction1, ACC)
    bias_correction2_sqrt = compute_scalar(bias_correction2_sqrt, ACC)
    rect = compute_scalar(rect, ACC)
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    param = tl.load(param_ptr + offs, mask=mask, other=0.0).to(ACC)
    grad = _load_grad(grad_ptr, param, offs, mask, weight_decay, MAXIMIZE, not DECOUPLED, ACC)
    if DECOUPLED:
        param = param * (1.0 - lr * weight_decay)
    exp_avg, exp_avg_sq = _adam_moments(exp_avg_ptr, exp_avg_sq_ptr, offs, mask, grad, beta1,
                                        beta2, ACC)
    update = exp_avg / bias_correction1 * lr
    if RECTIFIED:
        update = update * rect * bias_correction2_sqrt / (tl.sqrt(exp_avg_sq) + eps)
    param = param - update
    tl.store(param_ptr + offs, param.to(param_ptr.dtype.element_ty), mask=mask)


@triton.jit
def rprop_kernel(param_ptr, grad_ptr, prev_ptr, step_size_ptr, n,
                 etaminus: F64, etaplus: F64, step_size_min: F64, step_size_max: F64,
                 MAXIMIZE: tl.constexpr, ACC: tl.constexpr, BLOCK: tl.constexpr):
    """Rprop in one pass: the step size is scaled by etaplus where g·prev > 0, by etaminus
    where g·prev < 0 (and the gradient counts as 0 there), else (0 or NaN) kept, then clamped
    to [min, max]; p −= sign(g)·step_size; prev = g. sign is PyTorch's: sign(NaN) = 0."""
    etaminus = compute_scalar(etaminus, ACC)
    etaplus = compute_scalar(etaplus, ACC)
    step_size_min = compute_scalar(step_size_min, ACC)
    step_size_max = compute_scalar(step_size_max, ACC)
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    param = tl.load(param_ptr + offs, mask=mask, other=0.0).to(ACC)
    grad = _load_grad(grad_ptr, param, offs, mask, 0.0, MAXIMIZE, False, ACC)
    prev = tl.load(prev_ptr + offs, mask=mask, other=0.0).to(ACC)
    step_size = tl.load(step_size_ptr + offs, mask=mask, other=0.0).to(ACC)
    product = grad * prev
    factor = tl.where(product > 0, etaplus, tl.where(product < 0, etaminus, 1.0))
    step_size = step_size * factor
    step_size = tl.maximum(step_size, step_size_min, propagate_nan=tl.PropagateNan.ALL)
    step_size = tl.minimum(step_size, step_size_max, propagate_nan=tl.PropagateNan.ALL)
    grad = tl.where(product < 0, 0.0, grad)
    sign = tl.where(grad > 0, 1.0, tl.where(grad < 0, -1.0, 0.0))
    tl.store(step_size_ptr + offs, step_size.to(step_size_ptr.dtype.element_ty), mask=mask)
    tl.store(prev_ptr + offs, grad.to(prev_ptr.dtype.element_ty), mask=mask)
    param = param - sign * step_size
    tl.store(param_ptr + offs, param.to(param_ptr.dtype.element_ty), mask=mask)


@triton.jit
def asgd_kernel(param_ptr, grad_ptr, ax_ptr, n,
                eta: F64, decay: F64, mu: F64, weight_decay: F64,
                AVERAGE: tl.constexpr, MAXIMIZE: tl.constexpr, ACC: tl.constexpr,
                BLOCK: tl.constexpr):
    """ASGD in one pass: p = p·decay − eta·g (decay = 1 − λ·eta); the average
    ax += (p − ax)·mu when AVERAGE, else ax = p (mu is 1)."""
    eta = compute_scalar(eta, ACC)
    decay = compute_scalar(decay, ACC)
    mu = compute_scalar(mu, ACC)
    weight_decay = compute_scalar(weight_decay, ACC)
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    param = tl.load(param_ptr + offs, mask=mask, other=0.0).to(ACC)
    grad = _load_grad(grad_ptr, param, offs, mask, weight_decay, MAXIMIZE, True, ACC)
    param = param * decay
    param = param - eta * grad
    if AVERAGE:
        ax = tl.load(ax_ptr + offs, mask=mask, other=0.0).to(ACC)
        ax = ax + (param - ax) * mu
    else:
        ax = param
    tl.store(param_ptr + offs, param.to(param_ptr.dtype.element_ty), mask=mask)
    tl.store(ax_ptr + offs, ax.to(ax_ptr.dtype.element_ty), mask=mask)


@triton.jit
def sparse_adam_kernel(param_ptr, grad_ptr, exp_avg_ptr, exp_avg_sq_ptr, rows_ptr, n,
                       one_minus_beta1: F64, one_minus_beta2: F64, eps: F64, step_size: F64,
                       MAXIMIZE: tl.constexpr, ACC: tl.constexpr, BLOCK: tl.constexpr):
    """SparseAdam on the elements where the bool array ``rows`` is True (torch's
    ``sparse_adam`` on those values): m += (g − m)(1−β1); v += (g² − v)(1−β2);
    p += −step_size · m / (√v + eps). The other elements are neither read nor written.
    1−β1 and 1−β2 come from the host (in float32, 1 − float32(β2) would lose digits)."""
    one_minus_beta1 = compute_scalar(one_minus_beta1, ACC)
    one_minus_beta2 = compute_scalar(one_minus_beta2, ACC)
    eps = compute_scalar(eps, ACC)
    step_size = compute_scalar(step_size, ACC)
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    mask = mask & (tl.load(rows_ptr + offs, mask=mask, other=0) != 0)
    param = tl.load(param_ptr + offs, mask=mask, other=0.0).to(ACC)
    grad = _load_grad(grad_ptr, param, offs, mask, 0.0, MAXIMIZE, False, ACC)
    exp_avg = tl.load(exp_avg_ptr + offs, mask=mask, other=0.0).to(ACC)
    exp_avg_sq = tl.load(exp_avg_sq_ptr + offs, mask=mask, other=0.0).to(ACC)
    exp_avg = exp_avg + (grad - exp_avg) * one_minus_beta1
    exp_avg_sq = exp_avg_sq + (grad * grad - exp_avg_sq) * one_minus_beta2
    tl.store(exp_avg_ptr + offs, exp_avg.to(exp_avg_ptr.dtype.element_ty), mask=mask)
    tl.store(exp_avg_sq_ptr + offs, exp_avg_sq.to(exp_avg_sq_ptr.dtype.element_ty), mask=mask)
    param = param + -step_size * (exp_avg / (tl.sqrt(exp_avg_sq) + eps))
    tl.store(param_ptr + offs, param.to(param_ptr.dtype.element_ty), mask=mask)


# Compile specs (tests/test_compile.py): fp32 parameters and state, the common flag settings,
# at the launch config.
_P = "*fp32"
_BLOCK = OPTIM_CONFIGS[0]["BLOCK"]
_WARPS = OPTIM_CONFIGS[0]["num_warps"]
COMPILE_SPECS = [
    {"kernel": "sgd_kernel",
     "signature": {"param_ptr": _P, "grad_ptr": _P, "buf_ptr": _P, "n": "i32", "lr": "fp64",
                   "momentum": "fp64", "dampening": "fp64", "weight_decay": "fp64"},
     "constexprs": {"MOMENTUM": True, "FIRST": False, "NESTEROV": True, "MAXIMIZE": False,
                    "ACC": "tl.float32", "BLOCK": _BLOCK},
     "num_warps": _WARPS, "no_spills": True},
    {"kernel": "adam_kernel",
     "signature": {"param_ptr": _P, "grad_ptr": _P, "exp_avg_ptr": _P, "exp_avg_sq_ptr": _P,
                   "max_sq_ptr": _P, "n": "i32", "lr": "fp64", "beta1": "fp64", "beta2": "fp64",
                   "eps": "fp64", "weight_decay": "fp64", "bias_correction1": "fp64",
                   "bias_correction2_sqrt": "fp64"},
     "constexprs": {"DECOUPLED": True, "AMSGRAD": True, "MAXIMIZE": False, "ACC": "tl.float32", "BLOCK": _BLOCK},
     "num_warps": _WARPS, "no_spills": True},
    {"kernel": "sgd_multi_kernel",
     "signature": {"table_ptr": "*i64", "num_chunks": "i32", "lr": "fp64", "momentum": "fp64",
                   "dampening": "fp64", "weight_decay": "fp64"},
     "constexprs": {"MOMENTUM": True, "NESTEROV": False, "MAXIMIZE": False, "DTYPE": "tl.float32",
                    "ACC": "tl.float32", "BLOCK": _BLOCK},
     "num_warps": _WARPS, "no_spills": True},
    {"kernel": "adam_multi_kernel",
     "signature": {"table_ptr": "*i64", "num_chunks": "i32", "lr": "fp64", "beta1": "fp64",
                   "beta2": "fp64", "eps": "fp64", "weight_decay": "fp64"},
     "constexprs": {"DECOUPLED": True, "AMSGRAD": True, "MAXIMIZE": False, "DTYPE": "tl.float32",
                    "ACC": "tl.float32", "BLOCK": _BLOCK},
     "num_warps": _WARPS, "no_spills": True},
    {"kernel": "adam_multi_kernel", "label": "bf16",
     "signature": {"table_ptr": "*i64", "num_chunks": "i32", "lr": "fp64", "beta1": "fp64",
                   "beta2": "fp64", "eps": "fp64", "weight_decay": "fp64"},
     "constexprs": {"DECOUPLED": False, "AMSGRAD": False, "MAXIMIZE": True, "DTYPE": "tl.bfloat16",
                    "ACC": "tl.float32", "BLOCK": _BLOCK},
     "num_warps": _WARPS, "no_spills": True},
    {"kernel": "adamax_kernel",
     "signature": {"param_ptr": _P, "grad_ptr": _P, "exp_avg_ptr": _P, "exp_inf_ptr": _P,
                   "n": "i32", "lr": "fp64", "beta1": "fp64", "beta2": "fp64", "eps": "fp64",
                   "weight_decay": "fp64", "bias_correction1": "fp64"},
     "constexprs": {"MAXIMIZE": False, "ACC": "tl.float32", "BLOCK": _BLOCK}, "num_warps": _WARPS, "no_spills": True},
    {"kernel": "adadelta_kernel",
     "signature": {"param_ptr": _P, "grad_ptr": _P, "square_avg_ptr": _P, "acc_delta_ptr": _P,
                   "n": "i32", "lr": "fp64", "rho": "fp64", "eps": "fp64",
                   "weight_decay": "fp64"},
     "constexprs": {"MAXIMIZE": False, "ACC": "tl.float32", "BLOCK": _BLOCK},
     "num_warps": _WARPS, "no_spills": True},
    {"kernel": "rmsprop_kernel",
     "signature": {"param_ptr": _P, "grad_ptr": _P, "square_avg_ptr": _P, "buf_ptr": _P,
                   "grad_avg_ptr": _P, "n": "i32", "lr": "fp64", "alpha": "fp64", "eps": "fp64",
                   "weight_decay": "fp64", "momentum": "fp64"},
     "constexprs": {"MOMENTUM": True, "CENTERED": True, "MAXIMIZE": False, "ACC": "tl.float32", "BLOCK": _BLOCK},
     "num_warps": _WARPS, "no_spills": True},
    {"kernel": "adagrad_kernel",
     "signature": {"param_ptr": _P, "grad_ptr": _P, "sum_ptr": _P, "n": "i32", "clr": "fp64",
                   "eps": "fp64", "weight_decay": "fp64"},
     "constexprs": {"MAXIMIZE": False, "ACC": "tl.float32", "BLOCK": _BLOCK}, "num_warps": _WARPS, "no_spills": True},
    {"kernel": "nadam_kernel",
     "signature": {"param_ptr": _P, "grad_ptr": _P, "exp_avg_ptr": _P, "exp_avg_sq_ptr": _P,
                   "n": "i32", "lr": "fp64", "beta1": "fp64", "beta2": "fp64", "eps": "fp64",
                   "weight_decay": "fp64", "bias_correction2": "fp64", "grad_coef": "fp64",
                   "avg_coef": "fp64"},
     "constexprs": {"DECOUPLED": False, "MAXIMIZE": False, "ACC": "tl.float32", "BLOCK": _BLOCK},
     "num_warps": _WARPS, "no_spills": True},
    {"kernel": "radam_kernel",
     "signature": {"param_ptr": _P, "grad_ptr": _P, "exp_avg_ptr": _P, "exp_avg_sq_ptr": _P,
                   "n": "i32", "lr": "fp64", "beta1": "fp64", "beta2": "fp64", "eps": "fp64",
                   "weight_decay": "fp64", "bias_correction1": "fp64",
                   "bias_correction2_sqrt": "fp64", "rect": "fp64"},
     "constexprs": {"DECOUPLED": False, "RECTIFIED": True, "MAXIMIZE": False, "ACC": "tl.float32", "BLOCK": _BLOCK},
     "num_warps": _WARPS, "no_spills": True},
    {"kernel": "rprop_kernel",
     "signature": {"param_ptr": _P, "grad_ptr": _P, "prev_ptr": _P, "step_size_ptr": _P,
                   "n": "i32", "etaminus": "fp64", "etaplus": "fp64", "step_size_min": "fp64",
                   "step_size_max": "fp64"},
     "constexprs": {"MAXIMIZE": False, "ACC": "tl.float32", "BLOCK": _BLOCK},
     "num_warps": _WARPS, "no_spills": True},
    {"kernel": "asgd_kernel",
     "signature": {"param_ptr": _P, "grad_ptr": _P, "ax_ptr": _P, "n": "i32", "eta": "fp64",
                   "decay": "fp64", "mu": "fp64", "weight_decay": "fp64"},
     "constexprs": {"AVERAGE": True, "MAXIMIZE": False, "ACC": "tl.float32", "BLOCK": _BLOCK},
     "num_warps": _WARPS, "no_spills": True},
    {"kernel": "sparse_adam_kernel",
     "signature": {"param_ptr": _P, "grad_ptr": _P, "exp_avg_ptr": _P, "exp_avg_sq_ptr": _P,
                   "rows_ptr": "*i1", "n": "i32", "one_minus_beta1": "fp64",
                   "one_minus_beta2": "fp64", "eps": "fp64", "step_size": "fp64"},
     "constexprs": {"MAXIMIZE": False, "ACC": "tl.float32", "BLOCK": _BLOCK},
     "num_warps": _WARPS, "no_spills": True},
]
