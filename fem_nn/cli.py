"""The ``fem-nn`` command line: ``demo``, ``train SCHEDULE`` and ``bench NAME``."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from . import __version__


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(levels=args.levels, epochs=args.epochs)
    return 0


def _train(args: argparse.Namespace) -> int:
    from .distributed import initialize
    from .schedule import load_schedule
    from .training import run_schedule

    schedule = load_schedule(args.schedule)  # validated before any training
    if args.task is not None:
        schedule = dataclasses.replace(schedule, task=args.task)
    initialize()
    print(json.dumps(run_schedule(schedule, args.out, progress=not args.quiet)["final"]))
    return 0


def _bench(args: argparse.Namespace) -> int:
    from .bench import BENCHMARKS

    figures = BENCHMARKS[args.name].run(args)
    if args.json:
        print(json.dumps(figures))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .bench import BENCHMARKS

    parser = argparse.ArgumentParser(prog="fem-nn", description=__doc__)
    parser.add_argument("--version", action="version", version=f"fem_nn {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo", help="project a weight field across refinements; train on digits and re-manifest the network"
    )
    demo.add_argument("--levels", type=int, default=2, help="refinement / elevation levels (default 2)")
    demo.add_argument("--epochs", type=int, default=100, help="training epochs on digits (default 100)")
    demo.set_defaults(handler=_demo)

    train = commands.add_parser(
        "train", help="run a schedule file (TOML or JSON) on a bundled task; write metrics, checkpoint and curve"
    )
    train.add_argument("schedule", help="schedule file (.toml or .json), or a bundled schedule's name: "
                       "progressive, burgers, mgopt")
    train.add_argument("--task", choices=["digits", "burgers"], help="override the schedule's task")
    train.add_argument("--out", default="fem-nn-train", help="output folder (default ./fem-nn-train)")
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.set_defaults(handler=_train)

    bench = commands.add_parser("bench", help="run a benchmark")
    benches = bench.add_subparsers(dest="name", required=True, metavar="NAME")
    for name, module in BENCHMARKS.items():
        sub = benches.add_parser(name, help=module.__doc__.splitlines()[0])
        sub.add_argument("--json", action="store_true", help="print the figures as one JSON object on the last line")
        module.add_arguments(sub)
        sub.set_defaults(handler=_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (ValueError, TypeError, OSError) as error:
        print(f"fem-nn {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
