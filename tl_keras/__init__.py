"""tl_keras: transfer learning for Keras 3 on TensorFlow.

Example:

```python
import tl_keras as tlk
model = tlk.build_model("mobilenet_v2", num_classes=5, weights="imagenet",
                        class_names=class_names)
history = tlk.fit_two_phase(model, train, val, epochs=5, fine_tune_epochs=5)
tlk.export_saved_model(model, "saved_models/flowers")
```

The public submodules `tl_keras.plots`, `tl_keras.cli` and `tl_keras.demo` are
reachable after `import tl_keras` and imported on first use (matplotlib only
when a plot is drawn); `tl_keras.library` (the governed model library) is
imported with it. Importing tl_keras changes no environment variable.
"""

import importlib as _importlib

import keras as _keras

from tl_keras.version import __version__  # noqa: F401

if _keras.backend.backend() != "tensorflow":
    raise ImportError(
        "tl_keras needs the TensorFlow backend of Keras 3 (it exports TensorFlow "
        "SavedModels). Set KERAS_BACKEND=tensorflow before importing keras. "
        f"Received: keras backend={_keras.backend.backend()!r}"
    )

# Inside the supported TensorFlow / Keras / Python window, or a clear error
# (older) or one warning (newer) naming the versions found.
from tl_keras import compat as _compat  # noqa: E402

_compat.check_versions()

# Imported here, not on first use: this registers tl_keras's serializable
# classes, so `keras.saving.load_model` reads a tl_keras model after
# `import tl_keras` alone.
from tl_keras.adaptation import adapt_batchnorm  # noqa: E402
from tl_keras.bases import PretrainedBase  # noqa: E402
from tl_keras.bases import list_bases  # noqa: E402
from tl_keras.bases import load_base  # noqa: E402
from tl_keras.bases import register_base  # noqa: E402
from tl_keras.bases import unregister_base  # noqa: E402
from tl_keras.data.image_dataset import image_dataset  # noqa: E402
from tl_keras.data.text_dataset import text_dataset  # noqa: E402
from tl_keras.errors import DownloadError  # noqa: E402
from tl_keras.errors import GateError  # noqa: E402
from tl_keras.evaluation.calibration import calibrate  # noqa: E402
from tl_keras.evaluation.label_issues import find_label_issues  # noqa: E402
from tl_keras.evaluation.test_report import evaluate_classifier  # noqa: E402
from tl_keras.export.check import check_export  # noqa: E402
from tl_keras.export.saved_model import export_saved_model  # noqa: E402
from tl_keras.export.tflite import export_tflite  # noqa: E402
from tl_keras.layers.hub_layer import HubLayer  # noqa: E402
from tl_keras.layers.preprocessing import Preprocessing  # noqa: E402
from tl_keras.library import format_models  # noqa: E402
from tl_keras.library import list_models  # noqa: E402
from tl_keras.models.build import build_model  # noqa: E402
from tl_keras.models.image_classifier import ImageClassifier  # noqa: E402
from tl_keras.models.parts import get_base  # noqa: E402
from tl_keras.models.text import build_text_model  # noqa: E402
from tl_keras.models.text_classifier import TextClassifier  # noqa: E402
from tl_keras.models.transfer_model import TransferModel  # noqa: E402
from tl_keras.models.vectors import load_word_vectors  # noqa: E402
from tl_keras.selection.ranking import format_ranking  # noqa: E402
from tl_keras.selection.ranking import rank_bases  # noqa: E402
from tl_keras.training.feature_cache import FeatureCache  # noqa: E402
from tl_keras.training.features import extract_features  # noqa: E402
from tl_keras.training.freezing import freeze_base  # noqa: E402
from tl_keras.training.freezing import unfreeze_base  # noqa: E402
from tl_keras.training.history import TwoPhaseHistory  # noqa: E402
from tl_keras.training.options import Caching  # noqa: E402
from tl_keras.training.options import Distribution  # noqa: E402
from tl_keras.training.options import FineTuning  # noqa: E402
from tl_keras.training.options import Speed  # noqa: E402
from tl_keras.training.two_phase import fit_two_phase  # noqa: E402

_LAZY_SUBMODULES = ("cli", "demo", "plots")


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        return _importlib.import_module(f"tl_keras.{name}")
    raise AttributeError(f"module 'tl_keras' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY_SUBMODULES))


__all__ = [
    "Caching", "Distribution", "DownloadError", "FeatureCache", "FineTuning", "GateError",
    "HubLayer",
    "ImageClassifier", "Preprocessing", "PretrainedBase", "Speed", "TextClassifier",
    "TransferModel", "TwoPhaseHistory",
    "adapt_batchnorm", "build_model", "build_text_model", "calibrate", "check_export",
    "evaluate_classifier", "export_saved_model", "find_label_issues",
    "export_tflite", "extract_features", "fit_two_phase", "format_models", "format_ranking",
    "freeze_base", "get_base", "image_dataset", "list_bases", "list_models", "load_base",
    "load_word_vectors", "rank_bases", "register_base", "text_dataset", "unfreeze_base",
    "unregister_base",
]
