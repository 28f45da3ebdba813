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
    from_folder = tlk.image_dataset(str(folder), image_size=6, validation_split=0.2,
                                    test_split=0.2, verbose=0)
    assert [_ids(d) for d in from_folder[:3]] == parts  # the folder's sides exactly
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
    from tests.fixtures.images import write_image_folders

    data = write_image_folders(tmp_path / "colours", per_class=8)
    assert main(["to-tfrecord", str(data), str(tmp_path / "records"), "--shards", "2"]) == 0
    assert "Wrote 16 images of 2 classes to 2 TFRecord files" in capsys.readouterr().out
    status = main(["train", "--data", str(tmp_path / "records" / "*.tfrecord"), "--base",
                   "mobilenet_v3_small", "--weights", "none", "--image-size", "32",
                   "--epochs", "1", "--fine-tune-epochs", "0", "--validation-split", "0.25",
                   "--export", str(tmp_path / "out")])
    assert status == 0, capsys.readouterr().err
    assert tlk.list_models(str(tmp_path / "out").rsplit("/", 1)[0])
    assert os.path.isdir(tmp_path / "out" / "1")


# === Texts ===

def _review_table(path, count=40):
    rows = ["text\tlabel"] + [f"review number {i} {'good' if i % 2 else 'bad'}\t"
                              f"{'pos' if i % 2 else 'neg'}" for i in range(count)]
    rows.append("\tpos")  # an empty text: skipped and reported by the reader
    path.write_text("\n".join(rows) + "\n")
    return path


def _texts(dataset):
    return sorted(t.decode() for batch, _ in dataset for t in batch.numpy())


def test_text_shards_read_as_the_table_reads(tmp_path, capsys):
    from tl_keras.data.text_tfrecords import write_text_tfrecords

    table = _review_table(tmp_path / "reviews.tsv")
    paths = write_text_tfrecords(str(table), str(tmp_path / "records"), shards=2)
    out = capsys.readouterr().out
    assert "Skipped 1 of 41 rows" in out and "Wrote 40 texts of 2 classes to 2" in out
    assert len(paths) == 2
    pattern = str(tmp_path / "records" / "*.tfrecord")
    train, val, test, names = tlk.text_dataset(pattern, validation_split=0.25,
                                               test_split=0.25, batch_size=8)
    assert names == ["neg", "pos"]  # from labels.txt, as the table names them
    parts = [_texts(d) for d in (train, val, test)]
    assert sorted(sum(parts, [])) == sorted(f"review number {i} {'good' if i % 2 else 'bad'}"
                                            for i in range(40))
    assert all(parts)
    table_sides = tlk.text_dataset(str(table), validation_split=0.25, test_split=0.25,
                                   verbose=0)
    assert [_texts(d) for d in table_sides[:3]] == parts  # the table's sides exactly
    for batch, labels in val:
        for text, label in zip(batch.numpy(), labels.numpy()):
            assert names[label] == ("pos" if text.decode().endswith("good") else "neg")
    assert _texts(tlk.text_dataset(pattern, validation_split=0.25, test_split=0.25,
                                   verbose=0)[2]) == parts[2]  # the same split every time


def test_text_shards_with_name_labels_and_other_columns(tmp_path):
    from tl_keras.data.tfrecords import bytes_feature
    from tl_keras.data.tfrecords import write_shards

    examples = ({"review": bytes_feature(f"text {i}".encode()),
                 "sentiment": bytes_feature(b"10" if i % 3 else b"9")} for i in range(30))
    write_shards(examples, str(tmp_path / "tfds_like"), 2, class_names=[])
    pattern = str(tmp_path / "tfds_like" / "*.tfrecord")
    with pytest.raises(ValueError, match=r"text_column.*'review': 'bytes'.*Received: "
                                         r"text_column='text'"):
        tlk.text_dataset(pattern)
    train, val, names = tlk.text_dataset(pattern, text_column="review",
                                         label_column="sentiment", verbose=0)
    assert names == ["9", "10"]  # names found in the records, numbers in numeric order
    labels = {t.decode(): int(y) for batch, ys in train for t, y in zip(batch.numpy(),
                                                                         ys.numpy())}
    assert all(labels[f"text {i}"] == (1 if i % 3 else 0) for i in range(30)
               if f"text {i}" in labels)


@pytest.mark.slow
def test_train_text_reads_text_shards_written_by_the_command(tmp_path, capsys):
    from tests.fixtures.text import word_vectors
    from tests.fixtures.text import write_glove

    table = _review_table(tmp_path / "reviews.tsv", count=60)
    assert main(["to-tfrecord", "--text", str(table), str(tmp_path / "records")]) == 0
    assert "Wrote 60 texts of 2 classes to 4 TFRecord files" in capsys.readouterr().out
    vectors = write_glove(tmp_path / "vectors.txt", word_vectors())
    status = main(["train-text", "--data", str(tmp_path / "records" / "*.tfrecord"),
                   "--vectors", vectors, "--epochs", "2", "--export", str(tmp_path / "out")])
    assert status == 0, capsys.readouterr().err
    assert os.path.isdir(tmp_path / "out" / "1")
