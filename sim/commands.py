"""What each CLI command does, kept apart from argument parsing."""
from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

from .errors import UserError

#: The scenario ``run`` reads without one (relative to the working directory).
DEFAULT_SCENARIO = Path("scenarios/default.yaml")

#: Exact enumeration costs about n_per_arm squared per design (2000 per arm takes about a minute).
MAX_EXACT_N = 2000
#: Values one ``exact`` option may expand to, and designs in the whole grid.
MAX_OPTION_VALUES = 10_000
MAX_GRID_DESIGNS = 1_000_000
#: Exact unconditional tests maximise over the common DCR: about 0.5 s at 100 per arm, 4 s at 200 (n^4).
UNCONDITIONAL_TESTS = ("boschloo", "barnard")
MAX_UNCONDITIONAL_N = 200


#: The cap on replicates when --target-mcse is given without --replicates.
TARGET_CAP = 100_000


def _target(args):
    """--target-mcse/--target-metric as a Target (None without them); --replicates becomes the cap."""
    if args.target_mcse is None:
        return None
    from .engine.run import Target

    if not (math.isfinite(args.target_mcse) and 0 < args.target_mcse < 1e6):
        raise UserError(f"--target-mcse {args.target_mcse}: must be a positive number")
    if args.replicates is None:
        args.replicates = TARGET_CAP
    return Target(args.target_mcse, args.target_metric)


def run_command(args) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from .engine.faults import deferred_interrupts, folder_faults
    from .engine.lock import hold
    from .engine.run import default_out_dir, run
    from .inputs import resolve
    from .report.console import print_summary
    from .report.html import run_report

    target = _target(args)
    if args.scheduler is not None and args.backend is None:
        args.backend = "dask"
    options = {field: value for field, value in (
        ("replicates", args.replicates), ("seed", args.seed), ("workers", args.workers), ("backend", args.backend),
        ("scheduler", args.scheduler)) if value is not None}
    source = args.scenario
    if args.resume is not None:
        if args.out is not None and Path(args.out) != args.resume:
            raise UserError("--resume continues in its own folder; drop --out")
        if not args.resume.is_dir():
            raise UserError(f"--resume {args.resume}: no such run folder")
        if source is None:  # the run's own scenario, as it resolved it (its source copy stays)
            source = args.resume / "scenario.resolved.yaml"
            if not source.exists():
                raise UserError(f"--resume {args.resume}: no scenario.resolved.yaml there; it is not a run folder")
    source = source or DEFAULT_SCENARIO
    resolved = resolve(source, list(args.overrides) + [f"monte_carlo.{k}={json.dumps(v)}" for k, v in options.items()])
    for o, assignment in zip(resolved.overrides[len(args.overrides):], options):  # say which option set it
        o["origin"] = f"--{assignment}"
    scenario = resolved.scenario
    if args.resume is not None and args.scenario is None:
        resolved.source_text = None  # the run's own scenario.source.yaml stays as it was written
    out = args.resume if args.resume is not None else (args.out or default_out_dir(scenario))
    _results_folder(out)
    with hold(out), folder_faults(out), deferred_interrupts() as stop:
        # Under the folder's lock from here on: nothing is written before it is held.
        if args.resume is not None:
            from .engine.checkpoint import check_resume

            check_resume(scenario, out)  # before anything starts
        elif any(p.name != ".lock" for p in out.iterdir()):
            raise UserError(f"--out {out}: folder is not empty; choose a new folder so that runs do not mix "
                            f"(or --resume {out} to continue it)")
        console = Console(stderr=True)
        mc = scenario.monte_carlo
        if target is None:
            console.print(f"running {scenario.name}: {mc.replicates} replicates, seed {mc.seed}, {mc.workers} worker(s) -> {out}")
        else:
            console.print(f"running {scenario.name} until the MCSE of {target.metric} is at most {target.mcse:g} "
                          f"(at most {mc.replicates} replicates), seed {mc.seed}, {mc.workers} worker(s) -> {out}")
        # SIGTERM (a batch scheduler's stop) or Ctrl-C while chunks run ends the run: finished chunks are kept
        # and summarized. While the summary and the report are written, the first signal waits for them.
        with Progress(TextColumn("replicates"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      TextColumn("ETA"), TimeRemainingColumn(), console=console, disable=args.quiet) as bar:
            task = bar.add_task("run", total=mc.replicates)
            resumed = args.resume is not None
            result = run(resolved, out, progress=lambda n: bar.advance(task, n), target=target, resume=resumed)
        run_report(out, result.summary)
    print_summary(result.summary)
    Console(stderr=True).print(f"results written to {out}/ (report.html, summary.json, replicates.parquet, analyses.parquet, scenario.resolved.yaml)")
    if stop.received and not result.summary["interrupted"]:
        Console(stderr=True).print(f"stopped by {stop.received} after the summary and report were written")
    return 130 if result.summary["interrupted"] or stop.received else 0


def _results_folder(out: Path) -> None:
    """Create the results folder (a clear message when it cannot be: a file in the way, no permission)."""
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"--out {out}: cannot create the results folder ({e.strerror or e})") from None


def compare_command(args) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .engine.compare import compare, default_out
    from .engine.faults import deferred_interrupts, folder_faults
    from .engine.lock import hold
    from .report.console import print_comparison
    from .report.html import compare_report

    target = _target(args)
    if args.scheduler is not None and args.backend is None:
        args.backend = "dask"
    mc = {k: v for k, v in (("replicates", args.replicates), ("seed", args.seed), ("workers", args.workers),
                            ("backend", args.backend), ("scheduler", args.scheduler)) if v is not None}
    if args.resume is not None:
        if args.out is not None and Path(args.out) != args.resume:
            raise UserError("--resume continues in its own folder; drop --out")
        if not args.resume.is_dir():
            raise UserError(f"--resume {args.resume}: no such comparison folder")
    elif args.grid is None:
        raise UserError("compare: name a grid file (or --resume DIR to continue a comparison)")
    out = args.resume or args.out or default_out(args.grid)
    _results_folder(out)
    console = Console(stderr=True)
    with hold(out, "comparison"), folder_faults(out), deferred_interrupts() as stop:
        with Progress(TextColumn("replicates (all simulations)"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console, disable=args.quiet) as bar:
            task = bar.add_task("compare", total=None)
            result = compare(args.grid, out, progress=lambda n: bar.advance(task, n), target=target,
                             monte_carlo=mc, resume=args.resume is not None)
        compare_report(result)
    print_comparison(result)
    console.print(f"results written to {result.out}/ (report.html, compare.parquet, differences.parquet, compare.json, cells/)")
    return 130 if any(r.summary["interrupted"] for r in result.runs) or stop.received else 0


def _expand(values: list[str], kind, option: str) -> list:
    """'20 25', '20,25' and ranges 'lo:hi[:step]' (inclusive) all give lists."""
    out = []
    for item in values:
        for part in item.split(","):
            part = part.strip()
            if not part:
                continue
            try:
                if ":" in part:
                    bits = part.split(":")
                    if len(bits) not in (2, 3):
                        raise ValueError
                    lo, hi = kind(bits[0]), kind(bits[1])
                    step = kind(bits[2]) if len(bits) == 3 else kind(1) if kind is int else None
                    if step is None:
                        raise UserError(f"{option} {part}: a range of decimals needs a step, e.g. 0.30:0.45:0.05")
                    if not all(math.isfinite(v) for v in (lo, hi, step)):
                        raise ValueError
                    if not (step > 0 and lo <= hi):
                        raise UserError(f"{option} {part}: a range lo:hi:step needs lo <= hi and a step above 0")
                    n = int(math.floor((hi - lo) / step + 1e-9)) + 1
                    if n > MAX_OPTION_VALUES:
                        raise UserError(f"{option} {part}: {n} values; at most {MAX_OPTION_VALUES} per option")
                    out.extend(kind(round(lo + i * step, 12)) for i in range(n))
                else:
                    out.append(kind(part))
            except ValueError:
                what = "whole numbers" if kind is int else "numbers"
                raise UserError(f"{option} {part!r}: expected {what}, a list, or a range lo:hi[:step]") from None
    if not out:
        raise UserError(f"{option}: no values given")
    return out


def _bayes_options(args, tests: list[str]):
    """--threshold values (None: 1 - alpha) and the --prior pair, both only for bayes."""
    if "bayes" not in tests:
        for option, value in (("--threshold", args.threshold), ("--prior", args.prior)):
            if value is not None:
                raise UserError(f"{option}: applies only to --test bayes")
        return None, None
    thresholds = None
    if args.threshold is not None:
        thresholds = _expand(args.threshold, float, "--threshold")
        for v in thresholds:
            if not 0.0 < v < 1.0:
                raise UserError(f"--threshold {v}: a posterior probability threshold must be between 0 and 1 (exclusive)")
    prior = None
    if args.prior is not None:
        values = []
        for text in args.prior:
            try:
                v = float(text)
            except ValueError:
                raise UserError(f"--prior {text!r}: expected a number") from None
            if not (math.isfinite(v) and v > 0):
                raise UserError(f"--prior {text}: beta prior parameters must be numbers above 0")
            values.append(v)
        prior = (tuple(values), tuple(values))
    return thresholds, prior


def _exact_power_table(n, pc, pr, tests, alphas, sided, thresholds, prior):
    """exact_grid rows in its nested order, bayes rows at alpha = 1 - threshold."""
    import numpy as np
    import pandas as pd

    from .stats.exact import exact_grid

    frames, keys = [], []
    for rank, test in enumerate(tests):
        test_alphas = [1.0 - t for t in thresholds] if test == "bayes" and thresholds is not None else alphas
        frame = exact_grid(n, pc, pr, tests=(test,), alphas=test_alphas, sided=sided, prior=prior)
        # Row order is (n, p_control, p_rechallenge) outermost: interleave tests within each.
        block = np.arange(len(frame)) // (len(sided) * len(test_alphas))
        frames.append(frame)
        keys.append(np.column_stack([block, np.full(len(frame), rank)]))
    grid = pd.concat(frames, ignore_index=True)
    key = np.concatenate(keys)
    grid = grid.iloc[np.lexsort((key[:, 1], key[:, 0]))].reset_index(drop=True)
    if "bayes" in tests:
        bayes = grid["test"] == "bayes"
        a, b = prior[0] if prior is not None else (1.0, 1.0)
        grid.insert(grid.columns.get_loc("alpha") + 1, "threshold", np.where(bayes, (1.0 - grid["alpha"]).round(12), np.nan))
        grid.insert(grid.columns.get_loc("threshold") + 1, "prior", np.where(bayes, f"beta({a:g},{b:g})", ""))
    return grid


def exact_command(args) -> int:
    from .stats.binary import TESTS
    from .stats.exact import exact_grid  # noqa: F401  (imported before the timing starts)

    n = _expand(args.n_per_arm, int, "--n-per-arm")
    pc = _expand(args.p_control, float, "--p-control")
    pr = _expand(args.p_rechallenge, float, "--p-rechallenge")
    alphas = _expand(args.alpha, float, "--alpha")
    tests = [t.strip() for item in args.test for t in item.split(",") if t.strip()]
    sided = [t.strip() for item in args.sided for t in item.split(",") if t.strip()]
    for opt, vals in (("--test", tests), ("--sided", sided)):
        if not vals:
            raise UserError(f"{opt}: no values given")
    for v in n:
        if v < 1:
            raise UserError(f"--n-per-arm {v}: must be at least 1")
        if v > MAX_EXACT_N:
            raise UserError(f"--n-per-arm {v}: at most {MAX_EXACT_N} per arm (exact enumeration grows as n squared)")
    for opt, vals in (("--p-control", pc), ("--p-rechallenge", pr)):
        for v in vals:
            if not 0.0 <= v <= 1.0:
                raise UserError(f"{opt} {v}: a probability must be between 0 and 1")
    for v in alphas:
        if not 0.0 < v < 1.0:
            raise UserError(f"--alpha {v}: must be between 0 and 1 (exclusive)")
    for t in tests:
        if t not in TESTS:
            raise UserError(f"--test {t}: unknown test; allowed: {', '.join(TESTS)}")
    for t in tests:
        if t in UNCONDITIONAL_TESTS and max(n) > MAX_UNCONDITIONAL_N:
            raise UserError(f"--n-per-arm {max(n)}: at most {MAX_UNCONDITIONAL_N} per arm for --test {t} "
                            "(its p-values maximise over the common DCR; time grows as n to the fourth)")
    for s in sided:
        if s not in ("one", "two"):
            raise UserError(f"--sided {s}: allowed: one, two")
    target = args.target_power
    if target is not None and not (math.isfinite(target) and 0.0 < target < 1.0):
        raise UserError(f"--target-power {target}: a power must be between 0 and 1 (exclusive)")
    if args.plot is not None and target is None:
        raise UserError("--plot: needs --target-power (the plot shows power against n with the target)")
    if target is not None and len(n) < 2:
        raise UserError("--target-power: give a range of --n-per-arm, e.g. 15:100")
    thresholds, prior = _bayes_options(args, tests)
    levels = sum(len(thresholds) if t == "bayes" and thresholds is not None else len(alphas) for t in tests)
    designs = math.prod(map(len, (n, pc, pr, sided))) * levels
    if designs > MAX_GRID_DESIGNS:
        raise UserError(f"the grid has {designs} designs; at most {MAX_GRID_DESIGNS}: narrow the ranges")
    t0 = time.perf_counter()
    grid = _exact_power_table(n, pc, pr, tests, alphas, sided, thresholds, prior)
    elapsed = time.perf_counter() - t0
    if args.format == "csv":
        sys.stdout.write(grid.to_csv(index=False, float_format="%.10g"))
    else:
        # Plain aligned text: a grid can have thousands of rows, and it reads (and greps) as it is.
        print(f"Exact power by full enumeration: {len(grid)} designs in {elapsed * 1000:.0f} ms")
        formatters = {"power": "{:.6f}".format}
        if "bayes" in tests:
            print("bayes rejects when P(p_rechallenge > p_control | data) > threshold (two-sided: either "
                  "direction); its alpha is 1 - threshold; beta(a,b) is the prior on each arm's DCR")
            formatters["threshold"] = "{:g}".format
        print(grid.to_string(index=False, formatters=formatters, na_rep=""))
    if target is not None:
        from .stats.exact import sample_size

        summary = sample_size(grid.drop(columns=[c for c in ("threshold", "prior") if c in grid]), target)
        if args.format == "csv":
            sys.stdout.write("\n" + summary.to_csv(index=False))
        else:
            print(f"\nSample size for power >= {target:g} over n per arm {min(n)}..{max(n)}: first_n reaches it; "
                  f"stable_n is the smallest n from which every larger n in the range does")
            print(summary.drop(columns=["dips"]).to_string(index=False, na_rep="none in range"))
            for _, row in summary.iterrows():
                if row["dips"]:
                    print(f"power below a smaller n's ({row['test']}, {row['sided']}-sided {row['alpha']:g}, "
                          f"{row['p_control']:g} vs {row['p_rechallenge']:g}): {row['dips']}")
        if args.plot is not None:
            from .report.plots import sample_size_sawtooth

            try:
                paths = sample_size_sawtooth(grid, summary, target, args.plot)
            except OSError as e:
                raise UserError(f"--plot {args.plot}: cannot write the plot ({e.strerror or e})") from None
            print("plot written to " + ", ".join(map(str, paths)), file=sys.stderr)
    return 0


def schema_command(args) -> int:
    from .scenario.schema import Scenario

    text = json.dumps(Scenario.model_json_schema(), indent=2) + "\n"
    if args.out:
        try:
            Path(args.out).write_text(text)
        except OSError as e:
            raise UserError(f"--out {args.out}: cannot write the schema ({e.strerror or e})") from None
    else:
        sys.stdout.write(text)
    return 0
