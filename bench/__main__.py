"""``python -m bench [NAME ...]``: run the benchmarks and rewrite their docs sections.

Exit status: 0 when every benchmark ran and met its goal, 1 when any failed to
run or missed its goal (its section is still rewritten with the figures).
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from bench import (
    daily_summary,
    downtime,
    fanout,
    graphql_stations,
    mqtt_ingest,
    ongoing_issues,
    soak,
    station_list,
)
from bench.harness import DOCS_PATH, BenchmarkError, LoadSettings, Outcome

# The registry: add a benchmark module here. Each entry's run() measures its own
# baseline and rewrites only its own section of the docs.
Benchmark = Callable[[LoadSettings, Path | None], Outcome]
BENCHMARKS: dict[str, Benchmark] = {
    station_list.NAME: station_list.run,
    ongoing_issues.NAME: ongoing_issues.run,
    graphql_stations.NAME: graphql_stations.run,
    fanout.NAME: fanout.run,
    daily_summary.NAME: daily_summary.run,
    downtime.NAME: downtime.run,
    mqtt_ingest.NAME: mqtt_ingest.run,
    soak.NAME: soak.run,
}
# Run only when named: the soak takes half an hour.
BY_NAME_ONLY = {soak.NAME}


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    defaults = LoadSettings()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"benchmarks to run (default: all but {', '.join(BY_NAME_ONLY)}; known: {', '.join(BENCHMARKS)})",
    )
    # The knobs exist for quick trials; published figures use the defaults.
    parser.add_argument(
        "--rounds", type=int, default=defaults.rounds, help="rounds per server (default %(default)s)"
    )
    parser.add_argument(
        "--duration", type=int, default=defaults.duration_s, help="seconds per round (default %(default)s)"
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=defaults.warmup_s,
        help="warm-up seconds per server (default %(default)s)",
    )
    parser.add_argument(
        "--minutes", type=float, default=soak.MINUTES, help="soak: minutes of load (default %(default)s)"
    )
    parser.add_argument(
        "--docs", type=Path, default=DOCS_PATH, help="markdown file to update (default docs/benchmarks.md)"
    )
    parser.add_argument("--no-docs", action="store_true", help="measure and print, leave the docs alone")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    if args.rounds < 1 or args.duration < 1 or args.warmup < 0 or args.minutes <= 0:
        parser.error("--rounds and --duration must be at least 1, --warmup at least 0, --minutes above 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    load = LoadSettings(rounds=args.rounds, duration_s=args.duration, warmup_s=args.warmup)
    docs = None if args.no_docs else args.docs
    failures: list[str] = []
    # One failing benchmark does not stop the others: each is independent.
    for name in args.names or [name for name in BENCHMARKS if name not in BY_NAME_ONLY]:
        try:
            if name == soak.NAME:
                outcome = soak.run(load, docs, minutes=args.minutes)
            else:
                outcome = BENCHMARKS[name](load, docs)
        except BenchmarkError as exc:
            print(f"{name}: FAILED\n{exc}", file=sys.stderr, flush=True)
            failures.append(f"{name}: failed to run")
            continue
        except Exception:  # report any crash, keep going, still exit non-zero
            traceback.print_exc()
            failures.append(f"{name}: crashed")
            continue
        verdict = "met" if outcome.met else "MISSED"
        print(f"{name}: ratio {outcome.ratio:.3f}, goal >= {outcome.goal}: {verdict}", flush=True)
        if not outcome.met:
            # A benchmark may judge more than its ratio (the soak: errors too).
            below = outcome.ratio < outcome.goal
            failures.append(
                f"{name}: ratio {outcome.ratio:.3f} below goal {outcome.goal}"
                if below
                else f"{name}: missed a goal besides its ratio (see its section)"
            )
    if failures:
        print("bench: " + "; ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
