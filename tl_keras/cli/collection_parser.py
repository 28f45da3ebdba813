"""The arguments of the commands that look at a collection: `cluster` and `explore`
(no labels needed), and `label-issues` (labels that look wrong)."""

from tl_keras.cli.arguments import positive_int


def add_collection_commands(commands):
    """Adds `cluster`, `explore` and `label-issues` to the subparsers `commands`."""
    cluster = commands.add_parser(
        "cluster", help="group a folder of images by what a frozen base sees, one folder "
                        "per cluster (rename them to classes, then train on them)")
    _add_data_and_base(cluster)
    cluster.add_argument("--out", required=True,
                         help="a new (or empty) directory: one folder of images per "
                              "cluster, and clusters.csv")
    cluster.add_argument("--k", type=positive_int, default=None,
                         help="the number of clusters (default: chosen by the eigengap)")

    explore = commands.add_parser(
        "explore", help="one HTML page of a folder before labelling it: duplicates, "
                        "leaks, clusters, outliers (CSVs beside it)")
    _add_data_and_base(explore)
    explore.add_argument("--out", required=True,
                         help="a new (or empty) directory for index.html, its thumbnails "
                              "and the CSVs")
    explore.add_argument("--validation-data", default=None,
                         help="a validation folder: near-copies of DATA's images in it "
                              "are reported as leaks")
    explore.add_argument("--test-data", default=None,
                         help="a test folder, audited for leaks the same way")

    issues = commands.add_parser(
        "label-issues", help="images whose class folder looks wrong (held-out heads on the "
                             "frozen base's features), as a CSV for a labeller")
    _add_data_and_base(issues)
    issues.add_argument("--out", required=True,
                        help="the CSV to write: rank, file, given, suggested, "
                             "confidence_in_given")
    issues.add_argument("--folds", type=positive_int, default=5,
                        help="held-out folds, 2 or more (default: 5)")


def _add_data_and_base(command):
    command.add_argument("data", help="a folder of images (flat, or class folders; "
                                      "label-issues: class folders), or TFRecord shards "
                                      "(a glob or a directory)")
    command.add_argument("--base", default="mobilenet_v2",
                         help="the frozen base that sees the images: a name from "
                              "`tl-keras bases`, an exported model, a TF Hub handle or a "
                              "KerasHub preset (default: mobilenet_v2)")
    command.add_argument("--weights", default="imagenet",
                         help="imagenet, none, or the path to a weights file "
                              "(default: imagenet)")
    command.add_argument("--alpha", type=float, default=None,
                         help="width multiplier of the MobileNet bases")
    command.add_argument("--image-size", type=positive_int, default=None,
                         help="square input size in pixels (default: the base's own)")
