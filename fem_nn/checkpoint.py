"""Checkpoints without pickle: one safetensors file whose metadata header holds JSON.

The tensors are the network's coefficients (``param/<name>``), a model's buffers such as
batch-norm statistics (``buffer/<name>``) and the optimizer's state (``optim/<name>/<key>``);
the header holds the model's class (one of :data:`MODELS`) and its ``config()``, the
optimizer's class and hyper-parameters, and the caller's metadata (epoch, history, RNG
states, schedule). Loading reads tensors and JSON only, so a checkpoint can never run code:
it names one of fem_nn's model classes, whose module is imported then.
A save writes a temporary file beside the target and renames it over the target: an
interrupted save leaves the previous checkpoint whole. The header also holds the CRC-32 of
every tensor's bytes (``checksums``), checked on load, so a corrupted tensor is an error
that names it rather than a silently different network; files written before checksums
load unchecked.
"""

from __future__ import annotations

import importlib
import json
import zlib
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save

from .io import atomic_write_bytes
from .continuum import ContinuumNetwork
from .optimizers import optimizer_class

__all__ = ["save_checkpoint", "load_checkpoint", "MODELS"]

FORMAT, VERSION = "fem_nn_checkpoint", 1

# the model classes a checkpoint holds, by name: the module defining each (imported on load, so
# that saving and loading a continuum network never import the models built on OdeBlocks)
MODELS = {
    "ContinuumNetwork": "fem_nn.continuum",
    "ContinuousNetClassifier": "fem_nn.models",
    "HyperbolicConvNet": "fem_nn.hyperbolic",
}


def _model_class(name) -> type:
    if name not in MODELS:
        raise ValueError(f"model must be one of {sorted(MODELS)}, got {name!r}")
    return getattr(importlib.import_module(MODELS[name]), name)


def _optimizer_data(optimizer: torch.optim.Optimizer, network: torch.nn.Module) -> tuple[dict, dict]:
    """The optimizer's JSON description and its state tensors, keyed by parameter name."""
    kind = type(optimizer).__name__
    try:
        optimizer_class(kind)
    except ValueError as error:
        raise TypeError(str(error)) from None
    names = {id(p): n for n, p in network.named_parameters()}
    tensors, scalars = {}, {}
    for p, state in optimizer.state.items():
        for key, value in state.items():
            if value is None:
                continue
            if isinstance(value, torch.Tensor) and value.ndim > 0:
                tensors[f"optim/{names[id(p)]}/{key}"] = value.detach().contiguous()
            else:  # Adam's step counter (a 0-d tensor) and other scalars
                scalars.setdefault(names[id(p)], {})[key] = float(value)
    groups = [{k: v for k, v in g.items() if k != "params"} for g in optimizer.param_groups]
    return {"class": kind, "param_groups": groups, "scalars": scalars}, tensors


def _checksum(tensor: torch.Tensor) -> int:
    """The CRC-32 of a CPU tensor's bytes (as safetensors stores them: contiguous). Flattened
    first: torch calls a tensor contiguous whatever the stride of a size-1 last axis, which a
    byte view refuses (a depth of one P0 cell); and one element at stride 0 (a counter of one
    depth dof, expanded and cloned) copied at stride 1, which torch's ``contiguous`` leaves."""
    if not tensor.numel():
        return 0
    flat = tensor.reshape(-1)
    if flat.stride(0) != 1:
        flat = flat.clone(memory_format=torch.contiguous_format)
    return zlib.crc32(flat.view(torch.uint8).numpy())


def save_checkpoint(path, network: torch.nn.Module, optimizer: torch.optim.Optimizer | None = None,
                    metadata=None) -> None:
    """Write `network` (a model of :data:`MODELS`: a continuum network, or a model of
    OdeBlock depth fields with its buffers), `optimizer` (SGD, Adam or AdamW over the
    network's parameters) and JSON-ready `metadata` to one safetensors file, atomically.

    Examples
    --------
    >>> import tempfile
    >>> from fem_nn import bias_mesh, weight_mesh
    >>> net = ContinuumNetwork(weight_mesh(), bias_mesh())
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     save_checkpoint(f"{folder}/net.safetensors", net, metadata={"epoch": 3})
    ...     copy, _, metadata = load_checkpoint(f"{folder}/net.safetensors")
    >>> metadata, bool(torch.equal(copy.weight, net.weight))
    ({'epoch': 3}, True)
    """
    kind = type(network).__name__
    if kind not in MODELS or not isinstance(network, _model_class(kind)):
        raise TypeError(f"network must be one of fem_nn's models {sorted(MODELS)}, got {kind}")
    header = {"format": FORMAT, "version": VERSION, "model": kind, "network": network.config(), "metadata": metadata}
    tensors = {f"param/{n}": p.detach().contiguous() for n, p in network.named_parameters()}
    if not isinstance(network, ContinuumNetwork):  # a continuum network's buffers are its tabulations
        tensors.update({f"buffer/{n}": b.detach().contiguous() for n, b in network.named_buffers()})
    if optimizer is not None:
        header["optimizer"], state = _optimizer_data(optimizer, network)
        tensors.update(state)
    tensors = {k: v.cpu() for k, v in tensors.items()}
    header["checksums"] = {k: _checksum(v) for k, v in tensors.items()}
    try:
        text = json.dumps(header)
    except TypeError as error:
        raise TypeError(f"metadata must be JSON-serializable: {error}") from None
    atomic_write_bytes(path, save(tensors, metadata={"fem_nn": text}))


def load_checkpoint(path, device=None) -> tuple[torch.nn.Module, torch.optim.Optimizer | None, object]:
    """Read a checkpoint: the network (on `device`; the class it was saved as), the optimizer
    (None if none was saved) and the metadata. ValueError, naming the file, for anything that
    is not a complete fem_nn checkpoint.

    Examples
    --------
    >>> import tempfile
    >>> from fem_nn import bias_mesh, weight_mesh
    >>> net = ContinuumNetwork(weight_mesh(), bias_mesh(), scheme="midpoint")
    >>> optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     save_checkpoint(f"{folder}/net.safetensors", net, optimizer)
    ...     copy, restored, metadata = load_checkpoint(f"{folder}/net.safetensors")
    >>> copy.tableau.name, type(restored).__name__, restored.param_groups[0]["lr"], metadata
    ('midpoint', 'Adam', 0.001, None)
    """
    path = Path(path)
    try:
        tensors = load_file(path)
        with safe_open(path, framework="pt") as handle:
            header = json.loads((handle.metadata() or {}).get("fem_nn", "null"))
    # ValueError: bad JSON, the int-digits limit; RuntimeError: RecursionError (deep nesting)
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise ValueError(f"{path}: not a readable fem_nn checkpoint ({error})") from None
    # type(...) is int: a hostile header's true or 1.0 is not version 1
    if not isinstance(header, dict) or header.get("format") != FORMAT or type(header.get("version")) is not int \
            or header["version"] != VERSION:
        raise ValueError(f"{path}: not a fem_nn checkpoint (expected format {FORMAT!r}, version {VERSION})")
    _verify(header.get("checksums"), tensors, path)
    try:
        weights = {k.removeprefix("param/"): v for k, v in tensors.items() if k.startswith("param/")}
        kind = _model_class(header.get("model", "ContinuumNetwork"))  # files before other models: a network
        if kind is ContinuumNetwork:
            network = ContinuumNetwork.from_config(header["network"], weights)
        else:
            buffers = {k.removeprefix("buffer/"): v for k, v in tensors.items() if k.startswith("buffer/")}
            network = kind.from_config(header["network"], {**weights, **buffers})
    # RuntimeError: load_state_dict's missing, unexpected or misshapen tensors
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise ValueError(f"{path}: invalid network: {error}") from None
    missing = sorted(set(dict(network.named_parameters())) - set(weights))
    if missing:  # else the network would silently keep random initial values there
        raise ValueError(f"{path}: invalid network: no tensors for the parameters {missing}")
    if device is not None:
        network = network.to(device)
    optimizer = None
    if "optimizer" in header:
        optimizer = _restore_optimizer(header["optimizer"], tensors, network, path)
    return network, optimizer, header.get("metadata")


def _verify(checksums, tensors: dict, path: Path) -> None:
    """ValueError naming `path` and the tensor unless every tensor has its recorded CRC-32
    (None: a checkpoint written before checksums, not checked)."""
    if checksums is None:
        return
    if not isinstance(checksums, dict) or set(checksums) != set(tensors):
        names = sorted(checksums) if isinstance(checksums, dict) else checksums
        raise ValueError(f"{path}: corrupt checkpoint: checksums for {names!r}, tensors {sorted(tensors)}")
    for name, tensor in tensors.items():
        if _checksum(tensor) != checksums[name]:
            raise ValueError(f"{path}: corrupt checkpoint: tensor {name!r} does not match its checksum "
                             f"(CRC-32 {_checksum(tensor)}, recorded {checksums[name]!r})")


def _restore_optimizer(data, tensors: dict, network: torch.nn.Module, path: Path) -> torch.optim.Optimizer:
    try:
        if not isinstance(data, dict):
            raise ValueError(f"expected an object with a 'class', got {data!r}")
        kind = optimizer_class(data.get("class"))
        groups = data["param_groups"]
        parameters = dict(network.named_parameters())
        for key, value in tensors.items():
            name = key.split("/")[1] if key.startswith("optim/") else None
            if name is not None and (name not in parameters or value.shape != parameters[name].shape
                                     or not value.is_floating_point() or not torch.isfinite(value).all()):
                raise ValueError(f"{key!r} must be a finite float tensor of the shape of a parameter, got "
                                 f"{value.dtype} {tuple(value.shape)}")
        if len(groups) != 1:
            raise ValueError(f"expected one parameter group, got {len(groups)}")
        optimizer = kind(list(parameters.values()), lr=groups[0]["lr"])
        optimizer.param_groups[0].update(groups[0])  # every hyper-parameter, as saved
        for name, p in parameters.items():
            state = {k.split("/", 2)[2]: v.to(p.device) for k, v in tensors.items() if k.startswith(f"optim/{name}/")}
            for key, value in data["scalars"].get(name, {}).items():
                state[key] = torch.tensor(value)  # Adam keeps its step as a CPU tensor
            if state:
                optimizer.state[p] = state
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
        raise ValueError(f"{path}: invalid optimizer state: {error}") from None
    return optimizer
