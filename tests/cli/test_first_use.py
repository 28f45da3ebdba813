"""What a new user hit on the command line (quiet output, errors before the work, nothing
dropped), each with the behaviour a user should see."""

import os
import subprocess
import sys

import keras
import pytest
import tensorflow as tf

import tl_keras as tlk
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
def test_a_tflite_output_prints_nothing_of_the_converter(tmp_path):
    """Issue 34 row 19: the TFLite converter's absl lines (`Ignored output_format`,
    `MLIR V1 optimization pass is not enabled`) reached standard error, past
    TF_CPP_MIN_LOG_LEVEL."""
    data = write_image_folders(tmp_path / "colours", per_class=3)
    done = _run_cli("train", "--data", str(data), "--base", "mobilenet_v3_small",
                    "--weights", "none", "--image-size", "32", "--epochs", "1",
                    "--fine-tune-epochs", "0", "--export", str(tmp_path / "out"),
                    "--tflite-output", str(tmp_path / "colours.tflite"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr == ""
    assert "TFLite: " in done.stdout and (tmp_path / "colours.tflite").stat().st_size > 0


def test_native_lines_are_held_unless_the_block_fails(capfd, monkeypatch):
    from tl_keras.log import native_lines_held

    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    with native_lines_held():
        os.write(2, b"a native line\n")
    assert "a native line" not in capfd.readouterr().err
    with pytest.raises(RuntimeError), native_lines_held():
        os.write(2, b"why it failed\n")
        raise RuntimeError("conversion failed")
    assert "why it failed" in capfd.readouterr().err  # kept: it explains the error
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    with native_lines_held():
        os.write(2, b"asked for\n")
    assert "asked for" in capfd.readouterr().err


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
    # Issue 34, row 10: "accuracy 1.0000" on a handful of images, no word of it.
    last = out.strip().splitlines()[-1]
    assert last.startswith("Result on the validation data, with the final weights: ")
    assert "(on 4 examples: too few to tell; hold out more" in last
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
