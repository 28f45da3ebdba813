"""The figures `tl-keras train` writes beside the export (or beside a failed gate)."""

import os

import tensorflow as tf

from tl_keras.plots import plot_confusion_matrix
from tl_keras.plots import plot_history
from tl_keras.plots import plot_reliability
from tl_keras.plots import show_predictions


def write_figures(directory, model, history, val, test, class_names, data_name):
    """The training curves; with validation data its confusion matrix; with a test
    split (`--test-split`, `--test-data`) its confusion matrix, reliability
    diagram and a grid of its images, mistakes first. One line each."""
    tf.io.gfile.makedirs(directory)
    figures = [("training_curves.png", "Training curves",
                lambda: plot_history(history, title=f"{model.name} on {data_name}"))]
    if val is not None:
        figures.append(("confusion_matrix.png", "Confusion matrix (validation)",
                        lambda: plot_confusion_matrix(model, val, class_names)))
    if test is not None:
        figures += [
            ("confusion_matrix_test.png", "Confusion matrix (test)",
             lambda: plot_confusion_matrix(model, test, class_names)),
            ("reliability_test.png", "Reliability diagram (test)",
             lambda: plot_reliability(model, test, title="Reliability on the test split")),
            ("predictions_test.png", "Test images, mistakes first",
             lambda: show_predictions(model, test, class_names, n=16,
                                      mistakes_first=True)),
        ]
    for name, what, draw in figures:
        path = os.path.join(directory, name)
        draw().savefig(path, dpi=100)
        print(f"{what}: {path}")
