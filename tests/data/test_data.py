import os

import numpy as np
import pytest
import tensorflow as tf

import tl_keras as tlk
from tests.fixtures.images import make_folder
from tests.fixtures.images import write_image
from tests.fixtures.images import write_image_folders
from tl_keras.data.image_folder import scan_image_folder
from tl_keras.data.splits import side_of


def _all(dataset):
    images, labels = [], []
    for x, y in dataset:
        images.append(x.numpy())
        labels.append(y.numpy())
    return np.concatenate(images), np.concatenate(labels)


def test_folder_pipeline_pixels_labels_and_formats(tmp_path):
    root = make_folder(tmp_path / "pets")
    # Grayscale, RGBA, GIF and BMP become RGB.
    gray = np.full((20, 20, 1), 128, "uint8")
    write_image(root / "cats" / "gray.png", gray, "png")
    rgba = np.full((20, 20, 4), 255, "uint8")
    write_image(root / "dogs" / "rgba.png", rgba, "png")
    from PIL import Image
    Image.new("RGB", (20, 20), (10, 20, 30)).save(root / "cats" / "c.gif")
    Image.new("RGB", (20, 20), (30, 20, 10)).save(root / "dogs" / "d.bmp")
    train, val, names = tlk.image_dataset(str(root), image_size=(32, 32), batch_size=4,
                                          validation_split=0.3, seed=1)
    assert names == ["cats", "dogs"]
    x, y = _all(train)
    vx, vy = _all(val)
    assert x.dtype == np.float32 and x.shape[1:] == (32, 32, 3)
    assert 0 <= x.min() and x.max() <= 255
    assert len(x) + len(vx) == 24 and set(y) | set(vy) == {0, 1}
    # The red-ish cats and green-ish dogs keep their labels.
    for images, labels in ((x, y), (vx, vy)):
        reds = images[..., 0].mean(axis=(1, 2)) > images[..., 1].mean(axis=(1, 2))
        mostly = reds[labels == 0].mean()
        assert mostly >= 0.6


def test_split_is_stable_when_files_are_added(tmp_path):
    root = make_folder(tmp_path / "pets", per_class=20)
    scan = scan_image_folder(str(root))
    rel = [os.path.relpath(p, root).replace(os.sep, "/") for p in scan.paths]
    before = {r for r in rel if side_of(r, 0.25, 0.0, 0) == "validation"}
    make_folder(tmp_path / "more", per_class=30)  # new files with other names
    for name in ("cats", "dogs"):
        for f in os.listdir(tmp_path / "more" / name):
            if int(f.split("_")[1].split(".")[0]) >= 20:
                os.rename(tmp_path / "more" / name / f, root / name / f)
    scan2 = scan_image_folder(str(root))
    rel2 = [os.path.relpath(p, root).replace(os.sep, "/") for p in scan2.paths]
    after = {r for r in rel2 if side_of(r, 0.25, 0.0, 0) == "validation"}
    assert len(rel2) == 60 and before <= after  # old files kept their side
    assert not (set(rel) - before) & after
    assert 0.1 < len(after) / len(rel2) < 0.4


def test_bad_files_are_skipped_counted_and_reported(tmp_path, capsys):
    import io

    from PIL import Image

    from tl_keras.data.image_folder import scan_image_folder

    root = make_folder(tmp_path / "pets", per_class=6)
    (root / "cats" / "notes.jpg").write_text("these are not pixels")
    good = (root / "dogs" / "dogs_0.jpg").read_bytes()
    (root / "dogs" / "truncated.jpg").write_bytes(good[: len(good) // 2])
    (root / "dogs" / "empty.png").write_bytes(b"")
    pixels = np.full((32, 32, 3), 200, "uint8")
    for name, image_format in (("scan.tiff", "TIFF"), ("photo.webp", "WEBP")):
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, image_format)
        (root / "cats" / name).write_bytes(buffer.getvalue())
    train, _, _ = tlk.image_dataset(str(root), image_size=32, validation_split=0)
    report = capsys.readouterr().out
    assert f"Skipped 4 of 17 files in {root}" in report
    lines = report.splitlines()
    assert "  cats/notes.jpg: not an image (starts with b'these ar')" in lines
    assert ("  dogs/truncated.jpg: truncated or corrupt: the decoder cannot read it to the "
            "end") in lines
    assert "  dogs/empty.png: empty file" in lines
    assert any(line.startswith("  cats/scan.tiff: unsupported format (.tiff)")
               for line in lines)
    assert "function_node" not in report and "data.py" not in report
    # The same, as data for programs.
    assert [path for path, _ in scan_image_folder(str(root)).skipped] == [
        "cats/notes.jpg", "cats/scan.tiff", "dogs/empty.png", "dogs/truncated.jpg"]
    x, _ = _all(train)
    assert len(x) == 13  # the WebP is read; every epoch runs without the bad files
    tlk.image_dataset(str(root), image_size=32, validation_split=0, verbose=0)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("setup,message", [
    (lambda root: (root / "a").mkdir(parents=True), "at least two class subfolders"),
    (lambda root: (make_folder(root, per_class=2), (root / "birds").mkdir()),
     "Class folder 'birds' holds no images"),
    (lambda root: None, "not a directory"),
])
def test_bad_folders(tmp_path, setup, message):
    root = tmp_path / "data"
    setup(root)
    with pytest.raises(ValueError, match=message):
        tlk.image_dataset(str(root), image_size=32)


@pytest.mark.parametrize("resize", ["crop", "stretch", "pad"])
def test_resize_policies(tmp_path, resize):
    image = np.zeros((20, 40, 3), "uint8")
    image[:, :10] = 255  # a white band on the left quarter
    root = tmp_path / "d"
    write_image(root / "a" / "x.png", image, "png")
    write_image(root / "b" / "x.png", image, "png")
    train, _, _ = tlk.image_dataset(str(root), image_size=(20, 20), resize=resize,
                                    validation_split=0, shuffle=False)
    x, _ = _all(train)
    first = x[0]
    if resize == "crop":  # centre 20x20 of 20x40: the band is cut off
        assert first.max() == 0
    elif resize == "stretch":  # the band keeps its quarter of the width
        assert first[:, :4].min() > 200 and first[:, 6:].max() < 60
    else:  # fitted into 10 rows, black bars above and below
        assert first[:4].max() == 0 and first[8:12, :4].min() > 200


def test_cache_keeps_decoded_images_only(tmp_path):
    root = make_folder(tmp_path / "pets", per_class=4)
    train, _, _ = tlk.image_dataset(str(root), image_size=32, validation_split=0,
                                    cache=str(tmp_path / "cache"), shuffle=False)
    first, _ = _all(train)
    second, _ = _all(train)
    np.testing.assert_array_equal(first, second)
    assert any(f.startswith("cache_train") for f in os.listdir(tmp_path))


def test_arrays_source(tmp_path):
    x = np.random.default_rng(0).uniform(0, 255, (20, 16, 16, 3)).astype("float32")
    y = np.arange(20) % 4
    train, val, names = tlk.image_dataset((x, y), image_size=(32, 32), batch_size=5,
                                          validation_split=0.25)
    tx, ty = _all(train)
    vx, vy = _all(val)
    assert names == ["0", "1", "2", "3"] and tx.shape[1:] == (32, 32, 3)
    assert len(tx) == 15 and len(vx) == 5
    with pytest.raises(ValueError, match="integer class indices"):
        tlk.image_dataset((x, y * 0.5), image_size=32)


def test_tfds_source_offline_with_mock_data():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=10):
        train, val, names = tlk.image_dataset("tfds:tf_flowers", image_size=(32, 32),
                                              batch_size=4, validation_split=0.2)
        x, y = _all(train)
        vx, _ = _all(val)
    assert names == ["dandelion", "daisy", "tulips", "sunflowers", "roses"]
    # (mock_data yields num_examples for each split it is asked for)
    assert x.shape[1:] == (32, 32, 3) and len(x) == 10 and len(vx) == 10
    assert y.max() < 5


def test_tfds_offline_failure_says_what_to_pass(tmp_path, monkeypatch):
    import tensorflow_datasets as tfds

    def offline(*args, **kwargs):
        raise OSError("Name or service not known")

    monkeypatch.setattr(tfds, "load", offline)
    with pytest.raises(tlk.DownloadError, match="data_dir="):
        tlk.image_dataset("tfds:tf_flowers", image_size=32)


def test_a_package_tfds_lacks_is_named_not_blamed_on_the_network(monkeypatch):
    """TFDS imports importlib_resources lazily to prepare a dataset; tl_keras
    installs it, and any other missing package is named with its pip line."""
    import importlib

    import tensorflow_datasets as tfds

    importlib.import_module("importlib_resources")  # a core requirement now

    def missing(*args, **kwargs):
        raise ModuleNotFoundError("No module named 'apache_beam'", name="apache_beam")

    monkeypatch.setattr(tfds, "load", missing)
    with pytest.raises(ImportError, match="needs the package 'apache_beam'.*pip install "
                                          "apache_beam") as error:
        tlk.image_dataset("tfds:tf_flowers", image_size=32)
    assert "No network" not in str(error.value)


def test_class_weight_balanced():
    from tl_keras.training.inputs import balanced_class_weight

    weights = balanced_class_weight(np.array([0, 0, 0, 1]), 2)
    assert weights == {0: pytest.approx(4 / 6), 1: pytest.approx(2.0)}


def test_a_tfds_failure_that_is_not_the_network_is_not_called_one(monkeypatch):
    import tensorflow_datasets as tfds

    def broken(*args, **kwargs):
        raise ValueError("Unknown split 'trian'")

    monkeypatch.setattr(tfds, "load", broken)
    with pytest.raises(ValueError, match="Unknown split 'trian'"):
        tlk.image_dataset("tfds:tf_flowers", image_size=32)


def test_tfds_not_found_error_is_what_tfds_raises_for_an_unknown_name():
    """Pins `tl_keras.compat.tfds_not_found_error`. Not a compat test: in the
    TensorFlow 2.18 corner, TFDS's pinned tensorflow-metadata needs a newer protobuf
    than TensorFlow 2.18 allows, and `tensorflow_datasets.core` fails to import."""
    import tensorflow_datasets as tfds

    from tl_keras import compat

    with pytest.raises(compat.tfds_not_found_error(tfds)):
        tfds.builder("no_such_dataset_anywhere")


def test_the_folder_above_the_splits_is_refused_not_trained_as_two_classes(tmp_path):
    """Issue 34, row 4: `--data cats_and_dogs_filtered` (the parent of `train/` and
    `validation/`) trained a `train` vs `validation` classifier."""
    make_folder(tmp_path / "pets" / "train", per_class=2)
    make_folder(tmp_path / "pets" / "validation", per_class=2)
    with pytest.raises(ValueError, match=r"each hold the same class folders \['cats', "
                                         r"'dogs'\].*Pass one split, such as '.*pets/train'"):
        tlk.image_dataset(str(tmp_path / "pets"), image_size=16)
    train, _, names = tlk.image_dataset(str(tmp_path / "pets" / "train"), image_size=16,
                                        validation_split=0)
    assert names == ["cats", "dogs"]


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


def test_texts_get_the_found_line_that_images_get(tmp_path, caplog):
    """Issue 34 row 20: images said "Found N images in K classes"; texts said nothing."""
    table = tmp_path / "reviews.csv"
    rows = [f"text {i},{'pos' if i % 2 else 'neg'}" for i in range(40)]
    table.write_text("text,label\n" + "\n".join(rows) + "\n")
    with caplog.at_level("INFO", logger="tl_keras"):
        train, val, names = tlk.text_dataset(str(table), validation_split=0.25)
    line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("Found"))
    held = sum(len(batch[0]) for batch in val)
    assert line == (f"Found 40 texts in 2 classes in {table}: {40 - held} for training, "
                    f"{held} held out for validation (validation_split=0.25; 0 reads the "
                    "data whole).")
