"""Every `>>>` example in the package's docstrings runs and prints what it shows.

The examples name things a user has at hand (`model`, `train`, `val`,
`class_names`, `history`, a `flower_photos` folder, `reviews.csv`, a GloVe file,
exported `saved_models/flowers`): the `world` fixture makes small real ones, and
each module's examples run in a fresh directory that holds them. Only examples
that need the network are marked `# doctest: +SKIP`, and `NEEDS_NETWORK` lists
them: a skip anywhere else fails.
"""

import doctest
import importlib
import os
import pkgutil
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf

import tl_keras

# End to end (training, exporting, subprocesses): the full tier, `make test`.
pytestmark = pytest.mark.slow

# Examples whose lines download (ImageNet weights, TF Hub): marked +SKIP.
NEEDS_NETWORK = {
    "tl_keras.layers.hub_layer.HubLayer",
    "tl_keras.selection.ranking.rank_bases",
}
CLASSES = ("daisy", "roses", "tulips")
SIZE = 32
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _examples():
    """{module name: [DocTest with examples]} for every module of the package."""
    finder = doctest.DocTestFinder(exclude_empty=True)
    found = {}
    for info in pkgutil.walk_packages(tl_keras.__path__, "tl_keras."):
        module = importlib.import_module(info.name)
        tests = [t for t in finder.find(module) if t.examples
                 and t.name.startswith(info.name)]  # not what it imported
        if tests:
            found[info.name] = sorted(tests, key=lambda t: t.name)
    return found


EXAMPLES = _examples()


def _write_world(root):
    """Files the examples read: JPEG folders, a CSV of reviews, a GloVe file."""
    rng = np.random.default_rng(0)
    for index, name in enumerate(CLASSES):
        folder = os.path.join(root, "flower_photos", name)
        os.makedirs(folder)
        for i in range(5):
            pixels = rng.uniform(0, 80, (40, 40, 3)) + 80 * index
            tf.io.write_file(os.path.join(folder, f"{i}.jpg"),
                             tf.io.encode_jpeg(pixels.astype("uint8")))
    reviews = ["great food", "awful service", "lovely staff", "cold soup",
               "great value", "rude waiter", "tasty and fresh", "never again"] * 2
    with open(os.path.join(root, "reviews.csv"), "w", encoding="utf-8") as f:
        f.write("review,sentiment\n")
        f.writelines(f"{text},{'pos' if i % 2 == 0 else 'neg'}\n"
                     for i, text in enumerate(reviews))
    words = sorted({w for text in reviews for w in text.split()})
    with open(os.path.join(root, "glove.6B.100d.txt"), "w", encoding="utf-8") as f:
        for word in words:
            f.write(word + " " + " ".join(f"{v:.4f}" for v in rng.normal(size=100)) + "\n")
    return reviews


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("examples_world"))
    reviews = _write_world(root)
    train, val, class_names = tl_keras.image_dataset(
        os.path.join(root, "flower_photos"), image_size=SIZE, batch_size=4, verbose=0)
    model = tl_keras.build_model("mobilenet_v2", num_classes=3, weights=None,
                                 input_shape=(SIZE, SIZE, 3), class_names=class_names)
    history = tl_keras.fit_two_phase(model, train, val, epochs=2, fine_tune_epochs=0,
                                     verbose=0)
    exported = tl_keras.export_saved_model(
        model, os.path.join(root, "saved_models", "flowers"), verbose=0)
    shutil.copytree(exported, os.path.join(root, "saved_models", "flowers", "2"))
    images, labels = next(iter(train))
    names = {
        "tl_keras": tl_keras, "tlk": tl_keras, "keras": keras, "np": np, "tf": tf,
        "model": model, "train": train, "val": val, "test": val,
        "class_names": class_names,
        "history": history, "train_texts": reviews, "x": images.numpy(),
        "y": labels.numpy(), "new_camera_images": images.numpy() * 0.5 + 60,
    }
    return root, names, model.get_weights()


def _fresh_directory(world_root, tmp_path, tests):
    """A directory with the world's files; exports left out where the module's own
    examples export (so their version numbers start at 1)."""
    for name in ("flower_photos", "reviews.csv", "glove.6B.100d.txt", "saved_models"):
        if name == "saved_models" and any("export_saved_model(" in e.source
                                          for t in tests for e in t.examples):
            continue
        os.symlink(os.path.join(world_root, name), tmp_path / name)
    return tmp_path


@pytest.mark.parametrize("module_name", sorted(EXAMPLES))
def test_docstring_examples_run(module_name, world, tmp_path, monkeypatch):
    world_root, names, initial_weights = world
    model = names["model"]
    model.set_weights(initial_weights)  # what an earlier module's examples trained
    tl_keras.freeze_base(model, recompile=False)
    tests = EXAMPLES[module_name]
    monkeypatch.chdir(_fresh_directory(world_root, tmp_path, tests))
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    skipped, report = set(), []
    for test in tests:
        test.globs = {**test.globs, **names}
        if any(e.options.get(doctest.SKIP) for e in test.examples):
            skipped.add(test.name)
        runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)
    assert skipped == {t.name for t in tests} & NEEDS_NETWORK


def test_every_example_that_needs_the_network_exists():
    names = {t.name for tests in EXAMPLES.values() for t in tests}
    assert NEEDS_NETWORK <= names
