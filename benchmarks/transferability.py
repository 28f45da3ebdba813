"""Does the transferability score rank bases as fine-tuning does? And AdaBN.

Real data (cats vs dogs: 2,000 training, 1,000 validation JPEGs, 160x160) and
five candidate bases of different quality, built from the real MobileNet
(v1) alpha=0.25 ImageNet weights and the offline demo:

1. `imagenet`: the real weights at 160 px.
2. `imagenet, 64 px`: the same weights, images resized to 64 px inside.
3. `imagenet, top re-initialized`: the real weights with the top third of the
   layers reset to random (a partly trained network).
4. `demo shapes CNN`: the offline demo's source model (a small CNN trained on
   drawn shapes, 32 px), exported, then loaded with `load_base`.
5. `random`: MobileNet alpha=0.25 with random weights.

Each is scored by `rank_bases` (LogME, kNN, linear probe) on the training
images, then trained with `fit_two_phase` defaults over 3 seeds (`--seeds`).
The validation folder is halved by the stable hash: the validation half
selects (early stopping, kept epochs), the test half measures. Reported: the
scores, the test accuracy each reaches (mean ± standard deviation), Kendall's
tau between each score and that accuracy, and the time of scoring all against
the time of training all once.

AdaBN: the imagenet model, trained, is tested on a shifted copy of the
validation images (a camera change: desaturated, a warm colour cast, darker),
before and after `adapt_batchnorm` on the shifted training images, unlabelled.

Usage:

    python benchmarks/transferability.py \\
        --data ../shared/assets/cats_and_dogs_filtered \\
        --weights ../shared/assets/weights/mobilenet_2_5_224_tf_no_top.h5
"""

import argparse
import os
import sys
import tempfile
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from adabn import camera  # noqa: E402  (benchmarks/ is on the path when run as a script)

import tl_keras as tlk  # noqa: E402

SIZE = 160


def _mobilenet(weights, size=SIZE):
    return keras.applications.MobileNet(input_shape=(size, size, 3), alpha=0.25,
                                        include_top=False, weights=weights)


def _wrapped(network, name, inner_size=None):
    """Raw pixels at 160 px in; MobileNet's [-1, 1] scaling (and a resize) inside."""
    inputs = keras.Input((SIZE, SIZE, 3))
    x = inputs
    if inner_size:
        x = keras.layers.Resizing(inner_size, inner_size)(x)
    x = keras.layers.Rescaling(1 / 127.5, offset=-1)(x)
    return keras.Model(inputs, network(x), name=name)


def _demo_base(directory):
    from tl_keras import demo

    keras.utils.set_random_seed(0)
    images, labels = demo.draw_shapes(demo.SOURCE_CLASSES, 750, seed=0)
    source = demo.small_cnn(len(demo.SOURCE_CLASSES), seed=0)
    source.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    source.fit(images, labels, epochs=6, batch_size=64, verbose=0)
    path = tlk.export_saved_model(source, os.path.join(directory, "shapes"),
                                  class_names=list(demo.SOURCE_CLASSES), warmup=False)
    features = tlk.load_base(path)  # 32 px in, the demo's rescaling inside
    inputs = keras.Input((SIZE, SIZE, 3))
    return keras.Model(inputs, features(keras.layers.Resizing(32, 32)(inputs)),
                       name="demo_shapes")


def _candidates(weights, directory):
    keras.utils.set_random_seed(0)
    top_reset = _mobilenet(weights)
    fresh = _mobilenet(None)
    start = int(len(top_reset.layers) * 2 / 3)
    for mine, random_layer in zip(top_reset.layers[start:], fresh.layers[start:]):
        if mine.weights:
            mine.set_weights(random_layer.get_weights())
    return [
        ("imagenet", _wrapped(_mobilenet(weights), "imagenet")),
        ("imagenet, 64 px", _wrapped(_mobilenet(weights, 64), "imagenet_64", 64)),
        ("imagenet, top re-initialized", _wrapped(top_reset, "top_reset")),
        ("demo shapes CNN", _demo_base(directory)),
        ("random", _wrapped(_mobilenet(None), "random")),
    ]


def _kendall_tau(a, b):
    pairs = [(i, j) for i in range(len(a)) for j in range(i + 1, len(a))]
    concordant = sum(np.sign(a[i] - a[j]) * np.sign(b[i] - b[j]) for i, j in pairs)
    return concordant / len(pairs)


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
    train, _, _ = tlk.image_dataset(os.path.join(args.data, "train"), image_size=SIZE,
                                    validation_split=0, verbose=0)
    # The validation folder halved by the stable hash: the validation half selects
    # (early stopping, kept epochs), the test half is what the accuracy is measured on.
    val, test, _ = tlk.image_dataset(os.path.join(args.data, "validation"),
                                     image_size=SIZE, validation_split=0.5, shuffle=False,
                                     verbose=0)
    with tempfile.TemporaryDirectory() as directory:
        candidates = _candidates(args.weights, directory)
        scores, score_seconds = {}, 0.0
        with tlk.FeatureCache(max_entries=16, memory_limit_bytes=4 * 2**30) as cache:
            for method in ("logme", "knn", "linear"):
                start = time.perf_counter()
                for record in tlk.rank_bases(train, candidates, method=method,
                                             feature_cache=cache, verbose=0):
                    scores.setdefault(record["name"], {})[method] = record["score"]
                score_seconds += time.perf_counter() - start
            runs, train_seconds, trained = {}, 0.0, {}
            for seed in range(args.seeds):
                for name, base in candidates:
                    keras.utils.set_random_seed(seed)
                    model = tlk.build_model(base, num_classes=2)
                    start = time.perf_counter()
                    tlk.fit_two_phase(model, train, val, verbose=0,
                                      caching=tlk.Caching(store=cache))
                    train_seconds += time.perf_counter() - start
                    runs.setdefault(name, []).append(
                        tlk.evaluate_classifier(model, test)["accuracy"])
                    trained.setdefault(name, model)
                    print(f"  seed {seed}, {name}: {runs[name][-1]:.3f}", flush=True)
            accuracy = {name: float(np.mean(values)) for name, values in runs.items()}
            spread = {name: float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
                      for name, values in runs.items()}
            train_seconds /= args.seeds
        names = [name for name, _ in candidates]
        print(f"\n| base | LogME | kNN accuracy | linear probe | test accuracy after "
              f"fit_two_phase ({args.seeds} seeds) |\n| --- | --- | --- | --- | --- |")
        for name in names:
            print(f"| {name} | {scores[name]['logme']:.4f} | {scores[name]['knn']:.3f} | "
                  f"{scores[name]['linear']:.3f} | {accuracy[name]:.3f} ± "
                  f"{spread[name]:.3f} |")
        final = [accuracy[n] for n in names]
        print("\nKendall's tau with the accuracy: " + ", ".join(
            f"{m} {_kendall_tau([scores[n][m] for n in names], final):.2f}"
            for m in ("logme", "knn", "linear")))
        print(f"Scoring all five with the three methods: {score_seconds:.1f} s; training "
              f"all five: {train_seconds:.1f} s ({train_seconds / score_seconds:.1f}x)")

        model = trained["imagenet"]
        shifted_test = test.map(camera)
        shifted_train = train.map(camera)
        before = model.evaluate(shifted_test, verbose=0)[1]
        clean = model.evaluate(test, verbose=0)[1]
        start = time.perf_counter()
        tlk.adapt_batchnorm(model, shifted_train, name="shifted training images",
                            verbose=0)
        adapt_seconds = time.perf_counter() - start
        after = model.evaluate(shifted_test, verbose=0)[1]
        print(f"\nAdaBN (imagenet model, seed 0): clean test {clean:.3f}; shifted "
              f"test before {before:.3f}, after adapt_batchnorm {after:.3f} "
              f"({adapt_seconds:.1f} s on 2,000 unlabelled shifted images)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
