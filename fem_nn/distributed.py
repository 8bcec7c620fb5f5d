"""Data-parallel training on torch.distributed, launched by ``torchrun``.

Every rank draws the same global batch (one seeded generator, the same on all ranks), takes
its share, and DDP averages the gradients of the shares' suitably scaled mean losses: that is
the gradient of the global batch, so N ranks train the same parameters as one process. A refinement builds
the new network and projects the optimizer state identically on every rank (both are
deterministic functions of replicated data), then re-wraps it: DDP broadcasts rank 0's
parameters on wrapping, which keeps the ranks together even after round-off.

Launch: ``torchrun --nproc-per-node 2 -m fem_nn.cli train schedule.toml`` (gloo on CPU, nccl
on GPU).
"""

from __future__ import annotations

import os

import warnings

import torch
import torch.distributed as dist

__all__ = ["initialize", "rank_and_size", "wrap", "unwrap", "shard"]


def initialize(backend: str | None = None) -> tuple[int, int]:
    """Join the process group that ``torchrun`` describes in the environment (a no-op when
    not launched by it, or when already joined); returns ``(rank, world_size)``."""
    if "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1 and not dist.is_initialized():
        dist.init_process_group(backend or ("nccl" if torch.cuda.is_available() else "gloo"))
    return rank_and_size()


def rank_and_size() -> tuple[int, int]:
    """``(rank, world_size)``; ``(0, 1)`` outside a process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def wrap(network: torch.nn.Module) -> torch.nn.Module:
    """`network` in DistributedDataParallel inside a process group, else `network` itself.

    The buffers are derived from the meshes, the same on every rank, and not broadcast (the
    sparse evaluation matrices cannot be).
    """
    if rank_and_size()[1] == 1:
        return network
    device = next(network.parameters()).device
    with warnings.catch_warnings():
        # torch 2.13 deprecates broadcast_buffers for forward_sync_buffers, which still syncs
        # at init (the sparse buffers would fail); its own advice is to keep this until
        # init_sync_buffers exists
        warnings.filterwarnings("ignore", "`broadcast_buffers` is deprecated", FutureWarning)
        return torch.nn.parallel.DistributedDataParallel(
            network, device_ids=[device] if device.type == "cuda" else None, broadcast_buffers=False
        )


def unwrap(module: torch.nn.Module) -> torch.nn.Module:
    """The network inside a DDP wrapper (or `module` itself)."""
    return module.module if isinstance(module, torch.nn.parallel.DistributedDataParallel) else module


def shard(indices: torch.Tensor) -> tuple[torch.Tensor, float]:
    """This rank's share of a global batch of `indices` and the factor of its mean loss.

    Shares differ by at most one sample. DDP averages the ranks' gradients, so a rank's
    mean loss is scaled by ``len(share) · world_size / len(indices)``: the average is then
    the gradient of the global batch's mean loss, exactly, however the batch splits.

    Examples
    --------
    >>> shard(torch.arange(5))  # one process: the whole batch
    (tensor([0, 1, 2, 3, 4]), 1.0)
    """
    rank, size = rank_and_size()
    if len(indices) < size:
        raise ValueError(f"a batch of {len(indices)} samples cannot be shared by {size} ranks")
    share = torch.tensor_split(indices, size)[rank]
    return share, len(share) * size / len(indices)
