"""Issue 23: a test split nothing reads, calibrated probabilities, and the figures
of the weights that ship (card, CLI line, gate)."""

import csv
import json
import os
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

import tl_keras as tlk
from tests.fixtures.images import random_images
from tl_keras.cli import main
from tl_keras.data.splits import side_of
from tl_keras.evaluation import calibration
from tl_keras.evaluation.scores import expected_calibration_error


def _write_numbered_images(root, ids, classes=("a", "b")):
    """PNG files whose every pixel is the file's id: a pipeline's images name them."""
    for image_id in ids:
        folder = root / classes[image_id % 2]
        folder.mkdir(parents=True, exist_ok=True)
        image = np.full((4, 4, 3), image_id, dtype="uint8")
        tf.io.write_file(str(folder / f"{image_id}.png"), tf.io.encode_png(image))
    return root


def _ids(dataset):
    return sorted(int(x[0, 0, 0]) for batch, _ in dataset for x in batch.numpy())


def test_the_test_split_is_stable_and_unseen_by_training(tmp_path):
    root = _write_numbered_images(tmp_path / "images", range(200))
    train0, val0, _ = tlk.image_dataset(root, image_size=4, verbose=0)
    train, val, test, names = tlk.image_dataset(root, image_size=4, test_split=0.2, verbose=0)
    assert names == ["a", "b"]
    assert _ids(val) == _ids(val0)  # asking for a test split leaves validation as it was
    assert set(_ids(test)).isdisjoint(_ids(train)) and set(_ids(test)).isdisjoint(_ids(val))
    assert sorted(_ids(train) + _ids(val) + _ids(test)) == list(range(200))
    assert 20 <= len(_ids(test)) <= 60
    _write_numbered_images(root, range(200, 250))  # more files: no old one moves
    _, val2, test2, _ = tlk.image_dataset(root, image_size=4, test_split=0.2, verbose=0)
    assert [i for i in _ids(test2) if i < 200] == _ids(test)
    assert [i for i in _ids(val2) if i < 200] == _ids(val)
    # The same rule for texts: a text's side is its hash, with or without others.
    texts = [f"review number {i}" for i in range(300)]
    parts = tlk.text_dataset((texts, [i % 2 for i in range(300)]), test_split=0.1, verbose=0)
    test_texts = {t.decode() for batch, _ in parts[2] for t in batch.numpy()}
    assert test_texts == {t for t in texts if side_of(t, 0.2, 0.1) == "test"}
    assert len(parts) == 4 and parts[3] == ["0", "1"]


@pytest.mark.parametrize("kwargs,message", [
    (dict(test_split=1.5), "Expected `test_split` in [0, 1)"),
    (dict(validation_split=0.5, test_split=0.5), "validation_split + test_split` < 1"),
    (dict(test_split=0.001), "test_split=0.001 of 6 images leaves no test image"),
])
def test_bad_test_splits_are_refused_before_reading(tmp_path, kwargs, message):
    root = _write_numbered_images(tmp_path / "images", range(6))
    with pytest.raises(ValueError, match=re.escape(message)):
        tlk.image_dataset(root, image_size=4, verbose=0, **kwargs)


def _overconfident_model():
    """A trained tiny classifier whose logits were then multiplied by 20."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 600)
    x = rng.normal(128, 40, (600, 8, 8, 3)).astype("float32")
    x[np.arange(600), :, :, y] += 6  # a weak signal: accuracy well under 1
    base = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Rescaling(1 / 255.0),
                             keras.layers.Conv2D(4, 3)], name="tiny")
    model = tlk.build_model(base, num_classes=3, dropout=0.0, class_names=["r", "g", "b"])
    tlk.fit_two_phase(model, (x[:300], y[:300]), epochs=30, fine_tune_epochs=0,
                      learning_rate=0.02, verbose=0)
    last = model.head.layers[-1]
    last.kernel.assign(last.kernel * 20.0)
    last.bias.assign(last.bias * 20.0)
    return model, (x[300:450], y[300:450]), (x[450:], y[450:])


@pytest.mark.slow
def test_calibration_lowers_the_error_keeps_accuracy_and_survives_saving(tmp_path, capsys):
    model, val, test = _overconfident_model()
    before = tlk.evaluate_classifier(model, test)
    probabilities_before = model.predict(test[0], verbose=0)
    record = tlk.calibrate(model, val)
    assert "Calibration: temperature" in capsys.readouterr().out
    after = tlk.evaluate_classifier(model, test)
    calibrated = model.predict(test[0], verbose=0)
    assert record["temperature"] > 3  # it undid much of the factor 20
    assert after["accuracy"] == before["accuracy"]
    np.testing.assert_array_equal(calibrated.argmax(1), probabilities_before.argmax(1))
    assert after["expected_calibration_error"] < before["expected_calibration_error"] / 2
    assert after["loss"] < before["loss"]
    assert after["expected_calibration_error_uncalibrated"] == pytest.approx(
        before["expected_calibration_error"], abs=1e-4)
    assert model.adaptations[-1]["kind"] == "temperature_scaling"
    # The .keras file, the SavedModel and TFLite serve the calibrated probabilities.
    path = str(tmp_path / "model.keras")
    model.save(path)
    again = keras.saving.load_model(path)
    np.testing.assert_allclose(again.predict(test[0], verbose=0), calibrated, atol=1e-5)
    assert again.adaptations[-1]["temperature"] == record["temperature"]
    version = tlk.export_saved_model(model, str(tmp_path / "export"), test_report=after,
                                     warmup=False)
    serving = tf.saved_model.load(version).signatures["serving_default"]
    served = serving(images=tf.constant(test[0][:16]))["probabilities"].numpy()
    np.testing.assert_allclose(served, calibrated[:16], atol=1e-5)
    with open(os.path.join(version, "model_card.json")) as f:  # local: a tmp_path file
        card = json.load(f)
    assert card["test"] == json.loads(json.dumps(after))
    assert card["adaptations"][-1]["temperature"] == pytest.approx(record["temperature"])
    tflite = str(tmp_path / "model.tflite")
    tlk.export_tflite(model, tflite)
    interpreter = tf.lite.Interpreter(model_path=tflite)
    interpreter.allocate_tensors()
    feed, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    interpreter.set_tensor(feed["index"], test[0][:1])
    interpreter.invoke()
    np.testing.assert_allclose(interpreter.get_tensor(out["index"]), calibrated[:1],
                               atol=1e-4)


def test_evaluate_classifier_counts_what_a_hand_count_does():
    model, _, test = _overconfident_model()
    report = tlk.evaluate_classifier(model, test)
    predicted = model.predict(test[0], verbose=0).argmax(1)
    truth = test[1]
    assert report["examples"] == len(truth)
    assert report["accuracy"] == pytest.approx(np.mean(predicted == truth))
    for index, name in enumerate(["r", "g", "b"]):
        said = predicted == index
        assert report["per_class"][name]["precision"] == (  # None: never predicted
            pytest.approx(np.mean(truth[said] == index)) if said.any() else None)
        assert report["per_class"][name]["recall"] == pytest.approx(
            np.mean(predicted[truth == index] == index))
        assert report["confusion_matrix"][index][index] == int(np.sum(said & (truth == index)))
    assert report["fingerprint"] is not None
    with pytest.raises(ValueError, match="Expected labels in \\[0, 3\\)"):
        tlk.evaluate_classifier(model, (test[0][:4], np.array([0, 1, 2, 5])))


def test_expected_calibration_error_of_known_cases():
    labels = np.array([0, 0, 1, 1])
    assert expected_calibration_error(labels, np.eye(2)[labels]) == 0.0
    # Confidence 0.9 everywhere, right half the time: off by 0.4.
    halves = np.array([[0.9, 0.1], [0.1, 0.9], [0.9, 0.1], [0.1, 0.9]])
    assert expected_calibration_error(labels, halves) == pytest.approx(0.4)
    assert expected_calibration_error(labels, np.array([0.1, 0.9, 0.1, 0.9])) == \
        pytest.approx(0.4)  # one sigmoid unit


@pytest.mark.slow
def test_cli_reports_and_gates_on_the_test_split(tmp_path, capsys):
    data = tmp_path / "colours"
    for index, name in enumerate(("red", "blue")):
        (data / name).mkdir(parents=True)
        for i, image in enumerate(random_images(16, 32, seed=index)):
            image[..., 0 if index == 0 else 2] = 250
            tf.io.write_file(str(data / name / f"{i}.png"),
                             tf.io.encode_png(tf.constant(image.astype("uint8"))))
    args = ["train", "--data", str(data), "--base", "mobilenet_v3_small", "--weights",
            "none", "--image-size", "32", "--epochs", "2", "--fine-tune-epochs", "0",
            "--test-split", "0.25", "--intended-use", "sorting red from blue"]
    assert main(args + ["--export", str(tmp_path / "gated"),
                        "--assert-accuracy-at-least", "1.0"]) == 1
    captured = capsys.readouterr()
    assert "the test accuracy" in captured.err and "nothing was exported" in captured.err
    assert [e for e in os.listdir(tmp_path / "gated") if not e.startswith("gate-failed-")] \
        == []  # no version
    assert main(args + ["--export", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "held out for the test (test_split=0.25" in out
    test_line = [line for line in out.splitlines() if line.startswith("Test (")]
    assert len(test_line) == 1 and "nothing in training or selection read" in test_line[0]
    # Issue 34 row 25: the test split's figures beside the export, one line each.
    for name, what in (("confusion_matrix_test.png", "Confusion matrix (test)"),
                       ("reliability_test.png", "Reliability diagram (test)"),
                       ("predictions_test.png", "Test images, mistakes first")):
        assert (tmp_path / "out" / "1" / name).stat().st_size > 1000
        assert f"{what}: {tmp_path / 'out' / '1' / name}" in out
    with open(tmp_path / "out" / "1" / "model_card.json") as f:  # local: a tmp_path file
        card = json.load(f)
    expected = sum(side_of(f"{c}/{i}.png", 0.2, 0.25) == "test"
                   for c in ("red", "blue") for i in range(16))
    assert card["test"]["examples"] == expected
    assert f"Test ({expected} examples): accuracy {card['test']['accuracy']:.3f}" in \
        test_line[0]
    # On by default, and not applied on 3 validation images (issue 34, row 1).
    assert "Calibration: not applied (3 validation examples, fewer than the 20" in out
    assert not [a for a in card["adaptations"] if a["kind"] == "temperature_scaling"]
    assert card["intended_use"] == "sorting red from blue"
    training = card["training_data"]  # what a reviewer asks: which data, how many each
    train_count = sum(side_of(f"{c}/{i}.png", 0.2, 0.25) == "train"
                      for c in ("red", "blue") for i in range(16))
    assert training["examples"] == train_count and len(training["fingerprint"]) == 40
    assert set(training["per_class"]) == {"blue", "red"}
    license = card["base"]["license"]  # Keras documents no license for MobileNetV3's
    assert license["license"] == "unknown: check before use"
    assert "MobileNetV3Small" in license["source"] and "ImageNet" in license["note"]


@pytest.mark.slow
def test_calibration_is_not_applied_where_it_cannot_help(capsys):
    """Issue 34, row 1: on 11 validation images the default calibration fitted a
    temperature of 100 and every prediction became ~0.50."""
    model, val, test = _overconfident_model()
    weights = [w.copy() for w in model.get_weights()]
    record = tlk.calibrate(model, (val[0][:11], val[1][:11]))
    assert record["applied"] is False and record["temperature"] == 1.0
    assert "Calibration: not applied (11 validation examples, fewer than the 20" in \
        capsys.readouterr().out
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))
    assert not model.adaptations
    # An already calibrated model (labels drawn from its own probabilities): the fit
    # would only add noise, so it is not applied either.
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 2, (200, 3))
    probabilities = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    labels = np.array([rng.choice(3, p=row) for row in probabilities])
    figures = {"validation_ece": [0.04, 0.04]}
    assert "does not lower the loss on the other fifth" in calibration._why_not_apply(
        logits, labels, False, figures)
    record = tlk.calibrate(model, val)  # 150 examples of an overconfident model: applied
    assert record["applied"] and record["temperature"] > 5


def test_the_reliability_diagram_draws_both_curves_of_a_calibrated_model(tmp_path):
    model, val, test = _overconfident_model()
    figure = tlk.plots.plot_reliability(model, test)
    assert "before calibration" not in figure.axes[0].get_title()
    tlk.calibrate(model, val, verbose=0)
    figure = tlk.plots.plot_reliability(model, test)
    title = figure.axes[0].get_title()
    report = tlk.evaluate_classifier(model, test)
    assert f"ECE {report['expected_calibration_error']:.3f}" in title
    assert (f"{report['expected_calibration_error_uncalibrated']:.3f} before calibration"
            in title)
    labels = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert labels == ["calibrated", "before calibration", "model", "accuracy in the bin"]
    figure.savefig(tmp_path / "reliability.png")


def colour_task(n=90, flips=(3, 17, 40, 58, 71)):
    """Three colour classes, easy from a frozen random base; `flips` mislabelled."""
    rng = np.random.default_rng(0)
    y = np.arange(n) % 3
    x = rng.uniform(0, 60, (n, 8, 8, 3)).astype("float32")
    x[np.arange(n), :, :, y] += 180
    noisy = y.copy()
    noisy[list(flips)] = (y[list(flips)] + 1) % 3
    keras.utils.set_random_seed(0)
    base = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Rescaling(1 / 255.0),
                             keras.layers.Conv2D(8, 3)], name="colours")
    model = tlk.build_model(base, num_classes=3, class_names=["r", "g", "b"])
    return model, x, noisy, set(flips)


@pytest.mark.slow
def test_label_issues_rank_planted_flips_first(tmp_path, capsys):
    model, x, noisy, flips = colour_task()
    before = [w.copy() for w in model.get_weights()]
    issues = tlk.find_label_issues(model, (x, noisy), folds=3, epochs=40, learning_rate=1e-2,
                                   batch_size=16)
    line = capsys.readouterr().out
    assert "Label issues:" in line and " of 90 examples look mislabelled" in line
    assert set(issues.ranking[:len(flips)]) == flips  # the flips are the most suspect
    # Flagged: where another class's probability reaches its class's threshold.
    assert 3 <= len(issues.indices) and set(issues.indices) <= flips
    for index, given, suggested in zip(issues.indices, issues.given, issues.suggested):
        if index in flips:
            assert given == noisy[index] and suggested == (given + 2) % 3  # the truth
    assert issues.files is None and issues.probabilities.shape == (90, 3)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    figure = tlk.plots.show_label_issues(issues, ["r", "g", "b"], images=x, n=4)
    assert figure.axes[0].get_title().startswith("given: ")


@pytest.mark.slow
def test_label_issues_name_the_files_of_a_folder_and_refuse_a_shuffled_dataset(tmp_path):
    model, x, noisy, flips = colour_task()
    for index, (image, label) in enumerate(zip(x, noisy)):
        folder = tmp_path / "data" / ["b", "g", "r"][["b", "g", "r"].index(
            ["r", "g", "b"][label])]
        folder.mkdir(parents=True, exist_ok=True)
        tf.io.write_file(str(folder / f"{index:03d}.png"),
                         tf.io.encode_png(tf.constant(image.astype("uint8"))))
    model.class_names = ["b", "g", "r"]  # a folder's classes come sorted
    issues = tlk.find_label_issues(model, str(tmp_path / "data"), folds=3, epochs=40,
                                   learning_rate=1e-2, batch_size=16, verbose=0)
    flagged = {int(os.path.basename(path)[:3]) for path in issues.files}
    assert 3 <= len(flagged) and flagged <= flips
    # Issue 34 row 22: class names beside the indices, and a CSV for a labeller.
    assert issues.given_names == [["b", "g", "r"][i] for i in issues.given]
    assert issues.suggested_names == [["b", "g", "r"][i] for i in issues.suggested]
    issues.to_csv(tmp_path / "issues.csv")
    with open(tmp_path / "issues.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["file"] for r in rows] == issues.files
    assert [(r["given"], r["suggested"]) for r in rows] == list(
        zip(issues.given_names, issues.suggested_names))
    assert rows[0]["rank"] == "1" and float(rows[0]["confidence_in_given"]) == \
        pytest.approx(issues.self_confidence[0], abs=1e-4)
    train, _, _ = tlk.image_dataset(str(tmp_path / "data"), image_size=8, verbose=0,
                                    validation_split=0, batch_size=4)
    with pytest.raises(ValueError, match="not shuffled"):
        tlk.find_label_issues(model, train, folds=3, epochs=1)


def test_a_shuffled_pipelines_features_never_answer_for_an_ordered_one(tmp_path):
    """The feature cache keys a folder's pipeline by its files and settings; the
    order is one of them, or find_label_issues would pair files with the features
    of a shuffled pass."""
    from tl_keras.data.fingerprints import fingerprint

    root = _write_numbered_images(tmp_path / "images", range(20))
    shuffled, _, _ = tlk.image_dataset(root, image_size=4, validation_split=0, verbose=0)
    again, _, _ = tlk.image_dataset(root, image_size=4, validation_split=0, verbose=0)
    ordered, _, _ = tlk.image_dataset(root, image_size=4, validation_split=0, verbose=0,
                                      shuffle=False)
    assert fingerprint(shuffled) == fingerprint(again)  # reused across fit calls
    assert fingerprint(shuffled) != fingerprint(ordered)


def test_export_saved_model_gated_on_the_test_accuracy_writes_nothing_below_it(tmp_path):
    model, _, test = _overconfident_model()
    report = tlk.evaluate_classifier(model, test)
    with pytest.raises(tlk.GateError, match=f"test accuracy {report['accuracy']:.4f} "
                                            r"\(on 150 examples\) is below the gate's 0.99"):
        tlk.export_saved_model(model, str(tmp_path / "out"), test_report=report,
                               min_accuracy=0.99, warmup=False)
    assert not os.path.exists(tmp_path / "out") or not os.listdir(tmp_path / "out")
    with pytest.raises(ValueError, match="pass test_report="):
        tlk.export_saved_model(model, str(tmp_path / "out"), min_accuracy=0.5, warmup=False)
    path = tlk.export_saved_model(model, str(tmp_path / "out"), test_report=report,
                                  min_accuracy=report["accuracy"], warmup=False)
    # The card's test figures are an evaluation of the exported model itself.
    exported = keras.saving.load_model(os.path.join(path, "keras", "model.keras"))
    again = tlk.evaluate_classifier(exported, test)
    with open(os.path.join(path, "model_card.json")) as f:  # local: a tmp_path file
        card = json.load(f)
    assert card["test"]["accuracy"] == again["accuracy"]
    assert card["test"]["confusion_matrix"] == again["confusion_matrix"]


@pytest.mark.parametrize("call, received", [
    (lambda model: tlk.evaluate_classifier(model, "pets/test"), "Received: data='pets/test'"),
    (lambda model: tlk.calibrate(model, None), "Received: validation_data=None"),
    (lambda model: tlk.evaluate_classifier(model, tf.data.Dataset.from_tensor_slices(
        np.zeros((2, 32, 32, 3), "float32")).batch(2)), "Received: data=<"),
])
def test_unlabelled_or_wrong_data_is_refused_with_what_to_pass(call, received):
    """Issue 34, row 17: a folder path gave `IndexError: string index out of range`,
    None gave "Unbatching a tensor is only supported for rank >= 1"."""
    model = tlk.build_model(tlk.load_base("mobilenet_v2", weights=None,
                                          input_shape=(32, 32, 3)), num_classes=2)
    with pytest.raises(ValueError, match=r"Expected labelled data: a batched tf.data.Dataset "
                                         r"of \(inputs, labels\).*" + re.escape(received)):
        call(model)
