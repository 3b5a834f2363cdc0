"""`python -m bench [--only N ...]`: runs the figures, prints one markdown table, saves the JSON."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from bench import common, report


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--only",
        type=int,
        action="append",
        choices=range(1, 7),
        metavar="N",
        help="run only figure N (repeatable); the other figures keep their last saved results",
    )
    return parser


def _run(number: str, figures: dict[str, Any]) -> dict[str, Any]:
    from bench import calls, click_latency, cold_start, cost, end_to_end, hot_link

    if number == "1":
        return calls.run()
    if number == "2":
        return click_latency.run()
    if number == "3":
        return cold_start.run()
    if number == "4":
        return end_to_end.run()
    if number == "6":
        return hot_link.run()
    missing = [n for n in ("1", "2", "4") if n not in figures]
    if missing:
        raise SystemExit(f"figure 5 prices figures 1, 2 and 4: run {', '.join(missing)} first (make bench)")
    return cost.run(figures["1"], figures["2"], figures["4"])


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    common.prepare()
    selected = [str(n) for n in sorted(set(args.only))] if args.only else ["1", "2", "3", "4", "5", "6"]
    if {"1", "2", "4"} & set(selected) and "5" not in selected:
        selected.append("5")  # it prices their results: never leave it stale (and it is instant)
    figures = report.load() if args.only else {}
    started = time.monotonic()
    for number in selected:
        common.progress(f"figure {number}…")
        figure_started = time.monotonic()
        figures[number] = _run(number, figures)
        figures[number]["elapsed_s"] = round(time.monotonic() - figure_started, 1)
        common.progress(f"figure {number}: {figures[number]['elapsed_s']:.0f} s")
    report.save(figures)
    sys.stdout.write(report.markdown({n: figures[n] for n in sorted(figures)}))
    common.progress(
        f"{time.monotonic() - started:.0f} s in all; JSON in {report.RESULTS.relative_to(common.REPO)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
