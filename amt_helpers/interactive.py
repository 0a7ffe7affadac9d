"""Interactive demos for the lessons: controls that re-run a small computation and redraw.

The lessons show every interactive figure twice over: once as a plain call (so that pages
without a widget frontend — nbval, the HTML build, a PDF — still show the default view) and
once under :func:`live`, which re-runs the same function whenever a control changes.
``ipywidgets`` is part of the ``notebooks`` extra and imported only when :func:`live` is called.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def live(function: Callable[..., Any], **controls: Any) -> Any:
    """Controls in a row and an output area below them, redrawn when a control changes.

    Nothing runs when the widget is created: call ``function`` once yourself for the default
    view. (``ipywidgets.interactive`` runs it at creation, which stores the first figure in the
    widget state rather than in the cell's output, so pages without a widget frontend lose it.)

    Parameters
    ----------
    function : callable
        Called as ``function(**{name: control.value})``; draws or prints its result.
    **controls : ipywidgets.ValueWidget
        One control per keyword argument of ``function``, e.g.
        ``threshold=FloatSlider(value=0.05, min=0.01, max=0.4, continuous_update=False)``.

    Returns
    -------
    ipywidgets.VBox
        Display it (last expression of a cell, or ``IPython.display.display``).

    Examples
    --------
    In a notebook cell:

    >>> def show(threshold):
    ...     print(f"threshold {threshold:.2f}")  # in a lesson: transcribe, plot, score
    >>> show(0.05)  # the default view, visible everywhere
    threshold 0.05
    >>> import ipywidgets as widgets  # doctest: +SKIP
    >>> slider = widgets.FloatSlider(value=0.05, min=0.01, max=0.4, continuous_update=False)  # doctest: +SKIP
    >>> live(show, threshold=slider)  # doctest: +SKIP
    """
    import ipywidgets as widgets

    area = widgets.Output()

    def redraw(_change: Any) -> None:
        with area:
            area.clear_output(wait=True)
            function(**{name: control.value for name, control in controls.items()})

    for control in controls.values():
        control.observe(redraw, names="value")
    return widgets.VBox([widgets.HBox(list(controls.values())), area])
