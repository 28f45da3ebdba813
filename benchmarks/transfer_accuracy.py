"""Transfer accuracy on real data: tl_keras defaults vs the plain Keras tutorial.

Cats vs dogs (`cats_and_dogs_filtered`, 2,000 training and 1,000 validation JPEGs)
with MobileNet (v1) alpha=0.25 and its real ImageNet weights, both workflows with
the same base, data, image size and epochs, run one after the other in one process:

- tl_keras: `image_dataset`, `build_model` and `fit_two_phase` with their defaults
  (phase 1 to convergence on cached features, phase 2 on cached activations,
  each phase keeping its best epoch), and again with `epochs` fixed.
- plain Keras: the workflow of TensorFlow's "Transfer learning with a pretrained
  ConvNet" tutorial: augmentation, rescaling to [-1, 1], base(training=False),
  global average pooling, dropout 0.2, one logit; Adam 1e-4 for the head, then
  the base unfrozen from the same relative depth as the tutorial's layer 100 of
  154, RMSprop 1e-5.

Usage:

    python benchmarks/transfer_accuracy.py \\
        --data ../shared/assets/cats_and_dogs_filtered \\
        --weights ../shared/assets/weights/mobilenet_2_5_224_tf_no_top.h5

Prints validation accuracy after each phase (tl_keras: of the epoch each phase
kept; after phase 2, the model's own evaluation) and wall time, as a Markdown
table.
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

import tl_keras as tlk  # noqa: E402


def _tl_keras_run(args, size, epochs):
    keras.utils.set_random_seed(args.seed)
    start = time.time()
    train, _, class_names = tlk.image_dataset(
        os.path.join(args.data, "train"), image_size=size, validation_split=0,
        seed=args.seed,
    )
    val, _, _ = tlk.image_dataset(
        os.path.join(args.data, "validation"), image_size=size, validation_split=0,
        seed=args.seed,
    )
    model = tlk.build_model("mobilenet", num_classes=len(class_names),
                            weights=args.weights, input_shape=size + (3,), alpha=0.25)
    with tlk.FeatureCache() as cache:  # nothing reused from the other tl_keras row
        history = tlk.fit_two_phase(model, train, val, epochs=epochs,
                                    fine_tune_epochs=args.fine_tune_epochs,
                                    verbose=2, caching=tlk.Caching(store=cache))
    seconds = time.time() - start
    val_acc = history.history["val_accuracy"]
    phase1 = history.fine_tune_epoch or len(history.epoch)
    # The model holds each phase's kept epoch (its best validation loss).
    kept = [stop["best_epoch"] if stop else None for stop in history.stops]
    first = val_acc[kept[0]] if kept[0] is not None else val_acc[phase1 - 1]
    final = model.evaluate(val, verbose=0)[1]
    return first, final, seconds, phase1


def _plain_keras_run(args, size):
    keras.utils.set_random_seed(args.seed)
    start = time.time()
    common = dict(image_size=size, batch_size=32, seed=args.seed, verbose=False)
    train = keras.utils.image_dataset_from_directory(
        os.path.join(args.data, "train"), shuffle=True, **common)
    val = keras.utils.image_dataset_from_directory(
        os.path.join(args.data, "validation"), shuffle=False, **common)
    base = keras.applications.MobileNet(input_shape=size + (3,), alpha=0.25,
                                        include_top=False, weights=args.weights)
    base.trainable = False
    augmentation = keras.Sequential([keras.layers.RandomFlip("horizontal"),
                                     keras.layers.RandomRotation(0.2)])
    inputs = keras.Input(size + (3,))
    x = augmentation(inputs)
    x = keras.layers.Rescaling(1.0 / 127.5, offset=-1)(x)
    x = base(x, training=False)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.2)(x)
    outputs = keras.layers.Dense(1)(x)
    model = keras.Model(inputs, outputs)
    loss = keras.losses.BinaryCrossentropy(from_logits=True)
    accuracy = keras.metrics.BinaryAccuracy(threshold=0.0, name="accuracy")
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss=loss, metrics=[accuracy])
    first = model.fit(train, validation_data=val, epochs=args.epochs, verbose=2)

    base.trainable = True
    fine_tune_at = round(len(base.layers) * 100 / 154)  # the tutorial's depth
    for layer in base.layers[:fine_tune_at]:
        layer.trainable = False
    model.compile(optimizer=keras.optimizers.RMSprop(1e-5), loss=loss,
                  metrics=[accuracy])
    second = model.fit(train, validation_data=val, epochs=args.epochs + args.fine_tune_epochs,
                       initial_epoch=args.epochs, verbose=2)
    return (first.history["val_accuracy"][-1], second.history["val_accuracy"][-1],
            time.time() - start, args.epochs)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True,
                        help="cats_and_dogs_filtered (with train/ and validation/)")
    parser.add_argument("--weights", required=True,
                        help="mobilenet_2_5_224_tf_no_top.h5 (MobileNet alpha=0.25)")
    parser.add_argument("--image-size", type=int, default=160)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--fine-tune-epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for path in (args.data, args.weights):
        if not os.path.exists(path):
            print(f"skipped: {path} not found (see ../shared/assets/README.md)")
            return 0
    size = (args.image_size, args.image_size)
    rows = [("tl_keras defaults (phase 1 to convergence)", *_tl_keras_run(args, size, None)),
            (f"tl_keras, epochs={args.epochs}", *_tl_keras_run(args, size, args.epochs)),
            ("plain Keras tutorial", *_plain_keras_run(args, size))]
    print(f"\nMobileNet alpha=0.25 (ImageNet), cats vs dogs, {args.image_size}px, "
          f"{args.fine_tune_epochs} fine-tuning epochs, seed {args.seed}")
    print("| workflow | phase 1 epochs | val accuracy after phase 1 | after phase 2 | "
          "wall time (s) | x faster than the tutorial |")
    print("| --- | --- | --- | --- | --- | --- |")
    tutorial = rows[-1][3]
    for name, phase1, phase2, seconds, epochs in rows:
        print(f"| {name} | {epochs} | {phase1:.3f} | {phase2:.3f} | {seconds:.0f} | "
              f"{tutorial / seconds:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
