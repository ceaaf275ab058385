"""The main demo: a short run reaches the stated accuracies, and its options work."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import pygrad
from pygrad.demo.__main__ import SECTIONS, main
from pygrad.demo.datasets import spirals

ROOT = Path(__file__).resolve().parent.parent


def test_short_training_run_learns_the_spirals(tmp_path, capsys):
    results = main(["--epochs", "60", "--quiet", "--seed", "0", "--out-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert results["test_accuracy"] >= 0.95, out
    assert results["train_loss"][-1] < 0.2 * results["train_loss"][0]
    assert results["checkpoint_restores"] and (tmp_path / "spiral_mlp.pt").exists()
    assert results["transfer_accuracy"] >= 0.9 and results["transfer_before"] < 0.7
    assert results["frozen_unchanged"] and results["frozen_grads_none"]
    assert results["focal_gradcheck"] and results["focal_matches_ce"] and results["focal_accuracy"] >= 0.8
    assert "test accuracy" in out and "frozen layer unchanged bit for bit: True" in out
    assert ("loss-curve picture written" in out) or ("pip install matplotlib" in out)


def test_tutorial_section_and_backend_option(capsys):
    main(["--section", "tutorial", "--backend", "pure"])
    out = capsys.readouterr().out
    assert "on the pure backend" in out and "tensor(14., grad_fn=<SumBackward0>)" in out
    assert "Training" not in out


def test_help_lists_the_options_and_sections():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    text = subprocess.run([sys.executable, "-m", "pygrad.demo", "--help"], capture_output=True, text=True,
                          env=env, cwd=ROOT, check=True).stdout
    for option in ("--epochs", "--backend", "--seed", "--section", "--quiet", "--out-dir"):
        assert option in text
    for name, *_ in SECTIONS:
        assert name in text


def test_spirals_are_seeded_and_balanced():
    x, y = spirals(500, seed=4)
    x2, y2 = spirals(500, seed=4)
    np.testing.assert_array_equal(x, x2)
    assert x.dtype == np.float32 and y.dtype == np.int64 and x.shape == (500, 2)
    assert 200 < y.sum() < 300
    assert not np.array_equal(x, spirals(500, seed=5)[0])
    assert pygrad.tensor(x).shape == pygrad.Size([500, 2])


def test_loss_plot_gives_each_kind_of_loss_its_own_axis(tmp_path):
    image = pytest.importorskip("matplotlib.image")
    from pygrad.demo.training import plot_losses
    losses = {"training": [0.7, 0.5, 0.3], "transfer": [0.6, 0.2]}
    one = plot_losses({"cross-entropy": losses}, tmp_path / "one.png")
    two = plot_losses({"cross-entropy": losses, "focal loss": {"focal": [0.2, 0.1]}}, tmp_path / "two.png")
    assert one.startswith("loss-curve picture written") and two.endswith("two.png")
    width_one, width_two = image.imread(tmp_path / "one.png").shape[1], image.imread(tmp_path / "two.png").shape[1]
    assert width_two == 2 * width_one  # two axes side by side
