"""The op registry: complete, consistent with the contract, and docs/ops.md up to date."""
import importlib
import os

import pytest

import framework  # noqa: F401 - registers every op
from framework._backends import contract
from framework.ops import registry
from framework.ops import PUBLIC_FAMILIES
from framework.tensor import FORWARDED_METHODS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPS_MD = os.path.join(ROOT, "docs", "ops.md")
# Op families whose ``__all__`` names become ``framework.<name>`` (see framework/__init__.py).
FAMILIES = PUBLIC_FAMILIES


def test_docs_ops_md_is_up_to_date():
    with open(OPS_MD, encoding="utf-8") as f:
        written = f.read()
    assert written == registry.coverage_table(), (
        "docs/ops.md is stale: regenerate it with `python -m framework.ops.registry > docs/ops.md`")


def test_registered_kernels_exist_in_the_contract():
    known = set(contract.kernel_names())
    unknown = {info.name: [k for k in info.kernels if k not in known]
               for info in registry.OPS.values()}
    unknown = {name: kernels for name, kernels in unknown.items() if kernels}
    assert not unknown, f"ops naming kernels that are not in the contract: {unknown}"


def _unregistered(module) -> list:
    """Names in ``module.__all__`` that are neither registered nor an alias of a registered op."""
    missing = []
    for name in module.__all__:
        if name in registry.OPS:
            continue
        fn = getattr(module, name)
        aliases = [other for other in module.__all__ if other in registry.OPS and getattr(module, other) is fn]
        if not aliases:
            missing.append(name)
    return missing


@pytest.mark.parametrize("family", FAMILIES)
def test_every_public_op_is_registered(family):
    module = importlib.import_module(f"framework.ops.{family}")
    missing = _unregistered(module)
    assert not missing, (f"framework.ops.{family}.__all__ names not registered with "
                         f"framework.ops.registry.register(): {missing}")


@pytest.mark.parametrize("family", FAMILIES)
def test_registered_ops_are_public(family):
    module = importlib.import_module(f"framework.ops.{family}")
    hidden = [info.name for info in registry.OPS.values()
              if info.family == family and not hasattr(module, info.name)
              and not hasattr(framework.Tensor, info.name.removeprefix("Tensor."))]
    assert not hidden, f"registered {family} ops with no function or Tensor method: {hidden}"


@pytest.mark.parametrize("family", sorted(FORWARDED_METHODS))
def test_forwarded_methods_exist_in_their_ops_module(family):
    module = importlib.import_module(f"framework.ops.{family}")
    missing = [name for name in FORWARDED_METHODS[family] if not callable(getattr(module, name, None))]
    assert not missing, f"Tensor methods forwarded to framework.ops.{family} that it lacks: {missing}"
