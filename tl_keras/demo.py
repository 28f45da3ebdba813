"""The offline demo: transfer learning end to end, no network, a few minutes on a CPU.

1. Problem B, the source task: many procedurally drawn images of 8 shapes and
   textures. A small CNN learns it from scratch (the "organisation's earlier
   model") and is exported to `saved_models/`.
2. Problem A, the target task: 5 different shapes with few labels.
   `tl_keras.load_base` reuses the export as a frozen base and
   `fit_two_phase` transfers it. The same architecture trained from scratch
   on A is the control.
3. A table of accuracy and time, the transferred model exported, and a plot of
   both phases' curves.
"""

import os
import time

import keras
import numpy as np

import tl_keras as tlk
from tl_keras.log import say
from tl_keras.plots import plot_history

SOURCE_CLASSES = ("disk", "square", "triangle", "plus", "diamond", "h_stripes",
                  "v_stripes", "checker")
TARGET_CLASSES = ("ring", "frame", "x_cross", "ellipse", "half_disk")


# === Drawing ===

def _mask(shape, u, v, rng):
    """Boolean mask of `shape` on coordinates (u, v) centred on the shape, scale 1."""
    r = np.sqrt(u * u + v * v)
    if shape == "disk":
        return r <= 1
    if shape == "square":
        return np.maximum(abs(u), abs(v)) <= 0.8
    if shape == "triangle":
        return (v <= 0.7) & (v >= -0.9 + 1.8 * abs(u))
    if shape == "plus":
        return ((abs(u) <= 0.25) & (abs(v) <= 1)) | ((abs(v) <= 0.25) & (abs(u) <= 1))
    if shape == "diamond":
        return abs(u) + abs(v) <= 1
    if shape in ("h_stripes", "v_stripes", "checker"):
        period = rng.uniform(0.5, 0.9)
        h = np.sin(np.pi * v / period) > 0
        w = np.sin(np.pi * u / period) > 0
        inside = np.maximum(abs(u), abs(v)) <= 1.2
        pattern = {"h_stripes": h, "v_stripes": w, "checker": h ^ w}[shape]
        return pattern & inside
    if shape == "ring":
        return (r <= 1) & (r >= 0.55)
    if shape == "frame":
        box = np.maximum(abs(u), abs(v))
        return (box <= 0.9) & (box >= 0.55)
    if shape == "x_cross":
        a, b = (u + v) / np.sqrt(2), (u - v) / np.sqrt(2)
        return ((abs(a) <= 0.22) & (abs(b) <= 1)) | ((abs(b) <= 0.22) & (abs(a) <= 1))
    if shape == "ellipse":
        return (u / 1.0) ** 2 + (v / 0.45) ** 2 <= 1
    if shape == "half_disk":
        return (r <= 1) & (v <= 0.1)
    raise ValueError(f"Unknown shape. Received: shape={shape!r}")


def draw_shapes(classes, n_per_class, *, size=32, seed=0):
    """Draws `n_per_class` random images of each shape in `classes`.

    Each image has a random position, scale, small rotation, foreground and
    background colours, and pixel noise.

    Args:
        classes: shape names (from `SOURCE_CLASSES` and `TARGET_CLASSES`).
        n_per_class: images per class.
        size: height and width in pixels. Defaults to `32`.
        seed: random seed. Defaults to `0`.

    Returns:
        A tuple `(x, y)`: float32 images `[n, size, size, 3]` in [0, 255] and
        int32 labels, shuffled.
    """
    rng = np.random.default_rng(seed)
    grid = np.arange(size, dtype="float32") + 0.5
    yy, xx = np.meshgrid(grid, grid, indexing="ij")
    images, labels = [], []
    for label, shape in enumerate(classes):
        for _ in range(n_per_class):
            scale = rng.uniform(0.22, 0.38) * size
            cx, cy = rng.uniform(0.35, 0.65, size=2) * size
            angle = rng.uniform(-0.35, 0.35)
            du, dv = (xx - cx) / scale, (yy - cy) / scale
            u = np.cos(angle) * du + np.sin(angle) * dv
            v = -np.sin(angle) * du + np.cos(angle) * dv
            mask = _mask(shape, u, v, rng)[..., None]
            background = rng.uniform(0, 255, size=3)
            foreground = (background + rng.uniform(90, 165, size=3)
                          * rng.choice([-1, 1], size=3)) % 256
            image = np.where(mask, foreground, background)
            image = image + rng.normal(0, 12, size=image.shape)
            images.append(np.clip(image, 0, 255))
            labels.append(label)
    order = rng.permutation(len(images))
    return (np.asarray(images, dtype="float32")[order],
            np.asarray(labels, dtype="int32")[order])


# === Models ===

def small_cnn(num_classes, *, size=32, seed=0):
    """The demo's architecture: a small CNN with BatchNorm, raw pixels in.

    Built the same way for the source model and for the from-scratch control,
    so the comparison is one of weights, not of architecture.
    """
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((size, size, 3), name="images")
    x = keras.layers.Rescaling(1 / 255.0, name="rescaling")(inputs)
    for index, filters in enumerate((32, 64, 128), start=1):
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False,
                                name=f"conv{index}")(x)
        x = keras.layers.BatchNormalization(momentum=0.9, name=f"bn{index}")(x)
        x = keras.layers.Activation("relu", name=f"relu{index}")(x)
        if index < 3:
            x = keras.layers.MaxPooling2D(name=f"pool{index}")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pooling")(x)
    x = keras.layers.Dropout(0.2)(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="small_cnn")


def _train_from_scratch(model, x, y, validation, epochs, batch_size, verbose):
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model.fit(x, y, validation_data=validation, epochs=epochs,
                     batch_size=batch_size, verbose=verbose)


# === The demo ===

def run_demo(output_dir="saved_models", *, source_per_class=750, target_per_class=8,
             validation_per_class=100, source_epochs=6, target_epochs=20,
             fine_tune_epochs=15, seed=0, verbose=2):
    """Runs the offline transfer-learning demo and prints its table.

    Args:
        output_dir: where the source and transferred models are exported and
            the curves plot is saved. Defaults to `"saved_models"`.
        source_per_class: images per class of the source task B. Defaults to
            `750`.
        target_per_class: labelled training images per class of the target
            task A. Defaults to `8`.
        validation_per_class: validation images per class of A. Defaults to
            `100`.
        source_epochs: epochs of training on B. Defaults to `6`.
        target_epochs: epochs on A: phase 1 of the transfer, and the
            from-scratch control trains `target_epochs + fine_tune_epochs`.
            Defaults to `20`.
        fine_tune_epochs: phase 2 epochs of the transfer. Defaults to `15`.
        seed: random seed. Defaults to `0`.
        verbose: Keras verbosity. Defaults to `2` (a line per epoch).

    Returns:
        A dict with the accuracies, times and written paths.
    """

    size = 32
    say(f"== Problem B (source): {len(SOURCE_CLASSES)} procedurally drawn classes, "
        f"{source_per_class * len(SOURCE_CLASSES)} images")
    xb, yb = draw_shapes(SOURCE_CLASSES, source_per_class, size=size, seed=seed)
    xb_val, yb_val = draw_shapes(SOURCE_CLASSES, 50, size=size, seed=seed + 1)
    start = time.time()
    source = small_cnn(len(SOURCE_CLASSES), size=size, seed=seed)
    history_b = _train_from_scratch(source, xb, yb, (xb_val, yb_val), source_epochs, 64,
                                    verbose)
    source_time = time.time() - start
    source_path = tlk.export_saved_model(
        source, os.path.join(output_dir, "demo_shapes_source"),
        class_names=list(SOURCE_CLASSES), history=history_b,
    )
    say(f"Source model: validation accuracy {history_b.history['val_accuracy'][-1]:.3f} "
        f"on B after {source_time:.0f}s, exported to {source_path}")

    say(f"\n== Problem A (target): {len(TARGET_CLASSES)} new classes, only "
        f"{target_per_class} labelled images each")
    xa, ya = draw_shapes(TARGET_CLASSES, target_per_class, size=size, seed=seed + 2)
    xa_val, ya_val = draw_shapes(TARGET_CLASSES, validation_per_class, size=size,
                                 seed=seed + 3)

    say("\n-- Transfer: the source export as a frozen base, then fit_two_phase")
    start = time.time()
    keras.utils.set_random_seed(seed)
    base = tlk.load_base(source_path)
    model = tlk.build_model(base, num_classes=len(TARGET_CLASSES), dropout=0.2)
    history = tlk.fit_two_phase(
        model, (xa, ya), (xa_val, ya_val), epochs=target_epochs,
        fine_tune_epochs=fine_tune_epochs, learning_rate=3e-3,
        fine_tuning=tlk.FineTuning(learning_rate=3e-5), batch_size=8, verbose=verbose,
    )
    transfer_time = time.time() - start
    transfer_acc = model.evaluate(xa_val, ya_val, verbose=0)[1]

    say("\n-- Control: the same architecture from scratch on A")
    start = time.time()
    scratch = small_cnn(len(TARGET_CLASSES), size=size, seed=seed)
    _train_from_scratch(scratch, xa, ya, (xa_val, ya_val),
                        target_epochs + fine_tune_epochs, 8, verbose)
    scratch_time = time.time() - start
    scratch_acc = scratch.evaluate(xa_val, ya_val, verbose=0)[1]

    target_path = tlk.export_saved_model(
        model, os.path.join(output_dir, "demo_shapes_target"),
        class_names=list(TARGET_CLASSES), history=history,
        metrics={"val_accuracy_from_scratch": scratch_acc},
    )
    figure = plot_history(history, title="Transfer from problem B to problem A")
    plot_path = os.path.join(target_path, "training_curves.png")
    figure.savefig(plot_path, dpi=100)

    rows = [("transfer (tl_keras)", transfer_acc, transfer_time),
            ("from scratch", scratch_acc, scratch_time)]
    n_train = target_per_class * len(TARGET_CLASSES)
    say(f"\n== Problem A: {n_train} training images, "
        f"{validation_per_class * len(TARGET_CLASSES)} validation images")
    say(f"{'approach':<22}{'val accuracy':>14}{'time (s)':>10}")
    for name, acc, seconds in rows:
        say(f"{name:<22}{acc:>14.3f}{seconds:>10.1f}")
    say(f"Transfer beats from scratch by {100 * (transfer_acc - scratch_acc):+.1f} "
        "accuracy points.")
    say(f"Exported: {source_path} (source), {target_path} (transferred; lineage in "
        "its model_card.json)")
    say(f"Curves of both phases: {plot_path}")
    return {
        "transfer_accuracy": float(transfer_acc), "scratch_accuracy": float(scratch_acc),
        "transfer_seconds": transfer_time, "scratch_seconds": scratch_time,
        "source_accuracy": float(history_b.history["val_accuracy"][-1]),
        "source_path": source_path, "target_path": target_path, "plot_path": plot_path,
    }
