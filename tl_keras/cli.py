"""`tl-keras`: the command line over tl_keras's public API.

    tl-keras bases
    tl-keras train --data DIR --base NAME [--weights imagenet|none|PATH] ...
    tl-keras train-text --data CSV --vectors PATH_OR_HANDLE ...
    tl-keras predict MODEL_DIR IMAGE...
    tl-keras check PATH
    tl-keras models [--root saved_models]
    tl-keras demo
"""

import contextlib
import os
import sys

from tl_keras.cli_parser import build_parser
from tl_keras.cli_parser import training_options


def main(argv=None):
    """Runs `tl-keras`; returns the exit status."""
    from tl_keras.version import __version__

    args = build_parser(__version__).parse_args(argv)
    if not args.verbose:
        _quiet_tensorflow()
    if getattr(args, "strategy", None) == "multi_worker":  # before TensorFlow runs anything
        from tl_keras.training.distribution import multi_worker_strategy

        multi_worker_strategy()
    from tl_keras.errors import DownloadError

    try:
        return _COMMANDS[args.command](args) or 0
    except (ValueError, FileNotFoundError, FileExistsError, DownloadError) as error:
        print(f"tl-keras {args.command}: error: {error}", file=sys.stderr)
        return 2


def _quiet_tensorflow():
    """Keeps TensorFlow's Python-side log lines out of the command's output; its
    C++ log level is set before TensorFlow loads by the `tl-keras` entry point
    (`tl_keras_cli`)."""
    import absl.logging

    absl.logging.set_verbosity(absl.logging.ERROR)


def _bases(args):
    from tl_keras.bases import get_entry
    from tl_keras.bases import list_bases

    kwargs = {} if args.alpha is None else {"alpha": args.alpha}
    print(f"{'name':<22}{'default size':>13}{'min size':>10}{'features':>10}  preprocessing")
    for name in list_bases():
        entry = get_entry(name)
        if kwargs and not set(kwargs) <= set(entry.feature_size_args):
            continue  # the argument does not apply to this base
        dim = entry.feature_dim_for(**kwargs)
        print(f"{name:<22}{entry.default_size:>13}{entry.min_size:>10}"
              f"{dim if dim is not None else '-':>10}  {entry.preprocessing}")


def _train(args):
    import tl_keras as tlk
    from tl_keras.bases import get_entry
    from tl_keras.bases.registry import is_registered
    from tl_keras.cluster import is_chief
    from tl_keras.cluster import task
    from tl_keras.data.image_folder import class_folders
    from tl_keras.export.layout import check_export_dir
    from tl_keras.plots import plot_history

    # Everything that can be checked is checked before any work.
    _check_epochs(args)
    split = _validation_split(args, args.validation_data)
    class_names = class_folders(args.data)
    if args.validation_data is not None and class_folders(args.validation_data) != class_names:
        raise ValueError(
            "The validation folder's classes differ from the training folder's: "
            f"{class_folders(args.validation_data)} vs {class_names}. "
            f"Received: --validation-data {args.validation_data}")
    export_dir = check_export_dir(args.export or _default_export_dir(args.data))
    weights = None if args.weights.lower() == "none" else args.weights
    kwargs = _alpha_for([args.base], args.alpha, "base")[args.base]
    if args.image_size:
        size = args.image_size
    elif is_registered(args.base):
        size = get_entry(args.base).default_size
    else:  # an exported model: its own input size
        size = tlk.load_base(args.base).input_shape[1]
    model = tlk.build_model(
        args.base, num_classes=len(class_names), weights=weights,
        input_shape=(size, size, 3), class_names=class_names,
        augmentation=args.augmentation, **kwargs,
    )
    train, val, class_names = tlk.image_dataset(
        args.data, image_size=(size, size), batch_size=args.batch_size,
        validation_split=split)
    if args.validation_data:
        val, _, _ = tlk.image_dataset(args.validation_data, image_size=(size, size),
                                      batch_size=args.batch_size, validation_split=0,
                                      shuffle=False)
    with _export_dir_for_the_run(export_dir):  # made now: written or refused before work
        history = tlk.fit_two_phase(
            model, train, val, epochs=args.epochs, fine_tune_epochs=args.fine_tune_epochs,
            fine_tune_at=_number_or_name(args.fine_tune_at),
            learning_rate=args.learning_rate, **training_options(args),
        )
        metrics, result = _shipped_metrics(model, train, val)
        if not _passes_the_gate(metrics, args.assert_accuracy_at_least, result):
            return 1  # nothing exported
        path = tlk.export_saved_model(model, export_dir, history=history, metrics=metrics)
    if not is_chief():  # every worker takes part in the save; the chief's alone lands
        print(f"Trained as {'/'.join(map(str, task()))}: the chief exported to {export_dir}.")
        return 0
    curves = os.path.join(path, "training_curves.png")
    plot_history(history, title=f"{model.name} on {args.data}").savefig(curves, dpi=100)
    print(f"Exported to {path} (classes: {', '.join(class_names)})")
    print(f"Training curves: {curves}")
    if val is not None:
        from tl_keras.plots import plot_confusion_matrix

        matrix = os.path.join(path, "confusion_matrix.png")
        plot_confusion_matrix(model, val, class_names).savefig(matrix, dpi=100)
        print(f"Confusion matrix (validation): {matrix}")
    print(result)
    return 0


def _validation_split(args, validation_data=None):
    """`--validation-split` checked (in [0, 1), not beside `--validation-data`);
    its default, 0.2, when not given."""
    split = args.validation_split
    if split is not None and not 0 <= split < 1:
        raise ValueError("Expected --validation-split in [0, 1). "
                         f"Received: --validation-split {split}")
    if validation_data is not None:
        if split is not None:
            raise ValueError(
                "--validation-split and --validation-data both choose the validation data: "
                f"pass one. Received: --validation-split {split} --validation-data "
                f"{validation_data}")
        return 0
    return 0.2 if split is None else split


@contextlib.contextmanager
def _export_dir_for_the_run(export_dir):
    """Creates the export directory before training, so a directory that cannot be
    written fails in a second, not after the training; removes it again when the
    run ends without an export and it was made for it (and is still empty)."""
    import tensorflow as tf

    existed = tf.io.gfile.isdir(export_dir)
    try:
        tf.io.gfile.makedirs(export_dir)
        probe = os.path.join(export_dir, ".tl_keras_write_check")
        with tf.io.gfile.GFile(probe, "w") as f:
            f.write("")
        tf.io.gfile.remove(probe)
    except (OSError, tf.errors.OpError) as error:
        raise ValueError(f"Cannot write the export directory {export_dir} "
                         f"({type(error).__name__}: {error}). Pass --export a directory "
                         f"you can write. Received: --export {export_dir}") from None
    try:
        yield
    finally:
        if not existed and tf.io.gfile.isdir(export_dir) and not tf.io.gfile.listdir(
                export_dir):
            tf.io.gfile.rmtree(export_dir)


def _shipped_metrics(model, train, val):
    """The metrics of the weights about to be exported, evaluated on the validation
    data (the training data without it): `({"val_accuracy": ...}, result line)`."""
    data, part, name = (val, "val", "validation") if val is not None else (
        train, "train", "training")
    values = model.evaluate(data, verbose=0, return_dict=True)
    metrics = {f"{part}_{key}": float(value) for key, value in values.items()}
    shown = ", ".join(f"{key} {value:.4f}" for key, value in sorted(values.items()))
    return metrics, f"Result on the {name} data, with the weights exported: {shown}"


def _passes_the_gate(metrics, threshold, result):
    """`--assert-accuracy-at-least`, checked on the weights that would ship, before
    anything is written."""
    if threshold is None:
        return True
    accuracy = metrics.get("val_accuracy", metrics.get("train_accuracy", float("nan")))
    if accuracy >= threshold:
        return True
    print(result)
    print(f"tl-keras train: error: accuracy {accuracy:.4f} of the trained weights is below "
          f"--assert-accuracy-at-least {threshold}: nothing was exported.", file=sys.stderr)
    return False


def _check_epochs(args):
    epochs = 1 if args.epochs is None else args.epochs  # None: chosen by fit_two_phase
    if epochs < 0 or args.fine_tune_epochs < 0 or not epochs + args.fine_tune_epochs:
        raise ValueError(
            "Nothing would be trained: expected --epochs and --fine-tune-epochs >= 0, "
            "at least one of them > 0 (an untrained model is never exported). "
            f"Received: --epochs {args.epochs} --fine-tune-epochs {args.fine_tune_epochs}")


def _default_export_dir(data):
    """`saved_models/<data folder>`, or the folder above a `train` folder
    (`pets/train` -> `saved_models/pets`)."""
    folder = os.path.normpath(os.path.abspath(data))
    name = os.path.basename(folder)
    if name.lower() in ("train", "training") and os.path.basename(os.path.dirname(folder)):
        name = os.path.basename(os.path.dirname(folder))
    return os.path.join("saved_models", os.path.splitext(name)[0])


def _train_text(args):
    import numpy as np

    import tl_keras as tlk
    from tl_keras.export.layout import check_export_dir
    from tl_keras.plots import plot_history

    _check_epochs(args)
    split = _validation_split(args)
    export_dir = check_export_dir(args.export or _default_export_dir(args.data))
    train, val, class_names = tlk.text_dataset(
        args.data, text_column=args.text_column, label_column=args.label_column,
        batch_size=args.batch_size, validation_split=split, encoding=args.encoding)
    # The dataset holds UTF-8 bytes; numpy's astype(str) would decode them as ASCII.
    texts = np.array([text.decode("utf-8") for batch, _ in train for text in batch.numpy()],
                     dtype=object)
    model = tlk.build_text_model(
        args.vectors, len(class_names), texts=texts, max_tokens=args.max_tokens,
        sequence_length=args.sequence_length, encoder=args.encoder,
        class_names=class_names)
    with _export_dir_for_the_run(export_dir):
        history = tlk.fit_two_phase(
            model, train, val, epochs=args.epochs, fine_tune_epochs=args.fine_tune_epochs,
            learning_rate=args.learning_rate, **training_options(args))
        metrics, result = _shipped_metrics(model, train, val)
        path = tlk.export_saved_model(model, export_dir, history=history, metrics=metrics)
    curves = os.path.join(path, "training_curves.png")
    plot_history(history, title=f"{model.name} on {args.data}").savefig(curves, dpi=100)
    print(f"Exported to {path} (classes: {', '.join(class_names)}); serve it with "
          "`texts` (strings) in.")
    print(f"Training curves: {curves}")
    print(result)
    return 0


def _number_or_name(value):
    if value is None:
        return None
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def _predict(args):
    import tensorflow as tf

    from tl_keras.data.image_files import DEFAULT_RESIZE
    from tl_keras.data.image_files import load_images
    from tl_keras.data.image_folder import scan_files
    from tl_keras.export import layout

    version_dir = layout.resolve_version_dir(args.model_dir)
    if version_dir is None:
        raise ValueError(
            "Expected an exported model: saved_models/NAME (its latest version) or a "
            f"version directory with saved_model.pb. Received: model_dir={args.model_dir!r}"
        )
    serve = tf.saved_model.load(version_dir).signatures["serving_default"]
    if "texts" in serve.structured_input_signature[1]:  # a text model: texts in
        return _predict_texts(serve, version_dir, args)
    paths, skipped, missing = scan_files(args.images)
    if missing:
        raise FileNotFoundError(f"Image files or folders not found. Received: {missing}")
    for path, reason in skipped:
        print(f"{path}: skipped: {reason}", file=sys.stderr)
    if not paths:
        print("tl-keras predict: error: no readable image among the "
              f"{len(skipped)} file(s) given", file=sys.stderr)
        return 1
    newer = [v for v in layout.broken_versions(args.model_dir)
             if v > layout.version_of(version_dir)]
    if newer and not layout.is_version_dir(args.model_dir):
        print(f"Skipped version(s) {newer}: no saved_model.pb (broken or unfinished "
              "exports).")
    height, width = serve.structured_input_signature[1]["images"].shape[1:3]
    resize = layout.read_model_card(version_dir).get("resize", DEFAULT_RESIZE)
    print(f"Model: {version_dir}")
    for start in range(0, len(paths), 32):
        batch = paths[start:start + 32]
        outputs = serve(images=tf.constant(load_images(batch, (height, width), resize)))
        for index, path in enumerate(batch):
            print(f"{path}: {_ranked(outputs, index, args.top)}")
    return 0


def _ranked(outputs, index, top):
    """`"cat 0.910, dog 0.090"`: the top classes of one example of a signature's outputs."""
    import numpy as np

    if "classes" in outputs:
        classes = [c.decode() for c in outputs["classes"][index].numpy()[:top]]
        scores = outputs["scores"][index].numpy()[:top]
    else:
        probabilities = outputs["probabilities"][index].numpy()
        order = np.argsort(-probabilities)[:top]
        classes, scores = [str(i) for i in order], probabilities[order]
    return ", ".join(f"{name} {score:.3f}" for name, score in zip(classes, scores))


def _predict_texts(serve, version_dir, args):
    """`predict` for a text model: each non-empty line of the files given (`-`:
    standard input) is one text."""
    import tensorflow as tf

    texts = []
    for name in args.images:
        if name == "-":
            texts += sys.stdin.read().splitlines()
            continue
        if not tf.io.gfile.exists(name) or tf.io.gfile.isdir(name):
            raise FileNotFoundError(f"Expected text files (a text per line) for a text "
                                    f"model. Received: {name}")
        with tf.io.gfile.GFile(name, "rb") as f:
            texts += f.read().decode("utf-8-sig", errors="replace").splitlines()
    texts = [text.strip() for text in texts if text.strip()]
    if not texts:
        print("tl-keras predict: error: no text in the files given (a text per line)",
              file=sys.stderr)
        return 1
    print(f"Model: {version_dir} (texts)")
    for start in range(0, len(texts), 32):
        batch = texts[start:start + 32]
        outputs = serve(texts=tf.constant(batch))
        for index, text in enumerate(batch):
            shown = text if len(text) <= 60 else text[:57] + "..."
            print(f"{shown}: {_ranked(outputs, index, args.top)}")
    return 0


def _check(args):
    from tl_keras.export.check import check_export

    return 0 if check_export(args.path).ok else 1


def _models(args):
    from tl_keras.library import format_models
    from tl_keras.library import list_models

    if args.root and args.root_option and args.root != args.root_option:
        raise ValueError(f"Two roots given: pass one. Received: {args.root} --root "
                         f"{args.root_option}")
    root = args.root or args.root_option or "saved_models"
    if not os.path.isdir(root):
        print(f"No exported models under {root} (it does not exist yet: "
              "`tl-keras train` exports there).")
        return 0
    entries = list_models(root)
    if not entries:
        print(f"No exported models under {root}.")
        return 0
    print(format_models(entries))
    return 0


def _demo(args):
    from tl_keras.demo import run_demo

    result = run_demo(args.output)
    if result["transfer_accuracy"] <= result["scratch_accuracy"]:
        print("tl-keras demo: error: transfer did not beat training from scratch",
              file=sys.stderr)
        return 1
    return 0


def _alpha_for(names, alpha, flag):
    """{name: {"alpha": alpha} for a base that takes it, else {}}; `--alpha` given
    and taken by none of `names` is an error, before any work."""
    from tl_keras.bases.registry import get_entry
    from tl_keras.bases.registry import is_registered
    from tl_keras.bases.registry import list_bases

    takes = {name: is_registered(name) and "alpha" in get_entry(name).feature_size_args
             for name in names}
    if alpha is not None and not any(takes.values()):
        mobilenets = [n for n in list_bases() if "alpha" in get_entry(n).feature_size_args]
        raise ValueError(f"--alpha applies to the MobileNet bases only "
                         f"({', '.join(mobilenets)}). Received: --{flag} "
                         f"{','.join(names)} --alpha {alpha}")
    return {name: {"alpha": alpha} if alpha is not None and takes[name] else {}
            for name in names}


def _rank(args):
    import tl_keras as tlk

    size = (args.image_size, args.image_size)
    weights = None if args.weights.lower() == "none" else args.weights
    bases = [name.strip() for name in args.bases.split(",") if name.strip()]
    alphas = _alpha_for(bases, args.alpha, "bases")
    data, _, _ = tlk.image_dataset(args.data, image_size=size, validation_split=0,
                                   shuffle=False)
    # A MobileNet at --alpha is loaded here (with --weights); the rest by rank_bases.
    bases = [(name, tlk.load_base(name, input_shape=size + (3,), weights=weights,
                                  **alphas[name])) if alphas[name] else name
             for name in bases]
    ranking = tlk.rank_bases(data, bases, method=args.method, weights=weights)
    print(tlk.format_ranking(ranking))
    if args.plot:
        tlk.plots.plot_ranking(ranking).savefig(args.plot, dpi=100)
        print(f"Plot: {args.plot}")
    return 0


_COMMANDS = {"bases": _bases, "train": _train, "train-text": _train_text,
             "predict": _predict, "check": _check, "models": _models, "rank": _rank,
             "demo": _demo}


if __name__ == "__main__":
    sys.exit(main())
