"""Transfer without labels: embeddings, duplicates, leaks, clusters, outliers, search."""

import os
import shutil

import numpy as np
import pytest

import tl_keras as tlk
from tests.fixtures.collections import blobs
from tests.fixtures.collections import edited
from tests.fixtures.collections import pattern
from tests.fixtures.collections import write_jpeg
from tests.fixtures.text import WORDS
from tests.fixtures.text import word_vectors
from tl_keras.data.image_files import load_images

SIZE = 64  # MobileNetV2 at 32 px ends in a 1x1 map: a crop moves all of it


@pytest.fixture(scope="module")
def base():
    """The default base (weights=None offline; seeded, so its features are the
    same every run)."""
    import keras

    keras.utils.set_random_seed(0)
    return tlk.load_base("mobilenet_v2", weights=None, input_shape=(SIZE, SIZE, 3))


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """40 distinct images in two class folders, 4 of them with an edited copy
    (resized to 80%, re-saved at JPEG quality 50) and one copied byte for
    byte; the planted pairs by file name."""
    root = tmp_path_factory.mktemp("collection") / "photos"
    planted = []
    for i in range(40):
        name = f"{'ab'[i % 2]}/{i:02d}.jpg"
        write_jpeg(str(root / name), pattern(i))
        if i in (3, 10, 17, 24):
            copy = f"{'ab'[i % 2]}/{i:02d}_edited.jpg"
            write_jpeg(str(root / copy), edited(pattern(i), seed=i, brighter=False))
            planted.append((name, copy))
    shutil.copy(root / "a/30.jpg", root / "b/30_copy.jpg")
    planted.append(("a/30.jpg", "b/30_copy.jpg"))
    return str(root), planted


def _relative(root, pairs):
    return {tuple(sorted(os.path.relpath(p, root) for p in pair[:2])) for pair in pairs}


# === embed ===

@pytest.mark.compat
def test_embed_a_folder_gives_the_model_s_features_with_paths_and_classes(base, photos):
    root, _ = photos
    emb = tlk.embed(base, root, verbose=0)
    assert emb.class_names == ["a", "b"]
    assert len(emb) == 45 and emb.ids[0] == os.path.join(root, "a", "00.jpg")
    assert emb.label_names()[emb.ids.index(os.path.join(root, "b", "30_copy.jpg"))] == "b"
    expected = tlk.extract_features(base, load_images(emb.ids[:5], (SIZE, SIZE)), verbose=0)
    np.testing.assert_allclose(emb.vectors[:5], expected, rtol=1e-4, atol=1e-5)
    assert emb.base["name"] == "mobilenet_v2" and emb.dimension == 1280


def test_embed_arrays_texts_and_a_flat_folder_and_saved_anywhere(base, photos, tmp_path):
    images = load_images([os.path.join(photos[0], "a", "00.jpg")] * 3, (SIZE, SIZE))
    emb = tlk.embed(base, images, verbose=0)
    assert emb.ids == [0, 1, 2] and emb.labels is None
    flat = tmp_path / "flat"
    shutil.copytree(os.path.join(photos[0], "a"), flat)
    assert tlk.embed(base, str(flat), verbose=0).labels is None
    path = "ram://tl_keras_tests/emb.npz"
    emb.save(path)
    loaded = tlk.Embeddings.load(path)
    np.testing.assert_array_equal(loaded.vectors, emb.vectors)
    assert loaded.ids == emb.ids and loaded.base == emb.base

    texts = ["good movie", "bad plot", "great fun"]
    model = tlk.build_text_model((WORDS, word_vectors()), 2, texts=texts, sequence_length=6)
    sentences = tlk.embed(model, texts, verbose=0)
    assert sentences.ids == texts and len(sentences.vectors) == 3


def test_embed_names_the_files_it_skips_and_refuses_what_it_cannot_read(base, tmp_path,
                                                                        caplog):
    folder = tmp_path / "mixed"
    write_jpeg(str(folder / "good.jpg"), pattern(0))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    with caplog.at_level("INFO", logger="tl_keras"):
        emb = tlk.embed(base, str(folder))
    assert len(emb) == 1 and "broken.jpg" in caplog.text
    with pytest.raises(ValueError, match="No such file or folder"):
        tlk.embed(base, str(tmp_path / "nope"), verbose=0)
    with pytest.raises(ValueError, match="Expected a folder, a list of image files"):
        tlk.embed(base, [1, 2], verbose=0)
    with pytest.raises(ValueError, match="Expected one id per vector"):
        tlk.Embeddings(np.ones((2, 3)), ids=[0])


def test_embed_tfrecords_keeps_each_record_s_name_and_class_and_names_what_it_lost(
        base, photos, tmp_path, caplog):
    import tensorflow as tf

    from tl_keras.data.tfrecords import bytes_feature
    from tl_keras.data.tfrecords import int64_feature
    from tl_keras.data.tfrecords import write_image_tfrecords

    root, _ = photos
    write_image_tfrecords(root, str(tmp_path / "shards"), shards=2, verbose=0)
    emb = tlk.embed(base, str(tmp_path / "shards" / "*.tfrecord"), verbose=0)
    folder = tlk.embed(base, root, verbose=0)
    by_name = {os.path.relpath(p, root): v for p, v in zip(folder.ids, folder.vectors)}
    assert sorted(emb.ids) == sorted(by_name) and emb.class_names == ["a", "b"]
    for name, vector, label in zip(emb.ids, emb.vectors, emb.label_names()):
        np.testing.assert_allclose(vector, by_name[name], rtol=1e-4, atol=1e-5)
        assert label == name.split("/")[0]
    # A record whose bytes are not an image: dropped, named, no other id moved.
    good = tf.io.read_file(os.path.join(root, "a", "00.jpg")).numpy()
    with tf.io.TFRecordWriter(str(tmp_path / "mixed.tfrecord")) as writer:
        for name, data in (("first.jpg", good), ("broken.jpg", b"\xff\xd8garbage"),
                           ("last.jpg", good)):
            example = tf.train.Example(features=tf.train.Features(feature={
                "image/encoded": bytes_feature(data), "image/class/label": int64_feature(0),
                "image/filename": bytes_feature(name.encode())}))
            writer.write(example.SerializeToString())
    with caplog.at_level("INFO", logger="tl_keras"):
        mixed = tlk.embed(base, str(tmp_path / "mixed.tfrecord"))
    assert mixed.ids == ["first.jpg", "last.jpg"]
    assert "Skipped 1 of 3 images that failed to decode: broken.jpg" in caplog.text
    np.testing.assert_allclose(mixed.vectors[1], by_name["a/00.jpg"], rtol=1e-4, atol=1e-5)


# === find_duplicates and audit_splits ===

def test_find_duplicates_finds_the_planted_copies_and_nothing_else(base, photos):
    root, planted = photos
    report = tlk.find_duplicates(root, base=base, weights=None, verbose=0)
    assert _relative(root, report.pairs) == {tuple(sorted(p)) for p in planted}
    assert all(len(group) == 2 for group in report.groups) and len(report.groups) == 5
    assert _relative(root, [g for g in report.identical]) == {("a/30.jpg", "b/30_copy.jpg")}
    assert 0 < report.threshold < 1


def test_byte_identical_files_are_found_whatever_the_threshold(base, photos):
    root, _ = photos
    report = tlk.find_duplicates(tlk.embed(base, root, verbose=0), threshold=1.0, verbose=0)
    assert _relative(root, report.pairs) == {("a/30.jpg", "b/30_copy.jpg")}
    with pytest.raises(ValueError, match="Received: threshold=2"):
        tlk.find_duplicates(root, base=base, threshold=2, verbose=0)


def test_audit_splits_reports_a_planted_leak_and_a_conflict(base, tmp_path):
    train, validation = tmp_path / "train", tmp_path / "validation"
    for i in range(24):
        write_jpeg(str(train / "ab"[i % 2] / f"{i}.jpg"), pattern(i))
    for i in range(24, 36):
        write_jpeg(str(validation / "ab"[i % 2] / f"{i}.jpg"), pattern(i))
    # 4 is in train/a: a copy in validation leaks; 6 is in train/a: a copy in b conflicts.
    write_jpeg(str(validation / "a" / "leak.jpg"), edited(pattern(4), 1, brighter=False))
    write_jpeg(str(train / "b" / "conflict.jpg"), edited(pattern(6), 2, brighter=False))
    audit = tlk.audit_splits(str(train), str(validation), base=base, verbose=0)
    assert [(os.path.relpath(a, tmp_path), os.path.relpath(b, tmp_path))
            for a, b, _ in audit.leaks] == [("train/a/4.jpg", "validation/a/leak.jpg")]
    assert [(os.path.basename(a), ca, os.path.basename(b), cb)
            for a, ca, b, cb, _ in audit.conflicts] == [("6.jpg", "a", "conflict.jpg", "b")]
    assert audit.counts == {"train": 25, "validation": 13}


# === cluster ===

def test_cluster_chooses_k_and_recovers_the_groups():
    vectors, truth = blobs()
    emb = tlk.Embeddings(vectors, ids=[f"item{i}" for i in range(len(vectors))])
    report = tlk.cluster(emb, verbose=0)
    assert report.chosen == "eigengap" and report.k == 3
    assert report.sizes == [60, 50, 40]  # numbered by size, as the blobs are
    np.testing.assert_array_equal(report.labels, truth)
    assert all(truth[int(example[0][4:])] == c for c, example in enumerate(report.examples))
    assert report.members(2) == [f"item{i}" for i in range(110, 150)]
    assert tlk.cluster(emb, k=2, verbose=0).k == 2
    with pytest.raises(ValueError, match="Received: k=1"):
        tlk.cluster(emb, k=1, verbose=0)


def test_cluster_does_better_than_k_means_on_groups_that_are_not_round():
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    rng = np.random.default_rng(0)
    angle = rng.uniform(0, np.pi, 200)
    moons = np.concatenate([np.c_[np.cos(angle), np.sin(angle)],
                            np.c_[1 - np.cos(angle), 0.5 - np.sin(angle)]])
    moons += rng.normal(scale=0.05, size=moons.shape)
    truth = np.repeat([0, 1], 200)
    # Cosine graphs see directions: the moons, lifted off the origin.
    vectors = np.c_[moons, np.full(400, 3.0)]
    report = tlk.cluster(tlk.Embeddings(vectors, ids=range(400)), k=2, verbose=0)
    plain = KMeans(2, n_init=10, random_state=0).fit_predict(vectors)
    assert adjusted_rand_score(truth, report.labels) > 0.9 > adjusted_rand_score(truth, plain)


# === find_outliers ===

def test_a_group_of_intruders_ranks_first_where_a_near_neighbour_score_misses_it():
    rng = np.random.default_rng(0)
    bulk = rng.normal(size=(400, 64)) + 4  # a diffuse collection
    group = rng.normal(size=(15, 64)) * 0.05 + rng.normal(size=64) * 3  # tight, elsewhere
    singles = rng.normal(size=(5, 64)) * 4
    vectors = np.concatenate([bulk, group, singles])
    report = tlk.find_outliers(tlk.Embeddings(vectors, ids=range(420)), verbose=0)
    assert set(report.ids[:20]) == set(range(400, 420))
    assert np.all(np.diff(report.scores) <= 0)
    # What a 5-nearest-neighbour distance makes of the same data: the group hides.
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)
    knn = 1 - np.sort(similarity, axis=1)[:, -5]
    assert len(set(np.argsort(-knn)[:20]) & set(range(400, 415))) < 5
    with pytest.raises(ValueError, match="Received: group_fraction=0.7"):
        tlk.find_outliers(tlk.Embeddings(vectors, ids=range(420)), group_fraction=0.7)


# === SimilarityIndex ===

def test_similarity_search_finds_the_edited_copy_first(base, photos):
    root, planted = photos
    emb = tlk.embed(base, root, verbose=0)
    index = tlk.SimilarityIndex(emb)
    originals = [os.path.join(root, a) for a, _ in planted[:4]]
    queries = emb.subset([emb.ids.index(p) for p in originals])
    ids, scores = index.search(queries, k=2)
    assert ids.shape == scores.shape == (4, 2)
    assert list(ids[:, 0]) == originals  # itself, then its copy
    assert [os.path.relpath(i, root) for i in ids[:, 1]] == [b for _, b in planted[:4]]
    assert np.all(scores[:, 0] >= scores[:, 1])
    with pytest.raises(ValueError, match="from the same base"):
        index.search(np.ones((1, 7)), k=1)
    with pytest.raises(ValueError, match=r"Expected `k` in \[1, 45\]"):
        index.search(queries, k=46)


# === propagate_labels ===

def test_a_few_labels_spread_at_least_as_well_as_a_head_on_them_alone():
    from sklearn.linear_model import LogisticRegression

    # Two elongated groups: a head on two labels a class cuts across them.
    rng = np.random.default_rng(1)
    stretch = np.r_[8.0, np.full(15, 0.4)]
    apart = np.r_[0, 2.5, np.zeros(14)]
    vectors = np.concatenate([rng.normal(size=(150, 16)) * stretch + apart,
                              rng.normal(size=(150, 16)) * stretch - apart])
    vectors += np.r_[0, 0, 6.0, np.zeros(13)]  # off the origin: cosine sees the groups
    truth = np.repeat([0, 1], 150)
    few = np.full(300, -1)
    chosen = [0, 1, 2, 150, 151, 152]
    few[chosen] = truth[chosen]
    emb = tlk.Embeddings(vectors, ids=range(300))
    report = tlk.propagate_labels(emb, few, verbose=0)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    head = LogisticRegression(C=10.0, max_iter=2000).fit(unit[chosen], truth[chosen])
    unknown = few < 0
    ours = np.mean(report.labels[unknown] == truth[unknown])
    alone = np.mean(head.predict(unit[unknown]) == truth[unknown])
    assert ours >= alone and ours > 0.9
    assert set(report.scores) == {"ensemble", "head", "spreading", "clusters"}
    assert report.method == "ensemble"  # not clearly below the head
    np.testing.assert_array_equal(report.labels[chosen], truth[chosen])  # known kept
    assert np.all(report.confidence[chosen] == 1.0) and np.all(report.confidence <= 1.0)


def test_the_head_is_used_when_the_groups_do_not_follow_the_classes():
    # Two far-apart groups; the classes cut across both (a weak axis, in noise).
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(200, 16))
    vectors[:, 0] += np.repeat([6.0, -6.0], 100)
    vectors[:, 1] += np.tile(np.repeat([1.0, -1.0], 50), 2)
    vectors[:, 2] += 10.0
    truth = np.tile(np.repeat([0, 1], 50), 2)
    few = np.full(200, -1)
    chosen = rng.choice(200, 60, replace=False)
    few[chosen] = truth[chosen]
    emb = tlk.Embeddings(vectors, ids=range(200))
    report = tlk.propagate_labels(emb, few, verbose=0)
    assert report.scores["ensemble"] < report.scores["head"] - 0.1
    assert report.method == "head"
    ensemble = tlk.propagate_labels(emb, few, method="ensemble", verbose=0)
    assert np.mean(report.labels == truth) > np.mean(ensemble.labels == truth) + 0.05


def test_propagate_labels_refuses_labels_it_cannot_use():
    emb = tlk.Embeddings(np.random.default_rng(0).normal(size=(10, 4)), ids=range(10))
    with pytest.raises(ValueError, match="at least two classes"):
        tlk.propagate_labels(emb, np.r_[[0, 0], np.full(8, -1)], verbose=0)
    with pytest.raises(ValueError, match="aligned with the items"):
        tlk.propagate_labels(emb, np.zeros(3, dtype=int), verbose=0)
    with pytest.raises(ValueError, match="at least 2 known items of each class"):
        tlk.propagate_labels(emb, np.r_[[0, 0, 1], np.full(7, -1)], verbose=0)
    with pytest.raises(ValueError, match="Unknown method"):
        tlk.propagate_labels(emb, np.r_[[0, 1], np.full(8, -1)], method="magic")


@pytest.mark.slow  # exports, then loads it in a subprocess
@pytest.mark.compat  # ExportArchive tracking a tf.Module, in every corner of the window
def test_the_similarity_export_serves_the_same_top_k_without_keras(base, photos, tmp_path):
    from tl_keras.export.check import run_keras_free

    root, planted = photos
    emb = tlk.embed(base, root, verbose=0)
    index = tlk.SimilarityIndex(emb)
    path = tlk.export_similarity(index, base, str(tmp_path / "similar"), k=3, verbose=0)
    assert path.endswith(os.path.join("similar", "1"))
    files = [os.path.join(root, a) for a, _ in planted[:3]]
    images = load_images(files, (SIZE, SIZE))
    np.save(tmp_path / "images.npy", images)
    work = tmp_path / "probe"
    work.mkdir()
    served = run_keras_free(path, {
        "serving_default": {"images": ("npy", str(tmp_path / "images.npy"))},
        "serving_bytes": {"image_bytes": ("bytes_files", files)}}, str(work))
    assert served["imported"] == []  # no keras, tl_keras, tf_keras or tensorflow_hub
    ids, scores = index.search(emb.subset([emb.ids.index(f) for f in files]), k=3)
    assert served["outputs"]["serving_default"]["ids"] == ids.tolist()
    np.testing.assert_allclose(served["outputs"]["serving_default"]["scores"], scores,
                               atol=1e-4)
    # From the JPEG bytes, decoded and resized in the graph: the same neighbours.
    assert [row[:2] for row in served["outputs"]["serving_bytes"]["ids"]] == \
        [row[:2] for row in ids.tolist()]
    report = tlk.check_export(path, verbose=False)
    assert report.ok, str(report)
    with pytest.raises(ValueError, match="pass the base that embedded them"):
        tlk.export_similarity(index, tlk.load_base("mobilenet", weights=None, alpha=0.25,
                                                   input_shape=(SIZE, SIZE, 3)),
                              str(tmp_path / "other"), verbose=0)


# === The approximate index (faiss) ===

def _planted_pairs(count=3000, dimension=64, pairs=40, seed=0):
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(count, dimension)).astype("float32")
    sources = rng.choice(count, pairs, replace=False)
    copies = vectors[sources] + rng.normal(scale=0.1, size=(pairs, dimension))
    truth = {(int(s), count + i) for i, s in enumerate(sources)}
    return np.concatenate([vectors, copies]).astype("float32"), truth


def test_approximate_search_finds_what_exact_search_finds():
    pytest.importorskip("faiss", reason="the faiss extra (make install has it)")
    vectors, truth = _planted_pairs()
    emb = tlk.Embeddings(vectors, ids=range(len(vectors)))
    exact = tlk.find_duplicates(emb, search="exact", verbose=0)
    approximate = tlk.find_duplicates(emb, search="approximate", verbose=0)
    assert approximate.search == "approximate" and exact.search == "exact"
    assert {tuple(sorted(p[:2])) for p in exact.pairs} == truth
    assert {tuple(sorted(p[:2])) for p in approximate.pairs} == truth
    assert approximate.threshold == pytest.approx(exact.threshold, abs=1e-4)
    queries = emb.subset(range(100))
    exact_ids, _ = tlk.SimilarityIndex(emb).search(queries, k=10)
    approximate_ids, _ = tlk.SimilarityIndex(emb, approximate=True).search(queries, k=10)
    recall = np.mean([len(set(a) & set(b)) / 10
                      for a, b in zip(exact_ids.tolist(), approximate_ids.tolist())])
    assert recall > 0.9 and list(approximate_ids[:, 0]) == list(range(100))


def test_without_faiss_the_approximate_search_names_the_extra(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_faiss(name, *args, **kwargs):
        if name == "faiss":
            raise ImportError("No module named 'faiss'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_faiss)
    emb = tlk.Embeddings(np.random.default_rng(0).normal(size=(30, 8)), ids=range(30))
    with pytest.raises(ImportError, match=r"pip install 'tl_keras\[faiss\]'"):
        tlk.find_duplicates(emb, search="approximate", verbose=0)
    assert tlk.find_duplicates(emb, verbose=0).search == "exact"  # auto: exact here
    with pytest.raises(ValueError, match="Received: search='fast'"):
        tlk.find_duplicates(emb, search="fast", verbose=0)
