"""Plots render headless to PNG with the content a user expects."""

import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import tl_keras as tlk
from tl_keras import plots


def _history():
    return tlk.TwoPhaseHistory(
        _keras_history({"loss": [1.0, 0.7, 0.5], "val_loss": [1.1, 0.8, 0.6],
                        "accuracy": [0.5, 0.7, 0.8], "val_accuracy": [0.4, 0.6, 0.7]}),
        _keras_history({"loss": [0.4, 0.3], "val_loss": [0.5, 0.45],
                        "accuracy": [0.85, 0.9], "val_accuracy": [0.75, 0.8]}))


def _keras_history(values):
    history = keras.callbacks.History()
    history.history = values
    return history


_WITHOUT_MATPLOTLIB = """
import sys
from tl_keras.export.keras_free_probe import hide_modules
for name in [m for m in sys.modules if m.split(".")[0] == "matplotlib"]:
    del sys.modules[name]  # keras imports it when present: forget it, then hide it
hide_modules(["matplotlib"])
import tl_keras as tlk, tl_keras.cli
try:
    tlk.plots.plot_history(type("H", (), {"history": {"loss": [1.0]}})())
except ImportError:
    print("imported only when plotting")
"""


@pytest.mark.slow
def test_matplotlib_is_imported_only_when_plotting():

    done = subprocess.run([sys.executable, "-c", _WITHOUT_MATPLOTLIB], capture_output=True,
                          text=True, timeout=300)
    assert done.stdout.strip().splitlines()[-1] == "imported only when plotting", done.stderr


def test_plot_history_marks_fine_tuning(tmp_path):
    figure = plots.plot_history(_history(), title="run")
    loss, accuracy = figure.axes
    assert [ax.get_title() for ax in figure.axes] == ["loss", "accuracy"]
    for ax in (loss, accuracy):
        labels = [line.get_label() for line in ax.get_lines()]
        assert labels[:2] == [f"training {ax.get_title()}", f"validation {ax.get_title()}"]
        marker = [line for line in ax.get_lines() if line.get_label() == "fine-tuning starts"]
        assert len(marker) == 1 and marker[0].get_xdata()[0] == pytest.approx(3.5)
        assert len(ax.get_lines()[0].get_xdata()) == 5  # both phases on one axis
        assert any(t.get_text() == "fine-tuning" for t in ax.texts)
    path = tmp_path / "curves.png"
    figure.savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


def test_the_curves_legend_and_labels_overlap_nothing_and_stay_inside():
    """Issue 26 row 18: the legend sat over the "fine-tuning" label, and the label
    was clipped."""
    history = _history()
    history.stops = ({"best_epoch": 2}, {"best_epoch": 4})
    figure = plots.plot_history(history, title="a long title for a run on a dataset")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    inside = figure.bbox
    legend = figure.legends[0].get_window_extent(renderer)
    texts = [t for ax in figure.axes for t in ax.texts] + [ax.title for ax in figure.axes]
    for text in texts:
        box = text.get_window_extent(renderer)
        assert not box.overlaps(legend), text.get_text()
        assert inside.contains(box.x0, box.y0) and inside.contains(box.x1, box.y1), \
            text.get_text()
    assert inside.contains(legend.x0, legend.y0) and inside.contains(legend.x1, legend.y1)
    for ax in figure.axes:  # the legend is below the plots, not on a curve
        assert legend.y1 <= ax.get_window_extent(renderer).y0
    assert [t.get_text() for t in figure.legends[0].get_texts()][:3] == [
        "training", "validation", "epoch kept (best validation loss)"]


def test_plot_history_without_phase_two_has_no_marker():
    figure = plots.plot_history(tlk.TwoPhaseHistory(_keras_history({"loss": [1.0, 0.5]})))
    assert len(figure.axes) == 1
    assert all(line.get_label() != "fine-tuning starts" for line in figure.axes[0].get_lines())


class _ChannelModel(keras.Model):
    """Predicts the brightest colour channel: a model whose mistakes we know."""

    def call(self, images, training=False):
        means = keras.ops.mean(images, axis=(1, 2))
        return keras.ops.softmax(means / 10.0)


def _colour_data():
    rng = np.random.default_rng(0)
    y = np.array([0, 0, 1, 1, 2, 2, 2, 0, 1])
    x = rng.uniform(0, 50, (9, 16, 16, 3)).astype("float32")
    shown = y.copy()
    shown[-1] = 2  # one image whose colour disagrees with its label
    x[np.arange(9), :, :, shown] += 200
    return x, y


def test_confusion_matrix_counts_and_render(tmp_path):
    x, y = _colour_data()
    figure = plots.plot_confusion_matrix(_ChannelModel(), (x, y), ["red", "green", "blue"],
                                         normalize=False)
    ax = figure.axes[0]
    cells = [t.get_text() for t in ax.texts]
    assert cells == ["3", "0", "0", "0", "2", "1", "0", "0", "3"]
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["red", "green", "blue"]
    assert "accuracy 0.889" in ax.get_title()
    figure.savefig(tmp_path / "cm.png")
    normalized = plots.plot_confusion_matrix(_ChannelModel(), (x, y), ["r", "g", "b"])
    assert normalized.axes[0].texts[4].get_text() == "0.67"


def test_show_predictions_marks_mistakes(tmp_path):
    x, y = _colour_data()
    figure = plots.show_predictions(_ChannelModel(), (x, y), ["red", "green", "blue"], n=9)
    panels = [ax for ax in figure.axes if ax.images]
    assert len(panels) == 9
    red = [ax for ax in panels if ax.title.get_color() == "red"]
    assert len(red) == 1 and red[0].get_title() == "blue\n(true: green)"
    assert "8 right, 1 wrong" in figure._suptitle.get_text()
    figure.savefig(tmp_path / "predictions.png")


def test_show_top_losses_ranks_the_confident_mistake_first(tmp_path):
    x, y = _colour_data()
    figure = plots.show_top_losses(_ChannelModel(), (x, y), ["red", "green", "blue"], n=3)
    panels = [ax for ax in figure.axes if ax.images]
    assert len(panels) == 3
    first = panels[0].get_title()
    assert first.startswith("blue / green") and panels[0].title.get_color() == "red"
    losses = [float(ax.get_title().split("loss ")[1].split(" /")[0]) for ax in panels]
    assert losses == sorted(losses, reverse=True) and losses[0] > 1.0
    figure.savefig(tmp_path / "top_losses.png")


def test_show_batch_draws_every_class_with_its_label():
    x, y = _colour_data()
    figure = plots.show_batch((x, y), ["red", "green", "blue"], n=6)
    titles = [ax.get_title() for ax in figure.axes if ax.images]
    assert titles == ["red", "green", "blue", "red", "green", "blue"]


def test_show_augmentation_changes_the_image_and_refuses_a_model_without_it():
    image = np.tile(np.linspace(0, 255, 16, dtype="float32")[None, :, None], (16, 1, 3))
    flip = keras.layers.RandomFlip("horizontal", seed=1)
    figure = plots.show_augmentation(flip, image, n=9)
    shown = [ax.images[0].get_array() for ax in figure.axes if ax.images]
    assert len(shown) == 9 and np.array_equal(shown[0], image.astype("uint8"))
    assert any(not np.array_equal(panel, shown[0]) for panel in shown[1:])
    model = tlk.build_model(keras.Sequential([keras.Input((16, 16, 3)),
                                              keras.layers.GlobalAveragePooling2D()]),
                            num_classes=2)
    with pytest.raises(ValueError, match="a model without one"):
        plots.show_augmentation(model, image)


def test_show_predictions_draws_across_classes_and_mistakes_first():
    from tl_keras import plots

    class ByColour(keras.Model):  # predicts the brightest channel; blue is never right
        def call(self, x):
            return tf.one_hot(tf.minimum(tf.argmax(tf.reduce_mean(x, axis=[1, 2]), -1), 1), 3)

    x = np.zeros((30, 8, 8, 3), "float32")
    y = np.repeat([0, 1, 2], 10)  # ordered by class, as a validation folder is
    for i, label in enumerate(y):
        x[i, ..., label] = 200
    figure = plots.show_predictions(ByColour(), (x, y), ["red", "green", "blue"], n=6)
    titles = [ax.get_title() for ax in figure.axes if ax.get_title()]
    assert sum("blue" in t for t in titles) == 2 and titles[0] == "red"
    figure = plots.show_predictions(ByColour(), (x, y), ["red", "green", "blue"], n=3,
                                    mistakes_first=True)
    titles = [ax.get_title() for ax in figure.axes if ax.get_title()]
    assert all("(true: blue)" in t for t in titles)
