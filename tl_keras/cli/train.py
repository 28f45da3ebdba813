"""`tl-keras train` and `train-text`: every check before the work, the gate before the
export, and make_image_classifier's options."""

import os

import numpy as np
import tensorflow as tf

import tl_keras as tlk
from tl_keras.bases.registry import get_entry
from tl_keras.bases.registry import is_registered
from tl_keras.bases.registry import list_bases
from tl_keras.cli.audit import audit_before_training
from tl_keras.cli.figures import write_figures
from tl_keras.cli.gate import check_test_split
from tl_keras.cli.gate import gated_export
from tl_keras.cli.gate import split_sides
from tl_keras.cli.paths import check_output_paths
from tl_keras.cli.paths import data_class_names
from tl_keras.cli.paths import default_export_dir
from tl_keras.cli.paths import export_dir_for_the_run
from tl_keras.cli.paths import gate_failed_dir
from tl_keras.io.cluster import is_chief
from tl_keras.io.cluster import task
from tl_keras.io.layout import check_export_dir
from tl_keras.plots import plot_history
from tl_keras.training.losses import SparseCrossentropyWithSmoothing
from tl_keras.training.options import Distribution
from tl_keras.training.options import FineTuning
from tl_keras.training.options import Speed


def train(args):
    """`tl-keras train`: an image classifier from a folder of class folders.

    Checks every argument, the class folders and the export directory before any
    work; builds the model on `--base` at the image size said in the first line;
    audits the splits (leaks and conflicts, in a line; `--no-audit` skips it);
    trains both phases; evaluates the weights that would ship and applies
    `--assert-accuracy-at-least` to them; then exports (TF Serving's versioned
    layout, with the card, the training curves and, with validation data, the
    confusion matrix) and writes `--labels-output` and `--tflite-output`.

    Args:
        args: the parsed `argparse.Namespace` of `tl-keras train`.

    Returns:
        The exit status: 0 exported, 1 the gate failed (nothing written).
    """

    # Everything that can be checked is checked before any work.
    _check_epochs(args)
    _check_head_and_optimizer(args)
    check_output_paths(args)
    split = _validation_split(args, args.validation_data)
    test_split = check_test_split(args)
    class_names = data_class_names(args.data)
    for flag, folder in (("--validation-data", args.validation_data),
                         ("--test-data", args.test_data)):
        if folder is not None and data_class_names(folder) != class_names:
            raise ValueError(
                f"The {flag[2:-5]} folder's classes differ from the training folder's: "
                f"{data_class_names(folder)} vs {class_names}. Received: {flag} {folder}")
    export_dir = check_export_dir(args.export or default_export_dir(args.data))
    weights = None if args.weights.lower() == "none" else args.weights
    kwargs = alpha_for([args.base], args.alpha, "base")[args.base]
    if args.image_size:
        size = args.image_size
    else:  # said: a free-size TF Hub module, for one, would otherwise pass silently
        if is_registered(args.base):
            size = get_entry(args.base).default_size
            why = "the size its weights were trained at"
        else:  # an export or a fixed-size module: its own; a free-size module: 224
            size = tlk.load_base(args.base).input_shape[1]
            why = "the base's own, or 224 for a base that takes any size"
        print(f"Image size: {size}x{size}, {why} (--image-size to choose).")
    model = tlk.build_model(
        args.base, num_classes=len(class_names), weights=weights,
        input_shape=(size, size, 3), class_names=class_names,
        augmentation=args.augmentation, dropout=args.dropout, l2=args.l2, **kwargs,
    )
    _compile_as_asked(model, args)
    audit_before_training(args, model, split, test_split, class_names)
    train, val, test, class_names = split_sides(tlk.image_dataset(
        args.data, image_size=(size, size), batch_size=args.batch_size,
        validation_split=split, test_split=test_split))
    for folder, side in ((args.validation_data, "val"), (args.test_data, "test")):
        if folder:
            read, _, _ = tlk.image_dataset(folder, image_size=(size, size),
                                           batch_size=args.batch_size, validation_split=0,
                                           shuffle=False)
            val, test = (read, test) if side == "val" else (val, read)
    with export_dir_for_the_run(export_dir):  # made now: written or refused before work
        history = tlk.fit_two_phase(
            model, train, val, epochs=args.epochs, fine_tune_epochs=args.fine_tune_epochs,
            fine_tune_at=_number_or_name(args.fine_tune_at),
            learning_rate=args.learning_rate, callbacks=_summaries(args),
            **training_options(args),
        )
        path, result = gated_export(model, (train, val, test), args, export_dir, history,
                                    "train")
        if path is None:  # nothing exported; what shows why is kept beside
            if is_chief():
                write_figures(gate_failed_dir(export_dir), model, history, val, test,
                              class_names, args.data)
            return 1
    if not is_chief():  # every worker takes part in the save; the chief's alone lands
        print(f"Trained as {'/'.join(map(str, task()))}: the chief exported to {export_dir}.")
        return 0
    print(f"Exported to {path} (classes: {', '.join(class_names)})")
    write_figures(path, model, history, val, test, class_names, args.data)
    _extra_outputs(model, class_names, args)
    print("\n".join(result))
    return 0


def _check_head_and_optimizer(args):
    """make_image_classifier's options, checked before any work."""
    if not 0 <= args.dropout < 1:
        raise ValueError(f"Expected --dropout in [0, 1). Received: --dropout {args.dropout}")
    if not args.l2 >= 0:
        raise ValueError(f"Expected --l2 >= 0. Received: --l2 {args.l2}")
    if not 0 <= args.label_smoothing < 1:
        raise ValueError("Expected --label-smoothing in [0, 1). "
                         f"Received: --label-smoothing {args.label_smoothing}")
    if args.momentum is not None and (args.optimizer == "adam" or not 0 <= args.momentum < 1):
        raise ValueError("Expected --momentum in [0, 1) with --optimizer sgd or rmsprop. "
                         f"Received: --optimizer {args.optimizer} --momentum {args.momentum}")


def _compile_as_asked(model, args):
    """`--optimizer`, `--momentum`, `--label-smoothing`: the model compiled with them
    (`fit_two_phase` keeps a compiled model's loss and optimizer type, and sets
    each phase's learning rate)."""
    import keras


    if args.optimizer == "adam" and not args.label_smoothing:
        return  # fit_two_phase's own choice
    momentum = args.momentum if args.momentum is not None else (
        0.9 if args.optimizer == "sgd" else 0.0)
    optimizer = {"adam": keras.optimizers.Adam,
                 "sgd": lambda: keras.optimizers.SGD(momentum=momentum),
                 "rmsprop": lambda: keras.optimizers.RMSprop(momentum=momentum)}[
        args.optimizer]()
    loss = (SparseCrossentropyWithSmoothing(args.label_smoothing) if args.label_smoothing
            else keras.losses.SparseCategoricalCrossentropy())
    model.compile(optimizer=optimizer, loss=loss,
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])


def _summaries(args):
    """`--summaries-dir`: TensorBoard logs of both phases (epochs numbered on)."""
    if not args.summaries_dir:
        return None
    import keras

    return [keras.callbacks.TensorBoard(log_dir=args.summaries_dir)]


def _extra_outputs(model, class_names, args):
    """`--labels-output` and `--tflite-output`, beside the export."""


    if args.labels_output:
        with tf.io.gfile.GFile(args.labels_output, "w") as f:
            f.write("".join(f"{name}\n" for name in class_names))
        print(f"Labels: {args.labels_output}")
    if args.tflite_output:
        tlk.export_tflite(model, args.tflite_output, class_names=class_names)
        print(f"TFLite: {args.tflite_output}")


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


def _check_epochs(args):
    epochs = 1 if args.epochs is None else args.epochs  # None: chosen by fit_two_phase
    if epochs < 0 or args.fine_tune_epochs < 0 or not epochs + args.fine_tune_epochs:
        raise ValueError(
            "Nothing would be trained: expected --epochs and --fine-tune-epochs >= 0, "
            "at least one of them > 0 (an untrained model is never exported). "
            f"Received: --epochs {args.epochs} --fine-tune-epochs {args.fine_tune_epochs}")


def train_text(args):
    """`tl-keras train-text`: a text classifier from a CSV, TSV or `text<TAB>label`
    file, on word vectors (`--vectors`) adapted to the training texts.

    Checks the arguments and the export directory before any work, reads the
    file as UTF-8 (or `--encoding`), trains both phases, evaluates the weights
    that ship and exports them with `texts` (strings) in, the card and curves.

    Args:
        args: the parsed `argparse.Namespace` of `tl-keras train-text`.

    Returns:
        The exit status: 0 exported.
    """


    _check_epochs(args)
    check_output_paths(args)
    split = _validation_split(args)
    test_split = check_test_split(args)
    export_dir = check_export_dir(args.export or default_export_dir(args.data))
    read = dict(text_column=args.text_column, label_column=args.label_column,
                batch_size=args.batch_size, encoding=args.encoding)
    train, val, test, class_names = split_sides(tlk.text_dataset(
        args.data, validation_split=split, test_split=test_split, **read))
    if args.test_data:
        test, _, test_names = tlk.text_dataset(args.test_data, validation_split=0, **read)
        if test_names != class_names:
            raise ValueError(f"The test data's labels differ from the training data's: "
                             f"{test_names} vs {class_names}. Received: --test-data "
                             f"{args.test_data}")
    # The dataset holds UTF-8 bytes; numpy's astype(str) would decode them as ASCII.
    texts = np.array([text.decode("utf-8") for batch, _ in train for text in batch.numpy()],
                     dtype=object)
    model = tlk.build_text_model(
        args.vectors, len(class_names), texts=texts, max_tokens=args.max_tokens,
        sequence_length=args.sequence_length, encoder=args.encoder,
        class_names=class_names)
    with export_dir_for_the_run(export_dir):
        history = tlk.fit_two_phase(
            model, train, val, epochs=args.epochs, fine_tune_epochs=args.fine_tune_epochs,
            learning_rate=args.learning_rate, **training_options(args))
        path, result = gated_export(model, (train, val, test), args, export_dir, history,
                                    "train-text")
        if path is None:
            return 1  # nothing exported
    curves = os.path.join(path, "training_curves.png")
    plot_history(history, title=f"{model.name} on {args.data}").savefig(curves, dpi=100)
    print(f"Exported to {path} (classes: {', '.join(class_names)}); serve it with "
          "`texts` (strings) in.")
    print(f"Training curves: {curves}")
    print("\n".join(result))
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


def alpha_for(names, alpha, flag):
    """{name: {"alpha": alpha} for a base that takes it, else {}}; `--alpha` given
    and taken by none of `names` is an error, before any work."""

    takes = {name: is_registered(name) and "alpha" in get_entry(name).feature_size_args
             for name in names}
    if alpha is not None and not any(takes.values()):
        mobilenets = [n for n in list_bases() if "alpha" in get_entry(n).feature_size_args]
        raise ValueError(f"--alpha applies to the MobileNet bases only "
                         f"({', '.join(mobilenets)}). Received: --{flag} "
                         f"{','.join(names)} --alpha {alpha}")
    return {name: {"alpha": alpha} if alpha is not None and takes[name] else {}
            for name in names}


def training_options(args):
    """`fit_two_phase`'s option objects from the command's arguments."""
    return dict(
        fine_tuning=FineTuning(learning_rate=args.fine_tune_learning_rate,
                               schedule=args.fine_tune_schedule, lora_rank=args.lora_rank),
        speed=Speed(mixed_precision=args.mixed_precision,
                    jit_compile=True if args.xla else "auto"),
        distribution=Distribution(strategy=args.strategy, backup_dir=args.backup_dir))
