"""Schedules of models of OdeBlock stages (a ``model`` table): loading and checking, the
phases on the depth fields (refinement exact in float64), run folders and the command line,
resumption bit for bit, and every refused combination failing when the schedule is loaded."""

import dataclasses
import json

import pytest
import torch

from fem_nn.cli import main
from fem_nn.hyperbolic import HyperbolicConvNet
from fem_nn.models import ContinuousNetClassifier
from fem_nn.phases import Phase, PhaseRun
from fem_nn.schedule import Schedule, load_schedule
from fem_nn.schedule_models import MODEL_KINDS, ContinuousNetKind, ModelKind
from fem_nn.tasks import digits_images_task
from fem_nn.trainer import Trainer
from fem_nn.training import resume_schedule, run_schedule

# the depth fields alone, so that runs are quick: steps drawn as the model's own only
TRAINING = {"optimizer": "adam", "learning_rate": 0.03, "batch_size": 128, "manifestations": {"steps": [1]}}
SMALL = {"kind": "continuousnet", "channels": [4], "depth": 1, "steps": 1}
SCHEDULE = {"task": "digits_images", "seed": 2, "model": SMALL, "training": TRAINING, "phases": [
    {"phase": "train", "epochs": 1}, {"phase": "refine", "axis": "depth"}, {"phase": "train", "epochs": 1},
    {"phase": "project_down", "depth_cells": [1], "schemes": ["rk4", "midpoint"]}]}
PER_DOF = 2 * (4 * 4 * 9 + 4) + 2 * 4  # conv_residual_unit(4): two 3 × 3 convs and a GroupNorm's affine


@pytest.fixture(scope="module")
def task():
    return digits_images_task()


def test_the_command_line_runs_a_model_schedule_with_its_events_and_project_down(tmp_path, capsys):
    (tmp_path / "s.json").write_text(json.dumps(SCHEDULE))
    assert main(["train", str(tmp_path / "s.json"), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    final = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    written = json.loads((tmp_path / "run" / "history.json").read_text())
    events = [r for r in written["history"] if "event" in r]
    assert [(r["epoch"], r["event"]) for r in events] == [(1, "refine depth")]
    assert events[0]["parameters"] == final["parameters"]
    records = [r for r in written["history"] if "event" not in r]
    assert [r["epoch"] for r in records] == [1, 2] and records[1]["loss"] < records[0]["loss"]  # trained on
    assert final["epochs"] == 2 and final["test_accuracy"] == records[1]["test_accuracy"]
    (rows,) = written["project_down"]
    assert [(r["scheme"], r["steps"], r["depth_cells"], r["width_cells"]) for r in rows] == [
        ("rk4", 1, 2, None), ("rk4", 1, 1, None), ("midpoint", 1, 1, None)]
    assert rows[0]["test_accuracy"] == pytest.approx(final["test_accuracy"])
    from fem_nn import load_checkpoint

    model, optimizer, _ = load_checkpoint(tmp_path / "run" / "checkpoint.safetensors")
    assert type(model) is ContinuousNetClassifier and [b.depth.n_cells for b in model.blocks] == [2]
    assert sum(p.numel() for p in model.parameters()) == final["parameters"] and type(optimizer).__name__ == "Adam"


@pytest.mark.parametrize("table, phase", [
    ({"kind": "continuousnet", "channels": [4, 8], "depth": 2, "steps": 2}, {"phase": "refine", "axis": "depth"}),
    ({"kind": "continuousnet", "channels": [4], "depth": 2, "depth_family": "legendre", "depth_order": 1, "steps": 3},
     {"phase": "elevate", "axis": "depth"}),
    ({"kind": "continuousnet", "channels": [4], "depth": 2, "steps": 2}, {"phase": "refine", "axis": "depth", "cells": [1], "k": 3}),
    ({"kind": "hyperbolic", "channels": [4, 8], "depth": 2}, {"phase": "refine", "axis": "depth"}),
])
def test_a_nested_depth_change_keeps_the_models_function_and_moves_the_optimizer(task, table, phase):
    schedule = Schedule.from_dict({"task": "digits_images", "model": {**table, "dtype": "float64"}, "training": TRAINING,
                                   "phases": [{"phase": "train", "epochs": 1}, phase]})
    torch.manual_seed(0)
    trainer = Trainer(schedule.form.build(task), task, "adam", 0.01, batch_size=256, progress=False, manifestations=None)
    run = PhaseRun(trainer, schedule.training, 0, [], schedule.form)
    schedule.phases[0].run(run)  # trained: the depth dofs differ and Adam has moments
    before, x = trainer.network, task.x_test[:64]
    schedule.phases[1].run(run)
    after = trainer.network
    assert after is not before and type(after) is type(before)
    old, new = before.eval()(x), after.eval()(x)
    assert new.dtype == torch.float64 and torch.allclose(new, old, rtol=0, atol=1e-12)
    grown = [b.depth.n_dofs for b in after.modules() if hasattr(b, "depth_mesh")]
    assert all(n > b.depth.n_dofs for n, b in zip(grown, (b for b in before.modules() if hasattr(b, "depth_mesh"))))
    assert trainer.history[-1]["event"] == f"{phase['phase']} depth"
    assert trainer.history[-1]["parameters"] == sum(p.numel() for p in after.parameters())
    named = dict(after.named_parameters())
    for name, mesh in after.parameter_meshes().items():  # the moments moved onto the new depth dofs
        state = trainer.optimizer.state[named[name]]
        assert state["exp_avg"].shape == named[name].shape and state["exp_avg"].shape[0] == mesh.n_dofs
        assert float(state["exp_avg"].abs().sum()) > 0


def test_remanifest_and_mgopt_run_on_a_model(task):
    schedule = Schedule.from_dict({**SCHEDULE, "model": {**SMALL, "depth": 2, "steps": 2}, "phases": [
        {"phase": "mgopt", "cycles": 2}, {"phase": "remanifest", "scheme": "midpoint", "steps": 4}]})
    result = run_schedule(schedule, progress=False)
    model = result["network"]
    assert [(b.tableau.name, b.steps, b.depth.n_cells) for b in model.blocks] == [("midpoint", 4, 2)]
    events = [r["event"] for r in result["history"] if "event" in r]
    assert events == ["mgopt × 2", "remanifest"]


def test_a_model_run_interrupted_and_resumed_equals_the_uninterrupted_run(tmp_path, monkeypatch):
    schedule = Schedule.from_dict({**SCHEDULE, "model": {"kind": "hyperbolic", "channels": [4], "depth": 1},
                                   "training": {**TRAINING, "lr_schedule": "cosine"},
                                   "phases": [{"phase": "train", "epochs": 2}, {"phase": "refine", "axis": "depth", "steps": "double"},
                                              {"phase": "train", "epochs": 1}]})
    whole = run_schedule(schedule, tmp_path / "whole", progress=False)
    epochs, run_epoch = [], Trainer.run_epoch

    def cut(self):  # stop inside the second epoch of the first phase (its first is checkpointed)
        epochs.append(self.epoch)
        if len(epochs) == 2:
            raise KeyboardInterrupt
        return run_epoch(self)

    with monkeypatch.context() as patch:
        patch.setattr(Trainer, "run_epoch", cut)
        with pytest.raises(KeyboardInterrupt):
            run_schedule(schedule, tmp_path / "cut", progress=False)
    resumed = resume_schedule(tmp_path / "cut", progress=False)
    assert type(resumed["network"]) is HyperbolicConvNet and resumed["final"] == whole["final"]
    expected = whole["network"].state_dict()
    got = resumed["network"].state_dict()
    assert list(got) == list(expected) and any("running_mean" in name for name in got)  # batch-norm statistics too
    for name, value in expected.items():
        assert torch.equal(got[name], value), name
    assert resumed["history"] == whole["history"]
    assert (tmp_path / "cut" / "metrics.jsonl").read_text() == (tmp_path / "whole" / "metrics.jsonl").read_text()


def test_a_model_schedule_round_trips_through_to_dict_json_and_toml(tmp_path):
    schedule = Schedule.from_dict(SCHEDULE)
    assert schedule.network == {} and isinstance(schedule.model, ContinuousNetKind) and schedule.form is schedule.model
    data = schedule.to_dict()
    assert "network" not in data and data["model"] == {**ContinuousNetKind.defaults, **SMALL}
    assert Schedule.from_dict(data) == schedule and Schedule.from_dict(data).to_dict() == data
    (tmp_path / "s.json").write_text(json.dumps(data))
    assert load_schedule(tmp_path / "s.json") == schedule
    # the depth mesh after each phase: one P0 cell, refined to two
    assert [mesh.shape for mesh in schedule.check()] == [(1,), (2,), (2,), (2,)]
    bundled = load_schedule("continuousnet")
    assert bundled.model.kind == "continuousnet" and bundled.task == "digits_images"
    assert [phase.kind for phase in bundled.phases] == ["train", "refine", "train", "project_down"]
    assert sorted(MODEL_KINDS) == ["continuousnet", "hyperbolic"]


def model_schedule(phases=None, model=None, **top):
    return {**SCHEDULE, "model": {**SMALL, **(model or {})}, **top,
            **({} if phases is None else {"phases": phases})}


REFUSED = {
    "width refine": (model_schedule([{"phase": "train", "epochs": 1}, {"phase": "refine", "axis": "width"}]),
                     r"phases\[1\] \(refine\): axis 'width' is a width axis; model kind 'continuousnet' has depth fields only"),
    "elevate's default axis": (model_schedule([{"phase": "elevate"}]),
                               r"phases\[0\] \(elevate\): axis 'width' is a width axis; model kind 'continuousnet'"),
    "coarsen xi": (model_schedule([{"phase": "coarsen", "axis": "xi"}]), r"phases\[0\] \(coarsen\): axis 'xi' is a width axis"),
    "adapt": (model_schedule([{"phase": "adapt"}]),
              r"phases\[0\] \(adapt\): adapt's error indicators need a ContinuumNetwork's .* model kind 'continuousnet'"),
    "width project-down": (model_schedule([{"phase": "project_down", "width_cells": [2]}]),
                           r"phases\[0\] \(project_down\): width_cells and width_orders project width fields; model kind"),
    "coarsen below one cell": (model_schedule([{"phase": "coarsen"}]),
                               r"phases\[0\] \(coarsen\): k must divide the number of cells \(1\)"),
    "mgopt below one cell": (model_schedule([{"phase": "mgopt", "cycles": 1, "levels": 3}], {"depth": 2}),
                             r"phases\[0\] \(mgopt\): k must divide the number of cells \(1\)"),
    "order below the minimum": (model_schedule([{"phase": "lower", "axis": "depth"}]), r"phases\[0\] \(lower\): .*order"),
    "max_parameters": (model_schedule([{"phase": "refine", "axis": "depth"}, {"phase": "refine", "axis": "depth"}],
                                      max_parameters=4 * PER_DOF - 1),
                       rf"phases\[1\] \(refine\) would make {4 * PER_DOF} depth-field parameters, more than max_parameters"),
    "image model on signals": (model_schedule(task="digits"),
                               r"model kind 'continuousnet' does not fit task 'digits'; it reads the images of"),
    "hyperbolic on burgers": (model_schedule(model={"kind": "hyperbolic"}, task="burgers"),
                              r"model kind 'hyperbolic' does not fit task 'burgers'"),
    "both tables": ({**SCHEDULE, "network": {"width_cells": 4}}, r"give a network table .* or a model table .* not both"),
    "smoothness": (model_schedule(training={**TRAINING, "smoothness": 0.1}),
                   r"training.smoothness needs a ContinuumNetwork's .* model kind 'continuousnet'"),
    "width draws": (model_schedule(training={**TRAINING, "manifestations": {"quadrature": [0, 1]}}),
                    r"training.manifestations: quadrature and resolution draws need a ContinuumNetwork"),
    "unknown kind": (model_schedule(model={"kind": "resnet"}),
                     r"model.kind: unknown model kind 'resnet'; expected one of \['continuousnet', 'hyperbolic'\]"),
    "no kind": ({**SCHEDULE, "model": {"channels": [4]}}, r"model must be a table with a 'kind' key"),
    "unknown option": (model_schedule(model={"width": 3}), r"model has unknown keys \['width'\]; expected some of"),
    "channels": (model_schedule(model={"channels": [4, 0]}), r"model.channels must be a non-empty list of positive integers"),
    "depth": (model_schedule(model={"depth": 0}), r"model.depth must be >= 1, got 0"),
    "depth as text": (model_schedule(model={"depth": "2"}), r"model.depth must be an integer, got '2'"),
    "steps": (model_schedule(model={"steps": 0}), r"model.steps must be >= 1"),
    "scheme": (model_schedule(model={"scheme": "rk5"}), r"model.scheme: "),
    "norm": (model_schedule(model={"norm": "layer"}), r"model.norm must be one of \['group', 'batch', 'none'\], got 'layer'"),
    "dtype": (model_schedule(model={"dtype": "float16"}), r"model.dtype must be one of \['float32', 'float64'\]"),
    "rate": (model_schedule(model={"rate": 0}), r"model.rate must be a finite number > 0"),
    "depth family": (model_schedule(model={"depth_family": "hermite"}), r"model.depth_family: family must be one of"),
    "depth order": (model_schedule(model={"depth_order": 1}), r"model.depth_order: order must be 0 for family 'p0'"),
    "hyperbolic variant": (model_schedule(model={"kind": "hyperbolic", "variant": "eq9"}), r"model.variant must be one of"),
    "hyperbolic activation": (model_schedule(model={"kind": "hyperbolic", "activation": "tanh"}), r"model.activation must be one of"),
    "hyperbolic norm": (model_schedule(model={"kind": "hyperbolic", "norm": "group"}),
                        r"model.norm must be one of \['batch', 'none'\]"),
    "hyperbolic weight_sharing": (model_schedule(model={"kind": "hyperbolic", "weight_sharing": 1}),
                                  r"model.weight_sharing must be true or false, got 1"),
}


@pytest.mark.parametrize("name", REFUSED)
def test_every_refused_combination_fails_when_the_schedule_is_loaded(name, tmp_path):
    data, match = REFUSED[name]
    (tmp_path / "s.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match=match):
        load_schedule(tmp_path / "s.json")


def test_a_task_overridden_after_loading_is_refused_before_the_run_folder_is_made(tmp_path, capsys):
    schedule = dataclasses.replace(Schedule.from_dict(SCHEDULE), task="digits")  # what fem-nn train --task does
    with pytest.raises(ValueError, match=r"model kind 'continuousnet' does not fit task 'digits'"):
        run_schedule(schedule, tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()
    (tmp_path / "s.json").write_text(json.dumps(SCHEDULE))
    assert main(["train", str(tmp_path / "s.json"), "--task", "burgers", "--out", str(tmp_path / "cli")]) == 2
    assert "does not fit task 'burgers'" in capsys.readouterr().err and not (tmp_path / "cli").exists()


def test_phases_declare_whether_they_run_on_models():
    runs_on_models = {kind: Phase.from_dict({"phase": kind, **options}).model_refusal() is None for kind, options in {
        "train": {"epochs": 1}, "refine": {}, "coarsen": {}, "elevate": {"axis": "depth"}, "lower": {"axis": "depth"},
        "remanifest": {"scheme": "rk4"}, "mgopt": {"cycles": 1}, "project_down": {"depth_cells": [1]}, "adapt": {},
    }.items()}
    assert runs_on_models == {"train": True, "refine": True, "coarsen": True, "elevate": True, "lower": True,
                              "remanifest": True, "mgopt": True, "project_down": True, "adapt": False}
    assert issubclass(ContinuousNetKind, ModelKind)
