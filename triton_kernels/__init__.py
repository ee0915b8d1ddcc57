"""Pure Triton kernels of ``framework``, grouped by op family, with their config spaces.

This package does not import ``framework``. Import it only after the runtime
is fixed (``framework._backends.triton.runtime.kernels()`` does that), because
``@triton.jit`` chooses between the compiler and the interpreter when it runs.
"""
