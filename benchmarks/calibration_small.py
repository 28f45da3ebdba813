"""Calibration on a small validation set: today's rule against always applying it.

Issue 34, row 1: with 11 validation images the default calibration fitted a
temperature of 100 and every prediction became ~0.50. `tlk.calibrate` now applies
a temperature only where it helps (at least 20 validation examples, a 5-fold
check that it lowers the loss on examples it was not fitted on, and no rise of the
validation ECE). This compares, on the same trained weights:

- `as trained`: no calibration (what a user has without it);
- `always`: the temperature fitted and folded in whatever the data (the rule
  before this change);
- `tl_keras`: `tlk.calibrate` as it is now.

Real data: cats vs dogs, MobileNet (v1) alpha=0.25 with its real ImageNet weights,
128 px, trained with `fit_two_phase` defaults (2 phase-2 epochs) on 100 `train`
images, with a validation set of `--validation-sizes` images from the `validation`
folder (it also selects the kept epochs, as in the repro); the test set is 400
other `validation` images nothing selected on. 3 seeds, mean ± standard deviation.

Usage:

    python benchmarks/calibration_small.py \\
        --data ../shared/assets/cats_and_dogs_filtered \\
        --weights ../shared/assets/weights/mobilenet_2_5_224_tf_no_top.h5
"""

import argparse
import os
import sys
from unittest import mock

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import tl_keras as tlk  # noqa: E402
from tl_keras.evaluation import calibration  # noqa: E402

SIZE = 128


def _load(paths):
    images = [tf.image.resize(tf.io.decode_jpeg(tf.io.read_file(p), channels=3),
                              (SIZE, SIZE)).numpy() for p in paths]
    return np.stack(images).astype("float32")


def _files(folder):
    pairs = []
    for label, name in enumerate(("cats", "dogs")):
        directory = os.path.join(folder, name)
        pairs += [(os.path.join(directory, f), label) for f in sorted(os.listdir(directory))]
    return pairs


def _pick(pairs, count, rng):
    chosen = rng.permutation(len(pairs))[:count]
    return [pairs[i] for i in chosen]


def _figures(model, test):
    report = tlk.evaluate_classifier(model, test)
    confidence = float(model.predict(test[0], verbose=0).max(axis=1).mean())
    return report["accuracy"], report["expected_calibration_error"], report["loss"], \
        confidence


def run(args, seed, validation_size):
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    train_pairs = _pick(_files(os.path.join(args.data, "train")), 100, rng)
    held = _files(os.path.join(args.data, "validation"))
    order = rng.permutation(len(held))
    val_pairs = [held[i] for i in order[:validation_size]]
    test_pairs = [held[i] for i in order[validation_size:validation_size + 400]]
    train, val, test = ((_load([p for p, _ in pairs]), np.array([y for _, y in pairs]))
                        for pairs in (train_pairs, val_pairs, test_pairs))
    model = tlk.build_model("mobilenet", num_classes=2, alpha=0.25, weights=args.weights,
                            input_shape=(SIZE, SIZE, 3), class_names=["cats", "dogs"])
    tlk.fit_two_phase(model, train, val, fine_tune_epochs=2, verbose=0)
    weights = model.get_weights()
    rows = {"as trained": _figures(model, test)}
    with mock.patch.object(calibration, "_why_not_apply", lambda *a: None):
        record = tlk.calibrate(model, val, verbose=0)
    rows["always"] = _figures(model, test) + (record["temperature"],)
    model.set_weights(weights)
    model._adaptations_json = "[]"  # our own record: forget the "always" arm
    record = tlk.calibrate(model, val, verbose=0)
    rows["tl_keras"] = _figures(model, test) + (
        record["temperature"] if record["applied"] else None,)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--weights", required=True)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--validation-sizes", default="11,200")
    args = parser.parse_args()
    for path in (args.data, args.weights):
        if not os.path.exists(path):
            sys.exit(f"error: {path} not found: pass its path (see the usage).")
    print("| validation images | arm | test accuracy | test ECE | test NLL | mean top "
          "probability | temperature (applied) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for size in (int(s) for s in args.validation_sizes.split(",")):
        runs = [run(args, seed, size) for seed in range(args.seeds)]
        for arm in ("as trained", "always", "tl_keras"):
            values = np.array([r[arm][:4] for r in runs])
            mean, spread = values.mean(0), values.std(0)
            shown = " | ".join(f"{m:.3f} ± {s:.3f}" for m, s in zip(mean, spread))
            temps = [r[arm][4] for r in runs] if arm != "as trained" else []
            temp = ", ".join("not applied" if t is None else f"{t:.3g}" for t in temps) or "-"
            print(f"| {size} | {arm} | {shown} | {temp} |", flush=True)


if __name__ == "__main__":
    main()
