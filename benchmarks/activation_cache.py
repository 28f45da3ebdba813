"""Phase 2 with the activation cache vs without, on real data, side by side.

Real data (cats vs dogs, 2,000 training and 1,000 validation JPEGs) and MobileNet
(v1) alpha=0.25 with its real ImageNet weights, at 160x160 by default, in one run:

1. The floor: one forward pass of the unfrozen top (from `fine_tune_at` to the
   output) over the training set's activations, already in memory.
2. The same two-phase run (phase 1 on cached features, then phase 2 from the
   default `fine_tune_at`) with `fine_tune_cache=True` (activations stored in
   float32, then in float16: `FeatureCache(storage_dtype=...)`) and `False`: the wall time
   of each phase (phase 2's includes its one pass of the frozen bottom), phase
   2's time per epoch after the first, and the validation accuracy.

Usage:

    python benchmarks/activation_cache.py \\
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
from tl_keras.training.activation_cache import split_at_cut  # noqa: E402
from tl_keras.training.feature_cache import compute_features  # noqa: E402
from tl_keras.training.freezing import fine_tune_index  # noqa: E402
from tl_keras.training.freezing import leaf_layers  # noqa: E402


class EpochTimes(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.starts, self.ends, self.seconds = {}, {}, {}

    def on_epoch_begin(self, epoch, logs=None):
        self.starts[epoch] = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.ends[epoch] = time.perf_counter()
        self.seconds[epoch] = self.ends[epoch] - self.starts[epoch]


def _model(args, size):
    keras.utils.set_random_seed(args.seed)
    return tlk.build_model("mobilenet", num_classes=2, weights=args.weights,
                           input_shape=size + (3,), alpha=0.25)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--weights", required=True)
    parser.add_argument("--image-size", type=int, default=160)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--fine-tune-epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for path in (args.data, args.weights):
        if not os.path.exists(path):
            sys.exit(f"error: {path} not found (see ../shared/assets/README.md)")
    warnings.filterwarnings("ignore", message="Your input ran out of data")
    size = (args.image_size, args.image_size)
    train, _, _ = tlk.image_dataset(os.path.join(args.data, "train"), image_size=size,
                                    validation_split=0, seed=args.seed, verbose=0)
    val, _, _ = tlk.image_dataset(os.path.join(args.data, "validation"), image_size=size,
                                  validation_split=0, shuffle=False, verbose=0)

    # 1. The floor: the unfrozen top's forward pass over in-memory activations.
    probe = _model(args, size)
    index = fine_tune_index(leaf_layers(probe.base), None, probe.base.name)
    cut, reason = split_at_cut(probe, index)
    if cut is None:
        print(f"no activation cache possible: {reason}")
        return 1
    activations = compute_features(cut.bottom, train, verbose=0).x
    cut.top.predict(activations[:64], verbose=0)  # warm up
    start = time.perf_counter()
    cut.top.predict(activations, batch_size=32, verbose=0)
    floor = time.perf_counter() - start

    # 2. Phase 2 with and without the cache, the same run otherwise.
    rows = []
    for cache, storage in ((True, "float32"), (True, "float16"), (False, "float32")):
        model = _model(args, size)
        times = EpochTimes()
        with tlk.FeatureCache(storage_dtype=storage) as store:
            start = time.perf_counter()
            history = tlk.fit_two_phase(
                model, train, val, epochs=args.epochs,
                fine_tune_epochs=args.fine_tune_epochs,
                callbacks=[times], verbose=0,
                caching=tlk.Caching(activations=cache, store=store))
            total = time.perf_counter() - start
        epochs2 = [times.seconds[e] for e in range(args.epochs,
                                                   args.epochs + args.fine_tune_epochs)]
        # Phase 2 begins after phase 1's last epoch: its one pass of the frozen
        # bottom (with the cache) counts in phase 2.
        phase1 = times.ends[args.epochs - 1] - start
        rows.append((cache, storage, total, phase1, total - phase1,
                     float(np.median(epochs2[1:])),
                     history.history["val_accuracy"][args.epochs - 1],
                     history.history["val_accuracy"][-1]))

    print(f"\nMobileNet alpha=0.25 (ImageNet), cats vs dogs (2,000 training, 1,000 "
          f"validation), {args.image_size}px, {args.epochs} + {args.fine_tune_epochs} "
          f"epochs, seed {args.seed}; cut at '{cut.cut_layer.name}' (the default "
          f"fine_tune_at), activations {activations.shape[1:]}")
    print(f"Floor: one forward pass of the unfrozen top over the training activations: "
          f"{floor:.2f} s\n")
    print("| activation cache | total (s) | phase 1 (s) | phase 2 (s) | phase 2 epoch "
          "(median after the first, s) | x floor | val acc after phase 1 | after phase 2 |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for cache, storage, total, p1, p2, epoch, acc1, acc2 in rows:
        label = f"on, {storage} storage" if cache else "off"
        print(f"| {label} | {total:.1f} | {p1:.1f} | {p2:.1f} | "
              f"{epoch:.2f} | {epoch / floor:.2f} | {acc1:.3f} | {acc2:.3f} |")
    on, off = rows[0][2:], rows[-1][2:]
    print(f"\nPhase 2 speed-up: {off[2] / on[2]:.1f}x (per epoch {off[3] / on[3]:.1f}x); "
          f"whole run {off[0] / on[0]:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
