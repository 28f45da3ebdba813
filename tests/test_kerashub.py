"""KerasHub presets as bases: tiny presets written with `save_to_preset`, offline."""

import os
import time

import keras
import numpy as np
import pytest

import tl_keras as tlk
from tests.conftest import random_images
from tests.conftest import weights_by_path
from tests.keras_free import serve_without_keras
from tests.kerashub_fixtures import write_resnet_preset
from tests.kerashub_fixtures import write_vit_preset

keras_hub = pytest.importorskip("keras_hub", reason="the kerashub extra is not installed")


@pytest.fixture(scope="module")
def presets(tmp_path_factory):
    root = tmp_path_factory.mktemp("presets")
    return {"resnet": write_resnet_preset(root / "resnet_tiny"),
            "vit": write_vit_preset(root / "vit_tiny")}


def _data():
    x, y = random_images(24, size=32), np.array([0, 1] * 12)
    x[y == 1, ..., 0] = np.minimum(x[y == 1, ..., 0] + 120, 255)
    return x, y


def test_a_resnet_preset_takes_raw_pixels_trains_in_two_phases_and_serves_jpeg_bytes(
        presets, tmp_path):
    model = tlk.build_model(presets["resnet"], num_classes=2, class_names=["a", "b"])
    base = tlk.get_base(model)
    assert base.identity["source"] == "keras_hub" and base.identity["handle"] == presets["resnet"]
    assert isinstance(base.layers[1], keras_hub.layers.ImageConverter)  # inside the model
    converter = keras_hub.layers.ImageConverter.from_preset(presets["resnet"])
    backbone = keras_hub.models.Backbone.from_preset(presets["resnet"])
    x, y = _data()
    expected = np.asarray(backbone(converter(x[:2])))  # the preset's own pipeline
    np.testing.assert_allclose(np.asarray(base(x[:2])), expected, atol=1e-4)

    before = weights_by_path(base)
    tlk.fit_two_phase(model, (x, y), (x, y), epochs=2, fine_tune_epochs=2, batch_size=8,
                      fine_tune_at=0, verbose=0)
    after = weights_by_path(base)
    convolutions = [p for p in before if p.endswith("kernel")]
    assert any(not np.allclose(before[p], after[p]) for p in convolutions)
    statistics = [p for p in before if "moving_" in p]
    assert statistics and all(np.array_equal(before[p], after[p]) for p in statistics)

    path = str(tmp_path / "model.keras")
    model.save(path)
    again = keras.saving.load_model(path)
    np.testing.assert_allclose(again.predict(x[:4], verbose=0),
                               model.predict(x[:4], verbose=0), atol=1e-5)
    version = tlk.export_saved_model(model, str(tmp_path / "served"), warmup=False)
    served = serve_without_keras(version, x[:4], tmp_path)
    np.testing.assert_allclose(np.asarray(served["probabilities"]),
                               model.predict(x[:4], verbose=0), atol=1e-4)
    report = tlk.check_export(version, verbose=False)  # JPEG bytes and classify too
    assert report.ok, str(report)


def test_a_vit_preset_pools_its_class_token_and_fine_tunes_with_lora(presets, tmp_path):
    model = tlk.build_model(presets["vit"], num_classes=2)
    base = tlk.get_base(model)
    assert base.output_shape == (None, 16)  # the class token of 16 features
    x, y = _data()
    before = weights_by_path(base)
    tlk.fit_two_phase(model, (x, y), (x, y), epochs=1, fine_tune_epochs=2, batch_size=8,
                      lora_rank=2, fine_tune_learning_rate=1e-2, verbose=0)
    after = weights_by_path(base)
    lora_b = [p for p in after if p.endswith("lora_kernel_b")]
    assert len(lora_b) == 4  # query and value of two blocks
    assert all(np.abs(after[p]).max() > 0 for p in lora_b)  # they start at zero
    frozen = [p for p in before if "mlp" in p or "patch" in p or p.endswith("/kernel")]
    assert frozen and all(np.array_equal(before[p], after[p]) for p in frozen)
    path = str(tmp_path / "lora.keras")
    model.save(path)
    again = keras.saving.load_model(path)
    np.testing.assert_allclose(again.predict(x[:4], verbose=0),
                               model.predict(x[:4], verbose=0), atol=1e-5)


def test_lora_on_a_backbone_without_attention_is_refused_before_training(presets):
    model = tlk.build_model(presets["resnet"], num_classes=2)
    x, y = _data()
    before = weights_by_path(model)
    with pytest.raises(ValueError, match="no attention layers to adapt with LoRA"):
        tlk.fit_two_phase(model, (x, y), epochs=1, fine_tune_epochs=1, lora_rank=2,
                          verbose=0)
    small = tlk.build_model(keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(
        2, 3)]), num_classes=2)
    with pytest.raises(ValueError, match="not one"):
        tlk.fit_two_phase(small, (x[:, :8, :8], y), epochs=1, lora_rank=2, verbose=0)
    after = weights_by_path(model)
    assert all(np.array_equal(before[p], after[p]) for p in before)


def test_downloads_fail_at_once_saying_which_directory_to_pass():
    for handle in ("hf://google/vit-base-patch16-224", "resnet_50_imagenet",
                   "kaggle://keras/resnetv2/keras/resnet_50_imagenet"):
        start = time.monotonic()
        with pytest.raises(tlk.DownloadError, match="save_to_preset") as raised:
            tlk.load_base(handle)
        assert time.monotonic() - start < 15
        assert "pass its path as the base" in str(raised.value)


def test_a_text_preset_is_sent_to_build_text_model(tmp_path):
    backbone = keras_hub.models.BertBackbone(vocabulary_size=20, num_layers=1, num_heads=2,
                                             hidden_dim=8, intermediate_dim=16,
                                             max_sequence_length=8)
    backbone.save_to_preset(str(tmp_path / "bert"))
    with pytest.raises(ValueError, match="build_text_model"):
        tlk.load_base(str(tmp_path / "bert"))
