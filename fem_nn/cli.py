"""The ``fem-nn`` command line.

Commands: ``demo``, ``train SCHEDULE``, ``bench NAME``, ``mesh`` (create, inspect, refine,
coarsen, elevate, lower, convert mesh files), ``project`` (a saved field onto another mesh),
``plot`` and ``export`` (ParaView). Every output file is written atomically, and an existing
one is only replaced with ``--force``. A ``train`` folder holds one run (see
:mod:`fem_nn.run_folder`): ``--force`` replaces it, ``--resume DIR`` continues it from its last
checkpoint. ``demo`` and ``train`` run torch and numba on ``OMP_NUM_THREADS`` threads, or on
one when it is not set. Operations larger than ``FEM_NN_MAX_BYTES`` are refused before they
start (:mod:`fem_nn.limits`).

Exit codes: 0 success; 2 bad arguments or input files (the message names what was wrong and
nothing was written); 3 an optional dependency is missing (matplotlib for ``plot``); 130
interrupted.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from pathlib import Path

from . import __version__

EXIT_OK, EXIT_BAD_INPUT, EXIT_MISSING_EXTRA, EXIT_INTERRUPTED = 0, 2, 3, 130
DEFAULT_RUN_FOLDER = "fem-nn-train"
PARAMETER_HELP = "with a checkpoint: the network's field to take (default weight; weight1 for a two-layer network)"


class CommandError(ValueError):
    """A bad argument found by a command before it does any work."""


# --- arguments shared by the commands ------------------------------------------------------


def _output(path: str, force: bool, name: str = "OUT") -> Path:
    """An output path whose folder exists and which is new, or replaced only with --force."""
    path = Path(path)
    if not path.parent.is_dir():
        raise CommandError(f"{name}: folder {path.parent} does not exist")
    if path.is_dir():
        raise CommandError(f"{name}: {path} is a folder; give a file name")
    if (path.exists() or path.is_symlink()) and not force:  # a dangling link is there too
        raise CommandError(f"{name}: {path} exists; pass --force to replace it")
    return path


def _mesh(text: str, name: str = "MESH"):
    """A mesh file, or the name of a bundled mesh."""
    return _described_mesh(text, name)[0]


def _described_mesh(text: str, name: str = "MESH"):
    """A mesh file or bundled mesh, and the description its file holds (or None)."""
    from importlib import resources

    from .io import bundled_meshes, load_mesh

    path = Path(text)
    if not path.is_file() and text in bundled_meshes():
        path = Path(str(resources.files("fem_nn.meshes") / f"{text}.json"))
    elif not path.is_file():
        raise CommandError(f"{name}: {text} is neither a mesh file nor a bundled mesh ({', '.join(bundled_meshes())})")
    mesh = load_mesh(path)  # validated, so the JSON below parses
    description = json.loads(path.read_text(encoding="utf-8")).get("description")
    return mesh, description


def _read(text: str, name: str):
    """What a file holds, as (kind, object): a mesh file or bundled mesh ("mesh", Mesh), a
    field file ("field", Field), a checkpoint ("network", ContinuumNetwork), or a training
    record: a ``fem-nn train`` folder, its history.json or metrics.jsonl ("history", list)."""
    from safetensors import SafetensorError, safe_open

    from .checkpoint import load_checkpoint
    from .continuum import ContinuumNetwork
    from .export import FORMAT as FIELD_FORMAT, load_field

    path = Path(text)
    if path.is_dir() and (path / "history.json").is_file():
        path = path / "history.json"
    if not path.is_file():
        return "mesh", _mesh(text, name)
    if path.suffix == ".jsonl":
        lines = _text(path, name, "JSON lines").splitlines()
        return "history", [_json(line, path, name, "JSON lines") for line in lines if line.strip()]
    if path.suffix == ".json":
        data = _json(_text(path, name, "JSON"), path, name, "JSON")
        if isinstance(data, dict) and isinstance(data.get("history"), list):
            return "history", data["history"]
        return "mesh", _mesh(text, name)
    try:
        with safe_open(path, framework="np") as handle:
            metadata = handle.metadata() or {}
    except (SafetensorError, OSError, UnicodeDecodeError) as error:
        raise CommandError(f"{name}: {path} is not a mesh, field, checkpoint or training file ({error})") from None
    if FIELD_FORMAT in metadata:
        return "field", load_field(path)
    if "fem_nn" in metadata:
        network = load_checkpoint(path)[0]
        if not isinstance(network, ContinuumNetwork):  # the commands read a continuum's meshes and fields
            raise CommandError(f"{name}: {path} holds a {type(network).__name__}, not a ContinuumNetwork")
        return "network", network
    raise CommandError(f"{name}: {path} is a safetensors file but neither a fem_nn field nor a checkpoint")


def _text(path: Path, name: str, kind: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise CommandError(f"{name}: {path} is not {kind} ({error})") from None


def _json(text: str, path: Path, name: str, kind: str):
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:  # RecursionError: nested too deeply to parse
        raise CommandError(f"{name}: {path} is not {kind} ({error})") from None


def _fields(text: str, name: str, parameter: str | None) -> "Field":
    """The field in a field file, or the parameter `parameter` of a checkpoint's network."""
    kind, value = _read(text, name)
    if kind == "field":
        if parameter is not None:
            raise CommandError(f"--parameter: {text} is a field file, which holds one field")
        return value
    if kind != "network":
        raise CommandError(f"{name}: {text} is a {kind}, not a field file or checkpoint")
    fields = value.fields()
    if parameter is None:  # the weight field: "weight", or a two-layer network's first, "weight1"
        parameter = next(n for n in fields if n.startswith("weight"))
    if parameter not in fields:
        raise CommandError(f"--parameter must be one of {sorted(fields)}, got {parameter!r}")
    return fields[parameter]


# --- commands ----------------------------------------------------------------------------


def _demo(args: argparse.Namespace) -> int:
    from ._threads import command_line_threads, steady_threads
    from .demo import run_demo

    with steady_threads(command_line_threads()):
        run_demo(levels=args.levels, epochs=args.epochs)
    return EXIT_OK


def _train(args: argparse.Namespace) -> int:
    from ._threads import command_line_threads, steady_threads
    from .distributed import initialize, rank_and_size
    from .schedule import load_schedule
    from .training import resume_schedule, run_schedule

    if args.resume is not None:
        given = [name for name, value in (("--out", args.out), ("--force", args.force), ("--task", args.task)) if value]
        if given:
            raise CommandError(f"{', '.join(given)}: not with --resume, which continues the run in DIR as it was started")
    elif args.schedule is None:
        raise CommandError("SCHEDULE: give a schedule file or a bundled schedule's name (or --resume DIR)")
    schedule = None if args.schedule is None else load_schedule(args.schedule)  # validated before any training
    if args.task is not None:  # a key of fem_nn.tasks.TASKS (checked by _task)
        schedule = dataclasses.replace(schedule, task=args.task)
    initialize()
    with steady_threads(command_line_threads()):
        if args.resume is not None:
            final = resume_schedule(args.resume, progress=not args.quiet, schedule=schedule)["final"]
        else:
            final = run_schedule(schedule, args.out or DEFAULT_RUN_FOLDER, progress=not args.quiet, replace=args.force)["final"]
    if rank_and_size()[0] == 0:
        print(json.dumps(final))
    return EXIT_OK


def _bench(args: argparse.Namespace) -> int:
    from .bench import BENCHMARKS

    figures = BENCHMARKS[args.name].run(args)
    if args.json:
        print(json.dumps(figures))
    return EXIT_OK


def _mesh_create(args: argparse.Namespace) -> int:
    from .mesh import DEPTH_INTERVAL, WIDTH_INTERVAL, Mesh, uniform_axis

    out = _mesh_output(args.out, args.force)
    width, depth = (args.width_cells, args.width_order, None), (args.depth_cells, args.depth_order, None)
    _check_mesh({"signal": [width], "bias": [width, depth], "weight": [width, width, depth]}[args.kind], out)
    width = uniform_axis(WIDTH_INTERVAL, args.width_cells, args.width_family, args.width_order)
    depth = uniform_axis(DEPTH_INTERVAL, args.depth_cells, args.depth_family, args.depth_order)
    axes = {"signal": (width,), "bias": (width, depth), "weight": (width, width, depth)}[args.kind]
    _write_mesh(Mesh(axes), out, args.description)
    return EXIT_OK


def _check_mesh(axes, out: Path) -> None:
    """Refuse, before it is made, a mesh of `axes` (``(cells, order, quadrature points or
    None)`` each) that exceeds the memory limit, or, for a mesh file, what load_mesh reads."""
    from . import limits
    from .io import MAX_CELLS, MAX_ORDER, MAX_QUADRATURE_POINTS

    limits.check_bytes(limits.mesh_bytes(axes), f"OUT: the mesh ({' × '.join(str(a[0]) for a in axes)} cells)")
    if out.suffix == ".json":
        for cells, order, points in axes:
            for value, most, what in ((cells, MAX_CELLS, "{} cells an axis"), (order, MAX_ORDER, "order {}"),
                                      (points, MAX_QUADRATURE_POINTS, "{} quadrature points a cell")):
                if value is not None and value > most:
                    raise CommandError(f"OUT: load_mesh reads mesh files of at most {what.format(most)}, got {value}")


def _write_mesh(mesh, out: Path, description: str | None) -> None:
    """A mesh file (.json) or, for a ParaView suffix, the mesh's cells for ParaView."""
    from .export import write_paraview_mesh
    from .io import save_mesh

    if out.suffix == ".json":
        save_mesh(out, mesh, description)
    else:
        write_paraview_mesh(out, mesh)
    print(f"mesh: {out}")


def _mesh_output(text: str, force: bool) -> Path:
    """OUT for a mesh: a new path (or `force`) whose suffix is .json or a ParaView format."""
    from .export import PARAVIEW_FORMATS

    out = _output(text, force)
    if out.suffix != ".json" and out.suffix.lower() not in PARAVIEW_FORMATS:
        raise CommandError(f"OUT: the suffix must be .json or one of {', '.join(PARAVIEW_FORMATS)}, got {out.name}")
    return out


def _mesh_inspect(args: argparse.Namespace) -> int:
    from .io import mesh_to_dict

    mesh = _mesh(args.mesh)
    if args.json:
        print(json.dumps({**mesh_to_dict(mesh), "shape": list(mesh.shape), "n_dofs": mesh.n_dofs}))
    else:
        print(mesh.summary())
    return EXIT_OK


def _mesh_change(args: argparse.Namespace) -> int:
    from .mesh import MESH_OPERATIONS

    mesh, description = _described_mesh(args.mesh)
    out = _mesh_output(args.out, args.force)
    operation = MESH_OPERATIONS[args.operation]
    size, cells = getattr(args, operation.size), getattr(args, "cells", None)
    _check_mesh(_changed_axes(mesh, args), out)
    changed = operation.apply(mesh, args.axis, size, cells)
    axes = "all axes" if args.axis is None else "axes " + ", ".join(map(str, args.axis))
    selected = "" if cells is None else ", cells " + " ".join(map(str, cells))
    note = f"{args.operation} --{operation.size} {size} ({axes}{selected})"
    _write_mesh(changed, out, note if description is None else f"{description} Then: {note}.")
    print(f"shape {mesh.shape} → {changed.shape}")
    return EXIT_OK


def _changed_axes(mesh, args: argparse.Namespace) -> list[tuple[int, int, int | None]]:
    """``(cells, order, quadrature points)`` of each axis of `mesh` after the operation of
    `args` (refine and elevate grow; --cells out of range are left to the mesh to refuse)."""
    selected = range(mesh.dim) if args.axis is None else {mesh.axis_index(a) for a in args.axis}
    axes = []
    for i, axis in enumerate(mesh.axes):
        cells, order, points = axis.n_cells, axis.max_order, axis.quadrature_points
        if i in selected and args.operation == "refine":
            cells += (axis.n_cells if args.cells is None else len(set(args.cells))) * (args.k - 1)
        elif i in selected and args.operation == "elevate":
            order += args.by
            points = max(points, order + 1)
        axes.append((cells, order, points))
    return axes


def _mesh_convert(args: argparse.Namespace) -> int:
    mesh, description = _described_mesh(args.mesh)
    _write_mesh(mesh, _mesh_output(args.out, args.force), args.description if args.description is not None else description)
    return EXIT_OK


def _project(args: argparse.Namespace) -> int:
    from .export import save_field
    from .field import l2_distance

    out = _output(args.out, args.force)
    if out.suffix.lower() != ".safetensors":
        raise CommandError(f"OUT: a field file ends in .safetensors, got {out.name} (fem-nn export writes ParaView files)")
    field = _fields(args.field, "FIELD", args.parameter)
    target = _mesh(args.mesh)
    field.mesh.check_same_box(target, "MESH")
    projected = field.project(target)
    save_field(out, projected)
    print(f"{'':12} {'dofs':>8} {'integral':>14} {'L2 norm':>14}")
    for label, f in (("source", field), ("projection", projected)):
        print(f"{label:12} {f.mesh.n_dofs:8d} {f.integrate():14.6e} {f.norm():14.6e}")
    print(f"L2 distance {l2_distance(field, projected):.3e}; field: {out}")
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    from .export import PARAVIEW_FORMATS, save_field, write_paraview

    out = _output(args.out, args.force)
    suffix = out.suffix.lower()
    if suffix not in (*PARAVIEW_FORMATS, ".safetensors"):
        raise CommandError(f"OUT: the suffix must be one of {', '.join([*PARAVIEW_FORMATS, '.safetensors'])}, got {out.name}")
    field = _fields(args.input, "INPUT", args.parameter)
    if suffix == ".safetensors":
        save_field(out, field)
    else:
        write_paraview(out, field, args.points_per_cell)
    print(f"field: {out}")
    return EXIT_OK


def _plot(args: argparse.Namespace) -> int:
    from . import limits, plotting

    out = _output(args.out, args.force)
    plotting.pyplot()  # headless, and a clear error now if matplotlib is missing
    from matplotlib.backend_bases import FigureCanvasBase

    formats = FigureCanvasBase.get_supported_filetypes()
    if out.suffix[1:].lower() not in formats:
        raise CommandError(f"OUT: the suffix must name an image format ({', '.join(sorted(formats))}), got {out.name}")
    kind, value = _read(args.input, "INPUT")
    for field in value.fields().values() if kind == "network" else [] if kind == "history" else [value]:
        mesh = field if kind == "mesh" else field.mesh
        limits.check_bytes(limits.plot_bytes(mesh, field=kind != "mesh"), f"OUT: the figure of the mesh {mesh.shape}")
    if kind == "mesh":
        figure = plotting.plot_mesh(value, path=out)
    elif kind == "history":
        figure = plotting.plot_training(value, path=out)
    elif kind == "network" or value.mesh.dim == 3:
        figure = plotting.plot_weight_slices(value, depth=args.depth, width_point=args.width_point, path=out)
    else:
        figure = plotting.plot_field(value, path=out)
    plotting.pyplot().close(figure)
    return EXIT_OK


# --- the parser --------------------------------------------------------------------------


def _axis(text: str) -> int | str:
    """An axis given by index (an integer) or by name."""
    return int(text) if text.lstrip("-").isdigit() else text


def _plain(text: str) -> str:
    """Docstring text for --help: the reST markup (``code``, :role:`~target`) removed and the
    lines of a paragraph joined."""
    text = re.sub(r":\w+:`~?([^`]*)`", r"\1", text).replace("``", "")
    return " ".join(text.split())


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _natural(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text}")
    return value


def _add_mesh_commands(commands) -> None:
    from .elements import Family
    from .mesh import MESH_OPERATIONS

    families = [f.value for f in Family]
    mesh = commands.add_parser("mesh", help="create, inspect, refine, coarsen, elevate, lower or convert mesh files")
    actions = mesh.add_subparsers(dest="action", required=True, metavar="ACTION")

    create = actions.add_parser("create", help="write a uniform weight, bias or signal mesh file")
    create.add_argument("out", metavar="OUT", help="the file to write: .json, .vtu or .xdmf")
    create.add_argument("--kind", choices=["weight", "bias", "signal"], default="weight",
                        help="weight: ξ × η × δ; bias: ξ × δ; signal: ξ (default weight)")
    create.add_argument("--width-cells", type=_positive, default=8, help="cells along ξ (and η) (default 8)")
    create.add_argument("--width-family", choices=families, default="lagrange", help="(default lagrange)")
    create.add_argument("--width-order", type=int, default=1, help="(default 1)")
    create.add_argument("--depth-cells", type=_positive, default=4, help="cells along δ (default 4)")
    create.add_argument("--depth-family", choices=families, default="p0", help="(default p0)")
    create.add_argument("--depth-order", type=int, default=0, help="(default 0)")
    create.add_argument("--description", help="a note stored in the file")
    create.add_argument("--force", action="store_true", help="replace OUT if it exists")
    create.set_defaults(handler=_mesh_create)

    inspect = actions.add_parser("inspect", help="print a mesh's axes, orders, quadrature and dofs")
    inspect.add_argument("mesh", metavar="MESH", help="a mesh file or a bundled mesh's name")
    inspect.add_argument("--json", action="store_true", help="print the mesh as one JSON object")
    inspect.set_defaults(handler=_mesh_inspect)

    for name, operation in MESH_OPERATIONS.items():
        change = actions.add_parser(name, help=operation.help)
        change.add_argument("mesh", metavar="MESH", help="a mesh file or a bundled mesh's name")
        change.add_argument("out", metavar="OUT", help="the file to write: .json, .vtu or .xdmf")
        change.add_argument("--axis", action="append", metavar="AXIS", type=_axis,
                            help="an axis to change, by name (xi, eta, delta) or index (0, 1, 2); repeat for more "
                                 "(default all)")
        change.add_argument(f"--{operation.size}", type=_positive, default=operation.default,
                            help=f"(default {operation.default})")
        if operation.cells:
            change.add_argument("--cells", type=int, nargs="+", metavar="I", help="the cells to change (default all)")
        change.add_argument("--force", action="store_true", help="replace OUT if it exists")
        change.set_defaults(handler=_mesh_change, operation=name)

    convert = actions.add_parser("convert", help="rewrite a mesh file as JSON or as ParaView cells (.vtu, .xdmf)")
    convert.add_argument("mesh", metavar="MESH", help="a mesh file or a bundled mesh's name")
    convert.add_argument("out", metavar="OUT", help="the file to write: .json, .vtu or .xdmf")
    convert.add_argument("--description", help="a note stored in a JSON file")
    convert.add_argument("--force", action="store_true", help="replace OUT if it exists")
    convert.set_defaults(handler=_mesh_convert)


def _add_field_commands(commands) -> None:
    project = commands.add_parser("project", help="L2-project a saved field onto another mesh; write the new field")
    project.add_argument("field", metavar="FIELD", help="a field file (.safetensors, from fem_nn.save_field) or a checkpoint")
    project.add_argument("mesh", metavar="MESH", help="the target mesh: a mesh file or a bundled mesh's name")
    project.add_argument("out", metavar="OUT", help="the field file to write (.safetensors)")
    project.add_argument("--parameter", help=PARAMETER_HELP)
    project.add_argument("--force", action="store_true", help="replace OUT if it exists")
    project.set_defaults(handler=_project)

    export = commands.add_parser("export", help="write a field (or a checkpoint's) for ParaView, or as a field file")
    export.add_argument("input", metavar="INPUT", help="a field file or a checkpoint")
    export.add_argument("out", metavar="OUT", help="the file to write: .vtu or .xdmf (ParaView), .safetensors (field)")
    export.add_argument("--parameter", help=PARAMETER_HELP)
    export.add_argument("--points-per-cell", type=int, metavar="N",
                        help="sample points per cell and axis, >= 2 (default: the order + 1)")
    export.add_argument("--force", action="store_true", help="replace OUT if it exists")
    export.set_defaults(handler=_export)

    plot = commands.add_parser("plot", help="plot a mesh, a field, a checkpoint's fields or a training run")
    plot.add_argument("input", metavar="INPUT", help="a mesh file or bundled mesh, a field file, a checkpoint, "
                      "or a fem-nn train folder (or its history.json / metrics.jsonl)")
    plot.add_argument("out", metavar="OUT", help="the figure to write (.png, .pdf, .svg)")
    plot.add_argument("--depth", type=float, default=0.5, help="δ of the weight slice (default 0.5)")
    plot.add_argument("--width-point", type=float, default=0.0, help="η of the slice along depth (default 0)")
    plot.add_argument("--force", action="store_true", help="replace OUT if it exists")
    plot.set_defaults(handler=_plot)


def _task(text: str) -> str:
    """A task's name: a key of :data:`fem_nn.tasks.TASKS` (imported only when --task is given)."""
    from .tasks import TASKS

    if text not in TASKS:
        raise argparse.ArgumentTypeError(f"must be one of {', '.join(TASKS)}, got {text!r}")
    return text


def build_parser(benchmarks: bool = True) -> argparse.ArgumentParser:
    """The ``fem-nn`` parser; without `benchmarks`, ``bench`` takes no NAME (its modules are
    not imported: :func:`main` builds them only for ``fem-nn bench``)."""
    parser = argparse.ArgumentParser(
        prog="fem-nn", description=_plain(__doc__.split("\n\n")[0]),
        epilog="Exit codes: 0 success; 2 bad arguments or input files, nothing written; "
               "3 an optional dependency missing; 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"fem_nn {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo", help="project a weight field across refinements; train on digits and re-manifest the network"
    )
    demo.add_argument("--levels", type=_natural, default=2, help="refinement / elevation levels, >= 0 (default 2)")
    demo.add_argument("--epochs", type=_positive, default=100, help="training epochs on digits (default 100)")
    demo.set_defaults(handler=_demo)

    train = commands.add_parser(
        "train", help="run a schedule file (TOML or JSON) on a bundled task; write metrics, checkpoint and curve"
    )
    train.add_argument("schedule", metavar="SCHEDULE", nargs="?",
                       help="schedule file (.toml or .json), or a bundled schedule's name: "
                            "progressive, burgers, mgopt, continuousnet")
    train.add_argument("--task", type=_task, help="override the schedule's task (a bundled task: "
                                                  "digits, burgers, waveforms, digits_images, shapes_images)")
    train.add_argument("--out", metavar="DIR", help=f"the run folder, new or empty (default ./{DEFAULT_RUN_FOLDER})")
    train.add_argument("--force", action="store_true", help="replace the run in --out (its files are removed first)")
    train.add_argument("--resume", metavar="DIR",
                       help="continue the interrupted run in DIR from its last checkpoint (SCHEDULE, if given, must be its own)")
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.set_defaults(handler=_train)

    bench = commands.add_parser("bench", help="run a benchmark")
    if benchmarks:
        _add_benchmarks(bench)
    _add_mesh_commands(commands)
    _add_field_commands(commands)
    return parser


def _add_benchmarks(bench) -> None:
    from .bench import BENCHMARKS

    benches = bench.add_subparsers(dest="name", required=True, metavar="NAME")
    for name, module in BENCHMARKS.items():
        sub = benches.add_parser(name, help=_plain(module.__doc__.split("\n\n")[0]))
        sub.add_argument("--json", action="store_true", help="print the figures as one JSON object on the last line")
        module.add_arguments(sub)
        sub.set_defaults(handler=_bench)


def main(argv: list[str] | None = None) -> int:
    """Run the ``fem-nn`` command line on `argv` (default ``sys.argv[1:]``); return the exit code.

    Examples
    --------
    >>> main(["mesh", "inspect", "default", "--json"]) == 0  # doctest: +ELLIPSIS
    {"fem_nn_mesh": 1, ...}
    True
    """
    words = sys.argv[1:] if argv is None else argv
    # the benchmarks (and what they import) only for fem-nn bench: --help stays light
    args = build_parser(benchmarks=next((w for w in words if not w.startswith("-")), None) == "bench").parse_args(argv)
    try:
        return args.handler(args)
    except (ValueError, TypeError, OSError) as error:
        print(f"fem-nn {args.command}: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ImportError as error:
        print(f"fem-nn {args.command}: error: {error}", file=sys.stderr)
        return EXIT_MISSING_EXTRA
    except KeyboardInterrupt:
        print(f"fem-nn {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
