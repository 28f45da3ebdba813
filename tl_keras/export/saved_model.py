"""SavedModel export in TF Serving's versioned layout, with a model card.

The layout (version directories, labels, card, Keras model, temporaries) is
`tl_keras.export.layout`'s; this module writes a version into it.
"""

import os
import warnings

import keras

from tl_keras.cluster import written_by_chief
from tl_keras.data import fingerprints
from tl_keras.data.image_files import DEFAULT_RESIZE
from tl_keras.data.image_files import check_resize
from tl_keras.errors import GateError
from tl_keras.export import layout
from tl_keras.export import staging
from tl_keras.export.card import model_card
from tl_keras.export.signatures import add_signatures
from tl_keras.export.signatures import check_signatures
from tl_keras.export.signatures import is_text_model
from tl_keras.export.signatures import mark_classify_method
from tl_keras.export.warmup import warmup_possible
from tl_keras.export.warmup import write_warmup_requests
from tl_keras.models.parts import class_names_of
from tl_keras.models.transfer_model import check_class_names


def export_saved_model(model, export_dir, *, class_names=None, version=None,
                       history=None, metrics=None, test_report=None, min_accuracy=None,
                       training_data=None, intended_use=None, limitations=None,
                       top_k=5, signatures=None, resize=DEFAULT_RESIZE, warmup="auto",
                       verbose="auto"):
    """Exports `model` as a SavedModel version that TF Serving serves as it is.

    Writes `export_dir/<version>/` atomically: everything goes to a temporary
    sibling whose name TF Serving ignores, then one rename makes it visible.
    An existing version is never overwritten.

    Signatures (see `tl_keras.export.signatures`), all TensorFlow ops, preprocessing
    and class names inside, loadable with TensorFlow alone (no Keras, no
    tl_keras):

    - `serving_default`: `images` (float32 `[batch, height, width, 3]`, RGB
      pixels in [0, 255]) -> `probabilities`, and with class names `classes`
      (best first, top k) and `scores`;
    - `serving_bytes`: `image_bytes` (encoded JPEG/PNG/GIF/BMP strings, as TF
      Serving's REST API sends `{"b64": ...}`) -> the same outputs;
    - `classify`: TF Serving's Classify API (`inputs`: serialized
      `tf.Example`s with `image/encoded`) -> `classes`, `scores`;
    - `features`: `images` -> `features`, the pooled feature vector.

    A text model (string input) gets `serving_default` on `texts`. The version
    also holds `assets/labels.txt`, `model_card.json`, TF Serving warmup
    requests in `assets.extra/`, and `keras/model.keras` (for reuse as a base).

    Args:
        model: a Keras image classifier (from `tl_keras.build_model`).
        export_dir: the model's directory, such as `"saved_models/flowers"`.
        class_names: names of the output classes, in output order (two names
            for a single sigmoid unit: negative, positive). Defaults to `None`:
            the model's own `class_names`.
        version: the integer version to write. Defaults to `None`: one more
            than the highest existing version (1 for a new model).
        history: a `TwoPhaseHistory` or `keras.callbacks.History` whose final
            values go into the model card's metrics. Defaults to `None`.
        metrics: a dict of extra metrics for the model card. Defaults to
            `None`.
        test_report: the model's evaluation on a test set nothing selected on
            (`tl_keras.evaluate_classifier(model, test)`), written to the card
            under `"test"`. Defaults to `None`.
        min_accuracy: the gate: the export is refused, before anything is
            written, when `test_report`'s accuracy is below it. Defaults to
            `None`: no gate.
        training_data: the training data, for the card's `training_data`:
            its fingerprint and its examples per class (known for datasets
            from `tl_keras.image_dataset` / `text_dataset` and arrays).
            Defaults to `None`.
        intended_use: what the model is for, in words, for the card's
            reviewer. Defaults to `None`.
        limitations: what it is not for, or known weaknesses. Defaults to
            `None`.
        top_k: how many `classes` and `scores` to return. Defaults to `5`
            (all classes when fewer).
        signatures: the signatures to write, a subset of `serving_default`,
            `serving_bytes`, `classify`, `features`. Defaults to `None`: all
            that apply (`classify` needs class names).
        resize: how `serving_bytes` and `classify` fit images to the input
            size: `"crop"`, `"stretch"` or `"pad"`, as in
            `tl_keras.image_dataset`. Defaults to `"crop"`.
        warmup: write TF Serving warmup requests: `True` (needs
            `tensorflow-serving-api`: `pip install "tl_keras[serving]"`),
            `False`, or `"auto"`: when that package is installed, else one line
            says how to add them. Defaults to `"auto"`.
        verbose: print that line (`0` silences it). Defaults to `"auto"`.

    Returns:
        The path of the written version directory.

    Raises:
        ValueError: class names that do not match the output, a bad version,
            an `export_dir` that is a file, or `min_accuracy` without a
            `test_report`.
        tl_keras.GateError: the test accuracy is below `min_accuracy`
            (nothing written).
        FileExistsError: if `version` already exists.

    Example:

    >>> path = tl_keras.export_saved_model(model, "saved_models/flowers",
    ...                                    class_names=class_names)
    >>> path
    'saved_models/flowers/1'
    """
    export_dir = layout.check_export_dir(export_dir)
    check_gate(test_report, min_accuracy)
    units = model.output_shape[-1]
    if class_names is None:
        class_names = class_names_of(model)
    class_names = check_class_names(class_names, units)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise ValueError("Expected `top_k` to be a positive integer. "
                         f"Received: top_k={top_k!r}")
    check_resize(resize)
    warmup = warmup_possible(warmup, verbose)
    chosen = check_signatures(model, class_names, signatures)
    if class_names is None:
        warnings.warn(
            "Exporting without class names: serving returns `probabilities` only (no "
            "`classes`, no `scores`, no `classify` signature). Pass class_names=[...] "
            "or set model.class_names to serve class names.", UserWarning, stacklevel=2)
    automatic = version is None
    version = layout.next_version(export_dir, version)
    # With several workers, the others write into a temporary directory (saving
    # is collective) that is removed: only the chief's export remains.
    with written_by_chief(export_dir) as target, staging.staged_version(
            target, version, renumber=_renumber(target) if automatic else None) as staged:
        version_dir = staged.path
        _write_saved_model(model, version_dir, class_names, chosen, top_k, resize)
        layout.write_labels(version_dir, class_names)
        if warmup:
            write_warmup_requests(version_dir, layout.model_name(export_dir),
                                  model.input_shape[1:], chosen, text=is_text_model(model))
        layout.write_model_card(version_dir, model_card(
            model, export_dir, version, class_names, history, metrics, signatures=chosen,
            top_k=top_k, resize=resize, test_report=test_report,
            review={"training_data": None if training_data is None else
                    fingerprints.describe(training_data, class_names),
                    "intended_use": intended_use, "limitations": limitations}))
        layout.save_keras_model(model, version_dir)
    return os.path.join(export_dir, str(staged.version))


def check_gate(test_report, min_accuracy):
    """Raises `GateError` when the test accuracy misses `min_accuracy`."""
    if min_accuracy is None:
        return
    if test_report is None:
        raise ValueError("min_accuracy is checked on the test set's figures: pass "
                         "test_report=tl_keras.evaluate_classifier(model, test). "
                         f"Received: min_accuracy={min_accuracy}, test_report=None")
    accuracy = test_report["accuracy"]
    if not accuracy >= min_accuracy:
        raise GateError(
            f"The test accuracy {accuracy:.4f} (on {test_report['examples']:,} examples) "
            f"is below the gate's {min_accuracy}: nothing was exported. Received: "
            f"min_accuracy={min_accuracy}")


def _renumber(export_dir):
    """For a version chosen automatically that another export took meanwhile: the
    next free number, written into the staged version's card."""
    def renumber(staged_dir):
        version = layout.next_version(export_dir)
        card = layout.read_model_card(staged_dir)
        card["version"] = version
        layout.write_model_card(staged_dir, card)
        return version

    return renumber


def _write_saved_model(model, path, class_names, signatures, top_k, resize):
    archive = keras.export.ExportArchive()
    archive.track(model)
    add_signatures(archive, model, class_names, signatures, top_k=top_k, resize=resize)
    archive.write_out(path, verbose=False)
    mark_classify_method(path)
