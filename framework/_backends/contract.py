"""The backend contract: the one flat list of kernel functions.

Every backend (``framework._backends.numpy``, ``framework._backends.triton``)
implements each name below once, with the signature given. Kernels take and
return ``Array`` views (``framework._backends.array``); they allocate their
outputs contiguous, never modify inputs (except ``copy_``), and take Python
scalars where a parameter is a scalar. The op layer has already validated
arguments, broadcast shapes and chosen result dtypes.

``tests/test_contract.py`` fails when a backend lacks a kernel, and
``docs/ops.md`` is generated from this list and the op registry.
"""
from __future__ import annotations

# Memory and creation -------------------------------------------------------
MEMORY = {
    "empty": "empty(shape, dtype) -> Array: uninitialized contiguous array",
    "full": "full(shape, value, dtype) -> Array: every element = value",
    "arange": "arange(start, step, n, dtype) -> Array: start + i*step for i < n",
    "linspace": "linspace(start, end, n, dtype) -> Array: n evenly spaced points, ends included",
    "eye": "eye(n, m, dtype) -> Array: ones on the main diagonal",
    "from_numpy": "from_numpy(ndarray, dtype) -> Array: copy host data onto the device",
    "to_numpy": "to_numpy(a) -> ndarray: contiguous host copy",
    "as_numpy": "as_numpy(a) -> ndarray: the data as a NumPy array: a view sharing a's memory "
                "on cpu, a contiguous host copy (to_numpy) on cuda",
    "data_ptr": "data_ptr(a) -> int: address of a's first element (a host address on cpu and "
                "under the interpreter)",
    "copy_": "copy_(dst, src) -> None: dst[...] = src, src broadcast to dst, cast to dst.dtype",
    "device_assert": "device_assert(cond, op, message) -> None: RuntimeError naming op with "
                     "message when an element of the bool array cond is False; cpu raises at "
                     "once, cuda at the next host synchronization (no host read here)",
}

# Random numbers (counter-based: (seed, offset) selects the stream) ------------
RANDOM = {
    "rand": "rand(shape, dtype, seed, offset) -> Array: uniform [0, 1)",
    "randn": "randn(shape, dtype, seed, offset) -> Array: standard normal",
    "randint": "randint(shape, low, high, dtype, seed, offset) -> Array: integers in [low, high)",
    "dropout": "dropout(x, p, seed, offset) -> Array: x * keep / (1 - p), keep = "
               "uniform(seed, offset + i) >= p for row-major element i (p < 1)",
    "multinomial": "multinomial(probs, num_samples, replacement, seed, offset) -> Array[int64]: "
                   "(R, num_samples) category indices drawn from the rows of (R, C) probs",
}

# Elementwise: unary(x, out_dtype) -> Array, computed in out_dtype (fp32 for halves);
# logical_not/isnan compute in x's type (bool output); bitwise_not: integer types only.
UNARY = (
    "neg", "abs", "exp", "exp2", "log", "log2", "log1p", "expm1", "sqrt", "rsqrt",
    "sin", "cos", "tan", "tanh", "sigmoid", "relu", "sign", "floor", "ceil", "round", "trunc",
    "reciprocal", "square",
    "logical_not", "isnan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh",
    "erf", "erfc", "erfinv", "bitwise_not",
)

# Elementwise: binary(a, b, compute_dtype, out_dtype) -> Array; a and b are broadcast by
# the kernel, either (not both) may be a Python scalar; math in compute_dtype (fp32 for
# halves), result stored as out_dtype. remainder: sign of divisor; fmod: sign of dividend.
# Bitwise ops: integer or bool compute types only; shift_left/shift_right by a count outside
# [0, bits of compute_dtype) give 0 / the sign fill (0 or -1), as PyTorch's CPU kernels.
BINARY = (
    "add", "sub", "mul", "div", "div_floor", "div_trunc", "remainder", "fmod", "pow",
    "maximum", "minimum", "atan2", "eq", "ne", "lt", "le", "gt", "ge",
    "logical_and", "logical_or", "logical_xor", "copysign", "logaddexp", "logaddexp2", "hypot",
    "bitwise_and", "bitwise_or", "bitwise_xor", "shift_left", "shift_right",
)

OTHER_ELEMENTWISE = {
    "where": "where(cond, a, b, out_dtype) -> Array: a where cond else b (a, b may be scalars)",
    "clamp": "clamp(x, lo, hi, out_dtype) -> Array: scalar bounds, either may be None",
}

# Reductions over `dims` (a sorted tuple); the output drops those dims.
REDUCE = {
    "sum": "sum(x, dims, out_dtype) -> Array",
    "prod": "prod(x, dims, out_dtype) -> Array",
    "amax": "amax(x, dims) -> Array",
    "amin": "amin(x, dims) -> Array",
    "argmax": "argmax(x, dim) -> Array[int64]: first index of the maximum",
    "argmin": "argmin(x, dim) -> Array[int64]: first index of the minimum",
    "all": "all(x, dims) -> Array[bool]",
    "any": "any(x, dims) -> Array[bool]",
    "mean": "mean(x, dims, out_dtype) -> Array",
    "var": "var(x, dims, correction, out_dtype) -> Array",
    "logsumexp": "logsumexp(x, dims, out_dtype) -> Array",
}

MATMUL = {
    "matmul": "matmul(a, b) -> Array: batched (B, M, K) @ (B, K, N) -> (B, M, N), any strides",
    "matmul_epilogue": "matmul_epilogue(a, b, bias, activation, residual, keep_preact) -> "
                       "(Array, Array | None): act(a @ b + bias) + residual in one pass, and "
                       "a @ b + bias when keep_preact; bias (N,) or None, residual a (B, M, N) "
                       "view or None, activation None/'relu'/'gelu'/'gelu_tanh'/'silu'",
    "mm": "mm(a, b, bias) -> Array: (M, K) @ (K, N) (+ bias (N,), or None) -> (M, N), any "
          "strides: matmul's (matmul_epilogue's) math on one matrix, without the batch dim",
}


# Families added by the op-coverage work. Each family's kernels live in a dict of
# its own ("name": "signature -> result: meaning"), kept in this one module so the
# contract stays one flat list. --------------------------------------------------

# Indexing: gather/scatter by integer indices and masks.
INDEXING = {
    "gather": "gather(x, dim, index) -> Array: out[i] = x[i with i[dim] replaced by index[i]], "
              "out shaped like index (index may be a stride-0 broadcast view; values in range)",
    "scatter": "scatter(x, dim, index, src) -> Array: a copy of x with out[i with i[dim] = "
               "index[i]] = src[i] for every i of index's shape (duplicates: one write wins)",
    "scatter_add": "scatter_add(x, dim, index, src) -> Array: like scatter, but adds src[i] "
                   "(duplicate indices accumulate)",
    "scatter_reduce": "scatter_reduce(x, dim, index, src, reduce) -> Array: like scatter_add, "
                      "but folds src[i] into out by reduce = 'sum' | 'prod' | 'amax' | 'amin' "
                      "(x's value included; NaN propagates in amax/amin)",
    "nonzero": "nonzero(x) -> Array[int64]: (n, x.ndim) coordinates of the nonzero elements, "
               "in row-major order",
}

# Data movement: tril/triu, repeat, flip, roll, pad. Outputs are new contiguous arrays.
MOVEMENT = {
    "tril": "tril(x, diagonal) -> Array: last two dims' lower triangle (col - row <= diagonal), "
            "zeros above",
    "triu": "triu(x, diagonal) -> Array: last two dims' upper triangle (col - row >= diagonal), "
            "zeros below",
    "flip": "flip(x, dims) -> Array: order of each dim in dims reversed",
    "roll": "roll(x, shifts, dims) -> Array: rolled by shifts[i] along dims[i] (tuples)",
    "tile": "tile(x, reps) -> Array: repeated reps[d] times along each dim (len(reps) == ndim)",
    "repeat_interleave": "repeat_interleave(x, repeats, dim) -> Array: each slice along dim "
                         "repeated `repeats` (int) times",
    "repeat_interleave_index": "repeat_interleave_index(repeats, total) -> Array[int64]: k "
                               "repeated repeats[k] times (1-D integer repeats, total entries)",
    "gather_slices": "gather_slices(x, index, dim) -> Array: slices of x along dim at the "
                     "positions of the 1-D int64 index",
    "pad": "pad(x, pads, mode, value) -> Array: pads[d] = (before, after) per dim (negative "
           "crops, constant only); mode 'constant' (value), 'reflect', 'replicate', 'circular'",
}

# Scans along one dim; outputs have the input's shape.
SCAN = {
    "cumsum": "cumsum(x, dim, out_dtype) -> Array: inclusive running sum (fp32 for halves)",
    "cumprod": "cumprod(x, dim, out_dtype) -> Array: inclusive running product",
    "logcumsumexp": "logcumsumexp(x, dim) -> Array: log of the running sum of exp(x), stable",
    "cummax": "cummax(x, dim) -> (Array, Array[int64]): running max and its latest index "
              "(NaN wins)",
    "cummin": "cummin(x, dim) -> (Array, Array[int64]): running min and its latest index "
              "(NaN wins)",
}

# Sorting, selection and counting. Orders: NaN largest, equal values in input order.
SORT = {
    "sort": "sort(x, dim, descending, stable) -> (Array, Array[int64]): values and indices "
            "sorted along dim (always stable)",
    "searchsorted": "searchsorted(sorted_sequence, values, right, out_dtype, sorter) -> Array: "
                    "insertion indices in the last dim (1-D or matching leading dims), "
                    "sequence read through sorter (Array or None)",
    "bincount": "bincount(x, weights, minlength, out_dtype) -> Array: count (or weight sum) of "
                "each value of a 1-D non-negative integer x; weights Array or None",
    "unique": "unique(x) -> (Array, Array[int64], Array[int64]): sorted distinct values of the "
              "flattened x, inverse (x's shape), counts; each NaN distinct",
}

# Convolution (implicit GEMM on cuda, strided windows + BLAS on cpu), unfold/fold.
CONV = {
    "conv2d": "conv2d(x, weight, stride, padding, dilation, groups, out_size) -> Array: "
              "(N, C, H, W) * (CO, C/groups, KH, KW) -> (N, CO, HO, WO); stride, padding "
              "(top, left: bottom/right follow from out_size), dilation and out_size are pairs",
    "conv2d_input_grad": "conv2d_input_grad(grad_out, weight, stride, padding, dilation, groups, "
                         "in_size) -> Array: conv2d's input gradient (N, C, H, W) with in_size = "
                         "(H, W); also conv_transpose2d's forward",
    "conv2d_weight_grad": "conv2d_weight_grad(x, grad_out, stride, padding, dilation, groups, "
                          "kernel_size) -> Array: conv2d's weight gradient (CO, C/groups, KH, KW)",
    "im2col": "im2col(x, kernel_size, dilation, padding, stride, out_size) -> Array: "
              "(N, C, H, W) -> (N, C*KH*KW, HO*WO) sliding windows, 0 in the padding (F.unfold)",
    "col2im": "col2im(cols, output_size, kernel_size, dilation, padding, stride, blocks) -> Array: "
              "(N, C*KH*KW, HO*WO) -> (N, C, H, W), overlapping windows summed (F.fold); "
              "blocks = (HO, WO)",
}

# Pooling, interpolation.
# x and grad are (N, C, H, W) views; rows/cols are framework.ops.pool.Windows (pooling) or
# Samples (interpolation) describing each output row/column; outputs are contiguous.
POOL = {
    "pool_max2d": "pool_max2d(x, rows, cols) -> (Array, Array[int64]): max over each window "
                  "and its flat per-plane index h*W+w (first max; NaN wins)",
    "pool_max2d_backward": "pool_max2d_backward(grad, indices, in_size) -> Array: grad "
                           "scatter-added to the (H, W) = in_size plane positions in indices",
    "pool_max2d_gather": "pool_max2d_gather(x, indices) -> Array: each (n, c) plane of x read "
                         "at the flat positions indices[n, c] (adjoint of pool_max2d_backward)",
    "pool_avg2d": "pool_avg2d(x, rows, cols, divisor_override) -> Array: window sum / "
                  "(rows.divisor[oh] * cols.divisor[ow]) or / divisor_override",
    "pool_avg2d_backward": "pool_avg2d_backward(grad, rows, cols, divisor_override, in_size) "
                           "-> Array: the adjoint of pool_avg2d, an (H, W) = in_size input",
    "interp2d": "interp2d(x, rows, cols, nearest) -> Array: bilinear blend of x at (lo|hi, lo|hi)"
                " by the hi weights; nearest: x[rows.lo, cols.lo]",
    "interp2d_backward": "interp2d_backward(grad, rows, cols, nearest, in_size) -> Array: the "
                         "adjoint of interp2d (each grad added to its up to 4 sources)",
}

# Row-fused softmax.
SOFTMAX = {
    "softmax": "softmax(x, dim, log) -> Array: softmax (log_softmax if log) along dim, "
               "x's dtype; a row of -inf gives NaN",
    "softmax_backward": "softmax_backward(grad, out, dim, log) -> Array: input gradient of "
                        "softmax/log_softmax along dim from the forward output",
}

# Row-fused normalizations.
NORM = {
    "norm_rows": "norm_rows(x, weight, bias, eps, rms, across) -> (Array, Array, Array): x is "
                 "(A, C, S); mean and rstd = 1/sqrt(biased var + eps) per (a, c) over S, or per c "
                 "over (A, S) when across (mean 0 when rms); returns y = (x - mean) * rstd * "
                 "weight + bias (weight, bias: (S,) or None) in x's dtype, mean and rstd "
                 "(float32 for half types)",
    "norm_rows_backward": "norm_rows_backward(grad, x, weight, mean, rstd, rms, across) -> "
                          "(Array, Array | None): dx of norm_rows, and grad * xhat (the weight "
                          "gradient's terms, float32 for halves) when weight is given",
}

# Activations: gelu/silu/softplus (unary kernels, computed as UNARY's: float32 for halves, any
# strides), and the parameterized activations (one forward and one backward kernel).
ACTIVATION = {
    "gelu": "gelu(x, out_dtype) -> Array: x * Phi(x) (Phi: the standard normal CDF)",
    "gelu_tanh": "gelu_tanh(x, out_dtype) -> Array: gelu's tanh approximation",
    "silu": "silu(x, out_dtype) -> Array: x * sigmoid(x)",
    "softplus": "softplus(x, out_dtype, beta=1.0, threshold=20.0) -> Array: log1p(exp(beta * x)) "
                "/ beta, x where beta * x > threshold",
    "activation": "activation(x, op, p0, p1) -> Array: elementwise activation op of x in x's "
                  "dtype: leaky_relu (p0 = slope), elu (p0 = alpha, p1 = scale), celu (p0 = "
                  "alpha), hardtanh (p0 = min, p1 = max), hardsigmoid, hardswish, mish, softsign, "
                  "tanhshrink, logsigmoid",
    "activation_backward": "activation_backward(grad, x, op, p0, p1) -> Array: grad * op'(x), "
                           "grad's dtype: activation's ops, and gelu, gelu_tanh, silu, softplus "
                           "(p0 = beta, p1 = threshold), relu (x may be relu's output: "
                           "grad where x > 0 or NaN, else 0, also for an inf or NaN grad) and "
                           "tanh (x is tanh's output: grad * (1 - x * x))",
}

# Losses with fused kernels. Rows are (M, C): logits / log-probabilities with any strides;
# target (M,) int64 class indices or (M, C) class probabilities; weight (C,) or None.
# Per-row results are fp32 for the half types.
LOSS = {
    "cross_entropy_forward": "cross_entropy_forward(logits, target, weight, ignore_index, "
                             "label_smoothing) -> (loss, lse, row_weight): per-row loss "
                             "lse*sum(a) - sum(a*x) for a = weight * smoothed target, the "
                             "row's logsumexp and weight[target] (0 where ignored); one fused "
                             "pass, softmax never stored",
    "cross_entropy_backward": "cross_entropy_backward(logits, target, weight, lse, grad, "
                              "ignore_index, label_smoothing) -> Array: grad[:, None] * "
                              "(softmax * sum(a) - a), softmax recomputed from lse",
    "nll_loss_forward": "nll_loss_forward(logp, target, weight, ignore_index) -> (loss, "
                        "row_weight): -weight[t] * logp[row, t] and weight[t] (0 where ignored)",
    "nll_loss_backward": "nll_loss_backward(target, weight, grad, ignore_index, num_classes, "
                         "dtype) -> Array: (M, C) zeros with -weight[t] * grad at each target",
    # elementwise: target of x's shape; weight, pos_weight (or None) and grad broadcast to it
    # (any strides); result contiguous in x's dtype (float32 math for the half types)
    "bce_with_logits": "bce_with_logits(x, target, weight, pos_weight) -> Array: (1 - y) * x + "
                       "(1 + (pos_weight - 1) * y) * (max(-x, 0) + log1p(exp(-|x|))), times weight",
    "bce_with_logits_backward": "bce_with_logits_backward(grad, x, target, weight, pos_weight, "
                                "scale) -> Array: x's gradient ((1 + (pos_weight - 1) * y) * "
                                "sigmoid(x) - pos_weight * y) * grad * weight * scale",
    "bce": "bce(x, target, weight) -> Array: -weight * (y * max(log(x), -100) + (1 - y) * "
           "max(log(1 - x), -100)) of probabilities x",
    "bce_backward": "bce_backward(grad, x, target, weight, scale) -> Array: x's gradient "
                    "(x - y) / max((1 - x) * x, 1e-12) * grad * weight * scale",
}

# Attention. q (..., L, E), k (..., S, E), v (..., S, Ev) share their batch dims (views,
# stride 0 where broadcast); mask is None, bool (True = take part) or float (added to the
# scores), shape (..., L, S) (a broadcast view). Scores are q k^T * scale, causal keeps
# key j <= query i (top-left aligned). A row with no allowed key gives output 0 and
# logsumexp -inf. Dropout keeps a weight where a uniform draw of (seed, offset + flat
# (batch, row, col) index) is >= dropout_p, and scales kept weights by 1/(1 - dropout_p).
ATTENTION = {
    "attention_forward": "attention_forward(q, k, v, mask, is_causal, scale, dropout_p, seed, "
                         "offset) -> (Array, Array): output (..., L, Ev) in q's dtype and the "
                         "row logsumexp of the scores (..., L) in the compute type (float32; "
                         "float64 for float64)",
    "attention_backward": "attention_backward(grad_out, q, k, v, mask, out, lse, is_causal, "
                          "scale, dropout_p, seed, offset, mask_grad) -> (Array, Array, Array, "
                          "Array | None): gradients of q, k, v (contiguous, full batch shape) "
                          "and, when mask_grad, of a float mask (..., L, S)",
}

# Fused optimizer updates. Unlike every other kernel these write in place: the
# parameter and its state buffers (contiguous, same shape) are updated, nothing is
# returned. A state argument a variant does not use may be None. The ``*_multi`` kernels
# take lists (one entry per parameter; every tensor of one dtype and device, any shapes; a
# list a variant does not use may be None) and per-parameter sequences where the step count
# enters, and do the single-parameter update on each, in one launch, to the same bits.
OPTIM = {
    "sgd_step": "sgd_step(param, grad, momentum_buffer, lr, momentum, dampening, weight_decay, "
                "nesterov, maximize, first) -> None",
    "adam_step": "adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2, "
                 "eps, weight_decay, decoupled, amsgrad, maximize, bias_correction1, "
                 "bias_correction2_sqrt) -> None",
    "sgd_step_multi": "sgd_step_multi(params, grads, momentum_buffers, lr, momentum, dampening, "
                      "weight_decay, nesterov, maximize, firsts) -> None: firsts[i] is sgd_step's "
                      "first for params[i]",
    "adam_step_multi": "adam_step_multi(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, lr, "
                       "beta1, beta2, eps, weight_decay, decoupled, amsgrad, maximize, "
                       "bias_corrections1, bias_corrections2_sqrt) -> None: the bias corrections "
                       "are per parameter",
    "adamax_step": "adamax_step(param, grad, exp_avg, exp_inf, lr, beta1, beta2, eps, "
                   "weight_decay, maximize, bias_correction1) -> None",
    "adadelta_step": "adadelta_step(param, grad, square_avg, acc_delta, lr, rho, eps, "
                     "weight_decay, maximize) -> None",
    "rmsprop_step": "rmsprop_step(param, grad, square_avg, momentum_buffer, grad_avg, lr, alpha, "
                    "eps, weight_decay, momentum, centered, maximize) -> None",
    "adagrad_step": "adagrad_step(param, grad, state_sum, clr, eps, weight_decay, maximize) -> None",
    "nadam_step": "nadam_step(param, grad, exp_avg, exp_avg_sq, lr, beta1, beta2, eps, "
                  "weight_decay, decoupled, maximize, bias_correction2, grad_coef, avg_coef) -> None",
    "radam_step": "radam_step(param, grad, exp_avg, exp_avg_sq, lr, beta1, beta2, eps, "
                  "weight_decay, decoupled, maximize, bias_correction1, bias_correction2_sqrt, "
                  "rect) -> None: rect <= 0 takes the unrectified (SGD-with-momentum) step",
    "rprop_step": "rprop_step(param, grad, prev, step_size, etaminus, etaplus, step_size_min, "
                  "step_size_max, maximize) -> None",
    "asgd_step": "asgd_step(param, grad, ax, eta, decay, mu, weight_decay, maximize) -> None: "
                 "decay = 1 - lambd * eta; mu == 1 copies the parameter to ax",
    "sparse_adam_step": "sparse_adam_step(param, grad, exp_avg, exp_avg_sq, rows, "
                        "one_minus_beta1, one_minus_beta2, eps, maximize, step_size) -> None: "
                        "rows is a bool array of the parameter's shape; only its True elements "
                        "are read and updated",
}

# Fused recurrent cells (the steps of nn.LSTM/nn.GRU). Gate inputs are 2-D (N, k·H) views
# with any strides, states (N, H) views; outputs are new contiguous arrays. ``saved`` holds
# what the backward needs, in the compute type (float32 for the half types, else out_dtype).
# A gradient given as None is zero.
RNN = {
    "lstm_cell": "lstm_cell(gates, c_prev, out_dtype) -> (Array, Array, Array): gates (N, 4H) = "
                 "x W_ihᵀ + b_ih + h W_hhᵀ + b_hh in PyTorch's order i, f, g, o; c = σ(f) c_prev "
                 "+ σ(i) tanh(g), h = σ(o) tanh(c); returns h, c (N, H) in out_dtype and saved "
                 "(N, 4H) = [σ(i), σ(f), tanh(g), σ(o)]",
    "lstm_cell_backward": "lstm_cell_backward(grad_h, grad_c, c_prev, c, saved, out_dtype) -> "
                          "(Array, Array): from lstm_cell's c and saved (tanh(c) is recomputed), "
                          "the gradient of gates (N, 4H) and of c_prev (N, H); grad_h, grad_c "
                          "(N, H) or None",
    "gru_cell": "gru_cell(x_gates, h_gates, h_prev, out_dtype) -> (Array, Array): x_gates (N, 3H) "
                "= x W_ihᵀ + b_ih and h_gates = h_prev W_hhᵀ + b_hh in PyTorch's order r, z, n; "
                "r = σ(x_r + h_r), z = σ(x_z + h_z), n = tanh(x_n + r h_n), h = (1 - z) n + z "
                "h_prev; returns h (N, H) in out_dtype and saved (N, 4H) = [r, z, n, h_n]",
    "gru_cell_backward": "gru_cell_backward(grad_h, h_prev, saved, out_dtype) -> (Array, Array, "
                         "Array): from gru_cell's saved and grad_h (N, H) or None, the gradients "
                         "of x_gates (N, 3H), of h_gates (N, 3H) and h_prev's direct part "
                         "grad_h z (N, H; the caller adds d_h_gates @ W_hh)",
    "lstm_sequence": "lstm_sequence(x_proj, h0, c0, w_hh, b_hh, reverse) -> (Array, Array, "
                     "Array): all T steps of one LSTM layer direction (float32/float64): x_proj "
                     "(T, N, 4H) = x W_ihᵀ + b_ih, h0, c0 (N, H), w_hh (4H, H), b_hh (4H,) or "
                     "None; step t is lstm_cell(h_prev W_hhᵀ + b_hh + x_proj[t], c_prev), t = 0 "
                     "first (reverse: T - 1 first); returns states, cells (T + 1, N, H): h0/c0 "
                     "in slot 0 and step t's h/c in slot t + 1 (reverse: slot T and slot t), "
                     "and saved, the backend's own record for lstm_sequence_backward",
    "lstm_sequence_backward": "lstm_sequence_backward(grad_out, grad_h, grad_c, w_hh, cells, "
                              "saved, reverse, need_h0, need_c0) -> (Array, Array, Array): from "
                              "lstm_sequence's cells and saved and the gradients of its outputs "
                              "(grad_out (T, N, H) of every step's h, grad_h, grad_c (N, H) of "
                              "the last step's h, c; None is zero), d_gates (T, N, 4H) (each "
                              "step's pre-activation gradient) and d_h0, d_c0 (N, H), None "
                              "where need_h0/need_c0 is false",
    "gru_sequence": "gru_sequence(x_proj, h0, w_hh, b_hh, reverse) -> (Array, Array): all T "
                    "steps of one GRU layer direction (float32/float64): x_proj (T, N, 3H) = x "
                    "W_ihᵀ + b_ih, h0 (N, H), w_hh (3H, H), b_hh (3H,) or None; step t is "
                    "gru_cell(x_proj[t], h_prev W_hhᵀ + b_hh, h_prev), t = 0 first (reverse: "
                    "T - 1 first); returns states (T + 1, N, H) (h0 in slot 0, step t's h in "
                    "slot t + 1; reverse: slot T and slot t) and saved, the backend's own "
                    "record for gru_sequence_backward",
    "gru_sequence_backward": "gru_sequence_backward(grad_out, grad_h, w_hh, states, saved, "
                             "reverse, need_h0) -> (Array, Array, Array): from gru_sequence's "
                             "states and saved and the gradients of its outputs (grad_out (T, "
                             "N, H), grad_h (N, H) of the last h; None is zero), d_x_proj and "
                             "d_h_proj (T, N, 3H) (each step's input and hidden projection "
                             "gradients) and d_h0 (N, H), None unless need_h0",
}

# Dense linear algebra on batches of square matrices (float32/float64): a is (batch, n, n), any
# strides; info is int32 (batch,): 0, or k + 1 for the first exactly zero pivot k (singular).
LINALG = {
    "solve": "solve(a, b) -> (Array, Array[int32]): x (batch, n, k) with a x = b for b (batch, n, "
             "k), or the inverse of a when b is None; and info (LU with partial pivoting; a "
             "singular a gives inf/NaN in x)",
    "cholesky": "cholesky(a) -> (Array, Array[int32]): lower-triangular l (zeros above) with a "
                "= l l^T, from a's lower triangle; info = k + 1 when the leading minor of order "
                "k + 1 is the first not positive-definite (l is then not finite from there)",
    "eigh": "eigh(a) -> (Array, Array): ascending eigenvalues (batch, n) and orthonormal "
            "eigenvectors (batch, n, n), as columns, of symmetric a read from its lower triangle "
            "(an eigenvector's sign is not fixed)",
    "svd": "svd(a, compute_uv) -> (Array, Array, Array): reduced SVD a = u diag(s) v^T of "
           "(batch, m, n) a with m >= n: u (batch, m, n), s (batch, n) descending, v (batch, n, "
           "n) (a pair of singular vectors' sign is not fixed); u and v may be None when not "
           "compute_uv",
    "qr": "qr(a, complete) -> (Array, Array): Householder QR of (batch, m, n) a with LAPACK's "
          "reflector signs: q (batch, m, k), r (batch, k, n), k = min(m, n); with complete, q "
          "(batch, m, m) and r (batch, m, n)",
    "lu_factor": "lu_factor(a) -> (Array, Array[int32], Array[int32], Array[int64]): LU with "
                 "partial pivoting of (batch, m, n) a (P^T a = L U): packed lu (batch, m, n) (L's "
                 "multipliers below the diagonal, U on and above), LAPACK's 1-based pivots "
                 "(batch, min(m, n)), info (batch,) and perm (batch, m): the row of a at each "
                 "row of lu",
    "ldl_factor": "ldl_factor(a) -> (Array, Array[int32], Array[int32]): LDL^T with Bunch-"
                  "Kaufman pivoting (LAPACK's sytf2, lower) of symmetric (batch, n, n) a read "
                  "from its lower triangle: ld (L below D's 1x1 / 2x2 blocks, zeros above), "
                  "LAPACK's pivots (batch, n) and info (batch,)",
    "det": "det(a) -> Array: (batch,) determinants (1 for n = 0, 0 for a singular a)",
    "slogdet": "slogdet(a) -> (Array, Array): (batch,) sign of det (0 when singular) and "
               "log |det| (-inf when singular)",
}

# Every table whose values are "signature -> result" strings, in contract order.
TABLES = (MEMORY, RANDOM, OTHER_ELEMENTWISE, REDUCE, MATMUL, INDEXING, MOVEMENT, SCAN, SORT,
          CONV, POOL, SOFTMAX, NORM, ACTIVATION, LOSS, ATTENTION, OPTIM, RNN, LINALG)


def kernel_names() -> list[str]:
    """Every kernel a backend must implement, in contract order."""
    names = list(MEMORY) + list(RANDOM) + list(UNARY) + list(BINARY)
    for table in TABLES[2:]:
        names += list(table)
    return names
