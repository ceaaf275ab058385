"""One PyTorch training script, run with ``import torch`` and with ``import pygrad as torch``
from the same initial weights and data: the printed output (losses to 4 decimals) is the same."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tests" / "scripts" / "train_mlp.py"


def _run(lib: str, data: Path) -> list[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYGRAD_PURE=os.environ.get("PYGRAD_PURE", "1"))
    result = subprocess.run([sys.executable, str(SCRIPT), lib, str(data)], capture_output=True, text=True,
                            env=env, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_same_script_prints_the_same_on_torch_and_pygrad(tmp_path, torch):
    rng = np.random.default_rng(7)
    centers = np.array([[0.0, 1.0], [1.0, -0.5], [-1.0, -0.5]])
    y = rng.integers(0, 3, size=96)
    x = (centers[y] + rng.normal(0, 0.45, size=(96, 2))).astype(np.float32)
    ref = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 16),
                              torch.nn.Tanh(), torch.nn.Linear(16, 3))
    arrays = {"x": x, "y": y.astype(np.int64)}
    arrays.update({"init." + k: v.detach().numpy() for k, v in ref.state_dict().items()})
    data = tmp_path / "data.npz"
    np.savez(data, **arrays)
    theirs, ours = _run("torch", data), _run("pygrad", data)
    assert len([line for line in theirs if "loss" in line]) == 12
    assert ours == theirs
    assert "frozen unchanged: True" in ours and "requires_grad under no_grad: False" in ours
