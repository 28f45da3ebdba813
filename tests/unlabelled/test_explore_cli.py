"""`tl-keras cluster` and `tl-keras explore` on a folder and on TFRecord shards; the
page is rendered in a real headless browser, which must load every thumbnail."""

import csv
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from tests.fixtures.collections import edited
from tests.fixtures.collections import pattern
from tests.fixtures.collections import seeing_base
from tests.fixtures.collections import write_jpeg
from tl_keras.cli import main

pytestmark = pytest.mark.slow  # embeds folders through the command line

# A base that sees colour and edges (fixed filters): the command's plumbing is under
# test here; how well the methods group and rank is measured on real photos.
FLAGS = ["--base", "seeing_cnn", "--weights", "none", "--image-size", "64"]


@pytest.fixture(autouse=True)
def seeing_cnn():
    import tl_keras as tlk

    tlk.register_base("seeing_cnn", seeing_base, default_size=64, preprocessing="unit")
    yield
    tlk.unregister_base("seeing_cnn")


def _collection(root):
    """Two kinds of image (blobs, and dark striped scans) and two planted copies."""
    for i in range(30):
        write_jpeg(str(root / f"photo_{i:02d}.jpg"), pattern(i))
    for i in range(6):
        write_jpeg(str(root / f"scan_{i}.jpg"), _scan(i))
    write_jpeg(str(root / "photo_03_resized.jpg"), edited(pattern(3), 0, brighter=False))
    shutil.copy(root / "photo_07.jpg", root / "photo_07_copy.jpg")
    return root


def _scan(i):
    """Dark paper with pale lines, each scan its own spacing and ink."""
    scan = np.full((64, 64, 3), 20 + 6 * i, "uint8")
    scan[:, np.arange(64) % (5 + i) < 2] = 180 + 12 * i
    return scan


def _browser():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _images_loaded_in_a_browser(page):
    browser = _browser()
    if browser is None:
        pytest.skip("No headless browser found (apt-get install chromium): the page was "
                    "written and checked, but not rendered.")
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu",
         "--allow-file-access-from-files", "--virtual-time-budget=10000", "--dump-dom",
         f"file://{os.path.abspath(page)}"], capture_output=True, text=True, timeout=120)
    found = re.search(r'data-images="(\d+) of (\d+)"', done.stdout)
    assert found, done.stderr[-2000:]
    return int(found.group(1)), int(found.group(2))


def test_explore_writes_a_page_whose_thumbnails_all_load_and_the_csvs(tmp_path, capsys):
    data = _collection(tmp_path / "photos")
    out = tmp_path / "report"
    assert main(["explore", str(data), "--out", str(out)] + FLAGS) == 0
    printed = capsys.readouterr().out
    assert "2 groups of near-duplicates" in printed and "index.html" in printed
    with open(out / "duplicates.csv") as f:
        groups = {}
        for row in csv.DictReader(f):
            groups.setdefault(row["group"], set()).add(os.path.basename(row["id"]))
    assert sorted(map(sorted, groups.values())) == [
        ["photo_03.jpg", "photo_03_resized.jpg"], ["photo_07.jpg", "photo_07_copy.jpg"]]
    with open(out / "outliers.csv") as f:
        top = [os.path.basename(row["id"]) for row in csv.DictReader(f)][:6]
    assert sorted(top) == [f"scan_{i}.jpg" for i in range(6)]  # the group of scans
    page = (out / "index.html").read_text()
    assert "Near-duplicates (2 groups)" in page and "Outliers" in page
    loaded, total = _images_loaded_in_a_browser(out / "index.html")
    assert loaded == total > 10


def test_explore_reports_a_leak_into_the_validation_folder(tmp_path, capsys):
    train = _collection(tmp_path / "train")
    val = tmp_path / "val"
    write_jpeg(str(val / "new.jpg"), pattern(99))
    shutil.copy(train / "photo_11.jpg", val / "photo_11_again.jpg")
    out = tmp_path / "report"
    assert main(["explore", str(train), "--out", str(out), "--validation-data", str(val)]
                + FLAGS) == 0
    with open(out / "leaks.csv") as f:
        leaks = [(os.path.basename(r["id_in_train"]), os.path.basename(r["id_elsewhere"]))
                 for r in csv.DictReader(f)]
    assert leaks == [("photo_11.jpg", "photo_11_again.jpg")]
    assert "Leaks across splits (1)" in (out / "index.html").read_text()


def test_cluster_writes_a_folder_per_cluster_from_tfrecords_and_refuses_a_full_out(
        tmp_path, capsys):
    from tl_keras.data.tfrecords import write_image_tfrecords

    folder = tmp_path / "sorted"
    for i in range(12):
        write_jpeg(str(folder / "photos" / f"p{i}.jpg"), pattern(i))
    for i in range(12):
        write_jpeg(str(folder / "scans" / f"s{i}.jpg"), _scan(i % 6)[:, i // 6:])
    write_image_tfrecords(str(folder), str(tmp_path / "shards"), shards=2, verbose=0)
    out = tmp_path / "clusters"
    assert main(["cluster", str(tmp_path / "shards"), "--out", str(out), "--k", "2"]
                + FLAGS) == 0
    assert "Rename the folders" in capsys.readouterr().out
    members = {name: sorted(os.listdir(out / name)) for name in sorted(os.listdir(out))
               if name != "clusters.csv"}
    assert sorted(members) == ["cluster_00", "cluster_01"]
    assert sorted(map(sorted, members.values())) == [
        sorted(f"p{i}.jpg" for i in range(12)), sorted(f"s{i}.jpg" for i in range(12))]
    with open(out / "clusters.csv") as f:
        assert len(list(csv.DictReader(f))) == 24
    assert main(["cluster", str(tmp_path / "shards"), "--out", str(out)] + FLAGS) == 2
    assert "exists and is not an empty directory" in capsys.readouterr().err
    # explore reads the shards' images for its thumbnails too
    assert main(["explore", str(tmp_path / "shards"), "--out", str(tmp_path / "page")]
                + FLAGS) == 0
    with open(tmp_path / "page" / "outliers.csv") as f:
        assert len(list(csv.DictReader(f))) == 24
    thumbnails = os.listdir(tmp_path / "page" / "thumbnails")
    assert len(thumbnails) >= 16  # the clusters' examples and the outliers shown


def test_label_issues_names_a_planted_mislabel_and_writes_the_csv(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for colour, channel in (("red", 0), ("blue", 2)):
        for i in range(12):
            image = rng.integers(0, 60, (64, 64, 3)).astype("uint8")
            image[..., channel] += 180
            write_jpeg(str(tmp_path / "data" / colour / f"{colour}_{i}.jpg"), image)
    shutil.move(tmp_path / "data" / "red" / "red_3.jpg", tmp_path / "data" / "blue")
    out = tmp_path / "review" / "issues.csv"
    assert main(["label-issues", str(tmp_path / "data"), "--out", str(out), "--folds", "3"]
                + FLAGS) == 0
    printed = capsys.readouterr().out
    assert "red_3.jpg: filed under blue, looks like red" in printed
    with open(out) as f:
        rows = list(csv.DictReader(f))
    assert os.path.basename(rows[0]["file"]) == "red_3.jpg"
    assert (rows[0]["given"], rows[0]["suggested"]) == ("blue", "red")
    assert main(["label-issues", str(tmp_path / "data"), "--out", str(tmp_path)] + FLAGS) == 2
    assert "is a directory" in capsys.readouterr().err
