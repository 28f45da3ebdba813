"""The public API: declared once, imported lazily, every earlier name still there,
and the package's layers pointing only down."""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import tl_keras as tlk
from tests.fixtures import REPO_ROOT
from tl_keras.io import layout

# Every public name of the last release (0.3's `__all__` and submodules).
EARLIER_NAMES = [
    "Caching", "Distribution", "DownloadError", "FeatureCache", "FineTuning", "GateError",
    "HubLayer", "ImageClassifier", "Preprocessing", "PretrainedBase", "Speed",
    "TextClassifier", "TransferModel", "TwoPhaseHistory", "adapt_batchnorm", "build_model",
    "build_text_model", "calibrate", "check_export", "evaluate_classifier",
    "export_saved_model", "find_label_issues", "export_tflite", "extract_features",
    "fit_two_phase", "format_models", "format_ranking", "freeze_base", "get_base",
    "image_dataset", "list_bases", "list_models", "load_base", "load_word_vectors",
    "rank_bases", "register_base", "text_dataset", "unfreeze_base", "unregister_base",
    "cli", "demo", "plots", "library",
]
ROOT = REPO_ROOT


def test_every_earlier_public_name_still_works():
    for name in EARLIER_NAMES:
        assert getattr(tlk, name) is not None, name
    for name in ("approve", "promote", "retire", "trust", "trusted_roots",
                 "resolve_reference", "library_state", "audit_log", "serving_config"):
        assert callable(getattr(tlk.library, name)), name
    assert tlk.library.trust is tlk.trust
    assert set(tlk.__all__) >= set(EARLIER_NAMES) - {"cli", "demo", "plots", "library"}
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        tlk.not_a_name


def test_import_tl_keras_imports_neither_tensorflow_nor_keras():
    probe = ("import sys, tl_keras\n"
             "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
             "tl_keras.list_bases\n"
             "print('keras' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "False", "True"]


def test_a_keras_file_loads_after_import_tl_keras_when_keras_came_first(tmp_path):
    model = tlk.build_model(tlk.load_base("mobilenet_v2", weights=None,
                                          input_shape=(32, 32, 3)), num_classes=2)
    path = str(tmp_path / "m.keras")
    model.save(path)
    probe = ("import sys, keras, numpy as np\n"
             "import tl_keras\n"  # keras first: registered at import
             "m = keras.saving.load_model(sys.argv[1])\n"
             "print(type(m).__name__)\n")
    done = subprocess.run([sys.executable, "-c", probe, path], capture_output=True,
                          text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == "ImageClassifier"


def test_the_package_layers_point_only_down():
    done = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "import_layers.py")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout
    assert " 0 running up, 0 cycles between files, 0 parts not placed" in done.stdout


def test_export_takes_a_card_and_serving_options_and_the_old_keywords_warn(tmp_path):
    model = tlk.build_model(tlk.load_base("mobilenet_v2", weights=None,
                                          input_shape=(32, 32, 3)), num_classes=2,
                            class_names=["a", "b"])
    report = {"accuracy": 0.75, "examples": 4}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = tlk.export_saved_model(
            model, str(tmp_path / "m"), verbose=0,
            card=tlk.ModelCard(test_report=report, intended_use="tests"),
            serving=tlk.ServingOptions(top_k=1, warmup=False, signatures=["serving_default"]))
    assert not [w for w in caught if "tl_keras" in str(w.message)]  # the new form: no warning
    card = layout.read_model_card(path)
    assert card["test"] == report and card["intended_use"] == "tests"
    assert card["top_k"] == 1 and list(card["signatures"]) == ["serving_default"]

    with pytest.warns(DeprecationWarning, match=r"card=tl_keras.ModelCard\(intended_use"):
        with pytest.warns(DeprecationWarning, match=r"serving=tl_keras.ServingOptions"):
            old = tlk.export_saved_model(model, str(tmp_path / "m"), intended_use="old",
                                         warmup=False, top_k=2, verbose=0)
    assert layout.read_model_card(old)["top_k"] == 2
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) \['histroy'\]"):
        tlk.export_saved_model(model, str(tmp_path / "m"), histroy=None)
    with pytest.raises(ValueError, match="Expected `top_k` to be a positive integer"):
        tlk.ServingOptions(top_k=0)


def test_the_gate_is_a_step_of_its_own():
    report = {"accuracy": 0.5, "examples": 10}
    assert tlk.check_gate(report, None) is None
    assert tlk.check_gate(report, 0.5) == 0.5
    with pytest.raises(tlk.GateError, match="below the gate's 0.9: nothing was exported"):
        tlk.check_gate(report, 0.9)
    with pytest.raises(ValueError, match="Received: min_accuracy=90"):
        tlk.check_gate(report, 90)
    assert np.isclose(tlk.check_gate({"accuracy": 0.95, "examples": 3}, 0.9), 0.95)
