"""Training under tf.distribute, and only the chief writes."""

import json
import os
import subprocess
import sys

import pytest

import tl_keras as tlk
from tl_keras import cluster

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Two logical CPU devices must be set before TensorFlow starts: a fresh process.
_MIRRORED = """
import json, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras, numpy as np
import tl_keras as tlk
from tests.conftest import random_images, small_image_classifier


def build():
    return small_image_classifier(filters=(8, 16), dropout=0.0, class_names=["a", "b"])


images, labels = random_images(16, size=16), np.array([0, 1] * 8)
images[labels == 1, ..., 0] += 60
results = {}
for name in ("single", "mirrored"):
    model = build()
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]) if name == "mirrored" \\
        else None
    history = tlk.fit_two_phase(model, (images, labels), (images, labels), epochs=2,
                                fine_tune_epochs=2, batch_size=16, strategy=strategy,
                                verbose=0)  # full batch: the order of examples is moot
    results[name] = {"weights": [w.tolist() for w in model.get_weights()],
                     "loss": history.history["loss"],
                     "trainable": [layer.trainable for layer in model.base.layers],
                     "replicas": strategy.num_replicas_in_sync if strategy else 1}
path = tlk.export_saved_model(model, sys.argv[1], warmup=False)
results["exported"] = path
print("RESULT " + json.dumps(results))
"""


def test_mirrored_over_two_devices_trains_like_one_device(tmp_path):
    done = subprocess.run([sys.executable, "-c", _MIRRORED, str(tmp_path / "export")],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    import numpy as np

    results = json.loads(done.stdout.split("RESULT ")[1])
    single, mirrored = results["single"], results["mirrored"]
    assert mirrored["replicas"] == 2
    np.testing.assert_allclose(mirrored["loss"], single["loss"], rtol=1e-4)
    for a, b in zip(mirrored["weights"], single["weights"]):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-5)
    assert mirrored["trainable"] == single["trainable"]  # the top unfrozen as without
    assert os.path.isdir(results["exported"])


def test_only_the_chief_writes(tmp_path, monkeypatch):
    workers = {"worker": ["localhost:1", "localhost:2"]}
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": workers,
                                                "task": {"type": "worker", "index": 1}}))
    assert not cluster.is_chief()
    with cluster.written_by_chief(tmp_path / "export") as where:
        assert not where.startswith(str(tmp_path))
        os.makedirs(where)
    assert not os.path.exists(where) and not (tmp_path / "export").exists()
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": workers,
                                                "task": {"type": "worker", "index": 0}}))
    assert cluster.is_chief()
    with cluster.written_by_chief(tmp_path / "export") as where:
        assert where == tmp_path / "export"


def test_unknown_and_unsupported_strategies_are_refused_before_work():
    with pytest.raises(ValueError, match=r"one of \['mirrored', 'multi_worker', 'tpu'\]"):
        tlk.fit_two_phase(None, None, strategy="mirror")
    with pytest.raises(NotImplementedError, match="keras-team/keras#20585"):
        tlk.fit_two_phase(None, None, strategy="multi_worker")
