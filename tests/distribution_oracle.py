"""The helpers the distribution tests share: float64 parameters on both sides, and the
comparison of a framework result with torch's (float64 oracle)."""
import numpy as np
import torch

import framework


def pair(array, device="cpu"):
    """``array`` as a float64 leaf requiring grad: framework's (on ``device``), torch's."""
    return (framework.tensor(array, dtype=framework.float64, device=device, requires_grad=True),
            torch.tensor(array, dtype=torch.float64, requires_grad=True))


def f64(array, device="cpu"):
    """``array`` as a framework float64 tensor on ``device``."""
    return framework.tensor(array, dtype=framework.float64, device=device)


def as_numpy(value) -> np.ndarray:
    """A framework or torch tensor (any device, with or without grad), or array-like."""
    if hasattr(value, "detach"):
        value = value.detach()
        value = value.cpu() if hasattr(value, "cpu") else value
        return value.numpy()
    return np.asarray(value)


def close(ours, theirs, atol=1e-9, rtol=1e-9):
    """``ours`` equals torch's ``theirs`` within ``atol`` + ``rtol``."""
    np.testing.assert_allclose(as_numpy(ours), as_numpy(theirs), atol=atol, rtol=rtol)
