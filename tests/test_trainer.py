"""Checkpoints (atomic, no pickle), the Trainer (resume bit for bit, NaN rollback) and DDP."""

import json
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch
from safetensors import safe_open

from fem_nn.checkpoint import load_checkpoint, save_checkpoint
from fem_nn.tasks import Task, digits_task, task_network
from fem_nn.trainer import Trainer


@pytest.fixture(scope="module")
def task():
    full = digits_task()
    return Task("digits", "classification", full.x_train[:256], full.y_train[:256], full.x_test[:128], full.y_test[:128], 10, 2.0)


def small(task, dtype=torch.float32):
    net = task_network(task, width_cells=4, width_order=1, depth_cells=2, steps=2)
    return net.to(dtype) if dtype != torch.float32 else net


@pytest.mark.parametrize("optimizer", ["adamw", "sgd"])
def test_checkpoint_round_trip_is_bit_for_bit(task, tmp_path, optimizer):
    trainer = Trainer(small(task), task, optimizer, batch_size=64, progress=False)
    trainer.fit(1)
    save_checkpoint(tmp_path / "c.safetensors", trainer.network, trainer.optimizer, {"note": [1, 2]})
    network, restored, metadata = load_checkpoint(tmp_path / "c.safetensors")
    assert metadata == {"note": [1, 2]}
    assert network.config() == trainer.network.config()
    for (name, p), q in zip(trainer.network.named_parameters(), network.parameters()):
        assert torch.equal(p, q), name
        for key, value in trainer.optimizer.state[p].items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(restored.state[q][key])), key
    assert restored.param_groups[0]["lr"] == trainer.optimizer.param_groups[0]["lr"]


def test_resume_repeats_uninterrupted_training_bit_for_bit(task, tmp_path):
    whole = Trainer(small(task), task, seed=5, progress=False)
    whole.fit(4)
    first = Trainer(small(task), task, seed=5, checkpoint_path=tmp_path / "c.safetensors", progress=False)
    first.fit(2)
    resumed = Trainer.resume(tmp_path / "c.safetensors", task, seed=5, progress=False)
    resumed.fit(2)
    assert [r["loss"] for r in resumed.history] == [r["loss"] for r in whole.history]
    for p, q in zip(whole.network.parameters(), resumed.network.parameters()):
        assert torch.equal(p, q)


def test_a_learning_rate_schedule_resumed_part_way_repeats_the_whole_one(task, tmp_path):
    """A phase under a schedule, checkpointed after 2 of its 4 epochs (the rates scaled at
    that moment) and resumed over its `lr_span`, trains as the uninterrupted phase."""
    whole = Trainer(small(task), task, seed=5, progress=False)
    whole.fit(4, lr_schedule="cosine")
    first = Trainer(small(task), task, seed=5, checkpoint_path=tmp_path / "c.safetensors", progress=False)
    first.fit(2, lr_schedule="cosine", lr_span=(0, 4))
    resumed = Trainer.resume(tmp_path / "c.safetensors", task, seed=5, progress=False)
    resumed.fit(2, lr_schedule="cosine", lr_span=(0, 4))
    assert [r["loss"] for r in resumed.history] == [r["loss"] for r in whole.history]
    for p, q in zip(whole.network.parameters(), resumed.network.parameters()):
        assert torch.equal(p, q)
    assert [g["lr"] for g in resumed.optimizer.param_groups] == [g["lr"] for g in whole.optimizer.param_groups]
    assert all("base_lr" not in g for g in resumed.optimizer.param_groups)
    with pytest.raises(ValueError, match="lr_span"):
        resumed.fit(1, lr_schedule="cosine", lr_span=(0, 4))  # epoch 4 lies outside the span


def test_a_refinement_by_hand_is_an_event_of_the_history(task):
    """Issue 12.11: a network replaced by hand (a refinement outside a schedule) is recorded
    as an event with its parameter count, as a schedule's refinements are."""
    from fem_nn.refinement import refined_network
    from fem_nn.transfer import transfer_optimizer

    trainer = Trainer(small(task), task, seed=5, progress=False)
    trainer.fit(1)
    fine = refined_network(trainer.network, "depth")
    trainer.replace(fine, transfer_optimizer(trainer.optimizer, trainer.network, fine))
    trainer.fit(1)
    events = [r for r in trainer.history if "event" in r]
    assert events == [{"epoch": 1, "event": "network replaced", "parameters": sum(p.numel() for p in fine.parameters())}]
    assert [r["epoch"] for r in trainer.history if "event" not in r] == [1, 2]


def test_a_non_finite_step_is_rolled_back_and_recorded(task, monkeypatch):
    trainer = Trainer(small(task), task, batch_size=128, progress=False)
    trainer.fit(1)
    poison = {"calls": [1]}  # the calls whose loss turns NaN
    calls = {"n": 0}
    loss = Task.loss

    def poisoned(self, network, x, y, **options):
        calls["n"] += 1
        value = loss(self, network, x, y, **options)
        return value * float("nan") if calls["n"] in poison["calls"] else value

    monkeypatch.setattr(Task, "loss", poisoned)
    before = [p.detach().clone() for p in trainer.network.parameters()]
    moments = [trainer.optimizer.state[p]["exp_avg"].clone() for p in trainer.network.parameters()]
    assert trainer._step(torch.arange(128)) is None
    assert all(torch.equal(p, q) for p, q in zip(before, trainer.network.parameters()))
    assert all(torch.equal(m, trainer.optimizer.state[p]["exp_avg"]) for m, p in zip(moments, trainer.network.parameters()))

    poison["calls"] = [2]  # the first batch of the next epoch
    with pytest.warns(UserWarning, match="batch 0: loss or gradient not finite"):
        record = trainer.run_epoch()
    assert {"epoch": 2, "batch": 0, "event": "nan_rollback"} in trainer.history
    assert record["epoch"] == 2 and record["loss"] > 0  # the other batch trained
    assert not all(torch.equal(p, q) for p, q in zip(before, trainer.network.parameters()))

    poison["calls"] = range(100)
    with pytest.warns(UserWarning), pytest.raises(RuntimeError, match="consecutive non-finite"):
        Trainer(small(task), task, batch_size=8, progress=False).run_epoch()


def test_loading_never_unpickles(tmp_path):
    marker = tmp_path / "marker"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps(Payload()))
    with pytest.raises(ValueError, match="evil.safetensors"):
        load_checkpoint(path)
    assert not marker.exists()


@pytest.mark.parametrize("cut", [0, 7, 100, -10])
def test_truncated_or_garbage_files_name_the_file(task, tmp_path, cut):
    good = tmp_path / "good.safetensors"
    save_checkpoint(good, small(task))
    data = good.read_bytes()
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(data[:cut] if cut else b"garbage")
    with pytest.raises(ValueError, match="bad.safetensors"):
        load_checkpoint(bad)


def test_a_save_killed_mid_write_leaves_the_previous_checkpoint(task, tmp_path):
    path = tmp_path / "c.safetensors"
    script = textwrap.dedent(
        f"""
        import torch
        from fem_nn.checkpoint import save_checkpoint
        from fem_nn.tasks import digits_task, task_network
        net = task_network(digits_task(), width_cells=64, width_order=3, depth_cells=8)
        i = 0
        while True:
            i += 1
            with torch.no_grad():
                net.bias.fill_(i)
            save_checkpoint({str(path)!r}, net, metadata={{"i": i}})
            print(i, flush=True)
        """
    )
    for delay in (0.05, 0.2, 0.45):
        process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        process.stdout.readline()  # one complete save
        time.sleep(delay)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        network, _, metadata = load_checkpoint(path)
        assert torch.all(network.bias == metadata["i"])  # a whole checkpoint, never a mixture
        # a killed writer cannot remove its temporary file (ours, or safetensors' own): only the
        # target's content matters


DDP_SCRIPT = """
import sys, torch
from fem_nn import distributed
from fem_nn.refinement import refined_network
from fem_nn.transfer import transfer_optimizer
from fem_nn.tasks import Task, digits_task, task_network
from fem_nn.trainer import Trainer
distributed.initialize("gloo")
full = digits_task()
task = Task("digits", "classification", full.x_train[:200], full.y_train[:200], full.x_test[:50], full.y_test[:50], 10, 2.0)
torch.manual_seed(0)
net = task_network(task, width_cells=4, width_order=1, depth_cells=1, steps=1).double()
trainer = Trainer(net, task, "adam", learning_rate=0.01, batch_size=50, progress=False)
trainer.fit(1)
fine = refined_network(trainer.network, "depth", steps="double")
trainer.replace(fine, transfer_optimizer(trainer.optimizer, trainer.network, fine))
trainer.fit(1)
if distributed.rank_and_size()[0] == 0:
    torch.save({n: p.detach() for n, p in trainer.network.named_parameters()}, sys.argv[1])
"""


def test_two_gloo_ranks_with_a_refinement_train_like_one_process(tmp_path):
    pytest.importorskip("fem_nn.refinement")
    script = tmp_path / "ddp.py"
    script.write_text(DDP_SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, str(script), str(tmp_path / "one.pt")], check=True, env=env)
    subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port", "29517",
         str(script), str(tmp_path / "two.pt")], check=True, env=env, capture_output=True,
    )
    one, two = torch.load(tmp_path / "one.pt"), torch.load(tmp_path / "two.pt")
    for name in one:
        assert torch.allclose(one[name], two[name], rtol=0, atol=1e-6), name


def tensor_ranges(data: bytes) -> dict:
    """Each tensor's byte range in a safetensors file."""
    length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + length])
    return {k: (8 + length + v["data_offsets"][0], 8 + length + v["data_offsets"][1])
            for k, v in header.items() if k != "__metadata__"}


def test_a_flipped_byte_in_a_tensor_is_an_error_naming_the_file_and_tensor(task, tmp_path):
    trainer = Trainer(small(task), task, progress=False)
    trainer.fit(1)
    path = tmp_path / "c.safetensors"
    save_checkpoint(path, trainer.network, trainer.optimizer)
    data = path.read_bytes()
    ranges = tensor_ranges(data)
    assert {"param/weight", "optim/weight/exp_avg"} <= set(ranges)
    for name in ("param/weight", "optim/weight/exp_avg", "param/bias"):
        start, end = ranges[name]
        for at in (start, (start + end) // 2, end - 1):  # first, middle and last byte of its body
            flipped = bytearray(data)
            flipped[at] ^= 0x01
            (tmp_path / "bad.safetensors").write_bytes(bytes(flipped))
            with pytest.raises(ValueError, match=rf"bad\.safetensors: corrupt checkpoint: tensor '{name}'"):
                load_checkpoint(tmp_path / "bad.safetensors")


def test_a_checkpoint_without_checksums_still_loads(task, tmp_path):
    from safetensors.torch import load_file, save

    net = small(task)
    save_checkpoint(tmp_path / "new.safetensors", net, metadata={"epoch": 1})
    with safe_open(tmp_path / "new.safetensors", framework="pt") as handle:
        header = json.loads(handle.metadata()["fem_nn"])
    del header["checksums"]  # as written before checksums
    (tmp_path / "old.safetensors").write_bytes(save(load_file(tmp_path / "new.safetensors"),
                                                    metadata={"fem_nn": json.dumps(header)}))
    copy, _, metadata = load_checkpoint(tmp_path / "old.safetensors")
    assert metadata == {"epoch": 1} and torch.equal(copy.weight, net.weight)


def test_a_state_with_an_odd_stride_on_a_size_one_axis_is_saved(tmp_path):
    """A depth of one P0 cell gives coefficient tensors (…, 1), and a transferred optimizer state
    may carry any stride on that axis (torch calls it contiguous all the same): its checksum
    took a byte view of it and failed."""
    from fem_nn import bias_mesh, uniform_axis, weight_mesh
    from fem_nn.continuum import ContinuumNetwork

    width, depth = uniform_axis((-1, 1), 2, "legendre", 1), uniform_axis((0, 1), 1, "p0", 0)
    net = ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth))
    adam = torch.optim.Adam(net.parameters(), lr=0.01)
    net(torch.rand(3, 8)).square().sum().backward()
    adam.step()
    state = adam.state[net.weight]
    odd = torch.empty_strided(state["exp_avg"].shape, (4, 1, 7)).copy_(state["exp_avg"])
    assert odd.is_contiguous() and odd.stride(-1) != 1
    state["exp_avg"] = odd
    save_checkpoint(tmp_path / "odd.safetensors", net, adam)
    _, loaded, _ = load_checkpoint(tmp_path / "odd.safetensors")
    assert torch.equal(next(iter(loaded.state.values()))["exp_avg"], odd)
