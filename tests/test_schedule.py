"""Schedules as data: parsing, validation before training, TOML / JSON files."""

import json

import pytest

from fem_nn.phases import Refine
from fem_nn.schedule import Schedule, load_schedule

PROGRESSIVE = """
task = "digits"
seed = 3
network = { width_cells = 4, width_order = 1, depth_cells = 1, steps = 1 }
training = { optimizer = "adam", learning_rate = 0.01 }
phases = [
    { phase = "train", epochs = 2 },
    { phase = "refine", axis = "depth", steps = "double" },
    { phase = "refine", axis = "width", cells = [0, 3] },
    { phase = "elevate", axis = "xi", by = 2 },
    { phase = "train", epochs = 2, learning_rate = 0.005 },
    { phase = "project_down", depth_cells = [2, 1], steps = [2, 1] },
]
"""


def test_toml_and_json_files_give_the_same_schedule_and_the_meshes_of_every_phase(tmp_path):
    (tmp_path / "s.toml").write_text(PROGRESSIVE)
    schedule = load_schedule(tmp_path / "s.toml")
    (tmp_path / "s.json").write_text(json.dumps(schedule.to_dict()))
    assert load_schedule(tmp_path / "s.json") == schedule
    assert schedule.seed == 3 and schedule.training["batch_size"] == 64
    assert schedule.phases[1] == Refine({"axis": "depth", "k": 2, "cells": None, "steps": "double"})
    shapes = [mesh.shape for mesh in schedule.check()]
    # legendre p=1 width: 2 dofs per cell; lagrange p=1 depth: cells + 1 dofs
    assert shapes == [(8, 8, 2), (8, 8, 3), (12, 12, 3), (24, 12, 3), (24, 12, 3), (24, 12, 3)]


@pytest.mark.parametrize(
    "change, match",
    [
        ({"tasks": "digits"}, r"unknown keys \['tasks'\]"),
        ({"task": "mnist"}, "task must be one of"),
        ({"phases": []}, "phases must be a non-empty list"),
        ({"phases": [{"phase": "train"}]}, r"phases\[0\] is missing \['epochs'\]"),
        ({"phases": [{"phase": "train", "epochs": 2, "epoch": 3}]}, r"unknown keys \['epoch'\]"),
        ({"phases": [{"phase": "grow"}]}, "unknown phase 'grow'"),
        ({"phases": [{"epochs": 2}]}, "'phase' key"),
        ({"phases": [{"phase": "train", "epochs": 0}]}, "epochs must be >= 1"),
        ({"phases": [{"phase": "train", "epochs": 1.5}]}, "epochs must be an integer"),
        ({"phases": [{"phase": "refine", "axis": "time"}]}, "axis must be one of"),
        ({"phases": [{"phase": "coarsen", "axis": "depth"}]}, r"phases\[0\] \(coarsen\).*k must divide"),
        ({"phases": [{"phase": "lower", "axis": "depth", "by": 1}]}, r"phases\[0\] \(lower\)"),
        ({"phases": [{"phase": "refine", "axis": "width", "k": 1000}]}, "more than max_parameters"),
        ({"phases": [{"phase": "refine", "steps": "triple"}]}, "steps must be"),
        ({"phases": [{"phase": "project_down", "depth_cells": [2, 0]}]}, "depth_cells must be"),
        ({"phases": [{"phase": "project_down", "depth_cells": 2}]}, "depth_cells must be"),
        ({"phases": [{"phase": "adapt", "fraction": 1.5}]}, "fraction must be in"),
        # the depth hierarchy of MG/OPT: one depth cell cannot be halved
        ({"phases": [{"phase": "mgopt", "cycles": 1, "levels": 2}]}, r"phases\[0\] \(mgopt\).*k must divide"),
        ({"network": {"width_cells": 0}}, "network"),
        ({"network": {"depth": 3}}, r"unknown keys \['depth'\]"),
        ({"training": {"optimizer": "lbfgs"}}, "training.optimizer"),
    ],
)
def test_bad_schedules_are_refused_before_training_with_the_phase_named(change, match):
    data = {"task": "digits", "phases": [{"phase": "train", "epochs": 1}], "max_parameters": 100_000, **change}
    with pytest.raises((ValueError, TypeError), match=match):
        Schedule.from_dict(data)


@pytest.mark.parametrize("text, suffix", [("task = [", ".toml"), ('{"task": ', ".json"), ("\udcff", ".toml")])
def test_malformed_files_name_the_file(tmp_path, text, suffix):
    path = tmp_path / f"bad{suffix}"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(ValueError, match="bad"):
        load_schedule(path)
