"""Phase 2 on cached activations: the same training as the full model, or a
fallback that says why."""

import os

import keras
import numpy as np
import pytest

import tl_keras as tlk
from tests.fixtures.images import random_images
from tests.fixtures.images import red_task
from tests.fixtures.images import small_image_classifier
from tests.fixtures.images import weights_by_path

# End to end (training, exporting, subprocesses): the full tier, `make test`.
pytestmark = pytest.mark.slow


def _fit(fine_tune_cache, feature_cache, verbose=0, **kwargs):
    keras.utils.set_random_seed(0)
    model = tlk.build_model("vgg16", num_classes=2, weights=None, input_shape=(32, 32, 3),
                            dropout=0.0)
    x, y = red_task()
    history = tlk.fit_two_phase(
        model, (x, y), (x, y), epochs=2, fine_tune_epochs=3, batch_size=16,  # full batch
        fine_tune_at="block5_conv2",
        verbose=verbose,
        **kwargs,
        fine_tuning=tlk.FineTuning(learning_rate=1e-4),
        caching=tlk.Caching(activations=fine_tune_cache, store=feature_cache))
    return model, history


@pytest.mark.compat
def test_cached_phase2_trains_the_same_weights_as_the_full_model(capsys):
    with tlk.FeatureCache() as cache:
        cached, cached_history = _fit(True, cache, verbose=1)
        out = capsys.readouterr().out
        plain, plain_history = _fit(False, cache)
    # One pass over the inputs serves both phases: phase 1's features come
    # through the activations at the cut, which phase 2 then reuses.
    assert ("features of 16 training examples (512 each) (through the activations at "
            "'block5_conv2', kept for phase 2)") in out
    assert ("Activation cache: reused the output of the frozen layers below "
            "'block5_conv2' for 16 training examples (2x2x512 each)") in out
    before, after = weights_by_path(plain), weights_by_path(cached)
    assert before.keys() == after.keys()
    for path in before:
        np.testing.assert_allclose(after[path], before[path], rtol=1e-4, atol=1e-6,
                                   err_msg=path)
    np.testing.assert_allclose(cached_history.history["val_loss"],
                               plain_history.history["val_loss"], rtol=1e-4)
    assert cached_history.fine_tune_epoch == 2 and len(cached_history.epoch) == 5
    # The top did train: the unfrozen convolution moved during phase 2.
    keras.utils.set_random_seed(0)
    fresh = tlk.build_model("vgg16", num_classes=2, weights=None, input_shape=(32, 32, 3))
    assert not np.array_equal(weights_by_path(fresh)["block5_conv3/kernel"],
                              after["block5_conv3/kernel"])


def test_spilled_activations_leave_no_files_behind():
    with tlk.FeatureCache(memory_limit_bytes=0) as cache:
        _fit(True, cache)
        directory = cache.spill_directory
        # Training and validation are the same arrays here: one set of features
        # and one of activations, each in a spill file.
        assert cache.info()["spill_files"] == 2 and len(os.listdir(directory)) == 2
    assert not os.path.exists(directory)


@pytest.mark.parametrize("build,fine_tune_at,reason", [
    (lambda: tlk.build_model("vgg16", num_classes=2, weights=None, input_shape=(32, 32, 3),
                             augmentation="default"),
     "block5_conv2", "augmentation sits in front of the base"),
    (lambda: tlk.build_model("resnet50", num_classes=2, weights=None,
                             input_shape=(32, 32, 3)),
     "conv5_block2_2_conv", "the graph has no clean cut at conv5_block2_2_conv"),
    (lambda: tlk.build_model("vgg16", num_classes=2, weights=None, input_shape=(32, 32, 3)),
     0.0, "fine_tune_at unfreezes the whole base"),
])
@pytest.mark.compat
def test_phase2_falls_back_and_says_why(build, fine_tune_at, reason, capsys):
    model = build()
    x, y = red_task(8)
    with tlk.FeatureCache() as cache:
        tlk.fit_two_phase(model, (x, y), epochs=1, fine_tune_epochs=2,
                          fine_tune_at=fine_tune_at, verbose=1,
                          caching=tlk.Caching(store=cache))
    assert f"Activation cache off ({reason}" in capsys.readouterr().out
    before = weights_by_path(model)
    with pytest.raises(ValueError, match=f"Cannot cache phase 2 activations: {reason[:20]}"):
        tlk.fit_two_phase(model, (x, y), epochs=1, fine_tune_epochs=2,
                          fine_tune_at=fine_tune_at, verbose=0,
                          caching=tlk.Caching(activations=True))
    assert all(np.array_equal(before[p], v) for p, v in weights_by_path(model).items())


def test_a_text_model_says_there_is_nothing_to_cache(capsys):
    words = ["good", "great", "bad", "awful"]
    vectors = np.eye(4, dtype="float32")
    texts = np.array(["good great", "bad awful"] * 4)
    labels = np.array([1, 0] * 4)
    model = tlk.build_text_model((words, vectors), 2, texts=texts, sequence_length=4,
                                 verbose=0)
    tlk.fit_two_phase(model, (texts, labels), epochs=2, fine_tune_epochs=2, verbose=1)
    out = capsys.readouterr().out
    assert "Activation cache off (a text model's base is unfrozen whole" in out


@pytest.mark.compat
def test_an_exported_base_is_cut_inside_its_inner_model(tmp_path, capsys):
    """A model of the organisation's library used as a base: the cut falls in the
    network nested in it, and phase 2 on cached activations trains what the
    full model would."""
    source = small_image_classifier(filters=(8, 16, 16, 16), class_names=["a", "b"])
    path = tlk.export_saved_model(source, str(tmp_path / "source"), warmup=False)
    images, labels = random_images(16, size=16), np.array([0, 1] * 8)
    results = {}
    for cache in (True, False):
        keras.utils.set_random_seed(0)
        model = tlk.build_model(tlk.load_base(path), num_classes=2, dropout=0.0)
        with tlk.FeatureCache() as store:
            history = tlk.fit_two_phase(model, (images, labels), (images, labels), epochs=2,
                                        fine_tune_epochs=3, batch_size=16,
                                        verbose=1 if cache else 0,
                                        caching=tlk.Caching(activations=cache, store=store))
        results[cache] = (weights_by_path(model), history.history["val_loss"])
    assert "Activation cache: reused the output of the frozen layers below" in \
        capsys.readouterr().out
    cached, plain = results[True][0], results[False][0]
    for key in plain:
        np.testing.assert_allclose(cached[key], plain[key], rtol=1e-4, atol=1e-6,
                                   err_msg=key)
    np.testing.assert_allclose(results[True][1], results[False][1], rtol=1e-4)


@pytest.mark.parametrize("fine_tune_epochs", [0, 2])
def test_a_model_trained_on_cached_data_reloads_with_its_optimizer(fine_tune_epochs,
                                                                  tmp_path):
    """Issue 26 row 15: the head trained on cached features left the model's own
    optimizer unbuilt, so `load_model` warned "Skipping variable loading for
    optimizer"; the model now carries the state its trainers reached."""
    import warnings

    keras.utils.set_random_seed(0)
    model = tlk.build_model("vgg16", num_classes=2, weights=None, input_shape=(32, 32, 3))
    x, y = red_task()
    tlk.fit_two_phase(model, (x, y), (x, y), epochs=2, fine_tune_epochs=fine_tune_epochs,
                      batch_size=8, fine_tune_at="block5_conv2", verbose=0)
    # 2 steps an epoch: phase 1's head, then phase 2's top, each on its own optimizer.
    assert int(model.optimizer.iterations.numpy()) == 2 * (fine_tune_epochs or 2)
    path = str(tmp_path / "model.keras")
    model.save(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again = keras.saving.load_model(path)
    assert [str(w.message) for w in caught if "optimizer" in str(w.message)] == []
    for saved, loaded in zip(model.optimizer.variables, again.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(loaded), np.asarray(saved))
