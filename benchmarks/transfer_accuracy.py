"""Transfer accuracy on real data: tl_keras defaults vs the plain Keras tutorial.

Cats vs dogs (`cats_and_dogs_filtered`), MobileNet (v1) alpha=0.25 with its real
ImageNet weights, both workflows with the same base, data pipelines, image size,
augmentation (none by default; `--augmentation` gives both arms the same layers)
and epochs, run one after the other in one process, over several seeds:

- data: the 2,000 `train` images train; the 1,000 `validation` images are halved
  by tl_keras's stable hash into a validation half (early stopping and the kept
  epochs: what selects) and a test half, read once at the end: the figure
  reported. Both arms read the same `tl_keras.image_dataset` pipelines.
- tl_keras: `build_model` and `fit_two_phase` with their defaults (phase 1 to
  convergence on cached features, phase 2 on cached activations, the better
  phase kept), and again with `epochs` fixed.
- plain Keras: the workflow of TensorFlow's "Transfer learning with a pretrained
  ConvNet" tutorial: rescaling to [-1, 1], base(training=False), global average
  pooling, dropout 0.2, one logit; Adam 1e-4 for the head, then the base
  unfrozen from the same relative depth as the tutorial's layer 100 of 154,
  RMSprop 1e-5; the last epoch's weights.

Usage:

    python benchmarks/transfer_accuracy.py --image-size 224 \\
        --data ../shared/assets/cats_and_dogs_filtered \\
        --weights ../shared/assets/weights/mobilenet_2_5_224_tf_no_top.h5

Prints, per seed and as mean ± standard deviation, the test accuracy after both
phases and the wall time, as a Markdown table. Missing data is an error.
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import tl_keras as tlk  # noqa: E402


def _data(args, size, seed):
    """`(train, val, test)`: the same pipelines for both arms."""
    train, _, class_names = tlk.image_dataset(
        os.path.join(args.data, "train"), image_size=size, validation_split=0, seed=seed,
        verbose=0)
    # The validation folder, halved by the stable hash: validation, then test.
    val, test, _ = tlk.image_dataset(
        os.path.join(args.data, "validation"), image_size=size, validation_split=0.5,
        seed=0, shuffle=False, verbose=0)
    return train, val, test, class_names


def _augmentation(args):
    return None if args.augmentation == "none" else args.augmentation


def _tl_keras_run(args, size, epochs, seed):
    keras.utils.set_random_seed(seed)
    start = time.time()
    train, val, test, class_names = _data(args, size, seed)
    model = tlk.build_model("mobilenet", num_classes=len(class_names),
                            weights=args.weights, input_shape=size + (3,), alpha=0.25,
                            augmentation=_augmentation(args))
    with tlk.FeatureCache() as cache:  # nothing reused from the other tl_keras row
        history = tlk.fit_two_phase(model, train, val, epochs=epochs,
                                    fine_tune_epochs=args.fine_tune_epochs,
                                    verbose=0, caching=tlk.Caching(store=cache))
    seconds = time.time() - start
    phase1 = history.fine_tune_epoch or len(history.epoch)
    return tlk.evaluate_classifier(model, test)["accuracy"], seconds, phase1


def _plain_keras_run(args, size, seed):
    keras.utils.set_random_seed(seed)
    start = time.time()
    train, val, test, _ = _data(args, size, seed)
    base = keras.applications.MobileNet(input_shape=size + (3,), alpha=0.25,
                                        include_top=False, weights=args.weights)
    base.trainable = False
    inputs = keras.Input(size + (3,))
    x = inputs
    spec = _augmentation(args)
    if spec is not None:  # the same layers tl_keras builds from the spec
        from tl_keras.models.heads import augmentation_layer
        x = augmentation_layer(spec)(x)
    x = keras.layers.Rescaling(1.0 / 127.5, offset=-1)(x)
    x = base(x, training=False)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.2)(x)
    outputs = keras.layers.Dense(1)(x)
    model = keras.Model(inputs, outputs)
    loss = keras.losses.BinaryCrossentropy(from_logits=True)
    accuracy = keras.metrics.BinaryAccuracy(threshold=0.0, name="accuracy")
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss=loss, metrics=[accuracy])
    model.fit(train, validation_data=val, epochs=args.epochs, verbose=0)

    base.trainable = True
    fine_tune_at = round(len(base.layers) * 100 / 154)  # the tutorial's depth
    for layer in base.layers[:fine_tune_at]:
        layer.trainable = False
    model.compile(optimizer=keras.optimizers.RMSprop(1e-5), loss=loss,
                  metrics=[accuracy])
    model.fit(train, validation_data=val, epochs=args.epochs + args.fine_tune_epochs,
              initial_epoch=args.epochs, verbose=0)
    seconds = time.time() - start
    return model.evaluate(test, verbose=0, return_dict=True)["accuracy"], seconds, args.epochs


def _mean_spread(values, digits=3):
    values = np.asarray(values, dtype="float64")
    spread = values.std(ddof=1) if len(values) > 1 else 0.0
    return f"{values.mean():.{digits}f} ± {spread:.{digits}f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True,
                        help="cats_and_dogs_filtered (with train/ and validation/)")
    parser.add_argument("--weights", required=True,
                        help="mobilenet_2_5_224_tf_no_top.h5 (MobileNet alpha=0.25)")
    parser.add_argument("--image-size", type=int, default=160)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--fine-tune-epochs", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--augmentation", default="none",
                        help="none, or a tl_keras spec given to both arms "
                             "(e.g. flip,rotation=0.2)")
    args = parser.parse_args(argv)
    for path in (args.data, args.weights):
        if not os.path.exists(path):
            sys.exit(f"error: {path} not found (see ../shared/assets/README.md)")
    size = (args.image_size, args.image_size)
    arms = [("tl_keras defaults (phase 1 to convergence)",
             lambda seed: _tl_keras_run(args, size, None, seed)),
            (f"tl_keras, epochs={args.epochs}",
             lambda seed: _tl_keras_run(args, size, args.epochs, seed)),
            ("plain Keras tutorial", lambda seed: _plain_keras_run(args, size, seed))]
    results = {name: [] for name, _ in arms}
    for seed in range(args.seeds):
        for name, run in arms:
            accuracy, seconds, epochs = run(seed)
            results[name].append((accuracy, seconds, epochs))
            print(f"seed {seed}, {name}: test accuracy {accuracy:.4f}, {seconds:.0f} s, "
                  f"phase 1 {epochs} epochs", flush=True)
    print(f"\nMobileNet alpha=0.25 (ImageNet), cats vs dogs, {args.image_size}px, "
          f"augmentation {args.augmentation} (both arms), {args.fine_tune_epochs} "
          f"fine-tuning epochs, {args.seeds} seeds (mean ± standard deviation); test: "
          "the half of the validation folder nothing selected on\n")
    print("| workflow | phase 1 epochs | test accuracy | wall time (s) | "
          "x faster than the tutorial |")
    print("| --- | --- | --- | --- | --- |")
    tutorial = np.mean([r[1] for r in results["plain Keras tutorial"]])
    for name, rows in results.items():
        seconds = np.mean([r[1] for r in rows])
        print(f"| {name} | {_mean_spread([r[2] for r in rows], 0)} | "
              f"{_mean_spread([r[0] for r in rows])} | {seconds:.0f} | "
              f"{tutorial / seconds:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
