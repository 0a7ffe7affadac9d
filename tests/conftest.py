"""Shared test set-up: a non-interactive matplotlib backend for the unit tests.

Notebook kernels started by nbval are separate processes and keep their inline backend.
"""

import matplotlib

matplotlib.use("Agg")


# --- Notebook run times ----------------------------------------------------------------------
# Printed at the end of the test run: the nbval execution of each lesson (sum of its cells'
# setup/call/teardown, kernel start included) and the executions of the determinism test in
# tests/test_notebooks.py ("run 1" is "-" when nbval's execution served as the first run).
# Reported, never asserted: a test must not fail on a slow machine.

import collections
import pathlib

import pytest

_run_seconds: dict[str, tuple] = {}  # lesson -> (run 1 or None, run 2) of test_notebooks.py
_nbval_cells: dict[str, list] = collections.defaultdict(list)  # lesson -> its nbval items
# Tests of tests/test_notebooks.py that reuse nbval's execution of a lesson as their first run;
# they are moved behind the notebooks so that the nbval run has happened when they start.
_AFTER_NOTEBOOKS = ("test_lesson_is_deterministic", "test_lesson_prints_no_warnings")


def pytest_collection_modifyitems(session, config, items):
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        if path.endswith(".ipynb") and hasattr(item, "cell"):
            _nbval_cells[pathlib.Path(path).stem].append(item)
    prefixes = tuple(f"tests/test_notebooks.py::{name}" for name in _AFTER_NOTEBOOKS)
    last = [i for i in items if i.nodeid.startswith(prefixes)]
    if last:
        moved = set(map(id, last))
        items[:] = [i for i in items if id(i) not in moved] + last


@pytest.fixture(scope="session")
def notebook_times():
    """Dict the notebook tests fill with ``name -> (seconds or None, seconds)`` for the summary."""
    return _run_seconds


@pytest.fixture(scope="session")
def nbval_outputs():
    """``name -> list of outputs per code cell`` from nbval's run of that lesson in this session,
    or None when nbval did not run every code cell of it (e.g. only tests/ was selected)."""

    def outputs(name):
        cells = _nbval_cells.get(name, [])
        if not cells or any(getattr(c, "test_outputs", None) is None for c in cells):
            return None
        return [(c.cell.source, list(c.test_outputs)) for c in cells]

    return outputs


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
