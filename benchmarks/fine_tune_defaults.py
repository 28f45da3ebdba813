"""Which phase-2 defaults: learning rate, schedule and where unfreezing starts.

Real data (cats vs dogs, 2,000 training and 1,000 validation JPEGs) and
MobileNet (v1) alpha=0.25 with its real ImageNet weights. Phase 1 runs once
with tl_keras's defaults (to convergence on cached features); every variant of
phase 2 starts from its weights, side by side in one run, with the same data
and seeds, and phase 2's own defaults otherwise (5 epochs, the best epoch
kept). Each variant runs with `--seeds` shuffle seeds (3); the validation folder
is halved by the stable hash. The table gives the mean validation accuracy and
loss of the kept weights (the validation half: what chooses a default), the
test accuracy of those weights (the test half: what is reported), and the
time of phase 2.

With `--demo`, the same comparison on the offline demo's transfer (a small
CNN trained on procedurally drawn shapes, exported, then the base of a model
for 5 new shapes with 8 labels each; `tl_keras.demo`), which needs no assets.

Usage:

    python benchmarks/fine_tune_defaults.py \\
        --data ../shared/assets/cats_and_dogs_filtered \\
        --weights ../shared/assets/weights/mobilenet_2_5_224_tf_no_top.h5
    python benchmarks/fine_tune_defaults.py --demo
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

# (label, fine_tune_learning_rate, fine_tune_schedule, fine_tune_at)
VARIANTS = [
    ("lr 1e-5 (the old default)", 1e-5, "constant", None),
    ("lr 3e-5", 3e-5, "constant", None),
    ("lr 1e-4", 1e-4, "constant", None),
    ("lr 3e-4", 3e-4, "constant", None),
    ("lr 1e-3", 1e-3, "constant", None),
    ("lr 1e-4, warm-up + cosine", 1e-4, "cosine", None),
    ("lr 3e-4, warm-up + cosine", 3e-4, "cosine", None),
    ("lr 1e-4, top sixth", 1e-4, "constant", 5 / 6),
    ("lr 1e-4, top half", 1e-4, "constant", 0.5),
    ("lr 3e-4, warm-up + cosine, top half", 3e-4, "cosine", 0.5),
]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data")
    parser.add_argument("--weights")
    parser.add_argument("--demo", action="store_true")
    parser.add_argument("--image-size", type=int, default=160)
    parser.add_argument("--fine-tune-epochs", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args(argv)
    if args.demo:
        return _demo(args)
    for path in (args.data, args.weights):
        if not os.path.exists(path):
            sys.exit(f"error: {path} not found (see ../shared/assets/README.md)")
    warnings.filterwarnings("ignore", message="Your input ran out of data")
    size = (args.image_size, args.image_size)
    train, _, _ = tlk.image_dataset(os.path.join(args.data, "train"), image_size=size,
                                    validation_split=0, seed=0, verbose=0)
    # The validation folder halved by the stable hash: the validation half selects
    # (kept epochs, and the defaults chosen from this table), the test half measures.
    val, test, _ = tlk.image_dataset(os.path.join(args.data, "validation"), image_size=size,
                                     validation_split=0.5, shuffle=False, verbose=0)
    keras.utils.set_random_seed(0)
    model = tlk.build_model("mobilenet", num_classes=2, weights=args.weights,
                            input_shape=size + (3,), alpha=0.25)
    store = tlk.FeatureCache(memory_limit_bytes=6 * 2**30)
    start = time.perf_counter()
    history = tlk.fit_two_phase(model, train, val, fine_tune_epochs=0,
                                verbose=0, caching=tlk.Caching(store=store))
    phase1_seconds = time.perf_counter() - start
    phase1 = model.get_weights()
    best = int(np.argmin(history.history["val_loss"]))
    print(f"\nMobileNet alpha=0.25 (ImageNet), cats vs dogs, {args.image_size}px. "
          f"Phase 1 (defaults): {len(history.history['val_loss'])} epochs, "
          f"{phase1_seconds:.1f} s, kept val acc "
          f"{history.history['val_accuracy'][best]:.3f}, val loss "
          f"{history.history['val_loss'][best]:.4f}\n")
    _compare(model, phase1, train, val, test, args, VARIANTS,
             caching=tlk.Caching(store=store))
    store.close()
    return 0


def _demo(args):
    """The variants on the offline demo's transfer (no assets needed)."""
    import tempfile

    from tl_keras import demo

    keras.utils.set_random_seed(0)
    xb, yb = demo.draw_shapes(demo.SOURCE_CLASSES, 750, seed=0)
    source = demo.small_cnn(len(demo.SOURCE_CLASSES), seed=0)
    source.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    source.fit(xb, yb, epochs=6, batch_size=64, verbose=0)
    with tempfile.TemporaryDirectory() as directory:
        path = tlk.export_saved_model(source, os.path.join(directory, "shapes"),
                                      class_names=list(demo.SOURCE_CLASSES), warmup=False)
        base = tlk.load_base(path)
    xa, ya = demo.draw_shapes(demo.TARGET_CLASSES, 8, seed=2)
    val = demo.draw_shapes(demo.TARGET_CLASSES, 100, seed=3)
    test = demo.draw_shapes(demo.TARGET_CLASSES, 100, seed=4)
    keras.utils.set_random_seed(0)
    model = tlk.build_model(base, num_classes=len(demo.TARGET_CLASSES), dropout=0.2)
    history = tlk.fit_two_phase(model, (xa, ya), val, fine_tune_epochs=0, batch_size=8,
                                verbose=0)
    best = int(np.argmin(history.history["val_loss"]))
    print(f"\nThe offline demo's transfer (40 labelled images, 500 validation). Phase 1 "
          f"(defaults): {len(history.history['val_loss'])} epochs, kept val acc "
          f"{history.history['val_accuracy'][best]:.3f}\n")
    variants = [v for v in VARIANTS if v[3] is None]
    _compare(model, model.get_weights(), (xa, ya), val, test, args, variants, batch_size=8)
    return 0


def _compare(model, phase1, train, val, test, args, variants, **fit_args):
    """Phase 2 from the same phase-1 weights for each variant, seeds averaged: the
    validation figures (what chooses) and the test accuracy (what is reported)."""
    print(f"| phase 2 ({args.fine_tune_epochs} epochs) | val acc (mean of {args.seeds}) "
          "| val loss | test acc (mean ± sd) | phase 2 (s) |")
    print("| --- | --- | --- | --- | --- |")
    for label, rate, schedule, fine_tune_at in variants:
        accs, losses, tests, seconds = [], [], [], []
        for seed in range(args.seeds):
            keras.utils.set_random_seed(seed + 1)
            model.set_weights(phase1)
            start = time.perf_counter()
            history = tlk.fit_two_phase(
                model, train, val, epochs=0, fine_tune_epochs=args.fine_tune_epochs,
                fine_tune_at=fine_tune_at,
                verbose=0, **fit_args,
                fine_tuning=tlk.FineTuning(learning_rate=rate, schedule=schedule))
            seconds.append(time.perf_counter() - start)
            kept = int(np.argmin(history.history["val_loss"]))
            accs.append(history.history["val_accuracy"][kept])
            losses.append(history.history["val_loss"][kept])
            tests.append(tlk.evaluate_classifier(model, test)["accuracy"])
        spread = np.std(tests, ddof=1) if len(tests) > 1 else 0.0
        print(f"| {label} | {np.mean(accs):.3f} | {np.mean(losses):.4f} | "
              f"{np.mean(tests):.3f} ± {spread:.3f} | {np.mean(seconds):.1f} |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
