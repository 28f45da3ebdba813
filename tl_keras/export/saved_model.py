"""SavedModel export in TF Serving's versioned layout, with a model card.

The layout (version directories, labels, card, Keras model, temporaries) is
`tl_keras.io.layout`'s; this module writes a version into it.
"""

import dataclasses
import os
import warnings

import keras

from tl_keras.data.image_files import check_resize
from tl_keras.export import staging
from tl_keras.export.card import model_card
from tl_keras.export.gate import check_gate
from tl_keras.export.options import CARD_FIELDS
from tl_keras.export.options import SERVING_FIELDS
from tl_keras.export.options import ModelCard
from tl_keras.export.options import ServingOptions
from tl_keras.export.signatures import add_signatures
from tl_keras.export.signatures import check_signatures
from tl_keras.export.signatures import is_text_model
from tl_keras.export.signatures import mark_classify_method
from tl_keras.export.warmup import warmup_possible
from tl_keras.export.warmup import write_warmup_requests
from tl_keras.io import layout
from tl_keras.io.cluster import written_by_chief
from tl_keras.models.parts import class_names_of
from tl_keras.models.transfer_model import check_class_names


def export_saved_model(model, export_dir, *, class_names=None, version=None, card=None,
                       serving=None, verbose="auto", **deprecated):
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

    A release gate is a step of its own, before the export:
    `tl_keras.check_gate(report, min_accuracy)` raises and nothing is written.

    Args:
        model: a Keras classifier (from `tl_keras.build_model` or
            `build_text_model`, or a plain `keras.Model`).
        export_dir: the model's directory, such as `"saved_models/flowers"`.
        class_names: names of the output classes, in output order (two names
            for a single sigmoid unit: negative, positive). Defaults to `None`:
            the model's own `class_names`.
        version: the integer version to write. Defaults to `None`: one more
            than the highest existing version (1 for a new model).
        card: a `tl_keras.ModelCard`: history, metrics, the test report, the
            training data's fingerprint, intended use and limitations.
            Defaults to `None`: the card holds what the model tells.
        serving: a `tl_keras.ServingOptions`: `top_k`, `signatures`, `resize`
            and `warmup`. Defaults to `None`: `ServingOptions()`.
        verbose: log the export's lines (`0` silences them). Defaults to `"auto"`.
        **deprecated: the keywords of earlier releases (`history=`, `metrics=`,
            `test_report=`, `training_data=`, `intended_use=`, `limitations=`,
            `top_k=`, `signatures=`, `resize=`, `warmup=`, `min_accuracy=`),
            still taken for one release with a `DeprecationWarning` naming the
            new form.

    Returns:
        The path of the written version directory.

    Raises:
        ValueError: class names that do not match the output, a bad version,
            an `export_dir` that is a file, or an unknown keyword.
        tl_keras.GateError: (deprecated `min_accuracy=` only) the test accuracy
            is below it; nothing written.
        FileExistsError: if `version` already exists.

    Example:

    >>> path = tl_keras.export_saved_model(
    ...     model, "saved_models/flowers", class_names=class_names,
    ...     card=tl_keras.ModelCard(history=history))
    >>> path
    'saved_models/flowers/1'
    """
    card, serving, min_accuracy = _with_deprecated(card, serving, deprecated)
    export_dir = layout.check_export_dir(export_dir)
    check_gate(card.test_report, min_accuracy)
    units = model.output_shape[-1]
    if class_names is None:
        class_names = class_names_of(model)
    class_names = check_class_names(class_names, units)
    check_resize(serving.resize)
    warmup = warmup_possible(serving.warmup, verbose)
    chosen = check_signatures(model, class_names, serving.signatures)
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
        _write_saved_model(model, version_dir, class_names, chosen, serving)
        layout.write_labels(version_dir, class_names)
        if warmup:
            write_warmup_requests(version_dir, layout.model_name(export_dir),
                                  model.input_shape[1:], chosen, text=is_text_model(model))
        layout.write_model_card(version_dir, model_card(
            model, export_dir, version, class_names, card, serving, signatures=chosen))
        layout.save_keras_model(model, version_dir)
    return os.path.join(export_dir, str(staged.version))


def _with_deprecated(card, serving, deprecated):
    """The card and serving options, with the keywords of earlier releases folded
    in (each with a `DeprecationWarning` naming its new form)."""
    if card is not None and not isinstance(card, ModelCard):
        raise ValueError("Expected `card` to be a tl_keras.ModelCard(...). "
                         f"Received: card={card!r}")
    if serving is not None and not isinstance(serving, ServingOptions):
        raise ValueError("Expected `serving` to be a tl_keras.ServingOptions(...). "
                         f"Received: serving={serving!r}")
    unknown = sorted(set(deprecated) - set(CARD_FIELDS) - set(SERVING_FIELDS)
                     - {"min_accuracy"})
    if unknown:
        raise TypeError(f"export_saved_model() got unexpected keyword argument(s) "
                        f"{unknown}. Received: {unknown}")
    card, serving = card or ModelCard(), serving or ServingOptions()
    moved = {"card": {k: v for k, v in deprecated.items() if k in CARD_FIELDS},
             "serving": {k: v for k, v in deprecated.items() if k in SERVING_FIELDS}}
    for where, fields in moved.items():
        if fields:
            new = "ModelCard" if where == "card" else "ServingOptions"
            shown = ", ".join(f"{k}=..." for k in fields)
            warnings.warn(f"export_saved_model({shown}) is deprecated: pass "
                          f"{where}=tl_keras.{new}({shown}).", DeprecationWarning,
                          stacklevel=3)
    card = dataclasses.replace(card, **moved["card"])
    serving = dataclasses.replace(serving, **moved["serving"])
    min_accuracy = deprecated.get("min_accuracy")
    if min_accuracy is not None:
        warnings.warn("export_saved_model(min_accuracy=...) is deprecated: call "
                      "tl_keras.check_gate(test_report, min_accuracy) before the export.",
                      DeprecationWarning, stacklevel=3)
    return card, serving, min_accuracy


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


def _write_saved_model(model, path, class_names, signatures, serving):
    archive = keras.export.ExportArchive()
    archive.track(model)
    add_signatures(archive, model, class_names, signatures, top_k=serving.top_k,
                   resize=serving.resize)
    archive.write_out(path, verbose=False)
    mark_classify_method(path)
