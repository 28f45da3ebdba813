"""Options of a training run: phase 2's schedule, mixed precision, XLA."""

import keras
import numpy as np
import pytest

import tensorflow as tf

import tl_keras as tlk
from tl_keras.training.schedules import epoch_rate
from tests.conftest import random_images
from tests.conftest import small_image_classifier
from tests.conftest import weights_by_path


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


def test_bfloat16_trains_then_the_model_is_float32_again():
    model = _model()
    before = weights_by_path(model)
    x, y = random_images(16, size=16), np.array([0, 1] * 8)
    watch = ComputeDtypes(model)
    tlk.fit_two_phase(model, (x, y), (x, y), epochs=2, fine_tune_epochs=2, batch_size=8,
                      mixed_precision="bfloat16", callbacks=[watch], verbose=0)
    # Both phases computed in bfloat16, the output layer in float32.
    assert watch.seen and all(seen[:2] == ("bfloat16", "float32") for seen in watch.seen)
    after = weights_by_path(model)
    output_kernel = model.head.layers[-1].kernel.path
    assert not np.array_equal(before[output_kernel], after[output_kernel])
    assert all(value.dtype == np.float32 for value in after.values())
    assert {layer.compute_dtype for layer in model.base.layers} == {"float32"}
    assert model.predict(x, verbose=0).dtype == np.float32
    # (The CLI test in test_new_user.py exports a bfloat16-trained model.)


def test_float16_scales_the_loss_and_xla_compiles():
    model = _model()
    x, y = random_images(8, size=16), np.array([0, 1] * 4)
    watch = ComputeDtypes(model)
    tlk.fit_two_phase(model, (x, y), (x, y), epochs=2, fine_tune_epochs=0, batch_size=8,
                      mixed_precision="float16", jit_compile=True, callbacks=[watch],
                      verbose=0)
    assert watch.seen[-1] == ("float16", "float32", "LossScaleOptimizer")
    assert model.base.layers[2].compute_dtype == "float32"
    tlk.fit_two_phase(model, (x, y), epochs=1, fine_tune_epochs=1, jit_compile=True,
                      cache_features=False, verbose=0)
    assert model.jit_compile is True
    assert type(model.optimizer).__name__ == "Adam"


class Rates(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.rates = []

    def on_epoch_end(self, epoch, logs=None):
        self.rates.append(float(keras.ops.convert_to_numpy(
            self.model.optimizer.learning_rate)))


def test_cosine_warms_up_then_decays_to_zero():
    model = _model()
    x, y = random_images(8, size=16), np.array([0, 1] * 4)
    rates = Rates()
    tlk.fit_two_phase(model, (x, y), epochs=1, fine_tune_epochs=2, batch_size=2,
                      fine_tune_learning_rate=1e-3, callbacks=[rates], verbose=0)
    # 8 steps: 1 of warm-up to the peak, then a cosine that ends at 0.
    assert rates.rates[-1] == 0.0
    assert 0 < rates.rates[1] < 1e-3  # the middle of phase 2
    # A pipeline of unknown length: the schedule an epoch at a time.
    pipeline = tf.data.Dataset.from_tensor_slices((x, y)).filter(lambda a, b: True).batch(4)
    rates = Rates()
    tlk.fit_two_phase(model, pipeline, epochs=1, fine_tune_epochs=3, fine_tune_cache=False,
                      fine_tune_learning_rate=1e-3, callbacks=[rates], verbose=0)
    expected = [epoch_rate(1e-3, epoch, 3) for epoch in range(3)]
    np.testing.assert_allclose(rates.rates[1:], expected, rtol=1e-6)
    assert expected[0] == 5e-4 and expected[1] > expected[2]


@pytest.mark.parametrize("argument, value, message", [
    ("mixed_precision", "half", "Expected `mixed_precision` to be None, 'float16'"),
    ("jit_compile", "xla", "Expected `jit_compile` to be 'auto', True or False"),
    ("fine_tune_schedule", "linear", "Expected `fine_tune_schedule` to be one of"),
])
def test_bad_options_are_refused_before_training(argument, value, message):
    model = _model()
    x, y = random_images(4, size=16), np.array([0, 1] * 2)
    with pytest.raises(ValueError, match=message + ".*Received: " + argument):
        tlk.fit_two_phase(model, (x, y), epochs=1, **{argument: value})
    assert not model.compiled  # nothing was trained


def test_float16_storage_halves_the_cache_and_trains_the_same_way():
    x, y = random_images(16, size=16), np.array([0, 1] * 8)
    results = {}
    for storage in ("float32", "float16"):
        model = _model()
        with tlk.FeatureCache(storage_dtype=storage) as cache:
            history = tlk.fit_two_phase(model, (x, y), (x, y), epochs=2, fine_tune_epochs=2,
                                        batch_size=8, feature_cache=cache, verbose=0)
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
