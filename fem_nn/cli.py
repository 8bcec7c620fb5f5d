"""The ``fem-nn`` command line: ``demo`` and ``bench NAME``."""

from __future__ import annotations

import argparse
import json
import sys

from . import __version__


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(levels=args.levels, epochs=args.epochs)
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
