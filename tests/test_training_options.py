"""Trainer options: learning-rate schedules by name, the batch transform, manifestation sampling,
the time budget, the validation split, the recorded sample count; schedules that declare them."""

import contextlib
import math

import pytest
import torch

from fem_nn import Schedule
from fem_nn.tasks import Task, at_resolution, burgers_symmetries, burgers_task, digits_task, task_network
from fem_nn.invariance import Resampled, invariance
from fem_nn.trainer import LR_SCHEDULES, Manifestations, Trainer, learning_rate_factor


@pytest.fixture(scope="module")
def task():
    full = digits_task()
    return Task("digits", "classification", full.x_train[:192], full.y_train[:192], full.x_test[:64], full.y_test[:64], 10, 2.0)


def small(task, **options):
    torch.manual_seed(0)
    return task_network(task, width_cells=4, width_order=1, depth_cells=2, steps=2, **options)


class Recorder:
    """A transform that records the learning rate and the network's steps of each batch."""

    def __init__(self, trainer_box):
        self.box, self.rates, self.calls = trainer_box, [], 0

    def __call__(self, x, y, generator):
        self.calls += 1
        self.rates.append(self.box[0].optimizer.param_groups[0]["lr"])
        return x, y


@pytest.mark.parametrize("name", sorted(LR_SCHEDULES))
def test_learning_rate_schedules_set_each_batch_and_restore_the_base(task, name):
    box = []
    recorder = Recorder(box)
    trainer = Trainer(small(task), task, learning_rate=0.04, batch_size=64, progress=False, transform=recorder)
    box.append(trainer)
    trainer.fit(2, lr_schedule=name)
    total = 2 * 3  # 192 pairs, batches of 64
    expected = [0.04 * learning_rate_factor(name, k / total) for k in range(total)]
    assert recorder.rates == pytest.approx(expected, rel=1e-15)
    assert trainer.optimizer.param_groups[0]["lr"] == 0.04


def test_learning_rate_factors():
    assert [learning_rate_factor("cosine", p) for p in (0, 0.25, 1)] == pytest.approx([1, 0.5 + 0.5 * math.cos(math.pi / 4), 0], abs=1e-15)
    assert [learning_rate_factor("one_cycle", p) for p in (0, 0.15, 0.3, 1)] == pytest.approx([0.04, 0.52, 1, 4e-6], rel=1e-12)
    assert learning_rate_factor("constant", 0.7) == 1.0
    with pytest.raises(ValueError, match="lr_schedule must be one of"):
        learning_rate_factor("step", 0.5)


def test_an_identity_transform_changes_nothing_and_a_transform_reaches_the_loss(task):
    plain = Trainer(small(task), task, progress=False)
    plain.fit(1)
    box = []
    recorder = Recorder(box)
    hooked = Trainer(small(task), task, progress=False, transform=recorder)
    box.append(hooked)
    hooked.fit(1)
    assert recorder.calls == 3
    assert hooked.history[-1]["loss"] == plain.history[-1]["loss"]
    for p, q in zip(plain.network.parameters(), hooked.network.parameters()):
        assert torch.equal(p, q)
    # a transform that blanks the inputs: the network learns only the label frequencies
    blank = Trainer(small(task), task, progress=False, transform=lambda x, y, g: (torch.zeros_like(x), y))
    blank.fit(1)
    assert blank.history[-1]["loss"] != plain.history[-1]["loss"]
    with pytest.raises(TypeError, match="transform must be callable"):
        Trainer(small(task), task, transform="burgers_symmetries")


def test_burgers_symmetries_shift_and_reflect_input_and_target_alike():
    x = torch.arange(1.0, 9.0).repeat(64, 1)  # positive: a reflected row is negative
    moved_x, moved_y = burgers_symmetries(x, x + 100, torch.Generator().manual_seed(3))
    reflected, shifts = moved_x[:, 0] < 0, set()
    for a, b, r in zip(moved_x, moved_y, reflected):
        signal, target = (-a.flip(0), -b.flip(0)) if r else (a, b)  # undo the reflection
        shift = int(signal[0]) - 1
        assert torch.equal(signal, (torch.arange(8.0) + shift) % 8 + 1)  # a periodic shift
        assert torch.equal(target, signal + 100)  # the same move on the target
        shifts.add(shift)
    assert 16 < int(reflected.sum()) < 48 and len(shifts) == 8


def test_the_default_trains_in_drawn_steps_and_schemes_and_none_turns_it_off(task):
    seen = []
    trainer = Trainer(small(task), task, progress=False)
    real = trainer._manifested
    @contextlib.contextmanager
    def spy():
        with real() as (model, drawn):
            seen.append((model.steps, model.tableau.name))
            yield model, drawn

    trainer._manifested = spy
    trainer.fit(4)
    combinations = {(s, t) for s in (2, 4) for t in ("rk4", "rk4_38", "midpoint")}
    assert len(seen) == 12 and len(set(seen)) >= 4 and set(seen) <= combinations
    generator = torch.Generator().manual_seed(0)
    drawn = {trainer.manifestations.draw(generator) for _ in range(2000)}
    assert drawn == {(m, t, q, r) for m in (1, 2) for t in ("rk4", "rk4_38", "midpoint") for q in (0, 1, 2) for r in (0.5, 1, 2, 4)}
    off = Trainer(small(task), task, progress=False, manifestations=None)
    with off._manifested() as drawn:
        assert off.manifestations is None and drawn == (off.network, task)


def test_manifestation_sampling_trains_in_the_drawn_manifestations(task):
    # one choice, two times the steps: the same training as a network built with those steps
    sampled = Trainer(small(task), task, progress=False, manifestations={"steps": [2]})
    sampled.fit(1)
    assert sampled.network.steps == 2  # restored after each batch
    torch.manual_seed(0)
    direct = Trainer(task_network(task, width_cells=4, width_order=1, depth_cells=2, steps=4), task, progress=False, manifestations=None)
    direct.fit(1)
    assert sampled.history[-1]["loss"] == direct.history[-1]["loss"]
    # scheme and quadrature draws: each batch sees its manifestation
    seen = []
    net = small(task)
    original = net.forward

    trainer = Trainer(net, task, progress=False, manifestations=Manifestations(steps=[1, 2], schemes=["rk4", "midpoint"], quadrature=[0, 1]))

    def spy(x, y, generator):
        return x, y

    trainer.transform = spy
    real = trainer._manifested

    @contextlib.contextmanager
    def manifested():
        with real() as (model, drawn):
            seen.append((model.steps, model.tableau.name, len(model.nodes)))
            yield model, drawn

    trainer._manifested = manifested
    trainer.fit(3)
    assert net.forward == original and net.steps == 2 and net.tableau.name == "rk4"
    assert {s for s, _, _ in seen} == {2, 4} and {t for _, t, _ in seen} == {"rk4", "midpoint"} and {n for *_, n in seen} == {12, 16}
    # every drawn manifestation (one per draw, kept) trains the live parameters themselves
    shadows = list(trainer._drawn_manifestations.values())
    assert shadows and all(p is q for shadow in shadows for p, q in zip(shadow.parameters(), net.parameters(), strict=True))
    with pytest.raises(ValueError, match=r"steps\[0\] must be >= 1"):
        Manifestations(steps=[0])
    with pytest.raises(ValueError, match="unknown|scheme"):
        Manifestations(schemes=["rk5"])


def test_resolution_sampling_trains_on_the_same_pairs_at_the_drawn_sample_count():
    # one choice, twice the cells: the same training as a network built for the fine data
    # (a projection read-in reads any count the same way; the read-out follows the cells)
    coarse = burgers_task(n_train=16, n_test=8, cells=16)
    fine = at_resolution(coarse, 32)
    assert torch.allclose(fine.x_train.reshape(16, 16, 2).mean(2), coarse.x_train, atol=1e-6)

    def trained(task, **options):
        torch.manual_seed(0)
        trainer = Trainer(task_network(task, width_cells=4, width_order=1, depth_cells=2, steps=2), task, batch_size=8,
                          progress=False, **options)
        trainer.fit(2)
        return trainer

    sampled, direct = trained(coarse, manifestations={"resolution": [2]}), trained(fine, manifestations=None)
    assert sampled.network.n_samples == 16 and sampled.network.output_mesh.shape == (16,)
    losses = [[row["loss"] for row in t.history] for t in (sampled, direct)]
    assert losses[0] == pytest.approx(losses[1], rel=1e-6)
    for p, q in zip(sampled.network.parameters(), direct.network.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)
    # drawn among several: the shadows share the parameters and read their own cells
    mixed = trained(coarse, manifestations={"resolution": [0.5, 1, 2]})
    assert sorted(t.x_train.shape[1] for t in mixed._resolutions.values()) == [8, 32]
    assert {m.output_mesh.shape for m in mixed._drawn_manifestations.values()} == {(8,), (32,)}
    assert all(p is q for m in mixed._drawn_manifestations.values() for p, q in zip(m.parameters(), mixed.network.parameters()))
    with pytest.raises(ValueError, match="resolution must hold positive"):
        Manifestations(resolution=[0])
    with pytest.raises(ValueError, match="not a whole number"):
        trained(coarse, manifestations={"resolution": [0.3]})
    # a task without a resolution trains at its own; a validation split holds the same pairs
    own = trained(digits_task(), manifestations={"resolution": [2]})
    assert not own._resolutions and not own._drawn_manifestations
    split = coarse.with_validation(0.25)
    fine_split = trained(split, manifestations={"resolution": [2]})._resolutions[2.0]
    assert torch.allclose(fine_split.x_val.reshape(-1, 16, 2).mean(2), split.x_val, atol=1e-6)
    with pytest.raises(ValueError, match="has a validation split already"):
        split.with_validation(0.5)


def test_resolution_draws_lower_the_error_at_other_resolutions():
    # Burgers at 32 cells, 150 epochs: trained at its own resolution alone, the network reads
    # 16 cells 4 % worse than 32 and 128 cells 10 % worse; with ½ to 4 × drawn, 16 cells 10 %
    # better and 128 cells 8 % worse, every resolution below the first network's error there
    task = burgers_task(n_train=128, n_test=32, cells=32)
    reports = {}
    for resolution in ([1], [0.5, 1, 2, 4]):
        torch.manual_seed(0)
        network = task_network(task, width_cells=8, width_order=3, depth_cells=2, steps=2)
        trainer = Trainer(network, task, "adam", learning_rate=0.3, weight_decay=0.0, batch_size=32, progress=False,
                          manifestations={"resolution": resolution}, transform=burgers_symmetries)
        trainer.fit(150, lr_schedule="cosine")
        reports[len(resolution)] = invariance(trainer.network, task, [Resampled(0.5), Resampled(2), Resampled(4)])
    own, drawn = reports[1], reports[4]
    assert drawn.rows[0].metric < 0.9 * own.rows[0].metric  # half the samples
    assert drawn.rows[0].metric < drawn.metric < own.rows[0].metric
    assert drawn.max_drop("resolution") < 0.9 * own.max_drop("resolution")


def test_time_budget_stops_after_the_epoch_that_reaches_it(task):
    trainer = Trainer(small(task), task, progress=False)
    history = trainer.fit(50, time_budget=1e-6)
    assert trainer.epoch == 1 and history[-1] == {"epoch": 1, "event": "time budget 1e-06 s"}
    with pytest.raises(ValueError, match="time_budget"):
        trainer.fit(1, time_budget=0)


def test_validation_split_is_monitored_and_the_test_metric_measured_once_at_the_end(task):
    split = task.with_validation(0.25, seed=1)
    assert len(split.x_train) + len(split.x_val) == len(task.x_train) and torch.equal(split.x_test, task.x_test)
    rows = {tuple(r.tolist()) for r in task.x_train}
    assert {tuple(r.tolist()) for r in split.x_train} | {tuple(r.tolist()) for r in split.x_val} == rows
    assert not {tuple(r.tolist()) for r in split.x_train} & {tuple(r.tolist()) for r in split.x_val}
    for label in range(10):  # stratified
        assert int((split.y_val == label).sum()) == round(0.25 * int((task.y_train == label).sum()))
    trainer = Trainer(small(split), split, progress=False)
    first, second = trainer.fit(2)
    assert set(first) == {"epoch", "loss", "validation_accuracy", "parameters"}
    assert second["validation_accuracy"] == split.metric(trainer.network, split.x_val, split.y_val)
    assert second["test_accuracy"] == task.metric(trainer.network)
    with pytest.raises(ValueError, match="fraction must be a number in"):
        task.with_validation(1.0)


def test_the_trainer_records_the_task_sample_count_and_refuses_another(task):
    net = small(task)
    net.n_samples = None
    Trainer(net, task, progress=False)
    assert net.n_samples == 64
    net.n_samples = 32
    with pytest.raises(ValueError, match="network reads 32 samples per signal, but the task's inputs have 64"):
        Trainer(net, task, progress=False)


def test_schedules_declare_the_training_options():
    data = {"task": "burgers", "network": {"width_cells": 4, "quadrature_points": 3, "read_in_form": "projection"},
            "training": {"lr_schedule": "cosine", "manifestations": {"steps": [1, 2]}, "transform": "burgers_symmetries", "smoothness": 1e-4},
            "phases": [{"phase": "train", "epochs": 1, "lr_schedule": "one_cycle"}]}
    schedule = Schedule.from_dict(data)
    assert schedule.training["manifestations"] == {"steps": [1, 2]} and schedule.phases[0].options["lr_schedule"] == "one_cycle"
    for where, bad, message in [
        ("training", {"lr_schedule": "step"}, "training.lr_schedule must be one of"),
        ("training", {"manifestations": {"steps": [0]}}, r"training.manifestations: steps\[0\] must be >= 1"),
        ("training", {"transform": "flip"}, "training.transform must be one of"),
        ("training", {"smoothness": -1}, "training.smoothness must be a finite number >= 0"),
    ]:
        with pytest.raises(ValueError, match=message):
            Schedule.from_dict({**data, where: {**data[where], **bad}})
    with pytest.raises(ValueError, match="lr_schedule must be one of"):
        Schedule.from_dict({**data, "phases": [{"phase": "train", "epochs": 1, "lr_schedule": "warm"}]})
