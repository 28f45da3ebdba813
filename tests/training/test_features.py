import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import tl_keras as tlk
from tests.fixtures.images import random_images
from tests.fixtures.images import red_task
from tl_keras.data import fingerprints


@pytest.fixture()
def cache():
    with tlk.FeatureCache() as cache:
        yield cache


def _summing_base(size=16):
    """A base whose pooled feature is 3x the mean pixel: easy to check."""
    inputs = keras.Input((size, size, 3))
    conv = keras.layers.Conv2D(1, 1, use_bias=False, kernel_initializer="ones")
    return keras.Model(inputs, conv(inputs), name="summing")


def _label_images(n, size=16):
    labels = np.arange(n) % 4
    images = np.repeat(labels[:, None, None, None] * 10.0, size * size * 3)
    return images.reshape(n, size, size, 3).astype("float32"), labels.astype("int32")


def test_extract_features_keeps_labels_paired_in_a_shuffled_dataset(tmp_path):
    base = _summing_base()
    x, y = _label_images(24)
    data = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(24, seed=3).batch(5)
    features, labels = tlk.extract_features(base, data, output=str(tmp_path / "f.npz"),
                                            verbose=0)
    assert features.shape == (24, 1)
    np.testing.assert_allclose(features[:, 0], 30.0 * labels, rtol=1e-5)
    saved = np.load(tmp_path / "f.npz")
    np.testing.assert_array_equal(saved["labels"], labels)
    # Arrays in, arrays out; a build_model model gives its pooling output.
    model = tlk.build_model(base, num_classes=4)
    only = tlk.extract_features(model, x[:3], verbose=0)
    np.testing.assert_allclose(only[:, 0], [0, 30, 60], rtol=1e-5)


def test_extract_features_of_a_registry_base_applies_its_preprocessing():
    base = tlk.load_base("vgg16", weights=None, input_shape=(32, 32, 3))
    images = random_images(2)
    features = tlk.extract_features(base, images, verbose=0)
    expected = keras.layers.GlobalAveragePooling2D()(
        base(keras.applications.vgg16.preprocess_input(images.copy())))
    np.testing.assert_allclose(features, expected, rtol=1e-4, atol=1e-5)


def _model(seed=0):
    keras.utils.set_random_seed(seed)
    return tlk.build_model("vgg16", num_classes=2, weights=None, input_shape=(32, 32, 3),
                           dropout=0.0)


@pytest.mark.compat
@pytest.mark.slow
def test_cached_and_uncached_phase1_train_the_same_head(capsys, cache):
    x, y = red_task()
    cached, plain = _model(), _model()
    kwargs = dict(epochs=3, fine_tune_epochs=0, batch_size=16, verbose=1)  # full batch
    history_cached = tlk.fit_two_phase(cached, (x, y), (x, y), **kwargs,
                                       caching=tlk.Caching(store=cache))
    out = capsys.readouterr().out
    assert "Feature cache: computed the frozen base's features of 16 training" in out
    history_plain = tlk.fit_two_phase(plain, (x, y), (x, y), **kwargs,
                                      caching=tlk.Caching(features=False, store=cache))
    for a, b in zip(cached.head.weights, plain.head.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(history_cached.history["val_loss"],
                               history_plain.history["val_loss"], rtol=1e-4)
    assert sorted(history_cached.history) == sorted(history_plain.history)


@pytest.mark.slow
def test_the_cache_is_reused_and_invalidated_by_base_or_data_changes(cache):
    x, y = red_task()
    model = _model()
    fit = lambda data: tlk.fit_two_phase(model, data, epochs=2, fine_tune_epochs=0,  # noqa
                                         verbose=0, caching=tlk.Caching(store=cache))
    fit((x, y))
    assert cache.info()["misses"] == 1
    fit((x, y))
    assert cache.info()["hits"] == 1
    fit((x + 1, y))  # the data changed
    assert cache.info()["misses"] == 2
    conv = tlk.get_base(model).get_layer("block5_conv3")
    conv.kernel.assign(conv.kernel * 0.5)  # the base changed (as fine-tuning does)
    fit((x + 1, y))
    info = cache.info()
    assert (info["hits"], info["misses"], info["entries"]) == (1, 3, 3)


def test_a_rebuilt_model_with_the_same_weights_reuses_the_features(cache):
    x, y = red_task()
    for _ in range(2):  # the same notebook cell, run twice
        model = _model(seed=7)
        tlk.fit_two_phase(model, (x, y), epochs=2, fine_tune_epochs=0, verbose=0,
                          caching=tlk.Caching(store=cache))
    assert cache.info()["hits"] == 1


@pytest.mark.slow
def test_after_a_cached_phase_the_full_model_evaluates_correctly(cache):
    x, y = red_task(32)
    model = _model()
    # (A metric object shared by the head and the full model once mixed their counts.)
    tlk.fit_two_phase(model, (x, y), epochs=3, fine_tune_epochs=0, verbose=0,
                      caching=tlk.Caching(store=cache))
    accuracy = model.evaluate(x, y, verbose=0)[1]
    predicted = model.predict(x, verbose=0).argmax(axis=1)
    assert accuracy == pytest.approx(np.mean(predicted == y))


@pytest.mark.slow
def test_folder_data_invalidated_when_a_file_changes(tmp_path, cache):
    from tests.fixtures.images import make_folder

    root = make_folder(tmp_path / "pets", per_class=4, size=(32, 32))
    model = _model()

    def fit():
        train, _, _ = tlk.image_dataset(str(root), image_size=32, validation_split=0)
        assert not [a for a in vars(train) if "fingerprint" in a]  # nothing stashed
        assert fingerprints.fingerprint(train) is not None
        tlk.fit_two_phase(model, train, epochs=2, fine_tune_epochs=0, verbose=0,
                          caching=tlk.Caching(store=cache))

    fit()
    fit()
    assert cache.info()["hits"] == 1
    target = root / "cats" / "cats_1.png"
    other = (root / "dogs" / "dogs_1.png").read_bytes()
    target.write_bytes(other)
    fit()
    assert cache.info()["misses"] == 2


@pytest.mark.slow
def test_augmentation_falls_back_and_says_so(capsys, cache):
    x, y = red_task(8)
    keras.utils.set_random_seed(0)
    model = tlk.build_model("vgg16", num_classes=2, weights=None, input_shape=(32, 32, 3),
                            augmentation="default")
    tlk.fit_two_phase(model, (x, y), epochs=2, fine_tune_epochs=0, verbose=1,
                      caching=tlk.Caching(store=cache))
    out = capsys.readouterr().out
    assert "Feature cache off (augmentation sits in front of the base" in out
    assert cache.info()["misses"] == 0
    with pytest.raises(ValueError, match="Cannot cache phase 1 features: augmentation"):
        tlk.fit_two_phase(model, (x, y), epochs=2, verbose=0,
                          caching=tlk.Caching(features=True))


def test_the_cache_splits_the_model_by_its_own_parts(cache):
    model = _model()
    head = model.head_model()
    # The head model is the model's own head: the same variables, not copies.
    assert {id(v) for v in head.weights} == {id(v) for v in model.head.weights}
    x, _ = red_task(4)
    features = model.feature_model().predict(x, verbose=0)
    np.testing.assert_allclose(head.predict(features, verbose=0),
                               model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_large_features_spill_to_files_that_the_cache_removes(tmp_path):
    x, y = red_task()
    model = _model()
    cache = tlk.FeatureCache(memory_limit_bytes=0)
    features, hit = cache.features(model.feature_model(), (x, y), batch_size=8,
                                   fingerprint=fingerprints.fingerprint((x, y)), verbose=0)
    assert isinstance(features.x, np.memmap) and not hit
    assert features.x.shape == (16, 512)
    spill = features.x.filename
    assert os.path.isfile(spill) and cache.info()["spill_files"] == 1
    cache.clear()
    assert not os.path.exists(os.path.dirname(spill))
    assert cache.info() == {"hits": 0, "misses": 0, "entries": 0, "bytes_in_memory": 0,
                            "spill_files": 0, "peak_bytes_in_memory": 0}


def test_the_cache_is_bounded():
    extractor = _model().feature_model()
    cache = tlk.FeatureCache(max_entries=2)
    for shift in range(3):
        x, y = red_task(4)
        cache.features(extractor, (x + shift, y), batch_size=4, verbose=0,
                       fingerprint=fingerprints.fingerprint((x + shift, y)))
    assert cache.info()["entries"] == 2
    _, hit = cache.features(extractor, (x, y), batch_size=4, verbose=0,
                            fingerprint=fingerprints.fingerprint((x, y)))
    assert not hit  # the oldest (shift 0) was evicted


def test_an_unknown_length_pipeline_spills_once_past_half_the_budget():
    """Issue 24: the budget held for a pipeline whose length is unknown (every
    folder pipeline: it drops unreadable files), with no second full copy."""
    from tl_keras.training.feature_cache import compute_features

    x, y = red_task(64)
    data = tf.data.Dataset.from_tensor_slices((x, y)).filter(lambda a, b: True).batch(8)
    assert int(data.cardinality()) == int(tf.data.UNKNOWN_CARDINALITY)
    extractor = _model().feature_model()
    expected = compute_features(extractor, data, verbose=0).x  # 64 x 512 float32
    batch_bytes = 8 * 512 * 4
    small = tlk.FeatureCache(memory_limit_bytes=6 * batch_bytes)  # 8 batches come
    spilled, _ = small.features(extractor, data, fingerprint=b"a", verbose=0)
    assert isinstance(spilled.x, np.memmap)
    assert small.info()["peak_bytes_in_memory"] <= 3 * batch_bytes  # half the budget
    np.testing.assert_array_equal(np.asarray(spilled.x), expected)
    np.testing.assert_array_equal(spilled.y, y)
    small.clear()
    large = tlk.FeatureCache(memory_limit_bytes=16 * batch_bytes)
    kept, _ = large.features(extractor, data, fingerprint=b"a", verbose=0)
    assert not isinstance(kept.x, np.memmap)
    assert large.info()["peak_bytes_in_memory"] <= 16 * batch_bytes  # the join included
    np.testing.assert_array_equal(kept.x, expected)


def test_the_cache_key_covers_layer_configurations(cache):
    """Two extractors with the same weights that compute different things (a
    Rescaling scale) never share features."""
    x, y = red_task(8)

    def extractor(scale):
        inputs = keras.Input((32, 32, 3))
        return keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(
            keras.layers.Rescaling(scale)(inputs)))

    first, _ = cache.features(extractor(1.0), (x, y), fingerprint=b"d", verbose=0)
    second, hit = cache.features(extractor(0.5), (x, y), fingerprint=b"d", verbose=0)
    assert not hit
    np.testing.assert_allclose(second.x, first.x * 0.5, rtol=1e-6)
    _, hit = cache.features(extractor(0.5), (x, y), fingerprint=b"d", verbose=0)
    assert hit  # the same configuration again: reused


def test_fit_two_phase_leaves_nothing_in_the_process_cache():
    from tl_keras.training.feature_cache import default_feature_cache

    x, y = red_task()
    tlk.fit_two_phase(_model(), (x, y), epochs=1, fine_tune_epochs=0, verbose=0)
    assert default_feature_cache().info()["entries"] == 0
