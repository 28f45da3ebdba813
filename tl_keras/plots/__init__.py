"""Plots of data, training and results (matplotlib is imported only when a plot is made).

Each function returns a matplotlib `Figure` made without pyplot (no global
state, works headless); in Jupyter and Colab it shows as an image.

- charts (`curves.py`): `plot_history`, `plot_confusion_matrix`, `plot_ranking`;
  `plot_reliability` (`reliability.py`);
- image grids (`grids.py`): `show_batch`, `show_augmentation`,
  `show_predictions`, `show_top_losses`; `show_label_issues` (`label_issues.py`);
  `show_clusters` (`clusters.py`), a contact sheet of `tl_keras.cluster`'s clusters.
"""

from tl_keras.plots.clusters import show_clusters
from tl_keras.plots.curves import confusion_matrix
from tl_keras.plots.curves import plot_confusion_matrix
from tl_keras.plots.curves import plot_history
from tl_keras.plots.curves import plot_ranking
from tl_keras.plots.grids import show_augmentation
from tl_keras.plots.grids import show_batch
from tl_keras.plots.grids import show_predictions
from tl_keras.plots.grids import show_top_losses
from tl_keras.plots.label_issues import show_label_issues
from tl_keras.plots.reliability import plot_reliability

__all__ = [
    "confusion_matrix", "plot_confusion_matrix", "plot_history", "plot_ranking",
    "plot_reliability",
    "show_augmentation", "show_batch", "show_clusters", "show_label_issues",
    "show_predictions", "show_top_losses",
]
