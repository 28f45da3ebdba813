"""Text models over pre-trained word vectors or TF Hub text embeddings.

`build_text_model` aligns a vocabulary to the vectors (or takes a TF Hub text
module) and returns a `tl_keras.TextClassifier`: strings in, the embedding as
its frozen base. `fit_two_phase` trains the head first, then unfreezes the
embedding.
"""

import collections
import os
import re

import keras
import numpy as np
import tensorflow as tf

from tl_keras.bases import kerashub
from tl_keras.layers.hub_handles import is_hub_handle
from tl_keras.layers.hub_handles import is_saved_model_dir
from tl_keras.layers.hub_layer import HubLayer
from tl_keras.layers.new_words import NewWordEmbedding
from tl_keras.log import say
from tl_keras.models.heads import check_head_arguments
from tl_keras.models.text_classifier import ENCODERS
from tl_keras.models.text_classifier import TextClassifier
from tl_keras.models.transfer_model import check_class_names
from tl_keras.models.vectors import load_word_vectors

# TextVectorization's "lower_and_strip_punctuation", for counting tokens.
_STRIP = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')
PAD, UNKNOWN = "", "[UNK]"


def build_text_model(embeddings, num_classes, *, texts=None, vocabulary=None,
                     max_tokens=20000, sequence_length=200, encoder="conv",
                     dropout=0.2, activation="softmax", class_names=None,
                     learn_new_words=True, seed=0, verbose="auto"):
    """Builds a text classifier on pre-trained embeddings; strings in.

    With word vectors, the vocabulary (adapted on `texts`, or given) is aligned
    to the vectors: each word's row of the frozen `Embedding` is its
    pre-trained vector. Initialisation of the other rows: padding (index 0) is
    zeros; the out-of-vocabulary token `[UNK]` (index 1) is the mean of all
    pre-trained vectors; a vocabulary word without a pre-trained vector is drawn
    from a normal distribution with the pre-trained vectors' standard deviation
    (seeded by `seed`). With `learn_new_words`, those words' vectors live in a
    trainable `NewWordEmbedding` (`model.new_words`) that learns from phase 1
    on, while the pre-trained rows stay frozen until phase 2. The coverage (the
    share of vocabulary words, and of the tokens of `texts`, that have a
    pre-trained vector) is printed and kept in
    `model.vocabulary_coverage` (and its config).

    Args:
        embeddings: `(words, vectors)` from `tl_keras.load_word_vectors`, the
            path of a vectors file, a TF Hub text-embedding handle (a URL,
            a Kaggle handle or a local module directory) that maps strings to
            vectors, or a text model exported by tl_keras, loaded with
            `tl_keras.load_base` (strings to its features; its lineage goes
            into the new model's card), or a KerasHub text preset (a BERT-family
            preset name, `kaggle://` or `hf://` handle, or preset directory: its
            tokenizer and packer go inside the model, `sequence_length` capped
            at the backbone's).
        num_classes: number of output units.
        texts: training texts to adapt the vocabulary on: strings, or the
            training pipeline of `tl_keras.text_dataset` (its texts are read
            once). Defaults to `None`.
        vocabulary: a list of words to use instead of adapting. Defaults to
            `None`. One of `texts` and `vocabulary` is needed with vectors.
        max_tokens: vocabulary size, padding and `[UNK]` included. Defaults
            to `20000`.
        sequence_length: tokens kept per text. Defaults to `200`.
        encoder: `"conv"` (1-D convolution and max pooling), `"average"`
            (masked mean of the word vectors) or `"bilstm"`. Defaults to
            `"conv"`, the best on real review sentences (see
            `benchmarks/README.md`).
        dropout: dropout before the output layer. Defaults to `0.2`.
        activation: of the output layer. Defaults to `"softmax"`.
        class_names: names of the outputs, in order. Defaults to `None`.
        learn_new_words: train vectors for the words without a pre-trained
            one from the first epoch. Defaults to `True`.
        seed: seed of the initialisation of words without a vector.
            Defaults to `0`.
        verbose: print the coverage line (`0` silences it). Defaults to
            `"auto"`.

    Returns:
        A `tl_keras.TextClassifier` from `texts` (string `[batch]`) to class
        probabilities; the embedding (`model.base`) is frozen.

    Raises:
        ValueError: an unknown encoder, no `texts` nor `vocabulary` for word
            vectors, or head arguments that cannot work.

    Example:

    >>> words, vectors = tl_keras.load_word_vectors("glove.6B.100d.txt")
    >>> model = tl_keras.build_text_model((words, vectors), 2, texts=train_texts)
    Vocabulary coverage: ...% of ... words have a pre-trained vector; ...
    """
    check_head_arguments(num_classes, hidden_units=(), dropout=dropout, pooling="avg",
                         activation=activation)
    check_class_names(class_names, num_classes)
    if encoder not in ENCODERS:
        raise ValueError(f"Unknown encoder. Expected one of {ENCODERS}. "
                         f"Received: encoder={encoder!r}")
    source = os.fspath(embeddings) if isinstance(embeddings, (str, os.PathLike)) else None
    if kerashub.claims_text(embeddings):
        embeddings = kerashub.load_text(embeddings, sequence_length=sequence_length)
    if isinstance(embeddings, keras.Model):  # strings in: an exported text model
        return TextClassifier(embeddings, num_classes, encoder=encoder, dropout=dropout,
                              activation=activation, class_names=class_names)
    if _is_hub(embeddings):
        return TextClassifier(HubLayer(embeddings, name="embedding"), num_classes,
                              encoder=encoder, dropout=dropout, activation=activation,
                              class_names=class_names, embeddings_source=source)
    words, vectors = _vectors(embeddings)
    texts = _texts_of(texts)
    vectorizer = _vectorizer(texts, vocabulary, max_tokens, sequence_length)
    vocab = vectorizer.get_vocabulary()
    matrix, coverage = align_vectors(vocab, words, vectors, texts=texts, seed=seed)
    new_words_layer = None
    if learn_new_words:
        is_new = np.array([row is None and word not in (PAD, UNKNOWN)
                           for word, row in zip(vocab, vector_rows(vocab, words))])
        new_words_layer = NewWordEmbedding(len(vocab), matrix.shape[1], name="new_words")
        new_words_layer.set_new_words(is_new, rows=matrix)
        matrix = matrix * ~is_new[:, None]  # their vectors live in `new_words`
    embedding = keras.layers.Embedding(len(vocab), matrix.shape[1],
                                       mask_zero=encoder != "conv", trainable=False,
                                       name="embedding")
    embedding.build((None, sequence_length))
    embedding.embeddings.assign(matrix)
    say(f"Vocabulary coverage: {coverage['types']:.1%} of {coverage['vocabulary']} words "
        "have a pre-trained vector"
        + (f"; {coverage['tokens']:.1%} of the training tokens"
           if coverage.get("tokens") is not None else "") + ".", verbose)
    return TextClassifier(embedding, num_classes, vectorizer=vectorizer,
                          new_words=new_words_layer, encoder=encoder, dropout=dropout,
                          activation=activation, class_names=class_names,
                          embeddings_source=source, vocabulary_coverage=coverage)


def _texts_of(texts):
    """Texts as a list of strings; a `tf.data.Dataset` of texts or of `(texts,
    labels)` batches (what `tl_keras.text_dataset` returns) is read once."""
    if texts is None or not isinstance(texts, tf.data.Dataset):
        return texts
    found = []
    for element in texts:
        batch = element[0] if isinstance(element, tuple) else element
        found.extend(t.decode("utf-8", errors="replace")
                     for t in np.atleast_1d(batch.numpy()))
    return found


def _is_hub(embeddings):
    return isinstance(embeddings, (str, os.PathLike)) and (
        is_hub_handle(os.fspath(embeddings)) or is_saved_model_dir(os.fspath(embeddings)))


def _vectors(embeddings):
    if isinstance(embeddings, (str, os.PathLike)):
        return load_word_vectors(embeddings)
    try:
        words, vectors = embeddings
    except (TypeError, ValueError):
        words = vectors = None
    vectors = np.asarray(vectors, dtype="float32") if vectors is not None else None
    if words is None or vectors is None or vectors.ndim != 2 or len(words) != len(vectors):
        raise ValueError(
            "Expected `embeddings` to be (words, vectors) from load_word_vectors, a "
            "vectors file path or a TF Hub text-embedding handle. "
            f"Received: embeddings of type {type(embeddings).__name__}")
    return list(words), vectors


def _vectorizer(texts, vocabulary, max_tokens, sequence_length):
    layer = keras.layers.TextVectorization(
        max_tokens=max_tokens, output_sequence_length=sequence_length,
        standardize="lower_and_strip_punctuation", name="vectorizer",
    )
    if vocabulary is not None:
        layer.set_vocabulary([w for w in vocabulary if w not in (PAD, UNKNOWN)]
                             [:max_tokens - 2])
    elif texts is not None:
        layer.adapt(np.asarray(list(texts), dtype=object).astype(str))
    else:
        raise ValueError("Expected `texts` (to adapt the vocabulary on) or `vocabulary`. "
                         "Received: texts=None, vocabulary=None")
    return layer


def vector_rows(vocabulary, words):
    """For each vocabulary word, the row of its pre-trained vector in `words`
    (looked up as is, then lower-cased), or None."""
    index = {}
    for i, word in enumerate(words):
        index.setdefault(word, i)
    for i, word in enumerate(words):
        index.setdefault(word.lower(), i)
    return [index.get(word, index.get(word.lower())) for word in vocabulary]


def align_vectors(vocabulary, words, vectors, *, texts=None, seed=0):
    """Returns the embedding matrix for `vocabulary` and its coverage.

    Row i is the pre-trained vector of `vocabulary[i]` (looked up as is, then
    lower-cased); see `build_text_model` for the rows without one.

    Returns:
        `(matrix, coverage)`: float32 `[len(vocabulary), dim]`, and a dict with
        `types` (share of vocabulary words with a vector), `tokens` (share of
        the tokens of `texts`, when given), `vocabulary` and `found`.
    """
    rng = np.random.default_rng(seed)
    scale = float(vectors.std()) or 1.0
    matrix = rng.normal(0.0, scale, (len(vocabulary), vectors.shape[1])).astype("float32")
    found = set()
    for i, (word, row) in enumerate(zip(vocabulary, vector_rows(vocabulary, words))):
        if word == PAD:
            matrix[i] = 0.0
        elif word == UNKNOWN:
            matrix[i] = vectors.mean(axis=0)
        elif row is not None:
            matrix[i] = vectors[row]
            found.add(word)
    real = [w for w in vocabulary if w not in (PAD, UNKNOWN)]
    coverage = {"vocabulary": len(real), "found": len(found),
                "types": len(found) / max(len(real), 1), "tokens": None}
    if texts is not None:
        counts = collections.Counter()
        for text in texts:
            counts.update(_STRIP.sub("", str(text).lower()).split())
        total = sum(counts.values())
        covered = sum(n for token, n in counts.items() if token in found)
        coverage["tokens"] = covered / max(total, 1)
    return matrix, coverage
