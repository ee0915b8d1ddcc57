"""The backend contract: both backends implement every kernel, with the same signature.

``framework._backends.contract.kernel_names()`` is the one list of kernels;
``framework._backends.load(name)`` collects a backend's family modules'
``KERNELS`` dicts. Importing the Triton backend's modules starts no GPU (the
suite runs with the interpreter switch on).
"""
import inspect

import pytest

from framework._backends import contract, load

BACKENDS = ("numpy", "triton")


def contract_arity(name: str) -> int:
    """Number of positional parameters the contract gives kernel ``name``."""
    if name in contract.UNARY:
        return 2  # unary(x, out_dtype)
    if name in contract.BINARY:
        return 4  # binary(a, b, compute_dtype, out_dtype)
    for table in contract.TABLES:
        if name in table:
            params = table[name].split("(", 1)[1].split(")", 1)[0]
            return len([p for p in params.split(",") if p.strip()])
    raise KeyError(name)


def test_contract_names_are_unique():
    names = contract.kernel_names()
    assert len(names) == len(set(names))


@pytest.mark.parametrize("backend", BACKENDS)
def test_backend_implements_every_kernel(backend):
    missing = load(backend).missing()
    assert not missing, f"{backend} backend lacks {len(missing)} contract kernel(s): {missing}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_backend_has_no_kernels_outside_the_contract(backend):
    extra = sorted(set(load(backend).kernels) - set(contract.kernel_names()))
    assert not extra, f"{backend} KERNELS names not in framework/_backends/contract.py: {extra}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_kernels_take_the_contract_arguments(backend):
    wrong = []
    for name, fn in load(backend).kernels.items():
        if name not in contract.kernel_names():
            continue
        try:
            inspect.signature(fn).bind(*range(contract_arity(name)))
        except TypeError as exc:
            wrong.append(f"{name}{inspect.signature(fn)}: {exc}")
    assert not wrong, "\n".join(wrong)


def test_both_backends_use_the_same_parameter_names():
    numpy_kernels, triton_kernels = load("numpy").kernels, load("triton").kernels
    differ = []
    for name in sorted(set(numpy_kernels) & set(triton_kernels)):
        cpu = list(inspect.signature(numpy_kernels[name]).parameters)
        gpu = list(inspect.signature(triton_kernels[name]).parameters)
        if cpu != gpu:
            differ.append(f"{name}: numpy {cpu} vs triton {gpu}")
    assert not differ, "\n".join(differ)
