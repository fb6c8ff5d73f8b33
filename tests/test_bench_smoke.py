"""Every benchmark in bench/ runs end to end at its smallest size, so none can rot.

No timing is asserted (speed is measured by `make bench`, never by tests); what is checked is
that each benchmark completes its own correctness checks and reports its figures.
"""

from __future__ import annotations

import pytest

from bench.__main__ import BENCHMARKS, table


@pytest.mark.parametrize("name", list(BENCHMARKS))
def test_benchmark_runs_at_minimal_size(name: str) -> None:
    rows = BENCHMARKS[name].run(quick=True)
    assert rows and all(row.bench and row.metric and row.value for row in rows)
    assert all(row.met is not None for row in rows if row.goal)
    assert table(rows).count("\n") == len(rows) + 1
