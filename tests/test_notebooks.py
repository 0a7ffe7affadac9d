"""Hygiene of the lesson notebooks (``notebooks/NN_topic.md`` + ``.ipynb`` twins).

- the ``.ipynb`` twin is in sync with its ``.md`` source (same cells, sources and tags) and is
  committed without outputs;
- every lesson has the parts the course promises (learning goals, exercises with solutions,
  further reading);
- the student copy hides every solution line;
- every lesson runs twice in a fresh kernel with identical text outputs and no warnings (the
  first run is nbval's when the notebooks are part of the same pytest session).

The run times of these executions are printed in the test summary (see ``conftest.py``); there
is deliberately no time limit in the assertions.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import notebook_tools as tools  # noqa: E402

LESSONS = [
    "00_overview",
    "01_nmf_dimensions",
    "02_nmf_random_init",
    "03_magnitude_and_phase",
    "04_pitch_informed_nmf",
    "05_sonification",
    "06_transcription_and_evaluation",
    "07_score_informed_and_blind",
]
PRESENT = [name for name in LESSONS if (tools.NOTEBOOK_DIR / f"{name}.md").exists()]


def _md(name: str) -> Path:
    return tools.NOTEBOOK_DIR / f"{name}.md"


def _ipynb(name: str) -> Path:
    return tools.NOTEBOOK_DIR / f"{name}.ipynb"


def test_every_lesson_source_is_listed():
    """A new lesson must be added to LESSONS so that the checks below cover it."""
    found = [p.stem for p in tools.lesson_sources()]
    assert found == [name for name in LESSONS if name in found], found
    assert PRESENT, "no lesson notebooks found"


@pytest.mark.parametrize("name", PRESENT)
def test_ipynb_twin_in_sync_with_md(name):
    assert _ipynb(name).exists(), f"{name}.ipynb missing: run `make notebooks`"
    md = tools.read_lesson(_md(name))
    ipynb = nbformat.read(_ipynb(name), as_version=4)
    want, got = tools.cell_signature(md), tools.cell_signature(ipynb)
    for index, (a, b) in enumerate(zip(want, got)):
        assert a == b, f"{name}: cell {index} differs between .md and .ipynb; run `make notebooks`"
    assert len(want) == len(got), f"{name}: {len(want)} cells in .md, {len(got)} in .ipynb"


@pytest.mark.parametrize("name", PRESENT)
def test_committed_ipynb_has_no_outputs(name):
    nb = nbformat.read(_ipynb(name), as_version=4)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{name}: cell {index} has stored outputs"
            assert cell.execution_count is None, f"{name}: cell {index} has an execution count"


@pytest.mark.parametrize("name", PRESENT)
def test_lesson_has_the_promised_parts(name):
    nb = tools.read_lesson(_md(name))
    title, goals = tools.title_and_goals(nb)
    assert title, f"{name}: no '# title' heading"
    assert len(goals) >= 2, f"{name}: learning goals missing"
    text = "\n".join(c.source for c in nb.cells)
    for part in ("Check your understanding", "Exercises", "Further reading"):
        assert part in text, f"{name}: no '{part}' section"
    n_solutions = sum(tools.SOLUTION_TAG in tools.cell_tags(c) for c in nb.cells)
    assert 2 <= n_solutions, f"{name}: {n_solutions} solution cells (want 2-3 exercises)"
    # the hop size is never called H: H means the activations
    assert "hop_length" in text
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert "np.random.rand(" not in cell.source, f"{name}: unseeded np.random.rand"
            assert "np.random.seed" not in cell.source, f"{name}: use np.random.default_rng(seed)"


@pytest.mark.parametrize("name", PRESENT)
def test_student_version_hides_solutions(name, tmp_path):
    nb = tools.read_lesson(_md(name))
    paths = tools.build_student(tmp_path, [_md(name)])
    secret = tools.solution_lines(nb)
    assert secret, f"{name}: no solution cells"
    for path in paths:
        lines = {ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()}
        leaked = [ln for ln in secret if ln in lines]
        assert not leaked, f"{path.name} shows solution lines: {leaked[:3]}"
    student = nbformat.read(tmp_path / f"{name}.ipynb", as_version=4)
    assert len(student.cells) == len(nb.cells)
    for original, stub in zip(nb.cells, student.cells):
        assert stub.cell_type == original.cell_type
        if tools.SOLUTION_TAG in tools.cell_tags(original):
            assert stub.source in (tools.CODE_STUB, tools.MARKDOWN_STUB)
        else:
            assert stub.source == original.source


@pytest.mark.parametrize("name", PRESENT)
def test_solution_cells_hold_only_answers(name, tmp_path):
    # A markdown answer cell without a `+++` after it swallows what follows (the next exercise's
    # question, a heading) into the solution, and the student copy loses it.
    nb = tools.read_lesson(_md(name))
    for i, cell in enumerate(nb.cells):
        if tools.SOLUTION_TAG in tools.cell_tags(cell):
            starts = [ln for ln in cell.source.splitlines() if ln.startswith(("**Exercise", "#"))]
            assert cell.cell_type == "code" or not starts, f"{name}: solution cell {i} holds {starts}"
    tools.build_student(tmp_path, [_md(name)])
    student = (tmp_path / f"{name}.md").read_text(encoding="utf-8")
    for line in _md(name).read_text(encoding="utf-8").splitlines():
        if line.startswith(("**Exercise", "## ")):
            assert line in student, f"{name}: the student copy lost {line[:60]!r}"


def test_student_html_pages_hide_solutions_and_what_their_checks_print():
    from nbconvert import HTMLExporter

    name = "07_score_informed_and_blind"
    nb = tools.read_lesson(_md(name))
    for i, cell in enumerate(nb.cells):  # stand-ins for the outputs of an executed lesson
        if cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"[output of cell {i}]\n")]
    page = tools.without_solutions(nb)
    html, _ = HTMLExporter().from_notebook_node(page)
    lines = {ln.strip() for ln in html.splitlines()}
    assert not [ln for ln in tools.solution_lines(nb) if ln in lines]
    kinds = [("solution" if tools.SOLUTION_TAG in tools.cell_tags(c) else c.cell_type) for c in nb.cells]
    for i, (cell, kind) in enumerate(zip(page.cells, kinds)):
        if cell.cell_type != "code":
            continue
        check = kind == "code" and "solution" in kinds[max(0, i - 2):i]
        assert (f"[output of cell {i}]" in html) == (kind == "code" and not check), (i, kind)


def _with_outputs(nb, cells):
    """A copy of ``nb`` whose code cells carry the outputs nbval recorded for them, or None if
    nbval did not run exactly these cells (e.g. some were deselected)."""
    nb = copy.deepcopy(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    if [c.source for c in code] != [source for source, _ in cells]:
        return None
    for cell, (_, outputs) in zip(code, cells):
        cell.outputs = outputs
    return nb


@pytest.fixture(scope="module")
def two_runs(notebook_times, nbval_outputs):
    """``two_runs(name)``: the lesson executed twice, each time in a fresh kernel (cached, so the
    tests below share the executions).

    When nbval executed the lesson earlier in this session (conftest.py orders these tests
    after the notebooks), its outputs are the first run and only one more execution is needed.
    """
    cache = {}

    def runs(name):
        if name not in cache:
            nb = tools.read_lesson(_md(name))
            recorded = nbval_outputs(name)
            first, t1 = (_with_outputs(nb, recorded) if recorded else None), None
            if first is None:
                first, t1 = tools.execute(nb)
            second, t2 = tools.execute(nb)
            notebook_times[name] = (t1, t2)
            cache[name] = (first, second)
        return cache[name]

    return runs


@pytest.mark.parametrize("name", PRESENT)
def test_lesson_is_deterministic(name, two_runs):
    first, second = two_runs(name)
    a, b = tools.text_outputs(first), tools.text_outputs(second)
    assert any(a), f"{name}: no text output at all"
    for index, (x, y) in enumerate(zip(a, b)):
        assert x == y, f"{name}: code cell {index} printed different text in two runs"


@pytest.mark.parametrize("name", PRESENT)
def test_lesson_prints_no_warnings(name, two_runs):
    for run in two_runs(name):
        found = tools.warnings_in(run)
        assert not found, f"{name}: " + "; ".join(found)
