"""KerasHub presets as bases: tiny presets written with `save_to_preset`, offline."""

import json
import os
import time

import keras
import numpy as np
import pytest

import tl_keras as tlk
from tests.fixtures.images import random_images
from tests.fixtures.images import weights_by_path
from tests.fixtures.kerashub import reviews
from tests.fixtures.kerashub import write_bert_preset
from tests.fixtures.kerashub import write_resnet_preset
from tests.fixtures.kerashub import write_vit_preset
from tl_keras.training.freezing import fine_tuning_units

# End to end (training, exporting, subprocesses): the full tier, `make test`.
pytestmark = pytest.mark.slow

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
    assert base.identity["source"] == "keras_hub"
    assert base.identity["handle"] == presets["resnet"]
    assert base.identity["version"] == f"keras_hub {keras_hub.__version__}"  # who saved it
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
    # Served where keras and keras_hub cannot be imported: pixels, JPEG bytes and
    # tf.Examples in, the Keras model's predictions out.
    with open(os.path.join(version, "model_card.json")) as f:
        card = json.load(f)["base"]
    assert card["handle"] == presets["resnet"] and card["version"] == base.identity["version"]
    listed = tlk.format_models(tlk.list_models(str(tmp_path)))  # the library says so
    assert f"base {presets['resnet']} (keras_hub " in listed
    report = tlk.check_export(version, verbose=False)
    assert report.ok, str(report)
    assert "Keras model on the same JPEG (largest difference" in str(report)


def test_a_vit_preset_pools_its_class_token_and_fine_tunes_with_lora(presets, tmp_path):
    model = tlk.build_model(presets["vit"], num_classes=2)
    base = tlk.get_base(model)
    assert base.output_shape == (None, 16)  # the class token of 16 features
    x, y = _data()
    before = weights_by_path(base)
    tlk.fit_two_phase(model, (x, y), (x, y), epochs=1, fine_tune_epochs=2, batch_size=8,
                      verbose=0,
                      fine_tuning=tlk.FineTuning(lora_rank=2, learning_rate=1e-2))
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


def test_a_vit_phase_2_without_lora_fine_tunes_its_top_blocks_or_is_refused(presets, capsys):
    """Issue 26 row 24: the encoder is one layer holding every block, so the top
    third of the base's layers was its pooling and phase 2 changed no base weight
    while its line said it fine-tuned. Positions now count the encoder's blocks."""
    model = tlk.build_model(presets["vit"], num_classes=2)
    x, y = _data()
    before = weights_by_path(tlk.get_base(model))
    with pytest.raises(ValueError, match=r"would unfreeze no layer with weights.*the last "
                                         r"one is 'ln'.*lora_rank"):
        tlk.fit_two_phase(model, (x, y), epochs=1, fine_tune_epochs=1, fine_tune_at=-1,
                          verbose=0)
    assert all(np.array_equal(v, weights_by_path(tlk.get_base(model))[p])
               for p, v in before.items())  # refused before any work
    units = [layer.name for layer in fine_tuning_units(tlk.get_base(model))]
    assert units[2:6] == ["transformer_block_1", "transformer_block_2", "dropout", "ln"]
    tlk.fit_two_phase(model, (x, y), epochs=1, fine_tune_epochs=1, batch_size=8,
                      fine_tune_at="transformer_block_2",
                      fine_tuning=tlk.FineTuning(learning_rate=1e-2, schedule="constant"))
    out = capsys.readouterr().out
    assert "0 layers with weights" not in out
    after = weights_by_path(tlk.get_base(model))
    block_2 = [p for p in before if "transformer_block_2" in p]
    block_1 = [p for p in before if "transformer_block_1" in p]
    assert block_2 and block_1
    assert any(not np.array_equal(before[p], after[p]) for p in block_2)  # the top trained
    assert all(np.array_equal(before[p], after[p]) for p in block_1)  # the one below did not


def test_lora_on_a_backbone_without_attention_is_refused_before_training(presets):
    model = tlk.build_model(presets["resnet"], num_classes=2)
    x, y = _data()
    before = weights_by_path(model)
    with pytest.raises(ValueError, match="no attention layers to adapt with LoRA"):
        tlk.fit_two_phase(model, (x, y), epochs=1, fine_tune_epochs=1,
                          verbose=0, fine_tuning=tlk.FineTuning(lora_rank=2))
    small = tlk.build_model(keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(
        2, 3)]), num_classes=2)
    with pytest.raises(ValueError, match="not one"):
        tlk.fit_two_phase(small, (x[:, :8, :8], y), epochs=1, verbose=0,
                          fine_tuning=tlk.FineTuning(lora_rank=2))
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


def test_a_bert_preset_takes_strings_trains_and_serves_with_tensorflow_text_ops(tmp_path):
    model = tlk.build_text_model(write_bert_preset(tmp_path / "bert"), num_classes=2,
                                 class_names=["neg", "pos"])
    texts, labels = reviews()
    base = tlk.get_base(model)
    before = weights_by_path(base)
    history = tlk.fit_two_phase(model, (texts, labels), (texts, labels), epochs=4,
                                fine_tune_epochs=2, batch_size=8, learning_rate=3e-2,
                                verbose=0, fine_tuning=tlk.FineTuning(learning_rate=1e-3))
    assert history.history["loss"][-1] < history.history["loss"][0]
    after = weights_by_path(base)
    assert any(not np.allclose(before[p], after[p]) for p in before)  # unfrozen in phase 2
    sample = tf_strings(texts[:4])
    path = str(tmp_path / "bert.keras")
    model.save(path)
    again = keras.saving.load_model(path)  # the vocabulary travels in the config
    np.testing.assert_allclose(again.predict(sample, verbose=0),
                               model.predict(sample, verbose=0), atol=1e-5)
    version = tlk.export_saved_model(model, str(tmp_path / "served"), warmup=False)
    with open(os.path.join(version, "model_card.json")) as f:
        assert json.load(f)["serving_op_packages"] == ["tensorflow-text"]
    report = tlk.check_export(version, verbose=False)
    assert report.ok, str(report)
    assert "needs the ops of tensorflow-text (" in str(report)


def test_lora_on_bert_adapts_query_and_value_only(tmp_path):
    model = tlk.build_text_model(write_bert_preset(tmp_path / "bert"), num_classes=2)
    texts, labels = reviews()
    base = tlk.get_base(model)
    before = weights_by_path(base)
    tlk.fit_two_phase(model, (texts, labels), epochs=1, fine_tune_epochs=1, batch_size=8,
                      verbose=0,
                      fine_tuning=tlk.FineTuning(lora_rank=2, learning_rate=1e-2))
    after = weights_by_path(base)
    lora_b = [p for p in after if p.endswith("lora_kernel_b")]
    assert len(lora_b) == 4 and all(np.abs(after[p]).max() > 0 for p in lora_b)
    embeddings = [p for p in before if "embedding" in p]
    assert embeddings and all(np.array_equal(before[p], after[p]) for p in embeddings)


def tf_strings(texts):
    import tensorflow as tf

    return tf.constant([str(t) for t in texts])


def test_a_text_preset_is_sent_to_build_text_model(tmp_path):
    backbone = keras_hub.models.BertBackbone(vocabulary_size=20, num_layers=1, num_heads=2,
                                             hidden_dim=8, intermediate_dim=16,
                                             max_sequence_length=8)
    backbone.save_to_preset(str(tmp_path / "bert"))
    with pytest.raises(ValueError, match="build_text_model"):
        tlk.load_base(str(tmp_path / "bert"))


def test_a_checkpoint_in_hugging_faces_cache_is_not_refused_offline(tmp_path, monkeypatch):
    from huggingface_hub import constants

    from tl_keras.bases import kerashub

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(tlk.DownloadError):
        kerashub._check_reachable("hf://org/model")  # not cached, no network: at once
    # Hugging Face's cache layout: a snapshot per revision, `refs/main` naming it.
    repository = tmp_path / "models--org--model"
    (repository / "snapshots" / "abc123").mkdir(parents=True)
    (repository / "snapshots" / "abc123" / "config.json").write_text("{}")
    (repository / "refs").mkdir()
    (repository / "refs" / "main").write_text("abc123")
    kerashub._check_reachable("hf://org/model")  # cached: Hugging Face reads it offline


def test_the_cli_trains_a_preset_with_lora_at_its_own_size(presets, tmp_path, capsys):
    from tests.fixtures.images import write_image_folders
    from tl_keras.cli import main

    data = write_image_folders(tmp_path / "colours")
    export = tmp_path / "saved_models" / "colours"
    status = main(["train", "--data", str(data), "--base", presets["vit"], "--epochs", "1",
                   "--fine-tune-epochs", "1", "--batch-size", "4", "--lora-rank", "2",
                   "--export", str(export)])
    assert status == 0
    out = capsys.readouterr().out
    assert "LoRA adapters of rank 2 on 4 attention projections" in out
    with open(export / "1" / "model_card.json") as f:
        assert json.load(f)["input"]["shape"][:2] == [32, 32]  # the preset's own size


def test_a_vectors_file_is_never_taken_for_a_preset_name(tmp_path):
    from tl_keras.bases import kerashub

    vectors = tmp_path / "bert_tiny_en_uncased"  # a file named like a preset
    vectors.write_text("good 0.1 0.2\nbad -0.1 -0.2\n")
    assert not kerashub.claims_text(str(vectors)) and not kerashub.claims(str(vectors))
    assert kerashub.claims_text("bert_tiny_en_uncased")


def test_token_pooling_is_named_apart_from_the_heads_pooling(presets):
    """`build_model(preset, token_pooling="mean")` pools a transformer's tokens in
    the base; `pooling` stays the head's (it raised before: one name, two jobs)."""
    model = tlk.build_model(presets["vit"], num_classes=2, token_pooling="mean",
                            pooling="avg")
    names = [layer.name for layer in tlk.get_base(model).layers]
    assert "mean_token_pooling" in names and "class_token_pooling" not in names
    with pytest.raises(ValueError, match="`token_pooling` is for transformer backbones.*"
                                         "Received: token_pooling='mean'"):
        tlk.build_model(presets["resnet"], num_classes=2, token_pooling="mean")
