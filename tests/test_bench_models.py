"""``fem-nn bench models``: its peers are the sizes it pairs, its one training loop trains for
the time it is given in the manifestations it draws, and the command prints its figures."""

import importlib.util
import json

import pytest
import torch

from fem_nn.bench.models import IMAGE
from fem_nn.bench.peers import PlainMLP, PlainResNet, fit_for, fourier_neural_operator, parameter_count
from fem_nn.cli import main
from fem_nn.models import ContinuousNetClassifier
from fem_nn.odeblock import OdeBlock


def test_the_resnet_peer_has_the_classifier_size():
    classifier = ContinuousNetClassifier(**IMAGE, seed=0)
    resnet = PlainResNet(1, 10, IMAGE["channels"], blocks=classifier.blocks[0].depth.n_dofs)
    assert abs(parameter_count(resnet) / parameter_count(classifier) - 1) < 0.01


def test_the_mlp_peer_counts_its_layers():
    assert parameter_count(PlainMLP(64, 10)) == (64 * 10 + 10) + (10 * 10 + 10) + (10 * 64 + 64)


def test_fit_for_lowers_the_loss_and_leaves_the_manifestation_as_it_was():
    torch.manual_seed(0)
    block = OdeBlock(torch.nn.Linear(3, 3), depth=2, scheme="euler")
    x = torch.randn(64, 3)
    y = x @ torch.tensor([[0.5, 0.0, 0.0], [0.0, -0.5, 0.0], [0.0, 0.0, 1.0]]) + x
    loss = torch.nn.functional.mse_loss
    with torch.no_grad():
        before = float(loss(block(x), y))
    fit = fit_for(block, x, y, loss, 1.0, learning_rate=0.05, batch_size=8, manifestations=[("rk4", 2), ("midpoint", 1)])
    assert fit.epochs >= 1 and fit.breakdowns == 0
    with torch.no_grad():
        assert float(loss(block(x), y)) < 0.9 * before  # a margin for a slow machine (idle: < 0.1)
    assert (block.tableau.name, block.steps) == ("euler", 2)
    assert not block.training  # left in evaluation mode


def test_fit_for_counts_the_batches_that_break_down_and_rolls_them_back():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 1))
    x, y = torch.randn(64, 3), torch.randn(64, 1)
    x[5, 1] = float("nan")  # one batch of eight an epoch breaks down
    fit = fit_for(model, x, y, torch.nn.functional.mse_loss, 0.3, learning_rate=1e-2, batch_size=8)
    assert fit.epochs >= 1 and fit.breakdowns == fit.epochs
    assert all(bool(torch.isfinite(t).all()) for t in model.state_dict().values())  # parameters and BN statistics
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fit = fit_for(model, torch.full_like(x, float("nan")), y, torch.nn.functional.mse_loss, 0.1, learning_rate=1e-2,
                  batch_size=8)
    assert fit.breakdowns == 8 * fit.epochs  # every batch: the model stays as it was, exactly
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


@pytest.mark.skipif(importlib.util.find_spec("neuralop") is not None, reason="neuraloperator is installed")
def test_without_neuraloperator_there_is_no_fno_peer():
    assert fourier_neural_operator(16, 30) is None


def test_bench_models_prints_its_figures(capsys):
    assert main(["bench", "models", "--seconds", "0.3", "--train", "32", "--skip-forward", "--seeds", "2", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"burgers_error", "burgers_resolution_ratio", "burgers_max_drop_depth", "digits_image_accuracy",
            "digits_image_vs_resnet", "digits_image_max_drop_depth"} <= set(figures)
    assert 0 < figures["burgers_error"] and 0 <= figures["digits_image_accuracy"] <= 1
    assert figures["digits_image_seeds"] == 2
    assert figures["burgers_max_drop_depth"] >= 0 and figures["digits_image_max_drop_depth"] >= 0
    if importlib.util.find_spec("neuralop") is not None:
        assert figures["burgers_error_ratio_vs_fno"] == pytest.approx(figures["burgers_error"] / figures["burgers_fno_error"])
