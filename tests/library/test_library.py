"""Issue 27: the library's governance (approve, promote, retire, the audit log) and
TF Serving's configuration from it."""

import json
import os
import subprocess
import sys

import pytest

import tl_keras as tlk
from tests.fixtures import REPO_ROOT
from tl_keras import library
from tl_keras.cli import main

ROOT_DIR = REPO_ROOT


def _fake_version(root, name, version):
    """A version directory as the library sees one: a SavedModel file and a card."""
    path = root / name / str(version)
    path.mkdir(parents=True)
    (path / "saved_model.pb").write_bytes(b"")
    (path / "model_card.json").write_text(json.dumps({"name": name, "version": version,
                                                      "classes": ["a", "b"]}))
    return path


@pytest.fixture
def root(tmp_path):
    for name, versions in (("cats", (1, 2, 3)), ("birds", (1,))):
        for version in versions:
            _fake_version(tmp_path, name, version)
    return tmp_path


def test_decisions_are_replayed_from_an_append_only_log(root):
    library.approve(root, "cats", 1, by="ana", why="test accuracy 0.91")
    library.approve(root, "cats", 2, by="ben", why="test accuracy 0.94")
    library.promote(root, "cats", 1, label="stable")
    library.promote(root, "cats", 2, label="canary")
    library.promote(root, "cats", 2, label="stable")  # the label moves
    with pytest.raises(ValueError, match=r"still has the label\(s\) \['canary', 'stable'\]"):
        library.retire(root, "cats", 2)
    library.retire(root, "cats", 1)
    state = library.library_state(root)["cats"]
    assert state["labels"] == {"stable": 2, "canary": 2}
    assert state["retired"] == [1]
    assert [a["by"] for a in state["approvals"][2]] == ["ben"]
    log = library.audit_log(root)
    assert [(e["action"], e["version"]) for e in log] == [
        ("approve", 1), ("approve", 2), ("promote", 1), ("promote", 2), ("promote", 2),
        ("retire", 1)]
    assert all(e["time"] and e["user"] for e in log)
    events = os.listdir(root / ".tl_keras_library" / "events")
    assert len(events) == 6  # one file per decision, none rewritten
    entries = {(e["name"], e["version"]): e for e in tlk.list_models(root)}
    assert entries[("cats", 2)]["state"] == "approved"
    assert entries[("cats", 2)]["labels"] == ["canary", "stable"]
    assert entries[("cats", 1)]["state"] == "retired"
    assert entries[("cats", 3)]["state"] == "candidate"


@pytest.mark.parametrize("call,message", [
    (lambda r: library.approve(r, "dogs", 1, by="a", why="b"),
     r"No model 'dogs'.*Its models: \['birds', 'cats'\]\."),  # not models.config (row 21)
    (lambda r: library.promote(r, "cats", 9), r"has versions \[1, 2, 3\]"),
    (lambda r: library.promote(r, "cats", 1, label="2nd"), "not starting with a digit"),
    (lambda r: library.approve(r, "cats", 1, by="", why="x"), "who approves"),
])
def test_bad_decisions_are_refused_and_not_logged(root, call, message):
    (root / "models.config").write_text("")  # TF Serving's files beside the models
    (root / "notes").mkdir()
    with pytest.raises(ValueError, match=message):
        call(root)
    assert library.audit_log(root) == []


def test_a_never_approved_version_cannot_get_a_label(root, capsys):
    """Issue 34, row 9: `library promote` of a never-approved version set `@stable`,
    which loaded and predicted, while `serving-config` left the model out."""
    with pytest.raises(ValueError, match=r"Version 1 of 'cats' has no approval.*"
                                         r"tl-keras library approve cats 1"):
        library.promote(root, "cats", 1)
    assert main(["library", "promote", "cats", "1", "--root", str(root)]) == 2
    assert "has no approval" in capsys.readouterr().err
    assert library.audit_log(root) == []
    library.approve(root, "cats", 1, by="ana", why="ok")
    assert library.promote(root, "cats", 1)["label"] == "stable"


def test_a_retired_version_cannot_be_promoted_or_approved(root):
    library.retire(root, "cats", 3)
    with pytest.raises(ValueError, match="is retired"):
        library.promote(root, "cats", 3)
    with pytest.raises(ValueError, match="is retired"):
        library.approve(root, "cats", 3, by="a", why="b")


_PROMOTE = """
import sys
from tl_keras import library
library.promote(sys.argv[1], sys.argv[2], int(sys.argv[3]), label=sys.argv[4])
"""


def test_two_people_deciding_at_once_lose_neither_change(root):
    library.approve(root, "cats", 1, by="ana", why="ok")
    library.approve(root, "birds", 1, by="ana", why="ok")
    processes = [subprocess.Popen([sys.executable, "-c", _PROMOTE, str(root), name, "1",
                                   label], cwd=ROOT_DIR)
                 for name, label in (("cats", "stable"), ("birds", "canary"))]
    assert [p.wait(timeout=120) for p in processes] == [0, 0]
    state = library.library_state(root)
    assert state["cats"]["labels"] == {"stable": 1}
    assert state["birds"]["labels"] == {"canary": 1}


def test_models_config_serves_exactly_the_approved_versions(root):
    model_server_config_pb2 = pytest.importorskip(
        "tensorflow_serving.config.model_server_config_pb2",
        reason="the serving extra (tensorflow-serving-api) is not installed")
    from google.protobuf import text_format

    library.approve(root, "cats", 1, by="ana", why="ok")
    library.approve(root, "cats", 2, by="ana", why="ok")
    library.promote(root, "cats", 2, label="stable")
    library.promote(root, "cats", 1, label="canary")
    library.retire(root, "cats", 3)
    path, left_out = library.write_serving_config(root)
    assert left_out == {"birds": "no approved version"}
    config = model_server_config_pb2.ModelServerConfig()
    with open(path) as f:  # local: a tmp_path file
        text_format.Parse(f.read(), config)
    [cats] = config.model_config_list.config
    assert cats.name == "cats" and cats.base_path == str(root / "cats")
    assert cats.model_platform == "tensorflow"
    assert list(cats.model_version_policy.specific.versions) == [1, 2]
    assert dict(cats.version_labels) == {"stable": 2, "canary": 1}
    batching = (root / "batching_parameters.txt").read_text()
    assert "max_batch_size { value: 32 }" in batching
    assert [e["name"] for e in tlk.list_models(root)].count("cats") == 3  # files ignored


def test_the_library_command(root, capsys):
    assert main(["library", "approve", "cats", "2", "--by", "ana", "--why", "0.94",
                 "--root", str(root)]) == 0
    assert main(["library", "promote", "cats", "2", "--root", str(root)]) == 0
    assert "cats@stable is now version 2" in capsys.readouterr().out
    assert main(["library", "list", "--root", str(root)]) == 0
    listed = capsys.readouterr().out
    assert "approved [stable]" in listed
    assert main(["library", "show", "cats", "2", "--root", str(root)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["governance"]["labels"] == ["stable"]
    assert shown["governance"]["approvals"][0]["by"] == "ana"
    assert main(["library", "serving-config", "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "Left out birds: no approved version" in out
    assert "--model_config_file=" in out
    assert main(["library", "log", "--root", str(root)]) == 0
    assert [json.loads(line)["action"] for line in
            capsys.readouterr().out.splitlines()] == ["approve", "promote"]
    assert main(["library", "retire", "cats", "2", "--root", str(root)]) == 2
    assert "still has the label(s) ['stable']" in capsys.readouterr().err


@pytest.mark.slow
def test_a_label_loads_the_version_it_points_at_and_a_retired_one_is_said(tmp_path, capsys):
    from tests.fixtures.images import small_image_classifier

    model = small_image_classifier(class_names=["a", "b"])
    for _ in range(2):
        tlk.export_saved_model(model, str(tmp_path / "cats"), warmup=False, verbose=0)
    library.approve(tmp_path, "cats", 1, by="ana", why="ok")
    library.promote(tmp_path, "cats", 1, label="stable")
    base = tlk.load_base(f"{tmp_path}/cats@stable")
    assert base.lineage[0]["version"] == 1  # the label's version, not the latest (2)
    with pytest.raises(ValueError, match=r"has no label 'canary'. Its labels: \['stable'\]"):
        tlk.load_base(f"{tmp_path}/cats@canary")
    library.retire(tmp_path, "cats", 2)
    capsys.readouterr()
    tlk.load_base(f"{tmp_path}/cats/2")
    assert "Version 2 of 'cats' is retired" in capsys.readouterr().out


def test_a_label_of_a_model_that_is_not_there_says_so(tmp_path, monkeypatch):
    """Issue 34, row 21: `load_base("saved_models/cats@stable")` from another folder
    said "no label 'stable'" instead of "no model here"."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"No model 'cats' in 'saved_models': that "
                                         r"directory does not exist here \("):
        tlk.load_base("saved_models/cats@stable")
