
import keras
import numpy as np
import pytest
import tensorflow as tf

import tl_keras as tlk
from tests.fixtures.images import make_folder
from tests.fixtures.images import random_images
from tests.fixtures.images import weights_by_path
from tl_keras.training.freezing import leaf_layers


def _toy_task(n=48, size=32, classes=3, seed=0):
    """Images whose mean colour channel is the label: learnable in a few steps."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    x = rng.uniform(0, 120, (n, size, size, 3)).astype("float32")
    for i, label in enumerate(y):
        x[i, :, :, label % 3] += 120
    return x, y.astype("int32")


class Snapshots(keras.callbacks.Callback):
    """Copies every weight of the full model when each fit (phase) begins.

    (A cached phase 1 fits the head model, so `self.model` is not used.)
    """

    def __init__(self, model):
        super().__init__()
        self.full_model = model
        self.at_start = []

    def on_train_begin(self, logs=None):
        self.at_start.append(weights_by_path(self.full_model))


@pytest.fixture(scope="module")
def two_phase_run():
    keras.utils.set_random_seed(0)
    model = tlk.build_model("mobilenet_v2", num_classes=3, weights=None,
                            input_shape=(32, 32, 3), alpha=0.35)
    x, y = _toy_task()
    snapshots = Snapshots(model)
    history = tlk.fit_two_phase(
        model, (x, y), (x[:16], y[:16]), epochs=2, fine_tune_epochs=2,
        fine_tune_at="block_14_expand", learning_rate=1e-2,
        # Constant: at random init some units are dead, and a warm-up's smaller
        # first steps leave the kernels behind them as they were.
        callbacks=[snapshots], batch_size=16, verbose=0,
        fine_tuning=tlk.FineTuning(learning_rate=1e-3, schedule="constant"),
        keep_best="each_phase",  # what phase 2 trained, even where it does not beat phase 1
    )
    before, after_phase1 = snapshots.at_start
    return model, history, before, after_phase1, weights_by_path(model)


def _changed(a, b, path):
    return not np.array_equal(a[path], b[path])


@pytest.mark.compat
@pytest.mark.slow
def test_phase1_changes_only_the_head(two_phase_run):
    model, _, before, after_phase1, _ = two_phase_run
    head = [p for p in before if p.startswith("head/predictions/")]
    base = [p for p in before if p not in head]
    assert head and all(_changed(before, after_phase1, p) for p in head)
    assert not [p for p in base if _changed(before, after_phase1, p)]


@pytest.mark.compat
def test_phase2_changes_the_unfrozen_top_and_never_batchnorm(two_phase_run):
    model, _, _, after_phase1, final = two_phase_run
    layers = leaf_layers(tlk.get_base(model))
    start = [layer.name for layer in layers].index("block_14_expand")
    bn_paths = {v.path for layer in layers
                if isinstance(layer, keras.layers.BatchNormalization) for v in layer.weights}
    below = {v.path for layer in layers[:start] for v in layer.weights}
    above = {v.path for layer in layers[start:] for v in layer.weights
             if not isinstance(layer, keras.layers.BatchNormalization)}
    assert bn_paths and below and above
    # BatchNorm: gamma, beta, moving mean and variance all unchanged, everywhere.
    assert not [p for p in bn_paths if _changed(after_phase1, final, p)]
    assert not [p for p in below if _changed(after_phase1, final, p)]
    assert all(_changed(after_phase1, final, p) for p in above)
    assert _changed(after_phase1, final, "head/predictions/kernel")


def test_history_joins_both_phases(two_phase_run):
    _, history, *_ = two_phase_run
    assert history.fine_tune_epoch == 2
    assert history.epoch == [0, 1, 2, 3]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert len(history.history[key]) == 4
    assert history.phases[1].epoch == [2, 3]  # phase 2 numbered after phase 1


@pytest.mark.slow
def test_phase1_only_and_default_cut():
    model = tlk.build_model("mobilenet_v3_small", num_classes=3, weights=None,
                            input_shape=(32, 32, 3))
    x, y = _toy_task(n=16)
    history = tlk.fit_two_phase(model, (x, y), epochs=1, fine_tune_epochs=0, verbose=0)
    assert history.fine_tune_epoch is None and len(history.history["loss"]) == 1
    assert not tlk.get_base(model).trainable_weights
    unfrozen = tlk.unfreeze_base(model)
    layers = leaf_layers(tlk.get_base(model))
    cut = int(round(len(layers) * 2 / 3))
    expected = [layer.name for layer in layers[cut:]
                if layer.weights and not isinstance(layer, keras.layers.BatchNormalization)]
    assert unfrozen == expected


@pytest.mark.parametrize("labels,activation,units,loss", [
    ("one_hot", "softmax", 3, keras.losses.CategoricalCrossentropy),
    ("multi_hot", "sigmoid", 3, keras.losses.BinaryCrossentropy),
    ("binary", "sigmoid", 1, keras.losses.BinaryCrossentropy),
    ("sparse", None, 3, keras.losses.SparseCategoricalCrossentropy),
])
def test_loss_is_chosen_from_labels_and_output(labels, activation, units, loss):
    model = tlk.build_model("vgg16", num_classes=units, weights=None,
                            input_shape=(32, 32, 3), activation=activation)
    x, y = _toy_task(n=8)
    if labels == "one_hot":
        y = keras.utils.to_categorical(y, 3)
    elif labels == "multi_hot":
        y = (np.random.default_rng(0).uniform(size=(8, 3)) > 0.5).astype("float32")
    elif labels == "binary":
        y = (y > 0).astype("float32")
    history = tlk.fit_two_phase(model, (x, y), epochs=1, fine_tune_epochs=0, verbose=0)
    assert isinstance(model.loss, loss)
    assert "accuracy" in history.history
    if activation is None:
        assert model.loss.from_logits


def test_a_compiled_model_keeps_its_loss_and_metrics():
    model = tlk.build_model("vgg16", num_classes=3, weights=None, input_shape=(32, 32, 3))
    model.compile(optimizer=keras.optimizers.SGD(0.1),
                  loss=keras.losses.SparseCategoricalCrossentropy(),
                  metrics=[keras.metrics.SparseTopKCategoricalAccuracy(k=2, name="top2")])
    x, y = _toy_task(n=8)
    history = tlk.fit_two_phase(model, (x, y), epochs=1, fine_tune_epochs=1,
                                verbose=0, fine_tuning=tlk.FineTuning(learning_rate=1e-4))
    assert "top2" in history.history and "accuracy" not in history.history
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert np.isclose(float(model.optimizer.learning_rate), 1e-4)


@pytest.mark.slow
def test_unfreezing_recompiles_so_training_is_never_stale():
    model = tlk.build_model("vgg16", num_classes=3, weights=None, input_shape=(32, 32, 3))
    x, y = _toy_task(n=8)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)  # traces a train function with a frozen base
    base = tlk.get_base(model)
    before = weights_by_path(base)
    tlk.unfreeze_base(model, fine_tune_at=-2)  # block5_conv3 and block5_pool
    model.fit(x, y, epochs=1, verbose=0)
    after = weights_by_path(base)
    changed = sorted(p for p in before if not np.array_equal(before[p], after[p]))
    assert changed == ["block5_conv3/bias", "block5_conv3/kernel"]
    tlk.freeze_base(model)
    model.fit(x, y, epochs=1, verbose=0)
    assert all(np.array_equal(after[p], v) for p, v in weights_by_path(base).items())


@pytest.mark.slow
def test_dataset_input_and_fine_tune_at_fraction():
    model = tlk.build_model("mobilenet_v3_small", num_classes=3, weights=None,
                            input_shape=(32, 32, 3))
    x, y = _toy_task(n=16)
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    history = tlk.fit_two_phase(model, data, data, epochs=1, fine_tune_epochs=1,
                                fine_tune_at=0.9, class_weight="balanced", verbose=0)
    assert len(history.history["val_loss"]) == 2


@pytest.mark.parametrize("make,message", [
    (lambda x, y: (x, y + 3), r"Labels out of range: expected integers in \[0, 3\)"),
    (lambda x, y: (x, -y - 1), r"Labels out of range"),
    (lambda x, y: (x, np.zeros((len(y), 5))), r"Labels do not match the model's output"),
    (lambda x, y: (x[:, :16, :16], y), r"expects inputs of shape \(32, 32, 3\)"),
    (lambda x, y: (x, y[:-1]), r"inputs but .* labels"),
    (lambda x, y: tf.data.Dataset.from_tensor_slices((x, y)), r"call dataset.batch"),
    (lambda x, y: tf.data.Dataset.from_tensor_slices((x, y + 5)).batch(4),
     r"Labels out of range"),
])
@pytest.mark.slow
def test_bad_data_fails_before_any_training(make, message):
    model = tlk.build_model("vgg16", num_classes=3, weights=None, input_shape=(32, 32, 3))
    x, y = _toy_task(n=8)
    before = weights_by_path(model)
    with pytest.raises(ValueError, match=message):
        tlk.fit_two_phase(model, make(x, y), epochs=1, fine_tune_epochs=1, verbose=0)
    assert all(np.array_equal(before[p], v) for p, v in weights_by_path(model).items())


@pytest.mark.parametrize("fine_tune_at,message", [
    ("no_such_layer", r"No layer named 'no_such_layer' in base 'vgg16'.*from 'block1_conv1'"),
    (1.5, r"fraction in \[0, 1\).*Received: fine_tune_at=1.5"),
    (100, r"index in \[-\d+, \d+\)"),
    (True, r"Received: fine_tune_at=True"),
])
def test_bad_fine_tune_at_fails_before_phase1(fine_tune_at, message):
    model = tlk.build_model("vgg16", num_classes=3, weights=None, input_shape=(32, 32, 3))
    x, y = _toy_task(n=8)
    before = weights_by_path(model)
    with pytest.raises(ValueError, match=message):
        tlk.fit_two_phase(model, (x, y), fine_tune_at=fine_tune_at, verbose=0)
    assert all(np.array_equal(before[p], v) for p, v in weights_by_path(model).items())


def test_bad_counts_and_rates():
    model = tlk.build_model("vgg16", num_classes=3, weights=None, input_shape=(32, 32, 3))
    data = (random_images(4), np.zeros(4, "int32"))
    with pytest.raises(ValueError, match="Received: epochs=-1"):
        tlk.fit_two_phase(model, data, epochs=-1)
    with pytest.raises(ValueError, match="Received: FineTuning.learning_rate=0"):
        tlk.fit_two_phase(model, data, fine_tuning=tlk.FineTuning(learning_rate=0))


def test_a_class_count_or_class_names_mismatch_is_refused_before_training(tmp_path):
    """Issue 34, row 3: a 3-output model trained on 2-class data without a word."""
    make_folder(tmp_path / "pets", per_class=6)
    train, val, class_names = tlk.image_dataset(str(tmp_path / "pets"), image_size=32,
                                                validation_split=0.3, verbose=0)
    base = tlk.load_base("mobilenet_v2", weights=None, input_shape=(32, 32, 3))
    three = tlk.build_model(base, num_classes=3)
    before = weights_by_path(three)
    with pytest.raises(ValueError, match=r"3 output unit\(s\), for 3 classes, but the data "
                                         r"hold 2 classes \['cats', 'dogs'\]"):
        tlk.fit_two_phase(three, train, val, epochs=1, fine_tune_epochs=0, verbose=0)
    assert all(np.array_equal(before[k], v) for k, v in weights_by_path(three).items())
    swapped = tlk.build_model(base, num_classes=2, class_names=["dogs", "cats"])
    with pytest.raises(ValueError, match=r"class names \['dogs', 'cats'\] differ from the "
                                         r"data's \['cats', 'dogs'\]"):
        tlk.fit_two_phase(swapped, train, val, epochs=1, fine_tune_epochs=0, verbose=0)


@pytest.mark.slow
def test_progress_is_a_line_per_epoch_when_not_on_a_terminal(capsys):
    model = tlk.build_model("mobilenet_v3_small", num_classes=2, weights=None,
                            input_shape=(32, 32, 3))
    images, labels = random_images(8), np.array([0, 1] * 4)
    tlk.fit_two_phase(model, (images, labels), epochs=1, fine_tune_epochs=1,
                      caching=tlk.Caching(features=False))
    out = capsys.readouterr().out
    assert "\x1b[" not in out and "\r" not in out  # captured output is not a terminal
    assert "Epoch 2/2" in out and out.count("1/1 - ") == 2  # a plain line per epoch
    assert "1 epoch at learning rate" in out  # not "1 epochs"


@pytest.mark.slow
def test_pixels_in_zero_one_are_warned_about_once():
    model = tlk.build_model("mobilenet_v3_small", num_classes=2, weights=None,
                            input_shape=(32, 32, 3))
    images, labels = random_images(8) / 255.0, np.array([0, 1] * 4)
    with pytest.warns(UserWarning, match=r"pixels in \[0, 1\].*takes RGB pixels in \[0, 255\]"):
        tlk.fit_two_phase(model, (images, labels), epochs=1, fine_tune_epochs=0, verbose=0)
    with pytest.raises(ValueError, match="Nothing to train.*Received: epochs=0"):
        tlk.fit_two_phase(model, (images, labels), epochs=0, fine_tune_epochs=0)


def test_tensorflow_retracing_warning_is_dropped_while_tl_keras_trains():
    """Row 15: a run compiles several models (the head, the top, one per ranked
    base), which TensorFlow reports as the caller's retracing; other warnings pass."""
    import logging

    from tl_keras.log import no_retracing_warnings

    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = tf.get_logger()
    logger.addHandler(handler)
    try:
        with no_retracing_warnings():
            logger.warning("5 out of the last 7 calls to <function f> triggered "
                           "tf.function retracing. Tracing is expensive")
            logger.warning("a warning of its own")
        logger.warning("6 out of the last 8 calls to <function g> triggered "
                       "tf.function retracing.")
    finally:
        logger.removeHandler(handler)
    assert [r.getMessage()[:20] for r in records] == ["a warning of its own",
                                                      "6 out of the last 8 "]
