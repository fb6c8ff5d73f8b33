"""Run the benchmarks, print the table, write bench/RESULTS.md.

    .venv/bin/python -m bench                 # all but the optional ones (about 5 minutes)
    .venv/bin/python -m bench local_llm       # optional: needs the local-llm extra
    .venv/bin/python -m bench latency load    # some of them
    .venv/bin/python -m bench --quick         # minimal sizes, a smoke run; writes nothing

Timing is measured on whatever else the machine is doing: the load average is recorded.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from collections.abc import Callable
from types import ModuleType

from bench import (
    cold_start,
    forwarding,
    latency,
    load,
    local_llm,
    observe,
    overhead,
    run_log,
    throughput,
)
from bench.common import ROOT, Row, machine

BENCHMARKS: dict[str, ModuleType] = {
    "forwarding": forwarding,
    "latency": latency,
    "load": load,
    "overhead": overhead,
    "cold_start": cold_start,
    "throughput": throughput,
    "run_log": run_log,
    "observe": observe,
    "local_llm": local_llm,
}
# Run only when named (`make bench-local-llm`): they need an optional extra, and asked for
# without it they fail rather than skip.
OPTIONAL = frozenset({"local_llm"})
DEFAULT = [name for name in BENCHMARKS if name not in OPTIONAL]
RESULTS = ROOT / "bench" / "RESULTS.md"


def table(rows: list[Row]) -> str:
    header = ["benchmark", "measure", "value", "goal", ""]
    body = [[r.bench, r.metric, r.value, r.goal, r.verdict] for r in rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), rule, *(line(cells) for cells in body)])


def run_all(names: list[str], quick: bool, say: Callable[[str], None]) -> tuple[list[Row], str]:
    rows: list[Row] = []
    timings = []
    for name in names:
        say(f"… {name}")
        load_before = os.getloadavg()[0]
        started = time.monotonic()
        rows += BENCHMARKS[name].run(quick=quick)
        timings.append(
            f"{name} {time.monotonic() - started:.0f} s (load {load_before:.1f}"
            f" → {os.getloadavg()[0]:.1f})"
        )
    return rows, "; ".join(timings)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", choices=[*BENCHMARKS, []], metavar="NAME")
    parser.add_argument("--quick", action="store_true", help="minimal sizes; no RESULTS.md")
    args = parser.parse_args(argv)
    names = args.names or DEFAULT
    rows, timings = run_all(names, args.quick, lambda s: print(s, file=sys.stderr, flush=True))
    text = table(rows)
    print(text)
    if not args.quick:
        # An optional benchmark run alone keeps its own file: RESULTS.md is the default set.
        optional = set(names) <= OPTIONAL
        results = ROOT / "bench" / f"RESULTS-{'-'.join(names)}.md" if optional else RESULTS
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
        results.write_text(
            f"# Benchmark results\n\n"
            f"- date: {now}\n- machine: {machine()}\n"
            f"- command: `{' '.join(['.venv/bin/python -m bench', *argv])}`\n"
            f"- wall time and load average per benchmark: {timings}\n\n"
            f"{text}\n\nWhat the figures mean, and what stands in the way of the missed goals:"
            f" bench/README.md.\n"
        )
        print(f"\nwritten to {results.relative_to(ROOT)}", file=sys.stderr)
    return 0  # a missed goal is a finding in the table, not a crash


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
