"""What a new user hit (quiet output, errors before the work, nothing silently
dropped), each with the behaviour a user should see."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import tl_keras as tlk
from tests.fixtures.images import random_images
from tests.fixtures.images import write_image_folders
from tl_keras.cli import main


def _run_cli(*args):
    """Runs the installed `tl-keras` command as a user's shell would."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    command = os.path.join(os.path.dirname(sys.executable), "tl-keras")
    return subprocess.run([command, *args], capture_output=True, text=True, timeout=300,
                          env=env)


@pytest.mark.slow
def test_the_cli_prints_nothing_of_tensorflow():
    done = _run_cli("--help")
    assert done.returncode == 0 and "tl-keras" in done.stdout
    assert done.stderr == ""
    done = _run_cli("bases")
    assert done.returncode == 0 and done.stderr == "", done.stderr[-2000:]
    assert "resnet50" in done.stdout


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


def test_train_checks_outputs_and_epochs_before_any_work(tmp_path, capsys):
    data = write_image_folders(tmp_path / "colours", per_class=2)
    (tmp_path / "a_file").write_text("x")
    common = ["train", "--data", str(data), "--base", "mobilenet_v3_small", "--weights",
              "none", "--image-size", "32"]
    assert main(common + ["--export", str(tmp_path / "a_file")]) == 2
    captured = capsys.readouterr()
    assert "it is a file" in captured.err and "Phase 1/2" not in captured.out
    assert main(common + ["--epochs", "0", "--fine-tune-epochs", "0",
                          "--export", str(tmp_path / "out")]) == 2
    assert "Nothing would be trained" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "out")


@pytest.mark.slow
def test_train_names_the_export_after_the_dataset_and_takes_a_validation_folder(
        tmp_path, capsys, monkeypatch):
    write_image_folders(tmp_path / "pets" / "train", per_class=4, size=32)
    write_image_folders(tmp_path / "pets" / "validation", per_class=2, size=32)
    monkeypatch.chdir(tmp_path)
    status = main(["train", "--data", "pets/train", "--validation-data", "pets/validation",
                   "--augmentation", "default", "--base", "mobilenet_v3_small",
                   "--weights", "none", "--image-size", "32", "--epochs", "1",
                   "--fine-tune-epochs", "0", "--mixed-precision", "bfloat16"])
    assert status == 0
    out = capsys.readouterr().out
    assert os.path.isdir(tmp_path / "saved_models" / "pets" / "1")  # not saved_models/train
    assert "Feature cache off (augmentation" in out  # the augmentation is in the model
    loaded = keras.saving.load_model(
        str(tmp_path / "saved_models" / "pets" / "1" / "keras" / "model.keras"))
    assert loaded.augmentation is not None and loaded.class_names == ["blue", "red"]
    # Trained in bfloat16, exported in float32: float32 probabilities served.
    assert {layer.compute_dtype for layer in tlk.get_base(loaded).layers} == {"float32"}
    serve = tf.saved_model.load("saved_models/pets/1").signatures["serving_default"]
    outputs = serve(tf.zeros((1, 32, 32, 3)))
    assert {v.dtype for v in outputs.values() if v.dtype.is_floating} == {tf.float32}


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    root = tmp_path_factory.mktemp("library")
    model = tlk.build_model("vgg16", num_classes=2, weights=None, input_shape=(32, 32, 3),
                            class_names=["blue", "red"])
    return tlk.export_saved_model(model, str(root / "colours"), warmup=False)


@pytest.mark.slow
def test_predict_names_bad_files_and_predicts_the_rest(export, tmp_path, capsys):
    folder = write_image_folders(tmp_path / "images", per_class=2, size=32) / "red"
    (folder / "notes.jpg").write_text("not pixels")
    (folder / "readme.txt").write_text("a note")
    model_dir = os.path.dirname(export)
    assert main(["predict", model_dir, str(folder)]) == 0  # a folder of images
    captured = capsys.readouterr()
    predicted = [line for line in captured.out.splitlines() if line.startswith(str(folder))]
    assert len(predicted) == 2
    assert f"{folder / 'notes.jpg'}: skipped: not an image" in captured.err
    assert f"{folder / 'readme.txt'}: skipped: unsupported format (.txt)" in captured.err
    assert main(["predict", model_dir, str(folder / "notes.jpg")]) == 1
    assert "no readable image" in capsys.readouterr().err


def test_a_broken_newest_version_is_skipped_with_a_line(export, tmp_path, capsys):
    import shutil

    model_dir = tmp_path / "colours"
    shutil.copytree(os.path.dirname(export), model_dir)
    (model_dir / "2").mkdir()  # an empty version, as an interrupted copy leaves
    image = write_image_folders(tmp_path / "images", per_class=1, size=32) / "red" / "0.jpg"
    assert main(["predict", str(model_dir), str(image)]) == 0
    out = capsys.readouterr().out
    assert "Skipped version(s) [2]" in out and f"Model: {model_dir / '1'}" in out
    base = tlk.load_base(str(model_dir))
    assert base.lineage[0]["version"] == 1
    assert "Skipped version(s) [2]" in capsys.readouterr().out


def test_models_without_a_library_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["models"]) == 0
    assert "No exported models under saved_models" in capsys.readouterr().out


def test_show_predictions_draws_across_classes_and_mistakes_first():
    from tl_keras import plots

    class ByColour(keras.Model):  # predicts the brightest channel; blue is never right
        def call(self, x):
            return tf.one_hot(tf.minimum(tf.argmax(tf.reduce_mean(x, axis=[1, 2]), -1), 1), 3)

    x = np.zeros((30, 8, 8, 3), "float32")
    y = np.repeat([0, 1, 2], 10)  # ordered by class, as a validation folder is
    for i, label in enumerate(y):
        x[i, ..., label] = 200
    figure = plots.show_predictions(ByColour(), (x, y), ["red", "green", "blue"], n=6)
    titles = [ax.get_title() for ax in figure.axes if ax.get_title()]
    assert sum("blue" in t for t in titles) == 2 and titles[0] == "red"
    figure = plots.show_predictions(ByColour(), (x, y), ["red", "green", "blue"], n=3,
                                    mistakes_first=True)
    titles = [ax.get_title() for ax in figure.axes if ax.get_title()]
    assert all("(true: blue)" in t for t in titles)


def test_a_hub_module_with_several_outputs(tmp_path):
    from tests.fixtures.hub import write_two_output_module

    path = write_two_output_module(tmp_path / "two")
    inputs = np.ones((2, 4), "float32")
    with pytest.raises(ValueError, match=r"returns 2 outputs \(0: \(2, 4\), 1: \(2, 1\)\)"
                                         r".*output_key=<index>"):
        tlk.HubLayer(path)(inputs)
    np.testing.assert_allclose(tlk.HubLayer(path, output_key=1)(inputs), [[4.0], [4.0]])
    np.testing.assert_allclose(tlk.HubLayer(path, output_key=0)(inputs), 2 * inputs)


def test_offline_weights_error_says_the_default_size_file_works(monkeypatch):
    import urllib.error

    def no_network(url, *args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr("keras.src.utils.file_utils.urlretrieve", no_network)
    with pytest.raises(tlk.DownloadError, match=r"mobilenet_2_5_224_tf_no_top\.h5 works too"):
        tlk.load_base("mobilenet", weights="imagenet", input_shape=(160, 160, 3), alpha=0.25)


def test_large_jpegs_are_downscaled_while_decoding(tmp_path):
    from tl_keras.data.image_files import decode_rgb
    from tl_keras.data.image_files import load_images
    from tl_keras.data.image_files import resize_image

    for (height, width), decoded_shape in (((1000, 1500), (500, 750, 3)),  # at 1/2
                                           ((300, 300), (300, 300, 3))):  # in full
        plain = tf.io.encode_jpeg(np.zeros((height, width, 3), "uint8"))
        assert tuple(decode_rgb(plain, (224, 224)).shape) == decoded_shape
    y, x = np.mgrid[0:1024, 0:1024]
    pixels = np.stack([x % 256, y % 256, (x // 4) % 256], -1).astype("uint8")
    data = tf.io.encode_jpeg(pixels, quality=95)
    decoded = decode_rgb(data, (32, 32))
    assert tuple(decoded.shape) == (128, 128, 3)  # 1/8 scale: 64x fewer pixels
    full = resize_image(decode_rgb(data), (32, 32))
    fast = resize_image(decoded, (32, 32))
    assert float(tf.reduce_mean(tf.abs(full - fast))) < 8.0  # the same picture
    path = tmp_path / "big.jpg"
    path.write_bytes(data.numpy())
    np.testing.assert_allclose(load_images([str(path)], (32, 32)), fast[None], atol=1e-4)


def test_files_lost_after_the_scan_are_counted_and_named_at_the_end_of_each_pass(
        tmp_path, capsys):
    data = write_image_folders(tmp_path / "colours", per_class=3, size=16)
    train, _, _ = tlk.image_dataset(data, image_size=16, batch_size=4, validation_split=0)
    assert sum(int(x.shape[0]) for x, _ in train) == 6
    assert "could not be read" not in capsys.readouterr().out
    first, second = sorted(p for p in data.rglob("*.png"))[:2]
    first.unlink()
    second.write_bytes(b"overwritten: no longer an image")
    for _ in range(2):  # every pass says it, after its last batch
        assert sum(int(x.shape[0]) for x, _ in train) == 4
        out = capsys.readouterr().out
        assert "2 of 6 train images" in out and "left out of it" in out
        assert f"{first.relative_to(data)}: deleted since the scan" in out
        assert f"{second.relative_to(data)}: changed since the scan" in out


@pytest.mark.slow
def test_train_text_reads_utf8_text_with_a_byte_order_mark(tmp_path, capsys):
    """Non-ASCII reviews in a UTF-8 file that starts with Excel's byte order mark:
    the header is `text`, not `\\ufefftext`, and the CLI trains on the text."""
    from tests.fixtures.text import sentiment_texts
    from tests.fixtures.text import word_vectors
    from tests.fixtures.text import write_glove

    texts, labels = sentiment_texts(40)
    rows = [f"{text} café naïve,{'pos' if label else 'neg'}" for text, label in
            zip(texts, labels)]
    (tmp_path / "reviews.csv").write_bytes(
        "\ufeff".encode() + "\n".join(["text,label"] + rows).encode("utf-8") + b"\n")
    train, _, names = tlk.text_dataset(str(tmp_path / "reviews.csv"), validation_split=0.25)
    first = next(iter(train))[0].numpy()[0].decode("utf-8")
    assert names == ["neg", "pos"] and first.endswith("café naïve")
    vectors = write_glove(tmp_path / "glove.txt", word_vectors())
    status = main(["train-text", "--data", str(tmp_path / "reviews.csv"), "--vectors",
                   vectors, "--epochs", "1", "--fine-tune-epochs", "1",
                   "--sequence-length", "6", "--export", str(tmp_path / "out")])
    assert status == 0, capsys.readouterr().err
    assert (tmp_path / "out" / "1" / "saved_model.pb").exists()


@pytest.mark.parametrize("top", ["0", "-2", "two"])
def test_predict_top_below_one_is_an_argument_error(tmp_path, capsys, top):
    with pytest.raises(SystemExit) as done:
        main(["predict", str(tmp_path), str(tmp_path / "a.jpg"), "--top", top])
    assert done.value.code == 2
    assert f"expected an integer of at least 1. Received: '{top}'" in capsys.readouterr().err


def test_a_text_model_predicts_lists_and_numpy_strings():
    """Row 3: Keras's predict refuses a list of str ("Unrecognized data type") and a
    NumPy array of str ("Invalid dtype: str96"); a text model takes both."""
    words = ["great", "food", "awful", "service"]
    vectors = np.random.default_rng(0).normal(size=(4, 8)).astype("float32")
    model = tlk.build_text_model((words, vectors), 2, texts=["great food", "awful service"],
                                 encoder="average", verbose=0)
    texts = ["great food", "awful service", "food"]
    expected = model.predict(tf.constant(texts), verbose=0)
    for given in (texts, tuple(texts), np.array(texts), np.array(texts, dtype=object)):
        np.testing.assert_allclose(model.predict(given, verbose=0), expected, rtol=1e-6)
    np.testing.assert_allclose(model.predict_on_batch(np.array(texts)), expected, rtol=1e-6)
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    loss, accuracy = model.evaluate(texts, np.array([0, 1, 0]), verbose=0)
    assert np.isfinite(loss) and 0 <= accuracy <= 1


def test_ranking_two_bases_of_one_name_gives_distinct_rows_and_bars():
    """Row 4: two loaded bases named alike were two rows "mobilenet" and two bars on
    top of each other; with negative LogME the best had the shortest bar."""
    from tests.fixtures.images import colour_base
    from tests.fixtures.images import colour_task

    images, labels = colour_task()
    with tlk.FeatureCache() as cache:
        ranking = tlk.rank_bases((images, labels), [colour_base("mobilenet", sees_colour=False),
                                                    colour_base("mobilenet", sees_colour=True)],
                                 feature_cache=cache, verbose=0)
    names = [record["name"] for record in ranking]
    assert sorted(names) == ["mobilenet", "mobilenet (2)"]
    assert names[0] == "mobilenet (2)"  # the one that sees colour
    negative = [dict(r, score=s) for r, s in zip(ranking, (-0.5, -2.0))]
    for records in (ranking, negative):
        figure = tlk.plots.plot_ranking(records)
        bars = figure.axes[0].patches
        assert len(bars) == 2 and bars[0].get_y() != bars[1].get_y()  # a row each
        widths = {label.get_text(): bar.get_width() for bar, label
                  in zip(bars, figure.axes[0].get_yticklabels())}
        assert widths[records[0]["name"]] > widths[records[1]["name"]]  # best longest


@pytest.mark.slow
def test_rank_takes_alpha_for_the_mobilenet_just_trained(tmp_path, capsys):
    """Row 5: without --alpha, ranking a MobileNet trained at alpha 0.25 (its weights
    file) failed with "Shape mismatch"."""
    data = write_image_folders(tmp_path / "colours", size=32)
    weights = str(tmp_path / "mobilenet_025.weights.h5")
    keras.applications.MobileNet(include_top=False, weights=None, alpha=0.25,
                                 input_shape=(32, 32, 3)).save_weights(weights)
    assert main(["rank", "--data", str(data), "--bases", "mobilenet", "--weights", weights,
                 "--alpha", "0.25", "--image-size", "32"]) == 0
    out = capsys.readouterr().out.splitlines()
    first = out[[line.split()[:1] for line in out].index(["rank"]) + 1].split()
    assert first[:2] == ["1", "mobilenet"] and first[3] == "256"  # alpha 0.25's features


def test_alpha_for_a_base_without_one_is_an_error_before_any_work(tmp_path, capsys):
    """Row 13: `train --base resnet50 --alpha 0.25` was reported as a weights error."""
    data = write_image_folders(tmp_path / "colours", size=32)
    for command in (["train", "--data", str(data), "--base", "resnet50"],
                    ["rank", "--data", str(data), "--bases", "resnet50,vgg16"]):
        assert main([*command, "--alpha", "0.25", "--weights", "none"]) != 0
        error = capsys.readouterr().err
        assert "--alpha applies to the MobileNet bases only (mobilenet, mobilenet_v2" in error
        assert "Received: --base" in error and "--alpha 0.25" in error
    assert not (tmp_path / "saved_models").exists()


@pytest.mark.slow
def test_rank_scores_each_candidate_at_its_own_size(tmp_path, capsys):
    """Row 6: an export with a fixed input size next to a named base aborted the
    ranking ("pass input_shape=None", an API argument the CLI lacks)."""
    from tests.fixtures.images import small_image_classifier

    data = write_image_folders(tmp_path / "colours", size=40)
    export = tlk.export_saved_model(small_image_classifier(size=32, class_names=["b", "r"]),
                                    str(tmp_path / "saved_models" / "small"), verbose=0,
                                    warmup=False)
    assert main(["rank", "--data", str(data), "--bases", f"{export},mobilenet_v3_small",
                 "--weights", "none", "--image-size", "40"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert sorted(row.split()[1] for row in rows[1:] if row.split()[0].isdigit()) == sorted(
        [export, "mobilenet_v3_small"])


def test_a_csv_field_over_the_csv_limit_skips_that_row_and_says_so(tmp_path, capsys):
    """Row 8: a 200,000-character field raised `_csv.Error: field larger than field
    limit` (a traceback in the CLI)."""
    path = tmp_path / "reviews.csv"
    path.write_text("review,sentiment\ngreat food,pos\n\"" + "x" * 200_000 + "\",neg\n"
                    "cold soup,neg\nlovely staff,pos\nrude waiter,neg\n", encoding="utf-8")
    train, _, names = tlk.text_dataset(str(path), text_column="review",
                                       label_column="sentiment", validation_split=0)
    texts = [t.decode() for batch, _ in train for t in batch.numpy()]
    assert sorted(texts) == ["cold soup", "great food", "lovely staff", "rude waiter"]
    report = capsys.readouterr().out
    assert "Skipped 1 of 5 rows" in report and "line 3 (field larger than field limit" in report


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


def test_the_validation_split_of_a_folder_is_said_and_zero_reads_it_whole(tmp_path, capsys):
    """Row 14: `image_dataset(test_dir, ...)` held 20% out without a word."""
    data = write_image_folders(tmp_path / "test", per_class=10, size=32)
    train, val, _ = tlk.image_dataset(str(data), image_size=32)
    held_out = sum(len(y) for _, y in val)
    line = capsys.readouterr().out
    assert f"Found 20 images in 2 classes in {data}: {20 - held_out} for training, " \
           f"{held_out} held out for validation (validation_split=0.2; 0 reads the " \
           "folder whole)." in line
    whole, none, _ = tlk.image_dataset(str(data), image_size=32, validation_split=0)
    assert none is None and sum(len(y) for _, y in whole) == 20
    assert f"Found 20 images in 2 classes in {data}, all read." in capsys.readouterr().out


def test_an_export_directory_that_cannot_be_written_fails_before_training(tmp_path, capsys):
    """Row 9: `--export /proc/foo` trained 49 epochs, then failed to write."""
    data = write_image_folders(tmp_path / "colours", size=32)
    (tmp_path / "a_file").write_text("not a directory")
    # /proc refuses a new directory even to root, whom os.access lets through.
    for export in (tmp_path / "a_file" / "out", "/proc/tl_keras_test/out"):
        status = main(["train", "--data", str(data), "--base", "mobilenet_v3_small",
                       "--weights", "none", "--image-size", "32", "--epochs", "1",
                       "--fine-tune-epochs", "0", "--export", str(export)])
        captured = capsys.readouterr()
        assert status == 2 and "error: Cannot write" in captured.err, captured.err
        assert "Phase 1/2" not in captured.out  # refused before any training


@pytest.mark.parametrize("extra,message", [
    (["--validation-split", "1.5"], "Expected --validation-split in [0, 1). Received: "
                                    "--validation-split 1.5"),
    (["--validation-split", "0.3", "--validation-data", "VAL"],
     "--validation-split and --validation-data both choose the validation data"),
])
def test_validation_arguments_that_conflict_or_are_out_of_range(tmp_path, capsys, extra,
                                                                 message):
    """Row 12: `--validation-data DIR --validation-split 1.5` was ignored, exit 0."""
    data = write_image_folders(tmp_path / "colours", size=32)
    extra = [str(data) if value == "VAL" else value for value in extra]
    assert main(["train", "--data", str(data), "--base", "mobilenet_v3_small",
                 "--weights", "none", *extra]) == 2
    assert message in capsys.readouterr().err


def test_models_takes_the_root_as_an_argument(tmp_path, capsys):
    """Row 17: notebook 05's `tl-keras models saved_models` was `unrecognized arguments`."""
    root = tmp_path / "library"
    assert main(["models", str(root)]) == 0
    assert f"No exported models under {root}" in capsys.readouterr().out
    root.mkdir()
    assert main(["models", "--root", str(root)]) == 0
    assert f"No exported models under {root}." in capsys.readouterr().out


def test_version_and_help_answer_without_importing_tensorflow():
    """Row 19: no `--version`; `--help` took 5 s (it imported TensorFlow)."""
    from tl_keras.version import __version__

    done = _run_cli("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"tl-keras {__version__}"
    probe = ("import sys, tl_keras.cli\n"
             "for argv in (['--help'], ['train', '--help'], ['--version']):\n"
             "    try:\n"
             "        tl_keras.cli.main(argv)\n"
             "    except SystemExit as exit:\n"
             "        assert exit.code == 0, exit.code\n"
             "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "False False"
    help_text = subprocess.run([sys.executable, "-m", "tl_keras", "train", "--help"],
                               capture_output=True, text=True, timeout=120).stdout
    for flag in ("--learning-rate", "--batch-size", "--validation-split"):
        line = help_text.split("\n  " + flag, 1)[1].split("\n  --", 1)[0]
        assert "default" in line, (flag, line)  # each has its help


@pytest.mark.slow
def test_a_hub_module_image_size_is_said_or_refused_in_one_line(tmp_path, capsys):
    """Rows 21 and 22: a free-size module trained at 224 without a word; a wrong size
    for a fixed-size module was Keras's "Could not automatically infer the output
    shape" with ANSI codes."""
    from tests.fixtures.hub import write_image_feature_vector

    free = write_image_feature_vector(tmp_path / "free")
    fixed = write_image_feature_vector(tmp_path / "fixed", size=32)
    data = write_image_folders(tmp_path / "colours", size=32)
    with pytest.raises(ValueError, match=r"This TF Hub module takes 32x32 images .*Received: "
                                         r"input_shape=\(48, 48, 3\)"):
        tlk.load_base(fixed, input_shape=(48, 48, 3))
    status = main(["train", "--data", str(data), "--base", fixed, "--image-size", "48",
                   "--epochs", "1", "--fine-tune-epochs", "0",
                   "--export", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2 and len(err.strip().splitlines()) == 1 and "\x1b[" not in err
    assert "takes 32x32 images" in err
    assert main(["train", "--data", str(data), "--base", free, "--epochs", "1",
                 "--fine-tune-epochs", "0", "--export", str(tmp_path / "out")]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("Image size: 224x224, the base's own, or 224 for a base that")


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
