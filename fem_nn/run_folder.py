"""A training run's folder as a unit: one run's files, written under a lock.

A run folder holds one run's :data:`RUN_FILES` and the lock file ``.fem-nn.lock``. A run
holds the lock (an advisory ``flock``) for as long as it writes; the kernel drops the lock
when the process ends, however it ends, so a lock file left by a killed run is free again
(it only keeps the last holder's PID, for the message that names a live holder). A new run
refuses a folder that holds anything besides the lock file unless it is told to replace the
run there or to continue it:

- ``replace``: the old run's files (and temporary files its writes left) are removed first,
  under the lock, so the folder never holds files of two runs; files that are not a run's
  are left alone. Removing first, rather than building the new run in a sibling folder and
  swapping the two, keeps a killed run's folder where it was, resumable, and has no moment
  without a folder.
- ``resume``: the folder must hold a checkpoint; the leftovers of interrupted writes are
  removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

__all__ = ["RUN_FILES", "LOCK_FILE", "run_folder"]

RUN_FILES = ("metrics.jsonl", "checkpoint.safetensors", "history.json", "curve.png")
LOCK_FILE = ".fem-nn.lock"
MODES = ("new", "replace", "resume")


def _locked(path: Path) -> int:
    """A descriptor of the lock file `path` (created if needed) holding its flock, or
    ValueError naming the folder and the PID of the run that holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
        os.close(fd)
        raise ValueError(f"{path.parent} is in use by another run (PID {holder}, lock file {path.name})") from None
    return fd


def _not_empty(folder: Path) -> ValueError:
    return ValueError(f"{folder} exists and is not empty; pass --force to replace the run there or --resume to continue it")


def _leftovers(folder: Path) -> list[Path]:
    """The temporary files that interrupted atomic writes of run files left in `folder`."""
    return [p for name in RUN_FILES for p in folder.glob(f".{name}.*.tmp")]


@contextlib.contextmanager
def run_folder(path, mode: str = "new"):
    """Hold the run folder `path` for one run (a context manager yielding its Path).

    Parameters
    ----------
    path : str or Path
        The folder; created (with its parents) when missing, except to resume.
    mode : {"new", "replace", "resume"}
        ``new`` refuses a folder with anything in it but the lock file; ``replace`` removes
        the run files first; ``resume`` needs a checkpoint there.

    Raises
    ------
    ValueError
        Naming the folder: it is a file, not empty (mode new), has no checkpoint (resume),
        or another live run holds its lock (with that run's PID).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as parent:
    ...     with run_folder(f"{parent}/run") as folder:
    ...         _ = (folder / "history.json").write_text("{}")
    ...     with run_folder(f"{parent}/run", "replace") as folder:
    ...         sorted(p.name for p in folder.iterdir())
    ['.fem-nn.lock']
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder} is a file, not a run folder")
    if not folder.exists():
        if mode == "resume":
            raise ValueError(f"{folder} does not exist: nothing to resume")
        folder.mkdir(parents=True, exist_ok=True)
    lock = folder / LOCK_FILE
    if mode == "new" and not lock.exists() and any(folder.iterdir()):
        # checked before a lock file is made: a folder that is not a run's stays untouched
        raise _not_empty(folder)
    fd = _locked(lock)
    try:
        others = [p for p in folder.iterdir() if p.name != LOCK_FILE]
        if mode == "new" and others:
            raise _not_empty(folder)
        if mode == "resume" and not (folder / "checkpoint.safetensors").is_file():
            raise ValueError(f"{folder} holds no checkpoint.safetensors to resume from")
        removed = _leftovers(folder) + ([folder / name for name in RUN_FILES] if mode == "replace" else [])
        for file in removed:
            file.unlink(missing_ok=True)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield folder
    finally:
        os.close(fd)  # releases the flock; the file stays, so no second lock file can race it
