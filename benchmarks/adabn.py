"""AdaBN on a domain shift: accuracy before and after `adapt_batchnorm`, two ways.

Real data (cats vs dogs at 160 px) and MobileNet (v1) alpha=0.25 with its real
ImageNet weights, trained with `fit_two_phase` defaults on the clean images.
The validation folder is halved by the stable hash: the validation half selects
(early stopping, kept epochs), the test half (clean and shifted) is what the
table reports. 3 seeds (`--seeds`), mean ± standard deviation.
Two shifts of both the validation and the training images: `camera` (a mild
camera change: desaturated, a warm cast, darker) and `strong` (blurred,
dark, low contrast, sensor noise). For each, the accuracy on the shifted
validation images before adaptation, after `adapt_batchnorm` with the shifted
training images unlabelled (statistics set to the target's, as published), and
after the same relative to the source (`source_data=` the clean training
images: the statistics move by the difference), with the clean accuracy after
each.

Usage:

    python benchmarks/adabn.py \\
        --data ../shared/assets/cats_and_dogs_filtered \\
        --weights ../shared/assets/weights/mobilenet_2_5_224_tf_no_top.h5
"""

import argparse
import os
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import tl_keras as tlk  # noqa: E402

SIZE = 160


def camera(images, labels):
    """A mild camera change: desaturated, a warm cast, darker."""
    gray = tf.reduce_mean(images, axis=-1, keepdims=True)
    shifted = (0.4 * images + 0.6 * gray) * tf.constant([1.15, 0.95, 0.7]) * 0.75
    return tf.clip_by_value(shifted, 0.0, 255.0), labels


def strong(images, labels):
    """Blurred, dark, low contrast, with sensor noise."""
    x = tf.nn.avg_pool2d(images, 5, 1, "SAME")
    x = x * 0.45 + 20 + tf.random.stateless_normal(tf.shape(x), seed=[1, 2]) * 12
    return tf.clip_by_value(x, 0.0, 255.0), labels


def _run(args, seed):
    """{column: test accuracy} for one seed."""
    train, _, _ = tlk.image_dataset(os.path.join(args.data, "train"), image_size=SIZE,
                                    validation_split=0, seed=seed, verbose=0)
    val, test, _ = tlk.image_dataset(os.path.join(args.data, "validation"), image_size=SIZE,
                                     validation_split=0.5, shuffle=False, verbose=0)
    keras.utils.set_random_seed(seed)
    base = tlk.load_base("mobilenet", weights=args.weights, alpha=0.25,
                         input_shape=(SIZE, SIZE, 3))
    model = tlk.build_model(base, num_classes=2)
    tlk.fit_two_phase(model, train, val, verbose=0)
    trained = model.get_weights()
    row = {"clean": model.evaluate(test, verbose=0)[1]}
    for name, shift in (("camera", camera), ("strong", strong)):
        shifted_test, shifted_train = test.map(shift), train.map(shift)
        model.set_weights(trained)
        row[f"{name} before"] = model.evaluate(shifted_test, verbose=0)[1]
        for how, source in (("target", None), ("relative", train)):
            model.set_weights(trained)
            tlk.adapt_batchnorm(model, shifted_train, source_data=source, verbose=0)
            row[f"{name} {how}"] = model.evaluate(shifted_test, verbose=0)[1]
            row[f"{name} {how} clean"] = model.evaluate(test, verbose=0)[1]
    print(f"seed {seed}: " + ", ".join(f"{k} {v:.3f}" for k, v in row.items()), flush=True)
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--weights", required=True)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args(argv)
    for path in (args.data, args.weights):
        if not os.path.exists(path):
            sys.exit(f"error: {path} not found (see ../shared/assets/README.md)")
    warnings.filterwarnings("ignore")
    rows = [_run(args, seed) for seed in range(args.seeds)]

    def cell(key):
        values = np.array([row[key] for row in rows])
        spread = values.std(ddof=1) if len(values) > 1 else 0.0
        return f"{values.mean():.3f} ± {spread:.3f}"

    print(f"\nClean test accuracy: {cell('clean')} ({args.seeds} seeds, the test half)\n")
    print("| shift | before | AdaBN (target statistics) | clean after | AdaBN relative to "
          "the source | clean after |\n| --- | --- | --- | --- | --- | --- |")
    for name in ("camera", "strong"):
        print(f"| {name} | {cell(f'{name} before')} | {cell(f'{name} target')} | "
              f"{cell(f'{name} target clean')} | {cell(f'{name} relative')} | "
              f"{cell(f'{name} relative clean')} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
