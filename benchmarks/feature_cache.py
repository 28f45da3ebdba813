"""Phase 1 with the feature cache vs without, and the input pipeline's throughput.

Real data (cats vs dogs, 2,000 training and 1,000 validation JPEGs) and MobileNet
(v1) alpha=0.25 with its real ImageNet weights, at 160x160, all in one run:

1. The floor: one inference pass of the frozen base over the training set
   (decoding included, as in any pass over the files).
2. Phase 1 (head training, base frozen) for 5 and 20 epochs, with
   `cache_features=True` and `cache_features=False`, same data, seed and
   epochs; wall time, then the validation accuracy of the trained model.
3. The input pipeline alone (`tl_keras.image_dataset`: decode, resize, batch)
   in images/s, against the rate at which the base consumes images already in
   memory.

Usage:

    python benchmarks/feature_cache.py \\
        --data ../shared/assets/cats_and_dogs_filtered \\
        --weights ../shared/assets/weights/mobilenet_2_5_224_tf_no_top.h5
"""

import argparse
import os
import sys
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import tl_keras as tlk  # noqa: E402
from tl_keras.training.feature_cache import compute_features  # noqa: E402


def _datasets(args, size):
    train, _, names = tlk.image_dataset(os.path.join(args.data, "train"), image_size=size,
                                        validation_split=0, seed=args.seed)
    val, _, _ = tlk.image_dataset(os.path.join(args.data, "validation"), image_size=size,
                                  validation_split=0, shuffle=False)
    return train, val, names


def _model(args, size, classes):
    keras.utils.set_random_seed(args.seed)
    return tlk.build_model("mobilenet", num_classes=classes, weights=args.weights,
                           input_shape=size + (3,), alpha=0.25)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--weights", required=True)
    parser.add_argument("--image-size", type=int, default=160)
    parser.add_argument("--epochs", type=int, nargs="+", default=[5, 20])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for path in (args.data, args.weights):
        if not os.path.exists(path):
            sys.exit(f"error: {path} not found (see ../shared/assets/README.md)")
    # tl_keras pipelines skip undecodable files, so Keras does not know their
    # length in advance and warns at the end of each pass: expected here.
    warnings.filterwarnings("ignore", message="Your input ran out of data")
    size = (args.image_size, args.image_size)
    train, val, names = _datasets(args, size)

    # 1. The floor: one pass of the frozen base over the training set.
    extractor = _model(args, size, len(names)).feature_model()
    compute_features(extractor, train, verbose=0)  # warm up: trace, caches
    start = time.perf_counter()
    compute_features(extractor, train, verbose=0)
    floor = time.perf_counter() - start

    # 2. Phase 1, cached vs not, side by side; validation accuracy measured after
    #    (not timed: the floor is a pass over the training set only).
    rows = []
    for epochs in args.epochs:
        for cache in (True, False):
            model = _model(args, size, len(names))
            start = time.perf_counter()
            with tlk.FeatureCache() as fresh:  # nothing reused from an earlier row
                tlk.fit_two_phase(model, train, epochs=epochs, fine_tune_epochs=0,
                                  verbose=0,
                                  caching=tlk.Caching(features=cache, store=fresh))
            seconds = time.perf_counter() - start
            accuracy = model.evaluate(val, verbose=0)[1]
            rows.append((epochs, cache, seconds, accuracy))

    # 3. Pipeline throughput vs the base's consumption rate.
    count = 0
    start = time.perf_counter()
    for images, _ in train:
        count += int(images.shape[0])
    pipeline_rate = count / (time.perf_counter() - start)
    in_memory = np.concatenate([images.numpy() for images, _ in train.take(16)])
    extractor.predict(in_memory[:64], verbose=0)
    start = time.perf_counter()
    extractor.predict(in_memory, batch_size=32, verbose=0)
    base_rate = len(in_memory) / (time.perf_counter() - start)

    print(f"\nMobileNet alpha=0.25 (ImageNet), cats vs dogs ({count} training images), "
          f"{args.image_size}px, seed {args.seed}")
    print(f"Floor: one inference pass of the base over the training set: {floor:.1f} s\n")
    print("| head epochs | feature cache | phase 1 wall time (s) | x floor | "
          "final val accuracy |")
    print("| --- | --- | --- | --- | --- |")
    for epochs, cache, seconds, accuracy in rows:
        print(f"| {epochs} | {'on' if cache else 'off'} | {seconds:.1f} | "
              f"{seconds / floor:.2f} | {accuracy:.3f} |")
    for epochs in args.epochs:
        on = next(r[2] for r in rows if r[0] == epochs and r[1])
        off = next(r[2] for r in rows if r[0] == epochs and not r[1])
        print(f"Speed-up at {epochs} epochs: {off / on:.1f}x")
    print(f"\nInput pipeline (decode, resize, batch): {pipeline_rate:.0f} images/s; "
          f"the base consumes {base_rate:.0f} images/s from memory "
          f"(pipeline / base = {pipeline_rate / base_rate:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
