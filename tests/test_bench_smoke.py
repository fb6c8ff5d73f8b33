"""Every benchmark in bench/ runs end to end at its smallest size, so none can rot.

No timing is asserted (speed is measured by `make bench`, never by tests); what is checked is
that each benchmark completes its own correctness checks and reports its figures.

A quick run still goes one past the served default of every limit its full run goes past
(`bench.common.beyond_defaults`): messages and conversations on one connection (latency,
overhead), connections from one address (load). A limit a benchmark forgets to lift then
fails here, not in `make bench` (as the conversation cap once did, with 2 quick runs).
"""

from __future__ import annotations

import pytest

from bench.__main__ import BENCHMARKS, DEFAULT, OPTIONAL, table


@pytest.mark.parametrize(
    "name",
    [
        *DEFAULT,
        # The optional ones need their extra: `make test-local-llm` runs them (never a skip).
        *(pytest.param(name, marks=pytest.mark.local_llm) for name in sorted(OPTIONAL)),
    ],
)
def test_benchmark_runs_at_minimal_size(name: str) -> None:
    rows = BENCHMARKS[name].run(quick=True)
    assert rows and all(row.bench and row.metric and row.value for row in rows)
    assert all(row.met is not None for row in rows if row.goal)
    assert table(rows).count("\n") == len(rows) + 1
