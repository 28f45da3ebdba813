"""`tl-keras`: the command line over tl_keras's public API.

    tl-keras bases
    tl-keras train --data DIR --base NAME [--weights imagenet|none|PATH] ...
    tl-keras train-text --data CSV --vectors PATH_OR_HANDLE ...
    tl-keras predict MODEL_DIR IMAGE...
    tl-keras check PATH
    tl-keras models [--root saved_models]
    tl-keras demo
"""

import sys

from tl_keras.cli_library import library_command
from tl_keras.cli_parser import build_parser
from tl_keras.cli_train import alpha_for
from tl_keras.cli_train import train
from tl_keras.cli_train import train_text


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


def _predict(args):
    import tensorflow as tf

    from tl_keras.data.image_files import DEFAULT_RESIZE
    from tl_keras.data.image_files import load_images
    from tl_keras.data.image_folder import scan_files
    from tl_keras.export import layout
    from tl_keras.library.governance import resolve_reference
    from tl_keras.library.governance import retired_note

    version_dir = layout.resolve_version_dir(resolve_reference(args.model_dir))
    if version_dir is not None and retired_note(version_dir):
        print(retired_note(version_dir))
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
    import tensorflow as tf

    if not tf.io.gfile.isdir(root):
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


def _rank(args):
    import tl_keras as tlk

    size = (args.image_size, args.image_size)
    weights = None if args.weights.lower() == "none" else args.weights
    bases = [name.strip() for name in args.bases.split(",") if name.strip()]
    alphas = alpha_for(bases, args.alpha, "bases")
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


def _to_tfrecord(args):
    from tl_keras.data.text_tfrecords import write_text_tfrecords
    from tl_keras.data.tfrecords import write_image_tfrecords

    if args.text:
        write_text_tfrecords(args.data, args.output, shards=args.shards,
                             text_column=args.text_column,
                             label_column=args.label_column,
                             encoding=args.encoding)
        print(f"Read them with tl_keras.text_dataset('{args.output}/*.tfrecord', ...) or "
              f"`tl-keras train-text --data '{args.output}/*.tfrecord'`.")
        return 0
    write_image_tfrecords(args.data, args.output, shards=args.shards)
    print(f"Read them with tl_keras.image_dataset('{args.output}/*.tfrecord', ...) or "
          f"`tl-keras train --data '{args.output}/*.tfrecord'`.")
    return 0


_COMMANDS = {"bases": _bases, "train": train, "train-text": train_text,
             "predict": _predict, "check": _check, "models": _models, "rank": _rank,
             "to-tfrecord": _to_tfrecord, "library": library_command, "demo": _demo}


if __name__ == "__main__":
    sys.exit(main())
