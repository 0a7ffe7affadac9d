import ipywidgets as widgets

from amt_helpers.interactive import live


def test_live_reruns_function_with_all_control_values():
    calls = []
    threshold = widgets.FloatSlider(value=0.1, min=0, max=1)
    method = widgets.Dropdown(options=["a", "b"], value="a")
    box = live(lambda threshold, method: calls.append((threshold, method)), threshold=threshold, method=method)
    assert calls == []  # the default view is the caller's plain call, not the widget's
    threshold.value = 0.5
    method.value = "b"
    assert calls == [(0.5, "a"), (0.5, "b")]
    controls, area = box.children
    assert list(controls.children) == [threshold, method]
    assert isinstance(area, widgets.Output)
