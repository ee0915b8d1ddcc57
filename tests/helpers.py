"""The one helper that compares a framework op with PyTorch (float64 oracle).

The implementation is public as ``framework.testing`` (users check their custom
ops with it); this module re-exports it so the tests keep importing ``helpers``.
"""
from framework.testing import (DEVICES, TOLERANCES, _as_tuple, _check_gradients,  # noqa: F401
                               _oracle_input, _torch_int_dtype, assert_close, check_device_error,
                               check_op, gradcheck, gradgradcheck, make_input, make_tensor,
                               tolerance)
