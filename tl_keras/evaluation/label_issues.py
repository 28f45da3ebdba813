"""Training examples whose label is most likely wrong: confident learning on
out-of-fold predictions of the head, on the frozen base's cached features."""

import collections
import csv
import io

import numpy as np
import tensorflow as tf

from tl_keras.data.image_dataset import image_dataset
from tl_keras.data.image_folder import scan_image_folder
from tl_keras.evaluation.scores import class_indices
from tl_keras.evaluation.scores import frozen_features
from tl_keras.evaluation.scores import two_columns
from tl_keras.log import say
from tl_keras.training.worker_loop import fit
from tl_keras.training.worker_loop import predict

# Each fold's head takes at least this many optimizer steps: on 24 images an epoch is
# one step, and 30 of them left the heads near their start (nothing flagged).
MIN_STEPS = 300

_FIELDS = ("indices files given suggested self_confidence ranking probabilities "
           "given_names suggested_names")


class LabelIssues(collections.namedtuple("LabelIssues", _FIELDS)):
    """What `find_label_issues` found.

    - `indices`: the examples flagged as likely mislabelled, most likely first.
    - `files`: their file paths (a folder source), else None.
    - `given`, `suggested`: their labels as given and the class the held-out head
      believes (class indices); `given_names`, `suggested_names`: the same as
      class names, when the model has them (else None).
    - `self_confidence`: the held-out probability of their given label.
    - `ranking`: every example, most suspect first (by self-confidence).
    - `probabilities`: the out-of-fold probabilities of every example,
      `[n, classes]`.
    """

    __slots__ = ()

    def to_csv(self, path):
        """Writes the flagged examples, most likely mislabelled first, as a CSV a
        labeller can work through (any `tf.io.gfile` path): `rank`, `index`,
        `file`, `given`, `suggested`, `confidence_in_given`."""
        buffer = io.StringIO()
        table = csv.writer(buffer, lineterminator="\n")
        table.writerow(["rank", "index", "file", "given", "suggested",
                        "confidence_in_given"])
        given = self.given_names or self.given.tolist()
        suggested = self.suggested_names or self.suggested.tolist()
        for rank, index in enumerate(self.indices.tolist()):
            table.writerow([rank + 1, index, self.files[rank] if self.files else "",
                            given[rank], suggested[rank],
                            f"{self.self_confidence[rank]:.4f}"])
        with tf.io.gfile.GFile(str(path), "w") as f:
            f.write(buffer.getvalue())


def find_label_issues(model, data, *, folds=5, epochs=30, learning_rate=1e-3, batch_size=32,
                      seed=0, verbose="auto"):
    """Ranks the training examples most likely to be mislabelled.

    The frozen base's features are computed once; a fresh copy of the model's head
    is trained on `folds - 1` folds and predicts the held-out one, so every example
    gets a probability from a head that never saw its label. An example is flagged
    by the confident-learning rule (Northcutt et al., "Confident Learning", 2021):
    some other class's probability reaches that class's threshold (the mean
    probability of the class over the examples labelled with it), and it is the
    highest such class. Flagged examples are ranked by the probability of their
    given label, lowest first. Seconds on cached features; the model's own weights
    do not change.

    Args:
        model: a `tl_keras` classifier (its base is used frozen, as in phase 1;
            train it first, or not: only the features matter).
        data: a folder of class subfolders (the result names files), a batched
            `tf.data.Dataset` that is not shuffled (indices follow its order),
            or a tuple `(x, y)`.
        folds: the number of folds, at least 2. Defaults to `5`.
        epochs: epochs of each fold's head; on small data each epoch goes
            over the examples more than once, for at least `MIN_STEPS` (300)
            optimizer steps in all. Defaults to `30`.
        learning_rate: Adam's, for each fold's head. Defaults to `1e-3`.
        batch_size: of the feature pass and the heads. Defaults to `32`.
        seed: of the folds and the heads. Defaults to `0`.
        verbose: print one line with the count (`0` silences it). Defaults to
            `"auto"`.

    Returns:
        A `LabelIssues` named tuple (see its fields).

    Raises:
        ValueError: fewer examples than folds, a class with fewer examples than
            two, a shuffled dataset, or a folder whose classes differ from the
            model's outputs.

    Example:

    >>> issues = tl_keras.find_label_issues(model, "flower_photos", folds=3,
    ...                                     epochs=2)
    Label issues: ... of 15 examples in flower_photos look mislabelled ...
    >>> len(issues.ranking)
    15
    >>> issues.to_csv("label_issues.csv")  # for a labeller: file, given, suggested
    """
    import keras


    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise ValueError(f"Expected `folds` to be an integer >= 2. Received: folds={folds!r}")
    data_source = data if isinstance(data, str) else None  # a folder: all of it is read
    files, data = _readable(model, data, batch_size)
    x, labels = frozen_features(model, data, batch_size)
    y = class_indices(labels)
    if files is not None and (len(files[0]) != len(y) or not np.array_equal(files[1], y)):
        raise ValueError(f"{len(files[0]) - len(y)} files of the folder could not be read "
                         "(or changed while reading); remove them and run again. "
                         "Received: the folder's files")
    files = files[0] if files is not None else None
    classes = max(int(model.output_shape[-1]), 2)
    if len(y) < folds:
        raise ValueError(f"Expected at least {folds} examples for {folds} folds. "
                         f"Received: {len(y)} examples")
    # Small data: each epoch goes over the fold's examples `repeat` times (the same
    # steps as more epochs, without an epoch's overhead each).
    count = len(y) - len(y) // folds  # a fold's training examples, about
    steps = -(-count // batch_size) * epochs
    repeat = 1 if steps >= MIN_STEPS else -(-MIN_STEPS * batch_size // max(count * epochs, 1))
    probabilities = np.zeros((len(y), classes))
    order = np.random.default_rng(seed).permutation(len(y))
    for fold, held in enumerate(np.array_split(order, folds)):
        keras.utils.set_random_seed(seed + fold)
        kept = np.setdiff1d(order, held)
        head = keras.models.clone_model(model.head)
        head.compile(keras.optimizers.Adam(learning_rate), _loss(model))
        kept = np.tile(kept, repeat)
        fit(head, x=x[kept], y=_targets(y[kept], model), epochs=epochs,
            batch_size=batch_size, verbose=0)
        probabilities[held] = two_columns(predict(head, x[held]))
    issues = _confident_learning(probabilities, y, files,
                                 getattr(model, "class_names", None))
    where = f" in {data_source}" if data_source else ""
    say(f"Label issues: {len(issues.indices):,} of {len(y):,} examples{where} look "
        f"mislabelled (held-out predictions of {folds} heads; the confident-learning "
        "rule).", verbose)
    return issues


def _confident_learning(probabilities, y, files, class_names=None):
    classes = probabilities.shape[1]
    thresholds = np.array([probabilities[y == j, j].mean() if (y == j).any() else 1.0
                           for j in range(classes)])
    above = np.where(probabilities >= thresholds, probabilities, -1.0)
    believed = above.argmax(axis=1)
    in_joint = above.max(axis=1) >= 0
    self_confidence = probabilities[np.arange(len(y)), y]
    ranking = np.argsort(self_confidence, kind="stable")
    flagged = np.array([i for i in ranking if in_joint[i] and believed[i] != y[i]],
                       dtype="int64")
    return LabelIssues(
        indices=flagged, files=[files[i] for i in flagged] if files is not None else None,
        given=y[flagged], suggested=believed[flagged],
        self_confidence=self_confidence[flagged], ranking=ranking,
        probabilities=probabilities,
        given_names=_names(y[flagged], class_names),
        suggested_names=_names(believed[flagged], class_names))


def _names(indices, class_names):
    """The class names of `indices`, or None when the model has none."""
    if not class_names or max(indices.tolist(), default=0) >= len(class_names):
        return None
    return [list(class_names)[i] for i in indices.tolist()]


def _readable(model, data, batch_size):
    """`(file paths or None, data)`: a folder becomes an unshuffled pipeline of its
    files; a dataset is checked to give its examples in the same order twice."""
    if isinstance(data, str):
        folder = scan_image_folder(data)
        names = getattr(model, "class_names", None)
        if names is not None and list(names) != list(folder.class_names):
            raise ValueError(f"The folder's classes {folder.class_names} differ from the "
                             f"model's {names}. Received: data={data!r}")
        dataset, _, _ = image_dataset(data, image_size=tuple(model.input_shape[1:3]),
                                      batch_size=batch_size, validation_split=0,
                                      shuffle=False, verbose=0)
        return (list(folder.paths), np.asarray(folder.labels)), dataset
    if isinstance(data, tf.data.Dataset):
        first, second = ([np.asarray(batch[1]) for batch in data.take(3)] for _ in range(2))
        if any(not np.array_equal(a, b) for a, b in zip(first, second)):
            raise ValueError("Expected a dataset that is not shuffled: its examples came in "
                             "a different order on a second pass, so indices would name "
                             "the wrong examples. Pass the folder itself, or "
                             "image_dataset(..., shuffle=False). Received: a shuffled "
                             "dataset")
    return None, data


def _loss(model):
    if model.output_shape[-1] == 1:
        return "binary_crossentropy"
    return "sparse_categorical_crossentropy"


def _targets(y, model):
    return y.astype("float32")[:, None] if model.output_shape[-1] == 1 else y
