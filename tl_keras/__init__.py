"""tl_keras: transfer learning for Keras 3 on TensorFlow.

Example:

```python
import tl_keras as tlk
model = tlk.build_model("mobilenet_v2", num_classes=5, weights="imagenet",
                        class_names=class_names)
history = tlk.fit_two_phase(model, train, val, epochs=5, fine_tune_epochs=5)
tlk.export_saved_model(model, "saved_models/flowers")
```

The public API is declared once, in `_PUBLIC` below (name: the module that
defines it), and imported on first use (PEP 562): `import tl_keras` imports
neither TensorFlow nor Keras, so `tl-keras --help` answers at once. The first
public name used imports TensorFlow and Keras, checks the versions, and
registers tl_keras's serializable classes with Keras.

`keras.saving.load_model` reads a tl_keras model once those classes are
registered: after any `tl_keras` name was used, or at once when Keras was
already imported before `import tl_keras` (as a notebook usually does).
Otherwise call `tl_keras.register_serializables()` first. Importing tl_keras
changes no environment variable.
"""

import importlib as _importlib
import sys as _sys

from tl_keras.version import __version__  # noqa: F401

# === The public API: name -> the module that defines it ===

_PUBLIC = {
    "Caching": "tl_keras.training.options",
    "Distribution": "tl_keras.training.options",
    "DownloadError": "tl_keras.errors",
    "Embeddings": "tl_keras.unlabelled.embeddings",
    "FeatureCache": "tl_keras.training.feature_cache",
    "FineTuning": "tl_keras.training.options",
    "GateError": "tl_keras.errors",
    "HubLayer": "tl_keras.layers.hub_layer",
    "ImageClassifier": "tl_keras.models.image_classifier",
    "ModelCard": "tl_keras.export.options",
    "Preprocessing": "tl_keras.layers.preprocessing",
    "PretrainedBase": "tl_keras.bases",
    "ServingOptions": "tl_keras.export.options",
    "SimilarityIndex": "tl_keras.unlabelled.similarity",
    "Speed": "tl_keras.training.options",
    "TextClassifier": "tl_keras.models.text_classifier",
    "TransferModel": "tl_keras.models.transfer_model",
    "TwoPhaseHistory": "tl_keras.training.history",
    "adapt_batchnorm": "tl_keras.adaptation",
    "audit_splits": "tl_keras.unlabelled.split_audit",
    "build_model": "tl_keras.models.build",
    "build_text_model": "tl_keras.models.text",
    "calibrate": "tl_keras.evaluation.calibration",
    "check_export": "tl_keras.export.check",
    "check_gate": "tl_keras.export.gate",
    "cluster": "tl_keras.unlabelled.clusters",
    "embed": "tl_keras.unlabelled.embed",
    "evaluate_classifier": "tl_keras.evaluation.classifier_report",
    "export_saved_model": "tl_keras.export.saved_model",
    "export_similarity": "tl_keras.unlabelled.similarity_export",
    "export_tflite": "tl_keras.export.tflite",
    "extract_features": "tl_keras.training.features",
    "find_duplicates": "tl_keras.unlabelled.duplicates",
    "find_label_issues": "tl_keras.evaluation.label_issues",
    "find_outliers": "tl_keras.unlabelled.outliers",
    "fit_two_phase": "tl_keras.training.two_phase",
    "format_models": "tl_keras.library",
    "format_ranking": "tl_keras.selection.ranking",
    "freeze_base": "tl_keras.training.freezing",
    "get_base": "tl_keras.models.parts",
    "image_dataset": "tl_keras.data.image_dataset",
    "list_bases": "tl_keras.bases",
    "list_models": "tl_keras.library",
    "load_base": "tl_keras.bases",
    "load_word_vectors": "tl_keras.models.vectors",
    "rank_bases": "tl_keras.selection.ranking",
    "propagate_labels": "tl_keras.unlabelled.propagation",
    "register_base": "tl_keras.bases",
    "text_dataset": "tl_keras.data.text_dataset",
    "trust": "tl_keras.io.safe_loading",
    "trusted_roots": "tl_keras.io.safe_loading",
    "unfreeze_base": "tl_keras.training.freezing",
    "unregister_base": "tl_keras.bases",
}
# Public submodules, imported on first use (matplotlib only when a plot is drawn).
_SUBMODULES = ("cli", "demo", "library", "log", "plots", "unlabelled")
# The modules that register serializable classes with Keras (`.keras` loading).
_SERIALIZABLES = ("tl_keras.layers.hub_layer", "tl_keras.layers.new_words",
                  "tl_keras.layers.preprocessing", "tl_keras.layers.text_preprocessor",
                  "tl_keras.layers.token_pooling", "tl_keras.bases.base_model",
                  "tl_keras.models.image_classifier", "tl_keras.models.text_classifier",
                  "tl_keras.training.losses")

__all__ = sorted(_PUBLIC) + ["register_serializables"]

_ready = False


def _check_environment():
    """Once, before the first heavy import: Keras's backend, then the versions."""
    global _ready
    if _ready:
        return
    import keras

    if keras.backend.backend() != "tensorflow":
        raise ImportError(
            "tl_keras needs the TensorFlow backend of Keras 3 (it exports TensorFlow "
            "SavedModels). Set KERAS_BACKEND=tensorflow before importing keras. "
            f"Received: keras backend={keras.backend.backend()!r}"
        )
    from tl_keras import compat

    compat.check_versions()  # a clear error (older) or one warning (newer)
    _ready = True
    for module in _SERIALIZABLES:  # registered with Keras as they are imported
        _importlib.import_module(module)


def register_serializables():
    """Registers tl_keras's layers, models and losses with Keras, so that
    `keras.saving.load_model` reads a `.keras` file holding them. Using any
    tl_keras name does it; call it alone before `load_model` otherwise."""
    _check_environment()


def __getattr__(name):
    if name in _PUBLIC:
        _check_environment()
        value = getattr(_importlib.import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        if name not in ("cli", "log"):  # the light ones: no TensorFlow
            _check_environment()
        return _importlib.import_module(f"tl_keras.{name}")
    raise AttributeError(f"module 'tl_keras' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_PUBLIC) | set(_SUBMODULES))


if "keras" in _sys.modules:  # Keras is loaded already: registering costs little
    register_serializables()
