"""Command line: ``rechallenge-sim run|exact|schema``; ``python run_simulation.py`` is ``run``.

User mistakes (bad scenario, bad option) print one clear message and exit with code 2;
no traceback reaches the user for them.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .commands import DEFAULT_SCENARIO
from .stats.binary_tests import REGISTRY as _TESTS
from .errors import UserError


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse exits 2 too; keep its usage line short and clear
        self.print_usage(sys.stderr)
        raise UserError(f"{self.prog}: {message}")


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"{v} must be at least 1")
    return v


def _seed(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"{v} must be 0 or more")
    return v


def _monte_carlo_options(p: argparse.ArgumentParser, default_out: str) -> None:
    """Options shared by run and compare: each overrides a monte_carlo field (of every cell, for compare)."""
    p.add_argument("--replicates", type=_positive_int,
                   help="override monte_carlo.replicates (the cap with --target-mcse, default 100000)")
    p.add_argument("--seed", type=_seed, help="override monte_carlo.seed")
    p.add_argument("--workers", type=_positive_int, help="override monte_carlo.workers (processes)")
    p.add_argument("--out", type=Path, help=f"results folder (default: {default_out})")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--backend", choices=["local", "dask"], help="where replicates run (override monte_carlo.backend)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="dask scheduler, e.g. tcp://host:8786 (implies --backend "
                   "dask; without it --backend dask starts a LocalCluster of --workers processes)")
    p.add_argument("--target-mcse", type=float, metavar="SE",
                   help="run replicates in batches until the MCSE of --target-metric is at most SE for every "
                        "design (per simulation for compare); --replicates is then the cap")
    p.add_argument("--target-metric", default="power", metavar="METRIC",
                   help="metric for --target-mcse (default power; e.g. power_pfs, n_screened, dcr_difference)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="rechallenge-sim", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    r = sub.add_parser("run", help="simulate a scenario and report power with its Monte Carlo error")
    r.add_argument("scenario", nargs="?", default=None,
                   help=f"scenario YAML (default: {DEFAULT_SCENARIO}; with --resume: the run's own resolved scenario)")
    r.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                   help="override a field, e.g. --set effects.rechallenge.dcr=0.6 (repeatable)")
    _monte_carlo_options(r, "results/<scenario>-<time>")
    r.add_argument("--resume", type=Path, metavar="DIR",
                   help="continue a run that was stopped or killed in DIR (same scenario, seed and version)")

    e = sub.add_parser("exact", help="exact power of a two-arm binary comparison by full enumeration")
    e.add_argument("--n-per-arm", nargs="+", required=True, metavar="N", help="patients per arm; lists and ranges like 20:40")
    e.add_argument("--p-control", nargs="+", required=True, metavar="P", help="control DCR; lists and ranges like 0.30:0.45:0.05")
    e.add_argument("--p-rechallenge", nargs="+", required=True, metavar="P", help="rechallenge DCR")
    e.add_argument("--test", nargs="+", default=["fisher"], metavar="TEST",
                   help="registered tests: " + ", ".join(_TESTS) + " (default fisher)")
    e.add_argument("--alpha", nargs="+", default=["0.025"], metavar="A",
                   help="significance level(s); for bayes without --threshold, threshold = 1 - alpha")
    e.add_argument("--sided", nargs="+", default=["one"], metavar="S", help="one or two")
    e.add_argument("--threshold", nargs="+", metavar="T",
                   help="bayes: reject when P(p_rechallenge > p_control | data) exceeds T, e.g. 0.975")
    e.add_argument("--prior", nargs=2, metavar=("A", "B"), help="bayes: Beta(A, B) prior on each arm's DCR (default 1 1)")
    e.add_argument("--format", choices=["table", "csv"], default="table")
    e.add_argument("--target-power", type=float, metavar="P",
                   help="also report, per design, the first n reaching power P and the n from which it stays >= P")
    e.add_argument("--plot", type=Path, metavar="FILE",
                   help="with --target-power: plot power against n (FILE.png and FILE.svg, or the suffix given)")

    c = sub.add_parser("compare", help="compare designs side by side under several scenarios (a grid file)")
    c.add_argument("grid", type=Path, nargs="?", default=None,
                   help="grid YAML file (see scenarios/grid_designs.yaml; with --resume: the grid the comparison "
                        "recorded)")
    _monte_carlo_options(c, "results/compare-<name>-<time>")
    c.add_argument("--resume", type=Path, metavar="DIR",
                   help="continue a comparison that was stopped or killed in DIR (same grid, seed and version)")

    s = sub.add_parser("schema", help="print the scenario JSON Schema")
    s.add_argument("--out", type=Path, help="write to this file instead of standard output")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("run", "exact", "compare", "schema", "-h", "--help"):
        argv = ["run", *argv]
    try:
        args = build_parser().parse_args(argv)
        if args.command == "exact":
            from .commands import exact_command
            return exact_command(args)
        if args.command == "compare":
            from .commands import compare_command
            return compare_command(args)
        if args.command == "schema":
            from .commands import schema_command
            return schema_command(args)
        from .commands import run_command
        return run_command(args)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        # A second Ctrl-C or SIGTERM while the summary or report was written (or one before any chunk ran):
        # the files being written were temporary and are gone; finished chunks stay for --resume.
        print("error: interrupted; the finished chunks are kept (continue with --resume)", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (e.g. `| head`) closed the pipe: stop quietly, like other command-line tools.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
