"""Options of a training run: the option objects, phase 2's schedule, mixed
precision, XLA."""

import dataclasses
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

import tl_keras as tlk
from tests.fixtures.images import random_images
from tests.fixtures.images import small_image_classifier
from tests.fixtures.images import weights_by_path
from tl_keras.training.schedules import epoch_rate


class ComputeDtypes(keras.callbacks.Callback):
    """Records, during training, the compute dtype of the model's layers."""

    def __init__(self, model):
        super().__init__()
        self.watched, self.seen = model, []

    def on_epoch_end(self, epoch, logs=None):
        base, head = self.watched.base, self.watched.head
        self.seen.append((base.layers[2].compute_dtype, head.layers[-1].compute_dtype,
                          type(self.model.optimizer).__name__))


def _model():
    return small_image_classifier(dropout=0.0)


@pytest.mark.slow
def test_bfloat16_trains_then_the_model_is_float32_again():
    model = _model()
    before = weights_by_path(model)
    x, y = random_images(16, size=16), np.array([0, 1] * 8)
    watch = ComputeDtypes(model)
    tlk.fit_two_phase(model, (x, y), (x, y), epochs=2, fine_tune_epochs=2, batch_size=8,
                      callbacks=[watch], verbose=0,
                      speed=tlk.Speed(mixed_precision="bfloat16"))
    # Both phases computed in bfloat16, the output layer in float32.
    assert watch.seen and all(seen[:2] == ("bfloat16", "float32") for seen in watch.seen)
    after = weights_by_path(model)
    output_kernel = model.head.layers[-1].kernel.path
    assert not np.array_equal(before[output_kernel], after[output_kernel])
    assert all(value.dtype == np.float32 for value in after.values())
    assert {layer.compute_dtype for layer in model.base.layers} == {"float32"}
    assert model.predict(x, verbose=0).dtype == np.float32
    # (The CLI test in test_new_user.py exports a bfloat16-trained model.)


@pytest.mark.slow
def test_float16_scales_the_loss_and_xla_compiles():
    model = _model()
    x, y = random_images(8, size=16), np.array([0, 1] * 4)
    watch = ComputeDtypes(model)
    tlk.fit_two_phase(model, (x, y), (x, y), epochs=2, fine_tune_epochs=0, batch_size=8,
                      callbacks=[watch],
                      verbose=0,
                      speed=tlk.Speed(mixed_precision="float16", jit_compile=True))
    assert watch.seen[-1] == ("float16", "float32", "LossScaleOptimizer")
    assert model.base.layers[2].compute_dtype == "float32"
    tlk.fit_two_phase(model, (x, y), epochs=1, fine_tune_epochs=1,
                      verbose=0,
                      caching=tlk.Caching(features=False),
                      speed=tlk.Speed(jit_compile=True))
    assert model.jit_compile is True
    assert type(model.optimizer).__name__ == "Adam"


class Rates(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.rates = []

    def on_epoch_end(self, epoch, logs=None):
        self.rates.append(float(keras.ops.convert_to_numpy(
            self.model.optimizer.learning_rate)))


@pytest.mark.slow
def test_cosine_warms_up_then_decays_to_zero():
    model = _model()
    x, y = random_images(8, size=16), np.array([0, 1] * 4)
    rates = Rates()
    tlk.fit_two_phase(model, (x, y), epochs=1, fine_tune_epochs=2, batch_size=2,
                      callbacks=[rates], verbose=0,
                      fine_tuning=tlk.FineTuning(learning_rate=1e-3))
    # 8 steps: 1 of warm-up to the peak, then a cosine that ends at 0.
    assert rates.rates[-1] == 0.0
    assert 0 < rates.rates[1] < 1e-3  # the middle of phase 2
    # A pipeline of unknown length: the schedule an epoch at a time.
    pipeline = tf.data.Dataset.from_tensor_slices((x, y)).filter(lambda a, b: True).batch(4)
    rates = Rates()
    tlk.fit_two_phase(model, pipeline, epochs=1, fine_tune_epochs=3,
                      callbacks=[rates], verbose=0,
                      fine_tuning=tlk.FineTuning(learning_rate=1e-3),
                      caching=tlk.Caching(activations=False))
    expected = [epoch_rate(1e-3, epoch, 3) for epoch in range(3)]
    np.testing.assert_allclose(rates.rates[1:], expected, rtol=1e-6)
    assert expected[0] == 5e-4 and expected[1] > expected[2]


@pytest.mark.parametrize("options, message, received", [
    (dict(speed=tlk.Speed(mixed_precision="half")),
     "Expected `mixed_precision` to be None, 'float16'", "mixed_precision='half'"),
    (dict(speed=tlk.Speed(jit_compile="xla")),
     "Expected `jit_compile` to be 'auto', True or False", "jit_compile='xla'"),
    (dict(fine_tuning=tlk.FineTuning(schedule="linear")),
     "Expected `FineTuning.schedule` to be one of", "schedule='linear'"),
    (dict(caching=tlk.Caching(features="yes")),
     "Expected `Caching.features` to be 'auto', True or False", "Caching.features='yes'"),
])
@pytest.mark.slow
def test_bad_options_are_refused_before_training(options, message, received):
    model = _model()
    x, y = random_images(4, size=16), np.array([0, 1] * 2)
    with pytest.raises(ValueError, match=re.escape(message) + ".*Received: "
                       + re.escape(received)):
        tlk.fit_two_phase(model, (x, y), epochs=1, **options)
    assert not model.compiled  # nothing was trained


@pytest.mark.slow
def test_old_keywords_still_train_the_same_with_a_deprecation_line():
    """`fine_tune_learning_rate=` and the other grouped keywords work for one
    more release: the same weights as the option objects, and one
    DeprecationWarning each naming the new form."""
    x, y = random_images(8, size=16), np.array([0, 1] * 4)
    results = []
    for style in ("options", "keywords"):
        model = _model()
        keras.utils.set_random_seed(3)
        if style == "options":
            tlk.fit_two_phase(model, (x, y), epochs=1, fine_tune_epochs=1, verbose=0,
                              fine_tuning=tlk.FineTuning(learning_rate=1e-2,
                                                         schedule="constant"),
                              caching=tlk.Caching(features=False))
        else:
            with pytest.warns(DeprecationWarning) as record:
                tlk.fit_two_phase(model, (x, y), epochs=1, fine_tune_epochs=1, verbose=0,
                                  fine_tune_learning_rate=1e-2,
                                  fine_tune_schedule="constant", cache_features=False)
            messages = [str(w.message) for w in record if w.category is DeprecationWarning]
            assert len(messages) == 3
            assert any("pass fine_tuning=tl_keras.FineTuning(learning_rate=...)" in m
                       for m in messages)
            assert any("pass caching=tl_keras.Caching(features=...)" in m for m in messages)
        results.append([np.array(weight) for weight in model.weights])
    assert len(results[0]) == len(results[1])
    assert all(np.array_equal(a, b) for a, b in zip(*results))


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(cache_features=False, caching=tlk.Caching()), TypeError,
     "Pass `cache_features` inside `caching` only"),
    (dict(learning_rates=1e-3), TypeError,
     "unexpected keyword argument(s) ['learning_rates']. Options are grouped"),
    (dict(speed="fast"), TypeError, "Expected `speed` to be a tl_keras.Speed(...)"),
])
def test_option_mistakes_are_type_errors_before_training(kwargs, error, message):
    model = _model()
    x, y = random_images(4, size=16), np.array([0, 1] * 2)
    with pytest.raises(error, match=re.escape(message)):
        tlk.fit_two_phase(model, (x, y), epochs=1, **kwargs)
    assert not model.compiled


def test_option_objects_are_frozen_and_replaceable():
    base = tlk.Caching(features=False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        base.features = True
    assert dataclasses.replace(base, activations=False) == tlk.Caching(False, False)


@pytest.mark.slow
def test_float16_storage_halves_the_cache_and_trains_the_same_way():
    x, y = random_images(16, size=16), np.array([0, 1] * 8)
    results = {}
    for storage in ("float32", "float16"):
        model = _model()
        with tlk.FeatureCache(storage_dtype=storage) as cache:
            history = tlk.fit_two_phase(model, (x, y), (x, y), epochs=2, fine_tune_epochs=2,
                                        batch_size=8, verbose=0,
                                        caching=tlk.Caching(store=cache))
            stored = cache.info()["bytes_in_memory"]
        results[storage] = (history.history["val_loss"], stored)
    assert results["float16"][1] * 2 == results["float32"][1] > 0
    np.testing.assert_allclose(results["float16"][0], results["float32"][0], rtol=2e-2)
    with pytest.raises(ValueError, match="Expected `storage_dtype`.*Received: storage_dtype"):
        tlk.FeatureCache(storage_dtype="int8")


def test_steps_per_call_keeps_the_progress_bar_within_the_epoch():
    from tl_keras.training.cached_training import steps_per_call

    assert steps_per_call(50, 32) == 25  # 25/50, 50/50, never 64/50
    assert steps_per_call(20, 32) == 20 and steps_per_call(0, 32) == 1
    assert steps_per_call(600, 256) == 200
    assert steps_per_call(53, 32) == 32  # a prime count: speed first


def test_sparse_crossentropy_with_smoothing_matches_keras_on_one_hot_labels():
    from tl_keras.training.losses import SparseCrossentropyWithSmoothing

    labels = np.array([0, 2, 1])
    predictions = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.3, 0.4, 0.3]], "float32")
    expected = keras.losses.CategoricalCrossentropy(label_smoothing=0.2)(
        np.eye(3)[labels], predictions)
    loss = SparseCrossentropyWithSmoothing(0.2)
    np.testing.assert_allclose(loss(labels, predictions), expected, rtol=1e-6)
    np.testing.assert_allclose(loss(labels[:, None], predictions), expected, rtol=1e-6)
    revived = keras.losses.deserialize(keras.losses.serialize(loss))
    assert revived.label_smoothing == 0.2
    with pytest.raises(ValueError, match=r"label_smoothing` in \[0, 1\).*Received"):
        SparseCrossentropyWithSmoothing(1.0)


@pytest.mark.slow
def test_a_one_step_cosine_phase_2_already_learns():
    """Row 23: the warm-up started at learning rate 0, so a phase 2 of one step
    (one batch, fine_tune_epochs=1) changed no weight."""
    from tests.fixtures.images import small_image_classifier
    from tests.fixtures.images import weights_by_path
    from tl_keras.training.schedules import phase2_learning_rate

    for epochs, steps in ((1, 1), (3, 10)):
        schedule = phase2_learning_rate(1e-3, "cosine", epochs, steps)
        assert float(schedule(0)) > 0  # the first step learns
        assert max(float(schedule(s)) for s in range(epochs * steps)) <= 1e-3 * (1 + 1e-6)
    model = small_image_classifier(dropout=0.0)
    images, labels = random_images(4, size=16), np.array([0, 1, 0, 1])
    before = weights_by_path(model.base)
    tlk.fit_two_phase(model, (images, labels), epochs=1, fine_tune_epochs=1, batch_size=4,
                      fine_tune_at=0, verbose=0,
                      fine_tuning=tlk.FineTuning(learning_rate=1e-2, schedule="cosine"))
    kernels = [path for path in before if path.endswith("kernel")]
    after = weights_by_path(model.base)
    assert any(not np.array_equal(before[p], after[p]) for p in kernels)
