"""`tl-keras predict --format json|csv`: results a script can read (issue 34 row 25)."""

import csv
import io
import json

import pytest

from tests.fixtures.images import small_image_classifier
from tests.fixtures.images import write_image_folders
from tl_keras.cli import main

pytestmark = pytest.mark.slow  # exports a model


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    import tl_keras as tlk

    root = tmp_path_factory.mktemp("predict_formats")
    model = small_image_classifier(size=16, class_names=["blue", "red"])
    tlk.export_saved_model(model, str(root / "colours"), verbose=0)
    return str(root / "colours"), write_image_folders(root / "images")


def test_json_lines_and_csv_hold_every_image_s_top_classes(exported, capsys):
    export, images = exported
    files = [str(images / "red" / "0.jpg"), str(images / "blue" / "1.png")]
    assert main(["predict", export] + files + ["--format", "json", "--top", "2"]) == 0
    out = capsys.readouterr()
    rows = [json.loads(line) for line in out.out.splitlines()]
    assert [row["input"] for row in rows] == files
    assert all(sorted(row["classes"]) == ["blue", "red"] for row in rows)
    assert all(abs(sum(row["scores"]) - 1) < 1e-4 for row in rows)
    assert "Model: " in out.err and "Model: " not in out.out  # stdout is the data alone

    assert main(["predict", export] + files + ["--format", "csv", "--top", "2"]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert list(table[0]) == ["input", "class_1", "score_1", "class_2", "score_2"]
    assert [row["input"] for row in table] == files
    assert [row["class_1"] for row in table] == [row["classes"][0] for row in rows]
    assert float(table[0]["score_1"]) == pytest.approx(rows[0]["scores"][0], abs=1e-6)


def test_an_unknown_format_is_refused_before_the_model_loads(exported, capsys):
    export, images = exported
    with pytest.raises(SystemExit):
        main(["predict", export, str(images), "--format", "xml"])
    assert "invalid choice: 'xml'" in capsys.readouterr().err
