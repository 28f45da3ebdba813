"""The `tl-keras` command's arguments (the commands themselves are in `cli.py`)."""

import argparse

from tl_keras.cli.arguments import augmentation_spec
from tl_keras.cli.arguments import encoding
from tl_keras.cli.arguments import fraction
from tl_keras.cli.arguments import positive_int
from tl_keras.cli.collection_parser import add_collection_commands


def build_parser(version="unknown"):
    """The argument parser of `tl-keras` and its subcommands.

    Args:
        version: tl_keras's version, for `--version`. Defaults to `"unknown"`.
    """
    parser = argparse.ArgumentParser(
        prog="tl-keras", description="Transfer learning with Keras 3 and TensorFlow."
    )
    parser.add_argument("--version", action="version", version=f"tl-keras {version}")
    parser.add_argument("--verbose", action="store_true",
                        help="also show TensorFlow's own log lines")
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
                       help="a name from `tl-keras bases`, an exported model directory, a TF "
                            "Hub handle or a KerasHub preset (name, kaggle://, hf:// or "
                            "directory)")
    train.add_argument("--weights", default="imagenet",
                       help="imagenet, none, or the path to a weights file (default: imagenet)")
    train.add_argument("--image-size", type=positive_int, default=None,
                       help="square input size in pixels (default: the base's own)")
    train.add_argument("--epochs", type=int, default=None,
                       help="phase 1 epochs (default: until the validation loss stops "
                            "improving, at most 100, when the head trains on cached "
                            "features; else 5)")
    train.add_argument("--fine-tune-epochs", type=int, default=5,
                       help="phase 2 epochs; 0 skips fine-tuning (default: 5)")
    train.add_argument("--fine-tune-at", default=None,
                       help="layer name, index, or fraction where unfreezing starts "
                            "(default: the top third)")
    train.add_argument("--learning-rate", type=float, default=1e-3,
                       help="phase 1's learning rate, for the head (default: 1e-3)")
    train.add_argument("--fine-tune-learning-rate", type=float, default=None,
                       help="phase 2's peak learning rate (default: 3e-4)")
    _add_speed_options(train)
    train.add_argument("--batch-size", type=int, default=32,
                       help="images per batch, across all devices (default: 32)")
    train.add_argument("--validation-split", type=float, default=None,
                       help="share of --data held out for validation, in [0, 1); 0 trains "
                            "without validation (default: 0.2; not with --validation-data)")
    train.add_argument("--validation-data", default=None,
                       help="a folder of class subfolders to validate on (instead of "
                            "splitting --data)")
    train.add_argument("--no-audit", action="store_true",
                       help="skip the split audit before training (near-duplicates "
                            "across the splits, one image under two classes)")
    train.add_argument("--augmentation", default=None, type=augmentation_spec,
                       help="random changes in training (the base then runs every epoch): "
                            "default (flip,rotation=0.1,zoom=0.1), or a list of flip, "
                            "rotation, zoom, shift, brightness, contrast with factors, "
                            "such as flip,rotation=0.2,shift=0.1")
    train.add_argument("--alpha", type=float, default=None,
                       help="width multiplier of the MobileNet bases")
    train.add_argument("--export", default=None,
                       help="export directory (default: saved_models/<data folder name>, "
                            "or the folder above a 'train' folder)")
    _add_evaluation_options(train, "a folder of class subfolders")
    _add_make_image_classifier_options(train)

    text = commands.add_parser(
        "train-text", help="train a text classifier on a CSV with pre-trained embeddings")
    text.add_argument("--data", required=True,
                      help="a CSV file with a header, or a folder of .txt files per class")
    text.add_argument("--vectors", required=True,
                      help="word vectors file (GloVe, word2vec) or a TF Hub text embedding")
    text.add_argument("--text-column", default="text",
                      help="the CSV column holding the texts (default: text)")
    text.add_argument("--label-column", default="label",
                      help="the CSV column holding the labels (default: label)")
    text.add_argument("--encoding", default="utf-8", type=encoding,
                      help="the files' text encoding (default: utf-8)")
    text.add_argument("--encoder", default="conv", choices=["conv", "average", "bilstm"],
                      help="what reads the word vectors of a text (default: conv)")
    text.add_argument("--max-tokens", type=positive_int, default=20000,
                      help="the vocabulary's size at most (default: 20000)")
    text.add_argument("--sequence-length", type=positive_int, default=200,
                      help="tokens read of each text (default: 200)")
    text.add_argument("--epochs", type=int, default=None,
                      help="phase 1 epochs (default: as for train)")
    text.add_argument("--fine-tune-epochs", type=int, default=5)
    text.add_argument("--learning-rate", type=float, default=1e-3,
                      help="phase 1's learning rate (default: 1e-3)")
    text.add_argument("--fine-tune-learning-rate", type=float, default=None,
                      help="phase 2's peak learning rate (default: 3e-3 over word "
                           "vectors, else 3e-4)")
    _add_speed_options(text)
    text.add_argument("--batch-size", type=int, default=32,
                      help="texts per batch (default: 32)")
    text.add_argument("--validation-split", type=float, default=None,
                      help="share of --data held out for validation, in [0, 1); 0 trains "
                           "without validation (default: 0.2)")
    text.add_argument("--export", default=None,
                      help="export directory (default: saved_models/<data file name>)")
    _add_evaluation_options(text, "a file like --data")

    predict = commands.add_parser(
        "predict", help="top classes of images (or texts) from an export")
    predict.add_argument("model_dir", help="saved_models/NAME (latest version) or .../NAME/N")
    predict.add_argument("images", nargs="+", metavar="INPUT",
                         help="image files (JPEG, PNG, GIF, BMP, WebP) or folders of them; "
                              "for a text model, text files (a text per line) or - for "
                              "standard input")
    predict.add_argument("--top", type=positive_int, default=3,
                         help="classes to show, 1 or more (default: 3)")
    predict.add_argument("--format", default="text", choices=["text", "json", "csv"],
                         help="text lines, one JSON object a line, or a CSV table with a "
                              "header (json and csv on standard output alone)")

    check = commands.add_parser(
        "check", help="check an export before shipping it to TF Serving (exit 1 on failure)")
    check.add_argument("path", help="saved_models/NAME (latest version) or .../NAME/N")

    models = commands.add_parser("models", help="list the model library and its lineage")
    models.add_argument("root", nargs="?", default=None,
                        help="the library's root directory (default: saved_models)")
    models.add_argument("--root", dest="root_option", default=None, metavar="ROOT",
                        help="the same, as an option")

    rank = commands.add_parser(
        "rank", help="score candidate bases on labelled images before training any")
    rank.add_argument("--data", required=True,
                      help="directory with one subfolder of images per class")
    rank.add_argument("--bases", required=True,
                      help="comma-separated: names from `tl-keras bases`, TF Hub handles "
                           "or exported model directories")
    rank.add_argument("--method", default="logme", choices=["logme", "knn", "linear"])
    rank.add_argument("--weights", default="imagenet",
                      help="weights of named bases: imagenet, none, or the path to a weights "
                           "file (default: imagenet)")
    rank.add_argument("--image-size", type=positive_int, default=224,
                      help="size the images are read at; a candidate with a fixed size "
                           "of its own (an export) gets them resized to it (default: 224)")
    rank.add_argument("--alpha", type=float, default=None,
                      help="width multiplier of the MobileNet candidates (as trained with "
                           "train --alpha)")
    rank.add_argument("--plot", default=None, help="save a bar chart of the scores here")

    _add_library_commands(commands)

    records = commands.add_parser(
        "to-tfrecord", help="write a folder of class subfolders (or, with --text, a "
                            "text table or folder) as TFRecord shards")
    records.add_argument("data", help="a folder with one subfolder of images per class")
    records.add_argument("output", help="where the shards and labels.txt go (gs:// too)")
    records.add_argument("--shards", type=positive_int, default=4,
                         help="how many TFRecord files (default: 4)")
    records.add_argument("--text", action="store_true",
                         help="the data are texts (a CSV or TSV table, or a folder of "
                              ".txt files per class), as train-text reads them")
    records.add_argument("--text-column", default="text", help="with --text")
    records.add_argument("--label-column", default="label", help="with --text")
    records.add_argument("--encoding", default="utf-8", type=encoding, help="with --text")

    demo = commands.add_parser("demo", help="the offline transfer-learning demo")
    demo.add_argument("--output", default="saved_models",
                      help="where the demo's models and plot go (default: saved_models)")
    add_collection_commands(commands)
    return parser


def _add_library_commands(commands):
    """`tl-keras library list|show|approve|promote|retire|serving-config|log`."""
    library = commands.add_parser(
        "library", help="govern the model library: approve, label, retire, serve")
    actions = library.add_subparsers(dest="library_command", metavar="ACTION",
                                     required=True)
    specs = {
        "list": "every version with its state and labels",
        "show": "one version's model card and decisions",
        "approve": "approve a version for serving (--by, --why)",
        "promote": "point a label (--label, default stable) at a version",
        "retire": "stop serving a version",
        "serving-config": "write ROOT/models.config for TF Serving (approved versions)",
        "log": "the audit log, one JSON line per decision",
    }
    for action, help_text in specs.items():
        command = actions.add_parser(action, help=help_text)
        command.add_argument("--root", default="saved_models",
                             help="the library's root (default: saved_models)")
        if action in ("show", "approve", "promote", "retire"):
            command.add_argument("name", help="the model's directory name")
            command.add_argument("version", type=positive_int, help="the version")
        if action == "approve":
            command.add_argument("--by", required=True, help="who approves")
            command.add_argument("--why", required=True, help="what was checked")
        if action == "promote":
            command.add_argument("--label", default="stable",
                                 help="the label (default: stable)")
        if action == "serving-config":
            command.add_argument("--base-path", default=None,
                                 help="where TF Serving sees ROOT (default: ROOT, absolute)")


def _add_evaluation_options(command, what):
    """The test set, calibration and the gate: the final, honest figures."""
    command.add_argument("--test-data", default=None,
                         help=f"{what} to test the exported weights on (nothing in "
                              "training reads it); its figures go to the card and the "
                              "last line")
    command.add_argument("--test-split", type=float, default=0.0,
                         help="share of --data held out as the test set, by the same "
                              "stable hash as the validation split (default: 0, none)")
    command.add_argument("--calibrate", action=argparse.BooleanOptionalAction,
                         default=True,
                         help="fit a temperature on the validation data so the served "
                              "probabilities are calibrated (default: on when there is "
                              "validation data)")
    command.add_argument("--intended-use", default=None,
                         help="what the model is for, in words (the card's intended_use)")
    command.add_argument("--limitations", default=None,
                         help="what it is not for, or known weaknesses (the card's)")
    command.add_argument("--assert-accuracy-at-least", type=fraction, default=None,
                         help="a fraction in [0, 1] (0.95, not 95): exit non-zero, "
                              "exporting nothing, when the accuracy of the weights that "
                              "would ship is lower: on the test data when there is one, "
                              "else the validation data")


def _add_make_image_classifier_options(command):
    """The head, loss, optimizer and output options of TF Hub's make_image_classifier."""
    command.add_argument("--dropout", type=float, default=0.2,
                         help="dropout before the output layer (default: 0.2)")
    command.add_argument("--l2", type=float, default=0.0,
                         help="L2 penalty on the output layer's kernel (default: 0, none; "
                              "make_image_classifier used 1e-4)")
    command.add_argument("--label-smoothing", type=float, default=0.0,
                         help="label smoothing of the cross-entropy, in [0, 1) (default: 0)")
    command.add_argument("--optimizer", default="adam", choices=["adam", "sgd", "rmsprop"],
                         help="the optimizer of both phases, each at its own learning rate "
                              "(default: adam)")
    command.add_argument("--momentum", type=float, default=None,
                         help="momentum of sgd or rmsprop (default: 0.9 for sgd, 0 for "
                              "rmsprop)")
    command.add_argument("--summaries-dir", default=None,
                         help="write TensorBoard logs of both phases here")
    command.add_argument("--tflite-output", default=None,
                         help="also write the model as a TFLite file here")
    command.add_argument("--labels-output", default=None,
                         help="also write the class names here, one per line")


def _add_speed_options(command):
    """Phase 2's schedule, mixed precision and XLA, shared by both train commands."""
    command.add_argument("--fine-tune-schedule", default="cosine",
                         choices=["constant", "cosine"],
                         help="phase 2 learning rate: a warm-up then a cosine decay, or "
                              "constant (default: cosine)")
    command.add_argument("--mixed-precision", default=None, choices=["float16", "bfloat16"],
                         help="compute in float16 (GPUs) or bfloat16 (TPUs, recent CPUs) "
                              "while training; the export computes in float32")
    command.add_argument("--xla", action="store_true",
                         help="compile the training steps with XLA")
    command.add_argument("--strategy", default=None,
                         choices=["mirrored", "multi_worker", "tpu"],
                         help="tf.distribute: every GPU of this machine (mirrored), the "
                              "machines in TF_CONFIG (multi_worker: run the same command "
                              "on each), or a TPU")
    command.add_argument("--lora-rank", type=int, default=None,
                         help="phase 2 as LoRA adapters of this rank on a KerasHub "
                              "transformer's attention layers, the rest frozen")
    command.add_argument("--backup-dir", default=None,
                         help="save the run at the end of each epoch; the same command "
                              "run again after an interruption resumes it")
