"""Tools for the lesson notebooks: execute, time, render to HTML, and make student copies.

The MyST Markdown file ``notebooks/NN_topic.md`` is the source of truth of each lesson; its
``.ipynb`` twin is generated from it (``make notebooks``) and committed without outputs.

Usage (from the top of the repository, with the project's environment)::

    python scripts/notebook_tools.py time             # execute every lesson once, print seconds
    python scripts/notebook_tools.py html [OUT]       # executed HTML pages + index (build/html)
    python scripts/notebook_tools.py student [OUT]    # solution cells stubbed out (build/student)

Notebooks are executed in-process with :mod:`nbclient`, in a kernel that runs *this* Python
interpreter (never a user-level ``python3`` kernelspec that may point elsewhere), with the
notebook's folder as working directory. Every file is written atomically.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
import time
from pathlib import Path

import ipykernel.kernelspec
import jupytext
import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"

#: Cells with this tag hold an exercise's solution; student copies replace them with a stub.
SOLUTION_TAG = "solution"
CODE_STUB = "# YOUR CODE HERE"
MARKDOWN_STUB = "*YOUR ANSWER HERE*"

_CURRENT_ENV = "amt-current-env"


class _CurrentEnvKernelSpecs(KernelSpecManager):
    """Resolve the kernel name :data:`_CURRENT_ENV` to an IPython kernel of ``sys.executable``."""

    def get_kernel_spec(self, kernel_name):
        if kernel_name == _CURRENT_ENV:
            return self.kernel_spec_class(
                resource_dir=ipykernel.kernelspec.RESOURCES, **ipykernel.kernelspec.get_kernel_dict()
            )
        return super().get_kernel_spec(kernel_name)


# --------------------------------------------------------------------------------- reading


def lesson_sources(folder: Path = NOTEBOOK_DIR) -> list[Path]:
    """The lessons' MyST sources, ``NN_topic.md``, in course order."""
    return sorted(p for p in Path(folder).glob("[0-9][0-9]_*.md"))


def read_lesson(md_path: Path) -> nbformat.NotebookNode:
    """A lesson as a notebook, read from its ``.md`` source of truth."""
    return jupytext.read(md_path)


def cell_tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def cell_signature(nb) -> list[tuple[str, str, tuple[str, ...]]]:
    """(type, source, tags) of each cell: what must agree between the ``.md`` and ``.ipynb``."""
    return [(c.cell_type, c.source, tuple(cell_tags(c))) for c in nb.cells]


def title_and_goals(nb) -> tuple[str, list[str]]:
    """The lesson's title (first ``#`` heading) and its learning goals (bullets after the
    line that mentions "Learning goals"), for the index page."""
    title, goals = "", []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.splitlines()
        for i, line in enumerate(lines):
            if not title and line.startswith("# "):
                title = line[2:].strip()
            if not goals and "learning goals" in line.lower():
                for bullet in lines[i + 1 :]:
                    if bullet.lstrip().startswith(("- ", "* ")):
                        goals.append(bullet.strip()[2:].strip())
                    elif goals and bullet.strip():
                        break
        if title and goals:
            break
    return title, goals


# ------------------------------------------------------------------------------- executing


def execute(nb, *, cwd: Path = NOTEBOOK_DIR, timeout: int = 600) -> tuple[nbformat.NotebookNode, float]:
    """Run a copy of ``nb`` top to bottom in a fresh kernel; return it and the seconds taken
    (kernel start included)."""
    nb = copy.deepcopy(nb)
    km = KernelManager(kernel_name=_CURRENT_ENV, kernel_spec_manager=_CurrentEnvKernelSpecs())
    client = NotebookClient(
        nb, km=km, timeout=timeout, resources={"metadata": {"path": str(cwd)}}, allow_errors=False
    )
    start = time.perf_counter()
    client.execute()
    return nb, time.perf_counter() - start


def text_outputs(nb) -> list[list[str]]:
    """Per code cell, the text of its outputs (streams, ``text/plain``, ``text/html``, errors).

    This is what must be identical between two runs of a seeded notebook. Images are left out:
    matplotlib PNGs are not guaranteed byte-identical across runs. Streams are merged per name
    (stdout, stderr), as nbval does, because how the kernel chunks printed text varies. The
    result of a cell ending in ``;`` is dropped, as a notebook frontend hides it (nbval runs cells
    with ``store_history=False``, and then IPython does not see the ``;``).
    """
    from IPython.core.displayhook import DisplayHook

    result = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        quiet = DisplayHook.semicolon_at_end_of_expression(cell.source)
        texts, streams = [], {}
        for out in cell.get("outputs", []):
            if quiet and out.output_type == "execute_result":
                continue
            if out.output_type == "stream":
                if out.name not in streams:
                    streams[out.name] = len(texts)
                    texts.append(f"{out.name}: ")
                texts[streams[out.name]] += out.text
            elif out.output_type in ("execute_result", "display_data"):
                for mime in ("text/plain", "text/html"):
                    if mime in out.get("data", {}):
                        texts.append(f"{mime}: {out.data[mime]}")
            elif out.output_type == "error":
                texts.append(f"error: {out.ename}: {out.evalue}")
        result.append(texts)
    return result


def warnings_in(nb) -> list[str]:
    """Outputs that look like warnings: anything on stderr, or text mentioning ``Warning``."""
    found = []
    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            text = ""
            if out.output_type == "stream":
                if out.name == "stderr":
                    found.append(f"cell {index}: stderr: {out.text.strip()[:300]}")
                    continue
                text = out.text
            elif out.output_type in ("execute_result", "display_data"):
                text = out.get("data", {}).get("text/plain", "")
            if re.search(r"\w*Warning\b", text):
                found.append(f"cell {index}: {text.strip()[:300]}")
    return found


# ---------------------------------------------------------------------------- student copy


def student_version(nb) -> nbformat.NotebookNode:
    """A copy of ``nb`` with every ``solution`` cell replaced by a stub and all outputs cleared.

    The stub keeps the cell's type and tags, so the exercise stays where it was.
    """
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if SOLUTION_TAG in cell_tags(cell):
            cell.source = CODE_STUB if cell.cell_type == "code" else MARKDOWN_STUB
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def without_solutions(nb) -> nbformat.NotebookNode:
    """An executed ``nb`` fit to publish before the exercises are due: every ``solution`` cell
    stubbed as in :func:`student_version`, and the outputs of the solution cells and of the
    check cell right after each cleared (a check may print what the answer found); every
    other output is kept."""
    nb = copy.deepcopy(nb)
    after_solution = False
    for cell in nb.cells:
        is_solution = SOLUTION_TAG in cell_tags(cell)
        if is_solution:
            cell.source = CODE_STUB if cell.cell_type == "code" else MARKDOWN_STUB
        if cell.cell_type == "code" and (is_solution or after_solution):
            cell.outputs = []
            cell.execution_count = None
        after_solution = is_solution or (after_solution and cell.cell_type != "code")
    return nb


def solution_lines(nb) -> list[str]:
    """The lines of all solution cells that carry content (a letter or digit), stripped."""
    lines = []
    for cell in nb.cells:
        if SOLUTION_TAG in cell_tags(cell):
            lines += [ln.strip() for ln in cell.source.splitlines() if re.search(r"\w", ln)]
    return lines


# --------------------------------------------------------------------------------- writing


def _write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temporary file in the same folder, then rename)."""
    from amt_helpers._atomic import atomic_path

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def build_student(out_dir: Path, sources: list[Path] | None = None) -> list[Path]:
    """Write student copies (``.ipynb`` and ``.md``) of every lesson into ``out_dir``."""
    written = []
    for md in sources or lesson_sources():
        nb = student_version(read_lesson(md))
        ipynb_path = Path(out_dir) / f"{md.stem}.ipynb"
        _write_text(ipynb_path, nbformat.writes(nb) + "\n")
        md_path = Path(out_dir) / md.name
        _write_text(md_path, jupytext.writes(nb, fmt="md:myst"))
        written += [ipynb_path, md_path]
    return written


_INDEX_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Automatic music transcription with NMF — lessons</title>
<style>
body {{ font-family: sans-serif; max-width: 50em; margin: 2em auto; line-height: 1.45; padding: 0 1em; }}
h2 {{ margin-bottom: 0.2em; }} .time {{ color: #777; font-size: 85%; }}
</style></head>
<body>
<h1>Automatic music transcription with NMF</h1>
<p>How non-negative matrix factorisation turns a piano recording into notes, in short lessons.
Each page was executed top to bottom; figures and sound clips are embedded, so it reads without
Jupyter. To run and change the code, open the notebooks in JupyterLab (see the README).</p>
{items}
</body></html>
"""


def build_html(out_dir: Path, sources: list[Path] | None = None, *,
               students: bool = False) -> list[tuple[Path, float]]:
    """Execute every lesson and write ``NN_topic.html`` plus ``index.html`` into ``out_dir``.

    With ``students``, the pages leave the exercises open (:func:`without_solutions`).
    """
    from nbconvert import HTMLExporter

    out_dir = Path(out_dir)
    exporter = HTMLExporter()
    items, written = [], []
    for md in sources or lesson_sources():
        nb = read_lesson(md)
        executed, seconds = execute(nb, cwd=md.parent)
        body, _ = exporter.from_notebook_node(without_solutions(executed) if students else executed)
        page = out_dir / f"{md.stem}.html"
        _write_text(page, body)
        written.append((page, seconds))
        title, goals = title_and_goals(nb)
        goal_list = "".join(f"<li>{_inline_html(g)}</li>" for g in goals)
        items.append(
            f'<h2><a href="{page.name}">{_inline_html(title) or md.stem}</a></h2>'
            f'<div class="time">executed in {seconds:.1f} s; {page.stat().st_size / 1e6:.1f} MB</div>'
            f"<ul>{goal_list}</ul>"
        )
        print(f"{page.name}: {seconds:.1f} s, {page.stat().st_size / 1e6:.2f} MB", flush=True)
    _write_text(out_dir / "index.html", _INDEX_TEMPLATE.format(items="\n".join(items)))
    return written


def _inline_html(markdown: str) -> str:
    """One line of Markdown (code, emphasis, links) as HTML; ``$`` math delimiters dropped."""
    from markdown_it import MarkdownIt  # a dependency of jupytext

    return MarkdownIt("commonmark", {"html": False}).renderInline(markdown.replace("$", ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("time", help="execute each lesson once and print its run time")
    for name, default in (("html", "build/html"), ("student", "build/student")):
        p = sub.add_parser(name)
        p.add_argument("out", nargs="?", default=default, type=Path)
        if name == "html":
            p.add_argument("--students", action="store_true",
                           help="pages without the solutions (solution cells and their checks' outputs removed)")
    args = parser.parse_args(argv)
    if args.command == "time":
        total = 0.0
        for md in lesson_sources():
            _, seconds = execute(read_lesson(md), cwd=md.parent)
            total += seconds
            print(f"{md.stem:34s} {seconds:6.1f} s", flush=True)
        print(f"{'total':34s} {total:6.1f} s")
    elif args.command == "html":
        build_html(args.out, students=args.students)
        print(f"wrote {args.out / 'index.html'}")
    else:
        for path in build_student(args.out):
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
