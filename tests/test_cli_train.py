"""``fem-nn train`` end to end, bad schedules refused before any work, ``bench training`` smoke."""

import json
import sys

import pytest
import torch

from fem_nn import load_checkpoint
from fem_nn.cli import main

SCHEDULE = {
    "task": "digits",
    "network": {"width_cells": 4, "width_order": 1, "depth_cells": 1, "steps": 1},
    "phases": [
        {"phase": "train", "epochs": 2},
        {"phase": "refine", "axis": "depth", "steps": "double"},
        {"phase": "train", "epochs": 1},
        {"phase": "mgopt", "cycles": 2, "levels": 2, "learning_rate": 0.1},
        {"phase": "adapt", "fraction": 0.5, "hp": True},
        {"phase": "project_down", "depth_cells": [1], "steps": [1]},
    ],
}


def test_train_writes_metrics_checkpoint_history_and_curve(tmp_path, capsys):
    (tmp_path / "s.json").write_text(json.dumps(SCHEDULE))
    assert main(["train", str(tmp_path / "s.json"), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    out = tmp_path / "out"
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in lines] == [1, 2, 3]
    history = json.loads((out / "history.json").read_text())
    events = [r["event"] for r in history["history"] if "event" in r]
    assert events == ["refine depth", "mgopt × 2", "adapt"]
    network, optimizer, metadata = load_checkpoint(out / "checkpoint.safetensors")
    assert network.weight_mesh.axes[2].n_cells == 3 and network.steps == 2  # 1 → 2 cells, then one of 2 bisected
    assert metadata["extra"]["schedule"]["phases"][0] == {"phase": "train", "epochs": 2, "learning_rate": None, "lr_schedule": None}
    assert (out / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    final = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert final["parameters"] == sum(p.numel() for p in network.parameters()) and final["epochs"] == 3
    assert history["project_down"][0][0]["test_accuracy"] == final["test_accuracy"]  # the same network


@pytest.mark.parametrize(
    "change, message",
    [
        ({"phases": [{"phase": "coarsen", "axis": "depth"}]}, "phases[0] (coarsen)"),
        ({"phases": [{"phase": "train", "epochs": 1, "lr": 0.1}]}, "unknown keys ['lr']"),
        ({"phases": [{"phase": "refine", "axis": "width", "k": 500}]}, "max_parameters"),
        ({"task": "imagenet"}, "task must be one of"),
    ],
)
def test_bad_schedules_exit_2_before_any_work(tmp_path, capsys, change, message):
    (tmp_path / "s.json").write_text(json.dumps({**SCHEDULE, "max_parameters": 100_000, **change}))
    assert main(["train", str(tmp_path / "s.json"), "--out", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_missing_schedule_file_exits_2(tmp_path, capsys):
    assert main(["train", str(tmp_path / "nope.toml")]) == 2
    assert "nope.toml" in capsys.readouterr().err


def test_bench_training_prints_its_figures(capsys):
    torch.manual_seed(0)
    assert main(["bench", "training", "--epochs", "3", "--mgopt-evaluations", "6", "--skip-burgers", "--plot", "", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(figures) == {"progressive_time_ratio", "progressive_time_ratio_width", "progressive_time_ratio_width_depth",
                            "project_down_speedup", "project_down_acc_drop", "project_down_width_speedup",
                            "project_down_width_acc_drop", "mgopt_loss_ratio", "adaptive_param_ratio"}
    assert figures["project_down_speedup"] > 1.0 and figures["mgopt_loss_ratio"] > 0


def test_without_matplotlib_train_warns_once_up_front_and_writes_everything_but_the_curve(tmp_path, monkeypatch, recwarn):
    (tmp_path / "s.json").write_text(json.dumps({**SCHEDULE, "phases": SCHEDULE["phases"][:3]}))
    trained = []
    monkeypatch.setattr("fem_nn.trainer.Trainer.fit", lambda self, epochs, **kw: trained.append(len(recwarn)))
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    assert main(["train", str(tmp_path / "s.json"), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    warned = [w for w in recwarn if "matplotlib is not installed" in str(w.message)]
    assert len(warned) == 1 and trained[0] == 1  # the warning came before the first epoch
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [".fem-nn.lock", "checkpoint.safetensors",
                                                                   "history.json"]


def test_train_help_names_every_bundled_schedule_and_task(capsys):
    """The help's lists are written out (the help stays light): they must follow the files."""
    from importlib import resources

    from fem_nn.tasks import TASKS

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    bundled = [f.name.removesuffix(".toml") for f in (resources.files("fem_nn") / "schedules").iterdir()
               if f.name.endswith(".toml")]
    assert bundled and all(name in text for name in bundled)
    assert all(name in text for name in TASKS)
