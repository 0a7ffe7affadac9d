"""Shared test set-up: a non-interactive matplotlib backend for the unit tests.

Notebook kernels started by nbval are separate processes and keep their inline backend.
"""

import matplotlib

matplotlib.use("Agg")


# --- Notebook run times ----------------------------------------------------------------------
# Printed at the end of the test run: the nbval execution of each lesson (sum of its cells'
# setup/call/teardown, kernel start included) and the two executions of the determinism test
# (tests/test_notebooks.py). Reported, never asserted: a test must not fail on a slow machine.

import collections
import pathlib

import pytest

_run_seconds: dict[str, tuple[float, float]] = {}  # lesson -> (run 1, run 2)


@pytest.fixture(scope="session")
def notebook_times():
    """Dict the notebook tests fill with ``name -> (seconds, seconds)`` for the summary."""
    return _run_seconds


def _nbval_seconds(terminalreporter) -> dict[str, float]:
    """Seconds per notebook executed by nbval: the sum of its cells' setup, call and teardown.

    Read from the terminal reporter's records, because a hook in this conftest is not called
    for items outside ``tests/``.
    """
    seconds: dict[str, float] = collections.defaultdict(float)
    for reports in terminalreporter.stats.values():
        for report in reports:
            path = getattr(report, "nodeid", "").split("::", 1)[0]
            if path.endswith(".ipynb") and hasattr(report, "duration"):
                seconds[pathlib.Path(path).stem] += report.duration
    return seconds


def pytest_terminal_summary(terminalreporter):
    nbval = _nbval_seconds(terminalreporter)
    names = sorted(set(nbval) | set(_run_seconds))
    if not names:
        return
    terminalreporter.section("notebook run times (fresh kernel, seconds)")
    terminalreporter.write_line(f"{'notebook':34s} {'nbval':>7s} {'run 1':>7s} {'run 2':>7s}")
    totals = [0.0, 0.0, 0.0]
    for name in names:
        row = [nbval.get(name), *_run_seconds.get(name, (None, None))]
        cells = []
        for i, value in enumerate(row):
            cells.append(f"{value:7.1f}" if value is not None else f"{'-':>7s}")
            totals[i] += value or 0.0
        terminalreporter.write_line(f"{name:34s} " + " ".join(cells))
    terminalreporter.write_line(f"{'total':34s} " + " ".join(f"{t:7.1f}" for t in totals))
