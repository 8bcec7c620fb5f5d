"""``fem-nn train``'s run folder as a unit, and ``--resume``: real signals in real processes.

A driver process runs each case's ``fem-nn`` command line in a child forked from it (so the
imports are paid once), which sends itself a signal at a chosen point (mid-epoch, right
after a refinement, after a phase's checkpoint, inside an atomic write before its rename,
before the curve). The command line runs torch and numba on one thread count (the same in
every process here: OMP_NUM_THREADS or 1), so their round-off agrees. Interrupted (SIGINT, exit 130) or killed
(SIGKILL), the folder must hold one run's files, and ``--resume`` must then finish it with
the checkpoint tensors, metrics and history of an uninterrupted run, bit for bit.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from fem_nn.checkpoint import load_checkpoint
from fem_nn.cli import EXIT_BAD_INPUT, EXIT_INTERRUPTED, main
from fem_nn.run_folder import LOCK_FILE, run_folder

# 3 batches an epoch; a depth refinement between the two train phases
SCHEDULE = {
    "task": "digits", "seed": 0,
    "network": {"width_cells": 4, "width_order": 1, "depth_cells": 1, "steps": 1},
    "training": {"batch_size": 512},
    "phases": [
        {"phase": "train", "epochs": 2},
        {"phase": "refine", "axis": "depth", "steps": "double"},
        {"phase": "train", "epochs": 2, "learning_rate": 0.01},
    ],
}

DRIVER = r"""
import json, os, signal, sys
from pathlib import Path
import torch
from fem_nn import cli, phases, trainer

torch.optim.AdamW([torch.zeros(1, requires_grad=True)])  # what a first optimizer imports, imported once


def patch(spec):
    # this process sends itself spec["signal"] at the point spec["at"]
    count = [0]

    def fire():
        os.kill(os.getpid(), getattr(signal, spec["signal"]))

    if spec["at"] == "step":  # before the n-th optimizer step: mid-epoch
        step = trainer.Trainer._step
        def patched(self, indices):
            count[0] += 1
            if count[0] == spec["n"]:
                fire()
            return step(self, indices)
        trainer.Trainer._step = patched
    elif spec["at"] == "refined":  # the refinement made, its checkpoint not yet written
        run = phases.NetworkChange.run
        def patched(self, state):
            run(self, state)
            fire()
        phases.NetworkChange.run = patched
    elif spec["at"] == "saved":  # after the checkpoint that starts phase n
        save = trainer.Trainer.save
        def patched(self, path, metadata=None):
            save(self, path, metadata)
            if metadata is not None and metadata["phase"] == spec["n"] and self.epoch == metadata["phase_start"]:
                fire()
        trainer.Trainer.save = patched
    elif spec["at"] == "rename":  # the n-th atomic write of a file: written, not yet renamed
        replace = os.replace
        def patched(source, target):
            if Path(target).name == spec["file"]:
                count[0] += 1
                if count[0] == spec["n"]:
                    fire()
            return replace(source, target)
        os.replace = patched


# one command line per case, each in a child forked from this process (imports done once)
children = {}
for name, (spec, argv) in json.loads(sys.argv[1]).items():
    pid = os.fork()
    if pid == 0:
        patch(spec)
        code = cli.main(argv)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    children[pid] = name
codes = {}
for _ in children:
    pid, status = os.wait()
    codes[children[pid]] = os.waitstatus_to_exitcode(status)
print(json.dumps(codes))
"""


def run_cases(cases: dict) -> dict:
    """The exit code of each case's ``fem-nn`` command line: {name: (spec, argv)}; a
    negative code is the signal that killed it."""
    cases = {name: (spec, list(map(str, argv))) for name, (spec, argv) in cases.items()}
    done = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(cases)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def train(*argv) -> int:
    return main(["train", *map(str, argv), "--quiet"])


def files(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.name != LOCK_FILE}


def assert_same_run(folder: Path, reference: Path) -> None:
    """Checkpoint tensors and metadata, metrics and history of `folder` equal `reference`'s."""
    assert sorted(files(folder)) == sorted(files(reference))
    for name in ("metrics.jsonl", "history.json"):
        assert (folder / name).read_bytes() == (reference / name).read_bytes(), name
    net, optimizer, state = load_checkpoint(folder / "checkpoint.safetensors")
    ref_net, ref_optimizer, ref_state = load_checkpoint(reference / "checkpoint.safetensors")
    assert state == ref_state
    for (name, p), q in zip(net.named_parameters(), ref_net.parameters()):
        assert torch.equal(p, q), name
        for key, value in ref_optimizer.state[q].items():
            assert torch.equal(torch.as_tensor(optimizer.state[p][key]), torch.as_tensor(value)), (name, key)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Schedule files for seeds 0 and 1 and their uninterrupted run folders."""
    root = tmp_path_factory.mktemp("runs")
    made = {}
    for seed in (0, 1):
        schedule = root / f"seed{seed}.json"
        schedule.write_text(json.dumps({**SCHEDULE, "seed": seed}))
        assert train(schedule, "--out", root / f"whole{seed}") == 0
        made[seed] = schedule, root / f"whole{seed}"
    return made


INTERRUPTS = {  # SIGINT mid-epoch (step 5 of 12), right after the refinement, after its checkpoint
    "mid-epoch": {"at": "step", "n": 5},
    "after-refine": {"at": "refined"},
    "after-refine-checkpoint": {"at": "saved", "n": 2},
}
KILLS = {  # SIGKILL mid-epoch, inside the third checkpoint write, before the curve's rename
    "mid-epoch": {"at": "step", "n": 8},
    "checkpoint-write": {"at": "rename", "file": "checkpoint.safetensors", "n": 3},
    "before-curve": {"at": "rename", "file": "curve.png", "n": 1},
}


@pytest.fixture(scope="module")
def stopped(runs, tmp_path_factory):
    """Folders of runs interrupted (seed 0, new folders) and killed (seed 1, with --force over
    a copy of the finished seed-0 run), and the exit codes."""
    root = tmp_path_factory.mktemp("stopped")
    (schedule, old), (new_schedule, _) = runs[0], runs[1]
    cases = {}
    for name, spec in INTERRUPTS.items():
        cases[f"int-{name}"] = {**spec, "signal": "SIGINT"}, ["train", schedule, "--out", root / f"int-{name}", "--quiet"]
    for name, spec in KILLS.items():
        shutil.copytree(old, root / f"kill-{name}")
        cases[f"kill-{name}"] = ({**spec, "signal": "SIGKILL"},
                                 ["train", new_schedule, "--out", root / f"kill-{name}", "--force", "--quiet"])
    return root, run_cases(cases)


@pytest.mark.parametrize("name", INTERRUPTS)
def test_interrupted_runs_resume_bit_for_bit(runs, stopped, name):
    root, codes = stopped
    folder = root / f"int-{name}"
    assert codes[f"int-{name}"] == EXIT_INTERRUPTED
    assert not (folder / "history.json").exists()  # the run stopped before its end
    _, _, state = load_checkpoint(folder / "checkpoint.safetensors")
    expected = {"mid-epoch": (0, 1), "after-refine": (1, 2), "after-refine-checkpoint": (2, 2)}[name]
    assert (state["extra"]["phase"], state["epoch"]) == expected  # where the last checkpoint stands
    assert train("--resume", folder) == 0
    assert_same_run(folder, runs[0][1])


@pytest.mark.parametrize("name", KILLS)
def test_a_killed_forced_rerun_leaves_one_runs_files_and_resumes(runs, stopped, name):
    """The re-run (seed 1) replaces a finished run (seed 0) with --force and is killed: no
    file of the old run is left beside the new run's, and --resume finishes the new run."""
    root, codes = stopped
    old, whole = runs[0][1], runs[1][1]
    folder = root / f"kill-{name}"
    assert codes[f"kill-{name}"] == -signal.SIGKILL
    left = files(folder)
    for file, content in left.items():  # nothing of the old run; a killed write's temporary file
        assert content != (old / file).read_bytes() if (old / file).exists() else file.endswith(".tmp"), file
    assert (whole / "metrics.jsonl").read_text().startswith(left["metrics.jsonl"].decode())  # the new run's epochs
    _, _, state = load_checkpoint(folder / "checkpoint.safetensors")
    assert state["extra"]["schedule"]["seed"] == 1
    assert ("history.json" in left) == (name == "before-curve") and "curve.png" not in left
    assert train("--resume", folder) == 0
    assert not list(folder.glob(".*.tmp"))  # the leftovers removed
    assert_same_run(folder, whole)


def test_a_second_run_into_a_folder_in_use_exits_2_naming_the_holder(runs, tmp_path, capsys):
    schedule, _ = runs[0]
    long = tmp_path / "long.json"
    long.write_text(json.dumps({**SCHEDULE, "phases": [{"phase": "train", "epochs": 10_000}]}))
    folder = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "fem_nn.cli", "train", str(long), "--out", str(folder), "--quiet"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while not (folder / "metrics.jsonl").exists():  # the lock is held from before the first epoch
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()
            time.sleep(0.1)
        for extra in ([], ["--force"], ["--resume"]):
            argv = ["--resume", folder] if extra == ["--resume"] else [schedule, "--out", folder, *extra]
            assert train(*argv) == EXIT_BAD_INPUT
            assert f"{folder} is in use by another run (PID {process.pid}" in capsys.readouterr().err
    finally:
        process.kill()
        process.communicate()
    # the killed holder's lock file stays, with its PID, but the lock went with the process
    assert (folder / LOCK_FILE).read_text().strip() == str(process.pid)
    assert train(schedule, "--out", folder, "--force") == 0
    assert (folder / LOCK_FILE).read_text().strip() == str(os.getpid())


def test_an_existing_folder_is_refused_without_force_or_resume(runs, tmp_path, capsys):
    schedule, whole = runs[0]
    before = files(whole)
    assert train(schedule, "--out", whole) == EXIT_BAD_INPUT
    assert f"{whole} exists and is not empty; pass --force" in capsys.readouterr().err
    assert files(whole) == before
    foreign = tmp_path / "notes"
    foreign.mkdir()
    (foreign / "todo.txt").write_text("mine")
    assert train(schedule, "--out", foreign) == EXIT_BAD_INPUT
    assert sorted(p.name for p in foreign.iterdir()) == ["todo.txt"]  # not even a lock file
    with run_folder(foreign, "replace"):  # --force removes run files only
        pass
    assert (foreign / "todo.txt").read_text() == "mine"


@pytest.mark.parametrize("argv, named", [
    (["--resume", "{missing}"], "does not exist"),
    (["--resume", "{empty}"], "no checkpoint.safetensors"),
    (["{schedule}", "--resume", "{whole}", "--out", "{empty}"], "--out: not with --resume"),
    (["--resume", "{whole}", "--task", "burgers"], "--task: not with --resume"),
    (["{other}", "--resume", "{whole}"], "schedule: differs from the schedule of the run"),
    ([], "SCHEDULE"),
])
def test_bad_resumes_exit_2(runs, tmp_path, capsys, argv, named):
    (schedule, whole), (other, _) = runs[0], runs[1]
    (tmp_path / "empty").mkdir()
    before = files(whole)
    paths = {"missing": tmp_path / "missing", "empty": tmp_path / "empty", "whole": whole, "schedule": schedule,
             "other": other}
    assert train(*[a.format(**paths) for a in argv]) == EXIT_BAD_INPUT
    assert named in capsys.readouterr().err
    assert files(whole) == before and not (tmp_path / "missing").exists()


def test_resuming_a_finished_run_changes_nothing(runs, tmp_path):
    schedule, whole = runs[0]
    shutil.copytree(whole, tmp_path / "run")
    assert train("--resume", tmp_path / "run") == 0
    assert_same_run(tmp_path / "run", whole)
