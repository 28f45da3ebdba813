"""`tl-keras`: the command line over tl_keras's public API.

    tl-keras bases
    tl-keras train --data DIR --base NAME [--weights imagenet|none|PATH] ...
    tl-keras train-text --data CSV --vectors PATH_OR_HANDLE ...
    tl-keras predict MODEL_DIR IMAGE...
    tl-keras check PATH
    tl-keras models [--root saved_models]
    tl-keras demo
"""

import argparse
import os
import sys


def _parser():
    parser = argparse.ArgumentParser(
        prog="tl-keras", description="Transfer learning with Keras 3 and TensorFlow."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    bases = commands.add_parser("bases", help="list the named bases and their input sizes")
    bases.add_argument("--alpha", type=float, default=None,
                       help="width multiplier: show the MobileNets' feature sizes at it")

    train = commands.add_parser(
        "train", help="train a classifier on folders of images (one per class) and export it"
    )
    train.add_argument("--data", required=True,
                       help="directory with one subfolder of images per class")
    train.add_argument("--base", required=True,
                       help="a name from `tl-keras bases`, or an exported model directory")
    train.add_argument("--weights", default="imagenet",
                       help="imagenet, none, or the path to a weights file (default: imagenet)")
    train.add_argument("--image-size", type=int, default=None,
                       help="square input size in pixels (default: the base's own)")
    train.add_argument("--epochs", type=int, default=5, help="phase 1 epochs (default: 5)")
    train.add_argument("--fine-tune-epochs", type=int, default=5,
                       help="phase 2 epochs; 0 skips fine-tuning (default: 5)")
    train.add_argument("--fine-tune-at", default=None,
                       help="layer name, index, or fraction where unfreezing starts "
                            "(default: the top third)")
    train.add_argument("--learning-rate", type=float, default=1e-3)
    train.add_argument("--fine-tune-learning-rate", type=float, default=1e-5)
    train.add_argument("--batch-size", type=int, default=32)
    train.add_argument("--validation-split", type=float, default=0.2)
    train.add_argument("--alpha", type=float, default=None,
                       help="width multiplier of the MobileNet bases")
    train.add_argument("--export", default=None,
                       help="export directory (default: saved_models/<data folder name>)")
    train.add_argument("--assert-accuracy-at-least", type=float, default=None,
                       help="exit non-zero when the final validation accuracy is lower "
                            "(makes the command a smoke test)")

    text = commands.add_parser(
        "train-text", help="train a text classifier on a CSV with pre-trained embeddings")
    text.add_argument("--data", required=True,
                      help="a CSV file with a header, or a folder of .txt files per class")
    text.add_argument("--vectors", required=True,
                      help="word vectors file (GloVe, word2vec) or a TF Hub text embedding")
    text.add_argument("--text-column", default="text")
    text.add_argument("--label-column", default="label")
    text.add_argument("--encoding", default="utf-8")
    text.add_argument("--encoder", default="average", choices=["average", "conv", "bilstm"])
    text.add_argument("--max-tokens", type=int, default=20000)
    text.add_argument("--sequence-length", type=int, default=200)
    text.add_argument("--epochs", type=int, default=5)
    text.add_argument("--fine-tune-epochs", type=int, default=5)
    text.add_argument("--learning-rate", type=float, default=1e-3)
    text.add_argument("--fine-tune-learning-rate", type=float, default=1e-4)
    text.add_argument("--batch-size", type=int, default=32)
    text.add_argument("--validation-split", type=float, default=0.2)
    text.add_argument("--export", default=None,
                      help="export directory (default: saved_models/<data file name>)")

    predict = commands.add_parser("predict", help="top classes of images from an export")
    predict.add_argument("model_dir", help="saved_models/NAME (latest version) or .../NAME/N")
    predict.add_argument("images", nargs="+", help="image files (JPEG, PNG, GIF, BMP)")
    predict.add_argument("--top", type=int, default=3, help="classes to show (default: 3)")

    check = commands.add_parser(
        "check", help="check an export before shipping it to TF Serving (exit 1 on failure)")
    check.add_argument("path", help="saved_models/NAME (latest version) or .../NAME/N")

    models = commands.add_parser("models", help="list the model library and its lineage")
    models.add_argument("--root", default="saved_models",
                        help="the library's root directory (default: saved_models)")

    demo = commands.add_parser("demo", help="the offline transfer-learning demo")
    demo.add_argument("--output", default="saved_models",
                      help="where the demo's models and plot go (default: saved_models)")
    return parser


def main(argv=None):
    """Runs `tl-keras`; returns the exit status."""
    args = _parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from tl_keras.errors import DownloadError

    try:
        return _COMMANDS[args.command](args) or 0
    except (ValueError, FileNotFoundError, FileExistsError, DownloadError) as error:
        print(f"tl-keras {args.command}: error: {error}", file=sys.stderr)
        return 2


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
    from tl_keras.plots import plot_history

    weights = None if args.weights.lower() == "none" else args.weights
    kwargs = {} if args.alpha is None else {"alpha": args.alpha}
    if args.image_size:
        size = args.image_size
    elif is_registered(args.base):
        size = get_entry(args.base).default_size
    else:  # an exported model: its own input size
        size = tlk.load_base(args.base).input_shape[1]
    from tl_keras.data.image_dataset import class_folders

    class_names = class_folders(args.data)  # checks the folders before any work
    model = tlk.build_model(
        args.base, num_classes=len(class_names), weights=weights,
        input_shape=(size, size, 3), class_names=class_names, **kwargs,
    )
    train, val, class_names = tlk.image_dataset(
        args.data, image_size=(size, size), batch_size=args.batch_size,
        validation_split=args.validation_split,
    )
    history = tlk.fit_two_phase(
        model, train, val, epochs=args.epochs, fine_tune_epochs=args.fine_tune_epochs,
        fine_tune_at=_number_or_name(args.fine_tune_at), learning_rate=args.learning_rate,
        fine_tune_learning_rate=args.fine_tune_learning_rate, verbose=2,
    )
    export_dir = args.export or os.path.join(
        "saved_models", os.path.basename(os.path.normpath(args.data)))
    path = tlk.export_saved_model(model, export_dir, history=history)  # its class names
    curves = os.path.join(path, "training_curves.png")
    plot_history(history, title=f"{model.name} on {args.data}").savefig(curves, dpi=100)
    print(f"Exported to {path} (classes: {', '.join(class_names)})")
    print(f"Training curves: {curves}")
    if val is not None:
        from tl_keras.plots import plot_confusion_matrix

        matrix = os.path.join(path, "confusion_matrix.png")
        plot_confusion_matrix(model, val, class_names).savefig(matrix, dpi=100)
        print(f"Confusion matrix (validation): {matrix}")
    accuracy = history.history.get("val_accuracy", history.history.get("accuracy"))
    if args.assert_accuracy_at_least is not None:
        final = accuracy[-1] if accuracy else float("nan")
        if not final >= args.assert_accuracy_at_least:
            print(f"tl-keras train: error: final accuracy {final:.4f} is below "
                  f"--assert-accuracy-at-least {args.assert_accuracy_at_least}",
                  file=sys.stderr)
            return 1
    return 0


def _train_text(args):
    import numpy as np

    import tl_keras as tlk

    train, val, class_names = tlk.text_dataset(
        args.data, text_column=args.text_column, label_column=args.label_column,
        batch_size=args.batch_size, validation_split=args.validation_split,
        encoding=args.encoding)
    texts = np.concatenate([batch.numpy() for batch, _ in train]).astype(str)
    model = tlk.build_text_model(
        args.vectors, len(class_names), texts=texts, max_tokens=args.max_tokens,
        sequence_length=args.sequence_length, encoder=args.encoder,
        class_names=class_names)
    history = tlk.fit_two_phase(
        model, train, val, epochs=args.epochs, fine_tune_epochs=args.fine_tune_epochs,
        learning_rate=args.learning_rate,
        fine_tune_learning_rate=args.fine_tune_learning_rate, verbose=2)
    name = os.path.splitext(os.path.basename(os.path.normpath(args.data)))[0]
    path = tlk.export_saved_model(model, args.export or os.path.join("saved_models", name),
                                  history=history)
    print(f"Exported to {path} (classes: {', '.join(class_names)}); serve it with "
          "`texts` (strings) in.")
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
    import numpy as np
    import tensorflow as tf

    from tl_keras.export.layout import read_model_card
    from tl_keras.export.layout import resolve_version_dir
    from tl_keras.data.image_files import DEFAULT_RESIZE
    from tl_keras.data.image_files import load_images

    version_dir = resolve_version_dir(args.model_dir)
    if version_dir is None:
        raise ValueError(
            "Expected an exported model: saved_models/NAME (its latest version) or a "
            f"version directory with saved_model.pb. Received: model_dir={args.model_dir!r}"
        )
    missing = [path for path in args.images if not os.path.isfile(path)]
    if missing:
        raise FileNotFoundError(f"Image files not found. Received: {missing}")
    serve = tf.saved_model.load(version_dir).signatures["serving_default"]
    height, width = serve.structured_input_signature[1]["images"].shape[1:3]
    resize = read_model_card(version_dir).get("resize", DEFAULT_RESIZE)
    images = load_images(args.images, (height, width), resize)
    outputs = serve(images=tf.constant(images))
    print(f"Model: {version_dir}")
    for index, path in enumerate(args.images):
        if "classes" in outputs:
            classes = [c.decode() for c in outputs["classes"][index].numpy()[:args.top]]
            scores = outputs["scores"][index].numpy()[:args.top]
        else:
            probabilities = outputs["probabilities"][index].numpy()
            order = np.argsort(-probabilities)[:args.top]
            classes, scores = [str(i) for i in order], probabilities[order]
        ranked = ", ".join(f"{name} {score:.3f}" for name, score in zip(classes, scores))
        print(f"{path}: {ranked}")
    return 0


def _check(args):
    from tl_keras.export.check import check_export

    return 0 if check_export(args.path).ok else 1


def _models(args):
    from tl_keras.library import format_models
    from tl_keras.library import list_models

    entries = list_models(args.root)
    if not entries:
        print(f"No exported models under {args.root}.")
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


_COMMANDS = {"bases": _bases, "train": _train, "train-text": _train_text,
             "predict": _predict, "check": _check,
             "models": _models, "demo": _demo}


if __name__ == "__main__":
    sys.exit(main())
