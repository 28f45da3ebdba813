"""Word vectors, text models, text datasets and their export."""

import gzip
import json
import struct

import keras
import numpy as np
import pytest
import tensorflow as tf

import tl_keras as tlk
from tests.fixtures.hub import write_text_embedding
from tests.fixtures.images import weights_by_path
from tests.fixtures.keras_free import serve_without_keras
from tests.fixtures.text import WORDS
from tests.fixtures.text import sentiment_texts
from tests.fixtures.text import word_vectors
from tests.fixtures.text import write_glove
from tl_keras.cli import main


def _write_word2vec_text(path, vectors):
    with open(path, "w") as f:
        f.write(f"{len(WORDS)} {vectors.shape[1]}\n")
        for word, vector in zip(WORDS, vectors):
            f.write(word + " " + " ".join(f"{v:.6f}" for v in vector) + "\n")
    return str(path)


def _write_word2vec_binary(path, vectors, opener=open):
    with opener(path, "wb") as f:
        f.write(f"{len(WORDS)} {vectors.shape[1]}\n".encode())
        for word, vector in zip(WORDS, vectors):
            f.write(word.encode() + b" " + struct.pack(f"<{len(vector)}f", *vector) + b"\n")
    return str(path)


@pytest.mark.parametrize("writer,suffix,fmt", [
    (write_glove, "glove.txt", "glove"),
    (_write_word2vec_text, "w2v.txt", "word2vec"),
    (_write_word2vec_binary, "w2v.bin", "word2vec_binary"),
    (lambda p, v: _write_word2vec_binary(p, v, gzip.open), "w2v.bin.gz", "word2vec_binary"),
])
def test_each_vectors_format(tmp_path, writer, suffix, fmt):
    vectors = word_vectors()
    path = writer(tmp_path / suffix, vectors)
    from tl_keras.models.vectors import detect_format
    assert detect_format(path) == fmt
    words, loaded = tlk.load_word_vectors(path)
    assert words == WORDS and loaded.dtype == np.float32
    np.testing.assert_allclose(loaded, vectors, atol=1e-5)
    words, loaded = tlk.load_word_vectors(path, limit=3)
    assert words == WORDS[:3] and loaded.shape == (3, 6)


def test_glove_gz_and_bad_files(tmp_path):
    vectors = word_vectors()
    text = "".join(w + " " + " ".join(map(str, v)) + "\n" for w, v in zip(WORDS, vectors))
    with gzip.open(tmp_path / "g.txt.gz", "wt") as f:
        f.write(text)
    assert tlk.load_word_vectors(str(tmp_path / "g.txt.gz"))[0] == WORDS
    lines = text.splitlines()
    lines[4] = lines[4].rsplit(" ", 1)[0]  # line 5 loses a value
    (tmp_path / "bad.txt").write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"line 5 has 5 values where the file's vectors "
                                         r"have 6"):
        tlk.load_word_vectors(str(tmp_path / "bad.txt"))
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(ValueError, match="empty"):
        tlk.load_word_vectors(str(tmp_path / "empty.txt"))


def test_alignment_and_coverage(tmp_path):
    vectors = word_vectors()
    texts = ["Good movie!", "awful plot", "a great movie", "zzz qqq bad"]
    model = tlk.build_text_model((WORDS, vectors), 2, texts=texts, sequence_length=8)
    vocabulary = model.vectorizer.get_vocabulary()
    matrix = model.base.embeddings.numpy()
    row = vocabulary.index("movie")
    np.testing.assert_allclose(matrix[row], vectors[WORDS.index("movie")])  # a known word
    np.testing.assert_array_equal(matrix[0], 0.0)  # padding
    np.testing.assert_allclose(matrix[1], vectors.mean(axis=0), rtol=1e-5)  # [UNK]
    coverage = model.vocabulary_coverage
    # vocabulary: good movie awful plot a great zzz qqq bad -> 6 of 9 have vectors
    assert coverage["vocabulary"] == 9 and coverage["found"] == 6
    assert coverage["types"] == pytest.approx(6 / 9)
    assert coverage["tokens"] == pytest.approx(7 / 10)  # 10 tokens ("movie" twice), 7 with one


@pytest.mark.compat
@pytest.mark.slow
def test_two_phases_freeze_then_unfreeze_the_embedding():
    texts, labels = sentiment_texts()
    model = tlk.build_text_model((WORDS, word_vectors()), 2, texts=texts, sequence_length=6)
    embedding = model.base
    assert tlk.get_base(model) is embedding and not embedding.trainable
    start = embedding.embeddings.numpy().copy()
    snapshots = []

    class Snap(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            snapshots.append(embedding.embeddings.numpy().copy())

    history = tlk.fit_two_phase(model, (texts, labels), (texts, labels), epochs=10,
                                fine_tune_epochs=2, learning_rate=1e-2,
                                callbacks=[Snap()], verbose=0,
                                fine_tuning=tlk.FineTuning(learning_rate=1e-2,
                                                           schedule="constant"))
    np.testing.assert_array_equal(snapshots[1], start)  # phase 1: frozen
    assert not np.array_equal(embedding.embeddings.numpy(), start)  # phase 2: tuned
    assert history.fine_tune_epoch == 10
    assert history.history["val_accuracy"][-1] >= 0.9


@pytest.mark.slow
def test_words_without_a_vector_learn_in_phase_1_while_pretrained_rows_stay(tmp_path):
    texts, labels = sentiment_texts()
    texts = np.array([t + (" superb" if y else " dreadful") for t, y in zip(texts, labels)])
    model = tlk.build_text_model((WORDS, word_vectors()), 2, texts=texts, sequence_length=6,
                                 verbose=0)
    vocab = model.vectorizer.get_vocabulary()
    new, known = vocab.index("superb"), vocab.index("good")
    pretrained = model.base.embeddings.numpy().copy()
    assert not pretrained[new].any() and pretrained[known].any()
    learned_start = model.new_words.embeddings.numpy().copy()
    at_phase_2 = []

    class Snap(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            at_phase_2[:] = [model.base.embeddings.numpy().copy(),
                             model.new_words.embeddings.numpy().copy()]

    tlk.fit_two_phase(model, (texts, labels), (texts, labels), epochs=3, fine_tune_epochs=1,
                      learning_rate=1e-2, callbacks=[Snap()], verbose=0)
    base_then, learned_then = at_phase_2
    np.testing.assert_array_equal(base_then, pretrained)  # phase 1: pre-trained rows frozen
    assert not np.array_equal(learned_then[new], learned_start[new])  # new words learned
    assert not learned_then[known].any()  # and only them
    assert not np.array_equal(model.base.embeddings.numpy()[known], pretrained[known])
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(tf.constant(texts[:4]), verbose=0),
                               model.predict(tf.constant(texts[:4]), verbose=0), rtol=1e-5)


@pytest.mark.slow
def test_bilstm_encoder_trains_through_the_model(capsys):
    texts, labels = sentiment_texts(32)
    model = tlk.build_text_model((WORDS, word_vectors()), 2, texts=texts, sequence_length=6,
                                 encoder="bilstm", learn_new_words=False)
    assert model.encoder.count_params() > 0
    tlk.fit_two_phase(model, (texts, labels), epochs=2, fine_tune_epochs=0, verbose=1)
    # The encoder trains in phase 1, so its output cannot be cached.
    assert "Feature cache off (layers before the head have trainable weights" in \
        capsys.readouterr().out
    with pytest.raises(ValueError, match="Unknown encoder.*Received: encoder='gru'"):
        tlk.build_text_model((WORDS, word_vectors()), 2, texts=texts, encoder="gru")


@pytest.mark.compat
@pytest.mark.slow
def test_text_export_runs_without_keras(tmp_path):
    texts, labels = sentiment_texts()
    model = tlk.build_text_model((WORDS, word_vectors()), 2, texts=texts, sequence_length=6,
                                 encoder="conv")
    tlk.fit_two_phase(model, (texts, labels), epochs=2, fine_tune_epochs=0, verbose=0)
    path = tlk.export_saved_model(model, str(tmp_path / "reviews"), class_names=["neg", "pos"])
    samples = ["good great movie", "awful bad plot", "never seen words"]
    served = serve_without_keras(path, samples, str(tmp_path))
    expected = model.predict(tf.constant(samples), verbose=0)
    np.testing.assert_allclose(served["probabilities"], expected, rtol=1e-4, atol=1e-6)
    assert served["classes"][0][0] == ("pos" if expected[0, 1] > 0.5 else "neg")
    # The export is the base of a model for another domain: strings in, its
    # features out, frozen in phase 1, its lineage carried on.
    base = tlk.load_base(path)
    assert base.input_shape == (None,) and base.output_shape == (None, 128)
    chained = tlk.build_text_model(base, 3, class_names=["a", "b", "c"])
    frozen = weights_by_path(base)
    tlk.fit_two_phase(chained, (texts, labels % 3), epochs=2, fine_tune_epochs=0, verbose=0)
    assert all(np.array_equal(frozen[k], v) for k, v in weights_by_path(base).items())
    np.testing.assert_allclose(base(tf.constant(samples)),
                               model.feature_model()(tf.constant(samples)), rtol=1e-5)
    assert chained.lineage[0]["name"] == "reviews" and chained.lineage[0]["version"] == 1


def test_tf_hub_text_embedding(tmp_path):
    handle = write_text_embedding(tmp_path / "module" / "nnlm")
    model = tlk.build_text_model(handle, 2, dropout=0.0)
    assert isinstance(tlk.get_base(model), tlk.HubLayer)
    texts = np.array(["good movie", "awful movie", "great", "bad"] * 4)
    labels = np.array([1, 0, 1, 0] * 4)
    history = tlk.fit_two_phase(model, (texts, labels), epochs=2, fine_tune_epochs=1,
                                verbose=0, fine_tuning=tlk.FineTuning(learning_rate=1e-2))
    assert tlk.get_base(model).trainable and len(history.epoch) == 3


def test_text_dataset_csv_folder_and_bad_rows(tmp_path, capsys):
    rows = ["review,sentiment", "good movie,pos", "awful plot,neg", ",pos",
            "great film,", "fine,pos", "bad,neg"] + [f"text {i},{'pos' if i % 2 else 'neg'}"
                                                     for i in range(30)]
    (tmp_path / "r.csv").write_text("\n".join(rows) + "\n", encoding="latin-1")
    train, val, names = tlk.text_dataset(str(tmp_path / "r.csv"), text_column="review",
                                         label_column="sentiment", encoding="latin-1",
                                         batch_size=8)
    out = capsys.readouterr().out
    assert "Skipped 2 of 36 rows of " in out
    assert "  line 4 (missing text)\n  line 5 (missing label)\n" in out
    assert names == ["neg", "pos"]
    count = sum(int(x.shape[0]) for x, _ in train) + sum(int(x.shape[0]) for x, _ in val)
    assert count == 34
    with pytest.raises(ValueError, match=r"no column 'tweet'. Its columns: \['review', "
                                         r"'sentiment'\]"):
        tlk.text_dataset(str(tmp_path / "r.csv"), text_column="review",
                         label_column="tweet", encoding="latin-1")
    for label in ("pos", "neg"):
        (tmp_path / "folder" / label).mkdir(parents=True)
        for i in range(6):
            (tmp_path / "folder" / label / f"{i}.txt").write_text(f"{label} text {i}")
    train, val, names = tlk.text_dataset(str(tmp_path / "folder"), validation_split=0.3)
    assert names == ["neg", "pos"]


def test_text_dataset_reads_headerless_tsv_and_messy_csv(tmp_path, capsys):
    # Like the UCI sentiment sentences: `sentence<TAB>label`, no header, quotes kept.
    lines = [f'Sentence "{i}" was {"good" if i % 2 else "bad"}.  \t{i % 2}'
             for i in range(20)]
    (tmp_path / "reviews.txt").write_text("\n".join(lines) + "\n")
    train, val, names = tlk.text_dataset(str(tmp_path / "reviews.txt"), validation_split=0,
                                         batch_size=32)
    texts, labels = next(iter(train))
    assert names == ["0", "1"] and len(texts) == 20
    assert sorted(t.decode() for t in texts.numpy())[0] == 'Sentence "0" was bad.'
    # Stray empty columns, a header with spaces, a row with bytes that are not
    # UTF-8 and a short row: counted and named, the rest read.
    rows = [b"text , label,,", b"caf\xe9 was fine,pos,,", b"only one field"]
    rows += [f"review {i},{'pos' if i % 2 else 'neg'},,".encode() for i in range(12)]
    (tmp_path / "messy.csv").write_bytes(b"\n".join(rows) + b"\n")
    train, _, names = tlk.text_dataset(str(tmp_path / "messy.csv"), validation_split=0)
    out = capsys.readouterr().out
    assert "Skipped 2 of 14 rows" in out and "line 3 (1 fields)" in out
    assert "line 2 (bytes that are not utf-8; pass encoding='latin-1'" in out
    assert names == ["neg", "pos"] and sum(int(x.shape[0]) for x, _ in train) == 12
    train, _, _ = tlk.text_dataset(str(tmp_path / "messy.csv"), validation_split=0,
                                   encoding="latin-1", verbose=0)
    assert b"caf\xc3\xa9 was fine" in [t for x, _ in train for t in x.numpy()]
    # A header that names other columns is not taken for data.
    (tmp_path / "named.csv").write_text("review,sentiment\n" + "".join(
        f"r {i},{'pos' if i % 2 else 'neg'}\n" for i in range(10)))
    with pytest.raises(ValueError, match=r"looks like a header, without a column 'text'. "
                                         r"Its columns: \['review', 'sentiment'\]"):
        tlk.text_dataset(str(tmp_path / "named.csv"))
    # Issue 34, row 18: the SMS spam file (`v1,v2,,,`: the label first, then the text,
    # then empty columns) skipped 5,567 of 5,573 rows as "missing label", then failed
    # on "6 texts". Now it says the columns at once, as a wrong column name does.
    spam = ["v1,v2,,,"] + [f"{'spam' if i % 5 == 0 else 'ham'},message {i},,," for i in
                           range(30)] + ["ham,a message, with a comma,,"]
    (tmp_path / "spam.csv").write_text("\n".join(spam) + "\n")
    with pytest.raises(ValueError, match=r"32 of 32 rows of spam.csv were unreadable .*"
                                         r"line 1 \(missing label\).*first row, \['v1', "
                                         r"'v2'\], names no column 'text'"):
        tlk.text_dataset(str(tmp_path / "spam.csv"))
    train, _, names = tlk.text_dataset(str(tmp_path / "spam.csv"), text_column="v2",
                                       label_column="v1", validation_split=0, verbose=0)
    assert names == ["ham", "spam"] and sum(int(x.shape[0]) for x, _ in train) == 31


def test_text_dataset_tfds_offline_with_mock_data():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=6):
        train, val, names = tlk.text_dataset("tfds:imdb_reviews", batch_size=3)
        texts, labels = next(iter(train))
    assert names == ["neg", "pos"] and texts.dtype == tf.string


@pytest.mark.compat
@pytest.mark.slow
def test_cli_train_text(tmp_path, capsys):
    texts, labels = sentiment_texts(60)
    lines = ["text,label"] + [f"{t},{'pos' if y else 'neg'}" for t, y in zip(texts, labels)]
    (tmp_path / "reviews.csv").write_text("\n".join(lines) + "\n")
    vectors = write_glove(tmp_path / "glove.txt", word_vectors())
    status = main(["train-text", "--data", str(tmp_path / "reviews.csv"), "--vectors", vectors,
                   "--epochs", "2", "--fine-tune-epochs", "1", "--sequence-length", "6",
                   "--export", str(tmp_path / "out")])
    assert status == 0
    out = capsys.readouterr().out
    assert "Vocabulary coverage" in out
    card = json.loads((tmp_path / "out" / "1" / "model_card.json").read_text())
    assert card["classes"] == ["neg", "pos"] and card["input"]["name"] == "texts"
    # Issue 26 row 16: curves, and a last line with the exported weights' metrics,
    # which the card carries (evaluated, not read from the training log).
    assert (tmp_path / "out" / "1" / "training_curves.png").exists()
    last = out.strip().splitlines()[-1]
    assert last.startswith("Result on the validation data, with the final weights: ")
    assert f"accuracy {card['metrics']['val_accuracy']:.4f}" in last
    # Row 11: predict takes texts (a text per line) for a text model.
    (tmp_path / "q.txt").write_text("good great movie\n\nawful bad plot\n")
    assert main(["predict", str(tmp_path / "out"), str(tmp_path / "q.txt"), "--top", "1"]) == 0
    rows = capsys.readouterr().out.strip().splitlines()
    assert rows[0].endswith("(texts)") and len(rows) == 3
    assert rows[1].startswith("good great movie: ") and rows[2].startswith("awful bad plot: ")
    assert all(row.split(": ")[1].split()[0] in ("neg", "pos") for row in rows[1:])
    # Issue 34, row 5: a JPEG given to a text model was read as 884 lines of texts.
    (tmp_path / "cat.jpg").write_bytes(tf.io.encode_jpeg(tf.zeros([8, 8, 3], "uint8")).numpy())
    assert main(["predict", str(tmp_path / "out"), str(tmp_path / "cat.jpg")]) == 2
    assert "cat.jpg is a JPEG image" in capsys.readouterr().err


@pytest.mark.compat
def test_text_model_round_trip_keeps_its_parts_and_identity(tmp_path):
    texts, labels = sentiment_texts(16)
    model = tlk.build_text_model((WORDS, word_vectors()), 2, texts=texts, sequence_length=6,
                                 class_names=["neg", "pos"], verbose=0)
    assert isinstance(model, tlk.TextClassifier) and model.base.name == "embedding"
    path = str(tmp_path / "text.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded) is tlk.TextClassifier
    assert loaded.class_names == ["neg", "pos"]
    assert loaded.vocabulary_coverage == model.vocabulary_coverage
    assert loaded.vectorizer.get_vocabulary() == model.vectorizer.get_vocabulary()
    samples = tf.constant(["good great movie", "awful bad plot"])
    np.testing.assert_allclose(loaded.predict(samples, verbose=0),
                               model.predict(samples, verbose=0), rtol=1e-5, atol=1e-6)


def test_a_text_model_predicts_lists_and_numpy_strings():
    """Row 3: Keras's predict refuses a list of str ("Unrecognized data type") and a
    NumPy array of str ("Invalid dtype: str96"); a text model takes both."""
    words = ["great", "food", "awful", "service"]
    vectors = np.random.default_rng(0).normal(size=(4, 8)).astype("float32")
    model = tlk.build_text_model((words, vectors), 2, texts=["great food", "awful service"],
                                 encoder="average", verbose=0)
    texts = ["great food", "awful service", "food"]
    expected = model.predict(tf.constant(texts), verbose=0)
    for given in (texts, tuple(texts), np.array(texts), np.array(texts, dtype=object)):
        np.testing.assert_allclose(model.predict(given, verbose=0), expected, rtol=1e-6)
    np.testing.assert_allclose(model.predict_on_batch(np.array(texts)), expected, rtol=1e-6)
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    loss, accuracy = model.evaluate(texts, np.array([0, 1, 0]), verbose=0)
    assert np.isfinite(loss) and 0 <= accuracy <= 1


def test_a_csv_field_over_the_csv_limit_skips_that_row_and_says_so(tmp_path, capsys):
    """Row 8: a 200,000-character field raised `_csv.Error: field larger than field
    limit` (a traceback in the CLI)."""
    path = tmp_path / "reviews.csv"
    path.write_text("review,sentiment\ngreat food,pos\n\"" + "x" * 200_000 + "\",neg\n"
                    "cold soup,neg\nlovely staff,pos\nrude waiter,neg\n", encoding="utf-8")
    train, _, names = tlk.text_dataset(str(path), text_column="review",
                                       label_column="sentiment", validation_split=0)
    texts = [t.decode() for batch, _ in train for t in batch.numpy()]
    assert sorted(texts) == ["cold soup", "great food", "lovely staff", "rude waiter"]
    report = capsys.readouterr().out
    assert "Skipped 1 of 5 rows" in report and "line 3 (field larger than field limit" in report
