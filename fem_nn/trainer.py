"""A plain torch training loop for continuum networks: seeded, checkpointed, resumable,
distributed, and safe against NaN steps.

Every rank draws the same shuffled global batches from one seeded generator and trains on
its share (see :mod:`fem_nn.distributed`). A step whose loss or gradient is not finite is
rolled back before it moves anything (the check comes between backward and the optimizer,
on the gradients every rank shares after DDP's averaging), recorded in the history, and
skipped. Checkpoints (:mod:`fem_nn.checkpoint`) hold the generator and RNG states, so a
resumed run repeats an uninterrupted one bit for bit on the CPU.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import torch
from tqdm.auto import tqdm

from . import _checks, distributed
from .checkpoint import OPTIMIZERS, load_checkpoint, save_checkpoint
from .network import ContinuumNetwork
from .tasks import Task

__all__ = ["Trainer", "make_optimizer"]

MAX_BAD_STEPS = 5


def make_optimizer(network: torch.nn.Module, name: str = "adamw", learning_rate: float = 0.02, weight_decay: float = 0.01):
    """An SGD (momentum 0.9), Adam or AdamW optimizer over `network`'s parameters.

    Examples
    --------
    >>> from fem_nn import bias_mesh, weight_mesh
    >>> optimizer = make_optimizer(ContinuumNetwork(weight_mesh(), bias_mesh()), "sgd", 0.1)
    >>> type(optimizer).__name__, optimizer.param_groups[0]["momentum"]
    ('SGD', 0.9)
    """
    kinds = {name.lower(): kind for name, kind in OPTIMIZERS.items()}
    if name not in kinds:
        raise ValueError(f"optimizer must be one of {sorted(kinds)}, got {name!r}")
    if not (isinstance(learning_rate, (int, float)) and math.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(f"learning_rate must be a positive number, got {learning_rate!r}")
    extra = {"momentum": 0.9} if name == "sgd" else {}
    return kinds[name](network.parameters(), lr=learning_rate, weight_decay=weight_decay, **extra)


class Trainer:
    """Train a :class:`~fem_nn.ContinuumNetwork` on a :class:`~fem_nn.tasks.Task`.

    Parameters
    ----------
    network : ContinuumNetwork
    task : Task
    optimizer : torch.optim.Optimizer or str, default "adamw"
        An optimizer over the network's parameters, or a name for :func:`make_optimizer`.
    learning_rate, weight_decay : float
        Used when `optimizer` is a name.
    batch_size : int, default 64
        The global batch (over all ranks).
    seed : int, default 0
    metrics_path : path, optional
        A JSON-lines file: one line per epoch (loss, the task's metric, parameter count).
    checkpoint_path : path, optional
        Written every `checkpoint_every` epochs, with :attr:`checkpoint_metadata` (JSON-ready;
        :func:`~fem_nn.run_schedule` keeps the schedule and its position in it there).
    progress : bool, default True

    Examples
    --------
    >>> from fem_nn.tasks import digits_task, task_network
    >>> task = digits_task()
    >>> trainer = Trainer(task_network(task, width_cells=8), task, progress=False)
    >>> first, second = trainer.fit(2)
    >>> second["epoch"], second["loss"] < first["loss"], second["test_accuracy"] > 0.2
    (2, True, True)
    """

    def __init__(
        self,
        network: ContinuumNetwork,
        task: Task,
        optimizer="adamw",
        learning_rate: float = 0.02,
        weight_decay: float = 0.01,
        batch_size: int = 64,
        seed: int = 0,
        metrics_path=None,
        checkpoint_path=None,
        checkpoint_every: int = 1,
        progress: bool = True,
    ):
        if not isinstance(network, ContinuumNetwork):
            raise TypeError(f"network must be a ContinuumNetwork, got {type(network).__name__}")
        if not isinstance(task, Task):
            raise TypeError(f"task must be a fem_nn.tasks.Task, got {type(task).__name__}")
        self.task = task
        self.batch_size = _checks.integer(batch_size, "batch_size", 1)
        self.checkpoint_every = _checks.integer(checkpoint_every, "checkpoint_every", 1)
        self.metrics_path = None if metrics_path is None else Path(metrics_path)
        self.checkpoint_path = None if checkpoint_path is None else Path(checkpoint_path)
        self.progress = progress
        self.generator = torch.Generator().manual_seed(_checks.integer(seed, "seed", 0))
        torch.manual_seed(seed)
        if isinstance(optimizer, str):
            optimizer = make_optimizer(network, optimizer, learning_rate, weight_decay)
        self.epoch, self.history, self._scheduler = 0, [], None
        self.checkpoint_metadata = None
        self.replace(network, optimizer)

    def replace(self, network: ContinuumNetwork, optimizer: torch.optim.Optimizer) -> None:
        """Train `network` with `optimizer` from now on (after a refinement: see
        :func:`fem_nn.refinement.transfer_optimizer`); re-wrapped for DDP on every rank."""
        self.network, self.optimizer = network, optimizer
        self.model = distributed.wrap(network)

    # --- training ------------------------------------------------------------------------
    def _step(self, indices: torch.Tensor) -> float | None:
        """One optimizer step on a global batch; None, with nothing changed, when the loss
        or a gradient is not finite (the step is never taken, so there is nothing to undo)."""
        share, scale = distributed.shard(indices)
        loss = self.task.loss(self.model, self.task.x_train[share], self.task.y_train[share]) * scale
        self.optimizer.zero_grad()
        loss.backward()
        finite = torch.stack([torch.isfinite(loss).all()] + [torch.isfinite(p.grad).all() for p in self.network.parameters()]).all()
        if not finite:
            self.optimizer.zero_grad()
            return None
        self.optimizer.step()
        if self._scheduler is not None:
            self._scheduler.step()
        return loss.item() / scale

    def run_epoch(self) -> dict:
        """One epoch of shuffled mini-batches; returns and records its metrics."""
        self.network.train()
        order = torch.randperm(len(self.task.x_train), generator=self.generator)
        total, count, bad = 0.0, 0, 0
        for batch, start in enumerate(range(0, len(order), self.batch_size)):
            indices = order[start : start + self.batch_size]
            loss = self._step(indices)
            if loss is None:
                bad += 1
                self.history.append({"epoch": self.epoch + 1, "batch": batch, "event": "nan_rollback"})
                warnings.warn(f"epoch {self.epoch + 1}, batch {batch}: loss or gradient not finite; step skipped")
                if bad >= MAX_BAD_STEPS:
                    raise RuntimeError(f"{MAX_BAD_STEPS} consecutive non-finite steps in epoch {self.epoch + 1}; stopping")
                continue
            bad = 0
            total += loss * len(indices)
            count += len(indices)
        self.epoch += 1
        self.network.eval()
        record = {
            "epoch": self.epoch,
            "loss": total / max(count, 1),
            self.task.metric_name: self.task.metric(self.network),
            "parameters": sum(p.numel() for p in self.network.parameters()),
        }
        self.history.append(record)
        self._after_epoch(record)
        return record

    def _after_epoch(self, record: dict) -> None:
        if distributed.rank_and_size()[0] != 0:
            return
        if self.metrics_path is not None:
            with open(self.metrics_path, "a", encoding="utf-8") as stream:
                stream.write(json.dumps(record) + "\n")
        if self.checkpoint_path is not None and self.epoch % self.checkpoint_every == 0:
            self.save(self.checkpoint_path, self.checkpoint_metadata)

    def fit(self, epochs: int, one_cycle: bool = False) -> list[dict]:
        """Run `epochs` epochs (with a progress bar); returns the history.

        With `one_cycle`, the learning rate follows a one-cycle schedule over these epochs
        (warm-up to each group's current rate, then annealing; stepped per batch), the
        schedule that trains the digits network to 97 % in a minute. A checkpoint taken
        mid-schedule does not hold the schedule's position.
        """
        epochs = _checks.integer(epochs, "epochs", 1)
        if one_cycle:
            batches = -(-len(self.task.x_train) // self.batch_size)
            self._scheduler = torch.optim.lr_scheduler.OneCycleLR(
                self.optimizer, max_lr=[g["lr"] for g in self.optimizer.param_groups], total_steps=epochs * batches
            )
        bar = tqdm(range(epochs), desc="training", unit="epoch", disable=not self.progress or distributed.rank_and_size()[0] != 0)
        try:
            for _ in bar:
                record = self.run_epoch()
                bar.set_postfix(loss=f"{record['loss']:.4f}", **{self.task.metric_name: f"{record[self.task.metric_name]:.4f}"})
        finally:
            self._scheduler = None
        return self.history

    # --- checkpoints ---------------------------------------------------------------------
    def save(self, path, metadata: dict | None = None) -> None:
        """A checkpoint of the network, optimizer, epoch, history and random states."""
        state = {
            "epoch": self.epoch,
            "history": self.history,
            "batch_size": self.batch_size,
            "generator": self.generator.get_state().tolist(),
            "torch_rng": torch.get_rng_state().tolist(),
            "extra": metadata,
        }
        save_checkpoint(path, self.network, self.optimizer, state)

    @classmethod
    def resume(cls, path, task: Task, **options) -> "Trainer":
        """A trainer continuing from a checkpoint written by :meth:`save` (`options` as for
        the constructor, except network, optimizer and batch_size, which come from the file)."""
        network, optimizer, state = load_checkpoint(path)
        if optimizer is None or not isinstance(state, dict) or "generator" not in state:
            raise ValueError(f"{path}: not a trainer checkpoint (no optimizer or training state)")
        trainer = cls(network, task, optimizer, batch_size=state["batch_size"], **options)
        trainer.epoch, trainer.history = state["epoch"], state["history"]
        trainer.generator.set_state(torch.tensor(state["generator"], dtype=torch.uint8))
        torch.set_rng_state(torch.tensor(state["torch_rng"], dtype=torch.uint8))
        return trainer
