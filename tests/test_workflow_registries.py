"""The workflow's registries: a phase kind and a task registered from a test (no library file
touched) run through schedule loading, checking, running and resuming, the command line and a
benchmark; unknown phase kinds, tasks and optimizers fail loudly, naming the known ones."""

import json
import re

import numpy as np
import pytest
import torch

from fem_nn import Schedule, Task, resume_schedule, run_schedule, save_checkpoint
from fem_nn.cli import main
from fem_nn.optimizers import OPTIMIZERS, make_optimizer
from fem_nn.phases import PHASES, NetworkChange, register_phase
from fem_nn.refinement import adapted_network, refined_network
from fem_nn.tasks import TASKS, load_task, register_task, task_network


class Interrupted(Exception):
    """Raised by the toy phase once, to cut a run short inside it."""


class BisectLast(NetworkChange):
    """The toy phase: bisect the last depth cell ``times`` times."""

    kind = "bisect_last"
    defaults = {"times": 1}
    integers = {"times": 1}
    interrupt = False

    def meshes(self, weights, biases):
        for _ in range(self.options["times"]):
            last = [weights.axes[2].n_cells - 1]
            weights, biases = weights.refined("delta", cells=last), biases.refined("delta", cells=last)
        return weights, biases

    def changed(self, network):
        for _ in range(self.options["times"]):
            network = refined_network(network, "depth", cells=[network.weight_mesh.axes[2].n_cells - 1])
        return network

    def run(self, run):
        if BisectLast.interrupt:
            BisectLast.interrupt = False
            raise Interrupted
        super().run(run)


def toy_task() -> Task:
    """A tiny regression: 8 cell values in, the same shifted by one cell and halved out."""
    x = torch.randn(48, 8, generator=torch.Generator().manual_seed(0))
    y = 0.5 * x.roll(1, dims=1)
    return Task("toy", "regression", x[:32], y[:32], x[32:], y[32:], 8)


@pytest.fixture
def toys():
    register_phase(BisectLast)
    register_task("toy", toy_task)
    yield
    del PHASES["bisect_last"], TASKS["toy"]


NETWORK = {"width_cells": 2, "width_order": 1, "depth_cells": 1, "steps": 1}
TRAINING = {"optimizer": "adam", "learning_rate": 0.01, "batch_size": 16, "weight_decay": 0.0,
            "manifestations": {"steps": [1]}}
SCHEDULE = {"task": "toy", "seed": 1, "network": NETWORK, "training": TRAINING, "phases": [
    {"phase": "train", "epochs": 2}, {"phase": "bisect_last", "times": 2}, {"phase": "train", "epochs": 2}]}
BUILT_IN = ["adapt", "coarsen", "elevate", "lower", "mgopt", "project_down", "refine", "remanifest", "train"]


def test_a_registered_phase_and_task_load_check_run_and_resume_bit_for_bit(toys, tmp_path):
    schedule = Schedule.from_dict(SCHEDULE)
    assert type(schedule.phases[1]) is BisectLast and schedule.phases[1].options == {"times": 2}
    # legendre p1 width: 2 dofs a cell; lagrange p1 depth: cells + 1 nodes (1 → 3 cells)
    assert [mesh.shape for mesh in schedule.check()] == [(4, 4, 2), (4, 4, 4), (4, 4, 4)]
    whole = run_schedule(schedule, tmp_path / "whole", progress=False)
    np.testing.assert_array_equal(whole["network"].weight_mesh.axes[2].breakpoints, [0.0, 0.5, 0.75, 1.0])
    assert [r["event"] for r in whole["history"] if "event" in r] == ["bisect_last"]
    assert whole["final"]["epochs"] == 4 and "test_relative_error" in whole["final"]
    assert whole["final"]["parameters"] == sum(p.numel() for p in whole["network"].parameters())

    BisectLast.interrupt = True  # cut inside the toy phase: the last checkpoint is the first phase's
    with pytest.raises(Interrupted):
        run_schedule(schedule, tmp_path / "cut", progress=False)
    resumed = resume_schedule(tmp_path / "cut", progress=False)
    assert resumed["final"] == whole["final"]
    for (name, a), (_, b) in zip(resumed["network"].named_parameters(), whole["network"].named_parameters()):
        assert torch.equal(a, b), name


def test_check_finds_max_parameters_for_the_toy_phase_before_any_work(toys, tmp_path):
    # after the toy phase: W 4 × 4 × 4 and b 4 × 4, 80 coefficients per field pair
    with pytest.raises(ValueError, match=r"phases\[1\] \(bisect_last\) would make 80 parameters .* max_parameters = 79"):
        Schedule.from_dict({**SCHEDULE, "max_parameters": 79})
    assert Schedule.from_dict({**SCHEDULE, "max_parameters": 80}).max_parameters == 80
    with pytest.raises(ValueError, match=r"phases\[1\]: times must be >= 1"):
        Schedule.from_dict({**SCHEDULE, "phases": [SCHEDULE["phases"][0], {"phase": "bisect_last", "times": 0}]})


def test_adapt_is_checked_against_max_parameters_in_its_worst_case(toys):
    network = {**NETWORK, "depth_cells": 4}
    adapt = {"phase": "adapt", "fraction": 0.3}  # ceil(0.3 · 4) = 2 of 4 depth cells bisected: 5 → 7 nodes
    with pytest.raises(ValueError, match=r"phases\[0\] \(adapt\) would make 140 parameters"):
        Schedule.from_dict({"task": "toy", "network": network, "phases": [adapt], "max_parameters": 139})
    schedule = Schedule.from_dict({"task": "toy", "network": network, "phases": [adapt], "max_parameters": 140})
    assert schedule.check()[0].shape == (4, 4, 7)
    # equal cells: every choice of the indicators makes the bound, as the live adaptation does
    adapted = adapted_network(task_network(toy_task(), **network), fraction=0.3)
    assert adapted.weight_mesh.n_dofs + adapted.bias_mesh.n_dofs == 140
    # cells of unequal orders: the bound is the cell that grows most (order 2: 2 new nodes), not the typical one
    grown = [{"phase": "elevate", "axis": "depth", "cells": [3]}, {"phase": "adapt", "fraction": 0.25, "hp": True}]
    shapes = [m.shape for m in Schedule.from_dict({"task": "toy", "network": network, "phases": grown}).check()]
    assert shapes == [(4, 4, 6), (4, 4, 8)]


def test_unknown_phase_task_and_optimizer_names_fail_loudly_with_the_known_ones(tmp_path):
    base = {"task": "digits", "phases": [{"phase": "train", "epochs": 1}]}
    with pytest.raises(ValueError, match=re.escape(f"phases[0]: unknown phase 'grow'; expected one of {BUILT_IN}")):
        Schedule.from_dict({**base, "phases": [{"phase": "grow"}]})
    with pytest.raises(ValueError, match=r"task must be one of \['digits', 'burgers', 'waveforms', 'digits_images', 'shapes_images'\], got 'cifar'"):
        Schedule.from_dict({**base, "task": "cifar"})
    with pytest.raises(ValueError, match=r"task must be one of \['digits', 'burgers', 'waveforms', 'digits_images', 'shapes_images'\], got 'cifar'"):
        load_task("cifar")
    with pytest.raises(ValueError, match=r"training.optimizer must be one of \['adamw', 'adam', 'sgd'\], got 'lbfgs'"):
        Schedule.from_dict({**base, "training": {"optimizer": "lbfgs"}})
    network = task_network(toy_task())
    with pytest.raises(ValueError, match=r"optimizer must be one of \['adamw', 'adam', 'sgd'\], got 'lbfgs'"):
        make_optimizer(network, "lbfgs")
    with pytest.raises(TypeError, match=r"optimizer must be one of \['Adam', 'AdamW', 'SGD'\], got 'RMSprop'"):
        save_checkpoint(tmp_path / "c.safetensors", network, torch.optim.RMSprop(network.parameters()))
    with pytest.raises(ValueError, match="registered already"):
        register_phase(PHASES["train"])
    with pytest.raises(ValueError, match="registered already"):
        register_task("digits", toy_task)


def test_a_phase_unregistered_after_loading_fails_at_check_and_run_before_any_work(toys, tmp_path):
    schedule = Schedule.from_dict(SCHEDULE)
    del PHASES["bisect_last"]
    try:
        with pytest.raises(ValueError, match=r"phases\[1\]: unknown phase 'bisect_last'; expected one of"):
            schedule.check()
        with pytest.raises(ValueError, match="unknown phase 'bisect_last'"):
            run_schedule(schedule, tmp_path / "run", progress=False)
        assert not (tmp_path / "run").exists()
    finally:
        PHASES["bisect_last"] = BisectLast  # for the fixture to remove


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_every_optimizer_of_the_table_makes_checkpoints_that_load(tmp_path, name):
    network = task_network(toy_task())
    optimizer = make_optimizer(network, name, 0.05)
    network(toy_task().x_train).square().mean().backward()
    optimizer.step()
    save_checkpoint(tmp_path / "c.safetensors", network, optimizer)
    from fem_nn import load_checkpoint

    _, restored, _ = load_checkpoint(tmp_path / "c.safetensors")
    assert type(restored) is OPTIMIZERS[name][0] and restored.param_groups[0]["lr"] == 0.05
    assert restored.param_groups[0].get("momentum") == optimizer.param_groups[0].get("momentum")  # sgd: 0.9
    for saved, loaded in zip(optimizer.state.values(), restored.state.values()):
        assert saved.keys() == loaded.keys() and all(torch.equal(torch.as_tensor(saved[k]), loaded[k]) for k in saved)


def test_the_command_line_and_the_benchmarks_accept_a_registered_task(toys, tmp_path, capsys):
    (tmp_path / "s.json").write_text(json.dumps({**SCHEDULE, "task": "digits", "phases": [{"phase": "train", "epochs": 1}]}))
    assert main(["train", str(tmp_path / "s.json"), "--task", "toy", "--out", str(tmp_path / "out"), "--quiet"]) == 0
    final = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert final["epochs"] == 1 and "test_relative_error" in final  # the toy regression, not the digits
    with pytest.raises(SystemExit):
        main(["train", str(tmp_path / "s.json"), "--task", "cifar"])
    assert "--task: must be one of digits, burgers, waveforms, digits_images, shapes_images, toy, got 'cifar'" in capsys.readouterr().err
    assert main(["bench", "invariance", "--tasks", "toy", "--epochs", "1", "--mechanisms", "default", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(figures) == {"toy", "mechanisms"} and figures["toy"]["metric"] > 0
