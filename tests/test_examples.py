"""The example scripts run (small settings) and show what they claim."""

import importlib.util
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pendulum_euler_overfits_its_step_and_rk4_does_not(tmp_path):
    pytest.importorskip("matplotlib")
    figure = tmp_path / "pendulum.png"
    table = load("pendulum_convergence").main(["--epochs", "400", "--out", str(figure)])
    euler, rk4 = table[("euler", "euler")], table[("rk4", "rk4")]
    assert euler[-1] > 3 * euler[0]  # the error dip at the training step
    assert max(rk4) < 1.5 * min(rk4)  # smooth: refined steps keep the accuracy
    # the adaptive curve, at its tightest tolerance: each field's continuum answer
    assert table[("euler", "adaptive")][1][-1] > 3 * euler[0]  # the euler-trained flow is not its data
    assert table[("rk4", "adaptive")][1][-1] < 1.5 * min(rk4)  # the rk4-trained flow is
    assert figure.stat().st_size > 10_000


def test_digits_example_runs(tmp_path):
    pytest.importorskip("matplotlib")
    figure = tmp_path / "digits.png"
    table = load("digits_classification").main(["--epochs", "3", "--out", str(figure)])
    assert set(table) == {"euler", "midpoint", "heun", "rk4", "rk4_38"}
    assert figure.stat().st_size > 10_000


def test_burgers_operator_is_discretization_invariant():
    errors = load("burgers_operator").main(["--epochs", "80", "--train", "128", "--out", ""])
    assert errors[64] < 0.9  # learning: the identity map scores ~1.07
    assert max(errors[128], errors[256]) < 1.1 * errors[64]  # read finer than trained


def test_operator_network_example_is_resolution_and_depth_invariant():
    result = load("operator_burgers").main(["--seconds", "8", "--train", "256", "--out", ""])
    errors, trained = result["errors"], result["errors"][64]
    assert trained < 0.3 * result["identity"]  # learning (8 s on an idle core: 3.3 % against 107 %)
    # trained for a time, so the error depends on the machine: bounds that hold at any error.
    # Read finer, within the 1.3x (60 s: 1.21x); read at 32 cells, the 64-cell averages
    # the network learned miss the 32-cell ones by 1.69 % even for the exact map (docs/operators.rst)
    assert max(errors[128], errors[256]) < 1.3 * trained and errors[32] < trained + 0.025
    assert max(result["depth"].values()) < 1.1 * trained


def test_irregular_pendulum_learns_and_predicts_the_future(tmp_path):
    pytest.importorskip("matplotlib")
    figure = tmp_path / "irregular.png"
    result = load("irregular_pendulum").main(["--epochs", "40", "--out", str(figure)])
    assert result["losses"][-1] < 0.1 * result["losses"][0]
    assert result["future_error"] < 0.3 * result["untrained_error"]
    assert figure.stat().st_size > 10_000


def test_continuousnet_example_prints_its_manifestation_table(tmp_path):
    pytest.importorskip("matplotlib")
    figure = tmp_path / "continuousnet.png"
    result = load("continuousnet_digits").main(["--epochs", "2", "--seconds", "60", "--out", str(figure)])
    assert set(result["table"]) == {"euler", "midpoint", "rk4", "rk4_38"} and result["parameters"] > 10_000
    assert all(0.0 <= a <= 1.0 for row in result["table"].values() for a in row)
    assert figure.stat().st_size > 10_000


def test_hyperbolic_example_keeps_its_outputs_under_the_group_and_compresses(tmp_path):
    pytest.importorskip("matplotlib")
    figure = tmp_path / "canonical.png"
    result = load("hyperbolic_symmetry").main(["--epochs", "3", "--out", str(figure)])
    assert result["accuracy"] > 0.8  # 3 epochs: 90.7 %
    unchanged = ("orthogonal", "permutation", "compressed_difference", "canonical_difference", "refined")
    assert max(result[k] for k in unchanged) <= 1e-10
    assert "O(n)" in result["refused"] and "softball" in result["refused"]
    assert result["rotation"] > 0.1  # relu: a rotation is no symmetry
    # the lower triangles of the two lifts, n(n - 1)/2 per stage: the dimension of O(n)
    assert result["removed"] == 8 * 7 // 2 + 16 * 15 // 2
    assert result["fraction"] == result["removed"] / result["total"] == pytest.approx(result["bound"])  # O(n): LQ reaches it
    assert result["compressed_accuracy"] == result["accuracy"]
    assert result["sigma"] == sorted(result["sigma"], reverse=True)
    # trained as a flow: every re-manifestation holds the accuracy (3 epochs: within 2.2 points)
    assert all(abs(a - result["accuracy"]) < 0.04 for a in result["manifestations"].values())
    assert figure.stat().st_size > 10_000
