"""Exports of one model by several writers at once: each lands under its own number."""

import json
import os
import subprocess
import sys

import pytest

import tl_keras as tlk
from tests.fixtures import REPO_ROOT
from tests.fixtures.images import small_image_classifier
from tl_keras.io import layout

pytestmark = pytest.mark.slow
ROOT = REPO_ROOT


def _card(path):
    with open(os.path.join(path, "model_card.json")) as f:
        return json.load(f)


def test_a_version_taken_while_exporting_moves_an_automatic_export_to_the_next(
        tmp_path, monkeypatch):
    """Issue 27: another writer took version 1 meanwhile; the export was refused with
    "Version 1 appeared ... Received: version=1", a version it never asked for."""
    model = small_image_classifier(class_names=["a", "b"])
    export_dir = str(tmp_path / "m")
    save = layout.save_keras_model

    def another_writer_lands_first(model, version_dir):
        save(model, version_dir)
        os.makedirs(os.path.join(export_dir, "1"), exist_ok=True)  # a colleague's v1
        with open(os.path.join(export_dir, "1", "saved_model.pb"), "w") as f:
            f.write("theirs")

    monkeypatch.setattr(layout, "save_keras_model", another_writer_lands_first)
    path = tlk.export_saved_model(model, export_dir, verbose=0, warmup=False)
    assert path == os.path.join(export_dir, "2") and _card(path)["version"] == 2
    with open(os.path.join(export_dir, "1", "saved_model.pb")) as f:
        assert f.read() == "theirs"  # never overwritten
    monkeypatch.undo()
    assert sorted(os.listdir(export_dir)) == ["1", "2"]  # no temporary left
    # A version asked for is never moved: it is refused.
    monkeypatch.setattr(layout, "save_keras_model", lambda model, version_dir: os.makedirs(
        os.path.join(export_dir, "5")))
    with pytest.raises(FileExistsError, match=r"Version 5 appeared .*Received: version=5"):
        tlk.export_saved_model(model, export_dir, version=5, verbose=0, warmup=False)


_WRITER = """
import os, sys, time
import tl_keras as tlk
from tests.fixtures.images import small_image_classifier

model = small_image_classifier(class_names=["a", "b"])
start = sys.argv[2]
open(start + "." + str(os.getpid()), "w").close()  # ready
while not os.path.exists(start):  # all writers ready: export at the same moment
    time.sleep(0.01)
print("EXPORTED " + tlk.export_saved_model(model, sys.argv[1], verbose=0, warmup=False))
"""


def test_three_writers_at_once_all_land_each_under_its_own_number(tmp_path):
    export_dir, start = str(tmp_path / "lib" / "m"), str(tmp_path / "start")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    writers = [subprocess.Popen([sys.executable, "-c", _WRITER, export_dir, start], cwd=ROOT,
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True) for _ in range(3)]
    try:
        import glob
        import time

        deadline = time.time() + 240
        while len(glob.glob(start + ".*")) < 3 and time.time() < deadline:
            time.sleep(0.1)  # every writer has its model, and waits
        open(start, "w").close()
        outputs = [writer.communicate(timeout=300) for writer in writers]
    finally:
        for writer in writers:
            writer.kill()
    for writer, (_, err) in zip(writers, outputs):
        assert writer.returncode == 0, err[-3000:]
    landed = sorted(out.split("EXPORTED ")[1].strip() for out, _ in outputs)
    assert landed == [os.path.join(export_dir, str(v)) for v in (1, 2, 3)]
    assert sorted(os.listdir(export_dir)) == ["1", "2", "3"]
    assert [_card(path)["version"] for path in landed] == [1, 2, 3]
