"""Issue 24: TFRecord shards in (`image_dataset("…/*.tfrecord")`) and the writer."""

import os

import numpy as np
import pytest
import tensorflow as tf

import tl_keras as tlk
from tl_keras.cli import main
from tl_keras.data.tfrecords import write_image_tfrecords


def _numbered_folder(root, count=60):
    """PNGs whose pixels are all the file's id (two classes), and one bad file."""
    for image_id in range(count):
        folder = root / ("even" if image_id % 2 == 0 else "odd")
        folder.mkdir(parents=True, exist_ok=True)
        image = np.full((6, 6, 3), image_id, dtype="uint8")
        tf.io.write_file(str(folder / f"{image_id}.png"), tf.io.encode_png(image))
    (root / "odd" / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    return root


def _ids(dataset):
    return sorted(int(x[0, 0, 0]) for batch, _ in dataset for x in batch.numpy())


def test_shards_read_as_the_folder_reads_split_stably(tmp_path, capsys):
    folder = _numbered_folder(tmp_path / "images")
    paths = write_image_tfrecords(str(folder), str(tmp_path / "records"), shards=3)
    out = capsys.readouterr().out
    assert "Skipped 1 of 61 files" in out and "broken.jpg" in out  # reported, not written
    assert "Wrote 60 images of 2 classes to 3 TFRecord files" in out
    assert [os.path.basename(p) for p in paths] == [
        f"data-0000{i}-of-00003.tfrecord" for i in range(3)]
    pattern = str(tmp_path / "records" / "*.tfrecord")
    train, val, test, names = tlk.image_dataset(pattern, image_size=6, validation_split=0.2,
                                                test_split=0.2, batch_size=8)
    assert "Reading 3 TFRecord file(s) of 2 classes" in capsys.readouterr().out
    assert names == ["even", "odd"]
    parts = [_ids(d) for d in (train, val, test)]
    assert sorted(sum(parts, [])) == list(range(60))  # each record on one side
    assert all(parts) and not set(parts[0]) & set(parts[1]) | set(parts[0]) & set(parts[2])
    labels = {int(x[0, 0, 0]): int(y) for batch, ys in val for x, y in zip(batch.numpy(),
                                                                             ys.numpy())}
    assert all(label == image_id % 2 for image_id, label in labels.items())
    again = tlk.image_dataset(pattern, image_size=6, validation_split=0.2, test_split=0.2)
    assert _ids(again[2]) == parts[2]  # the same split every time
    # Pixels as the folder pipeline gives them (same decode and resize).
    folder_train, _, _ = tlk.image_dataset(str(folder), image_size=4, validation_split=0,
                                           shuffle=False, verbose=0)
    record_train, _, _ = tlk.image_dataset(pattern, image_size=4, validation_split=0,
                                           verbose=0)
    by_id = {int(x[0, 0, 0]): x for batch, _ in record_train for x in batch.numpy()}
    for batch, _ in folder_train:
        for x in batch.numpy():
            np.testing.assert_array_equal(by_id[int(x[0, 0, 0])], x)


def test_class_names_come_from_the_records_without_labels_txt(tmp_path, capsys):
    write_image_tfrecords(str(_numbered_folder(tmp_path / "images", 8)),
                          str(tmp_path / "records"), shards=2, verbose=0)
    os.remove(tmp_path / "records" / "labels.txt")
    _, _, names = tlk.image_dataset(str(tmp_path / "records" / "*.tfrecord"), image_size=6,
                                    validation_split=0)
    assert names == ["even", "odd"]
    assert "reading the class names from the records" in capsys.readouterr().out
    with pytest.raises(ValueError, match="No TFRecord file matches the pattern"):
        tlk.image_dataset(str(tmp_path / "nowhere" / "*.tfrecord"), image_size=6)


@pytest.mark.slow
def test_the_cli_writes_shards_and_trains_on_them(tmp_path, capsys):
    from tests.test_cli import _write_image_folders

    data = _write_image_folders(tmp_path / "colours", per_class=8)
    assert main(["to-tfrecord", str(data), str(tmp_path / "records"), "--shards", "2"]) == 0
    assert "Wrote 16 images of 2 classes to 2 TFRecord files" in capsys.readouterr().out
    status = main(["train", "--data", str(tmp_path / "records" / "*.tfrecord"), "--base",
                   "mobilenet_v3_small", "--weights", "none", "--image-size", "32",
                   "--epochs", "1", "--fine-tune-epochs", "0", "--validation-split", "0.25",
                   "--export", str(tmp_path / "out")])
    assert status == 0, capsys.readouterr().err
    assert tlk.list_models(str(tmp_path / "out").rsplit("/", 1)[0])
    assert os.path.isdir(tmp_path / "out" / "1")
