"""``bench/torch_examples.py``: the examples' PyTorch twins run (tiny settings) on torch."""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))

import torch_examples  # noqa: E402

TINY = {"char_transformer": ["--epochs", "1", "--samples", "1", "--d-model", "16", "--layers", "1"],
        "name_classifier": ["--epochs", "1"],
        "seq2seq_dates": ["--epochs", "1", "--train-size", "64", "--test-size", "16"],
        "pinn": ["--steps", "3"],
        "gan": ["--steps", "3", "--eval-samples", "50"],
        "reinforce_cartpole": ["--updates", "1", "--eval-episodes", "1", "--env", "builtin"]}


@pytest.mark.parametrize("name", torch_examples.SWAPPED)
def test_swapped_example_runs_on_torch_only(name, capsys):
    pytest.importorskip("torch")
    source = torch_examples.torch_source(name)
    model_imports = [line for line in source.splitlines()
                     if line.startswith(("import framework", "from framework"))
                     and not line.startswith(("from framework.datasets", "from framework.utils.data"))]
    assert model_imports == [], model_imports  # the model, optimizer and ops are torch's
    result = torch_examples.RUNNERS[name](TINY[name])
    assert result["seconds"] > 0
