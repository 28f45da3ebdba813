"""TextClassifier: raw strings -> vectorizer -> embedding (the base) -> encoder -> head."""

import json

import keras
import numpy as np
import tensorflow as tf

from tl_keras.bases.base_model import identity_of
from tl_keras.models.heads import check_head_arguments
from tl_keras.models.transfer_model import TransferModel
from tl_keras.models.transfer_model import build_head

ENCODERS = ("average", "conv", "bilstm")
# Phase 2's rate over word vectors: one that moves the embedding (chosen with the
# cosine schedule on real text, benchmarks/text_real.py).
TEXT_FINE_TUNE_LEARNING_RATE = 3e-3


def encoder_layer(encoder, *, pretrained_module=False):
    """The layer from token vectors to one vector per text."""
    if pretrained_module:  # a TF Hub text embedding already gives one vector per text
        return keras.layers.Identity(name="encoder")
    if encoder == "average":
        return keras.layers.GlobalAveragePooling1D(name="encoder")
    if encoder == "conv":
        return keras.Sequential([
            keras.layers.Conv1D(128, 5, padding="same", activation="relu", name="conv"),
            keras.layers.GlobalMaxPooling1D(name="max_pooling"),
        ], name="encoder")
    return keras.layers.Bidirectional(keras.layers.LSTM(64), name="encoder")


def as_text_tensor(x):
    """A list or tuple of `str`/`bytes`, or a NumPy array of strings, as a string
    tensor; anything else (a tensor, a dataset) as it is."""
    if isinstance(x, (list, tuple)) and x and all(isinstance(t, (str, bytes)) for t in x):
        return tf.constant(list(x), dtype=tf.string)
    if isinstance(x, np.ndarray) and x.dtype.kind in "USO":
        return tf.constant(x.astype(object), dtype=tf.string)
    return x


@keras.saving.register_keras_serializable(package="tl_keras")
class TextClassifier(TransferModel):
    """A text classifier on pre-trained embeddings; strings in (input `texts`).

    The graph: `texts` -> `vectorizer` (a `TextVectorization`, absent for a TF
    Hub module that takes strings) -> `base` (the pre-trained embedding: an
    `Embedding` of word vectors or a `tl_keras.HubLayer`) -> `encoder` (the
    feature vector) -> `head`. `tl_keras.build_text_model` makes one.

    Args:
        embedding: the pre-trained embedding layer, frozen by `fit_two_phase`
            in phase 1.
        num_classes: number of output units.
        vectorizer: a `keras.layers.TextVectorization` for word vectors, or
            `None` for a base that takes strings (a TF Hub module, an exported
            text model). Defaults to `None`.
        new_words: a `tl_keras.layers.new_words.NewWordEmbedding` added to the
            embedding's output: vectors for the words without a pre-trained
            one, trained from phase 1 on. Defaults to `None`.
        encoder: `"conv"`, `"average"` or `"bilstm"` (ignored for a module,
            which returns one vector per text; see `build_text_model`).
            Defaults to `"conv"`, as `build_text_model`.
        dropout: dropout before the output layer. Defaults to `0.2`.
        activation: of the output layer. Defaults to `"softmax"`.
        class_names: names of the outputs, in order. Defaults to `None`.
        embeddings_source: where the vectors came from (a file, a handle), for
            the model card. Defaults to `None`.
        vocabulary_coverage: the share of words and tokens with a pre-trained
            vector (see `build_text_model`). Defaults to `None`.
        **kwargs: `keras.Model` arguments (`name`, `trainable`).
    """

    def __init__(self, embedding, num_classes, *, vectorizer=None, new_words=None,
                 encoder="conv", dropout=0.2, activation="softmax", class_names=None,
                 embeddings_source=None, vocabulary_coverage=None, **kwargs):
        check_head_arguments(num_classes, hidden_units=(), dropout=dropout, pooling="avg",
                             activation=activation)
        if encoder not in ENCODERS:
            raise ValueError(f"Unknown encoder. Expected one of {ENCODERS}. "
                             f"Received: encoder={encoder!r}")

        # === Layers ===
        self.vectorizer = vectorizer
        self.base = embedding
        self.new_words = new_words
        self.encoder = encoder_layer(encoder, pretrained_module=vectorizer is None)
        self.head = build_head(num_classes, dropout=dropout, activation=activation)

        # === Functional Model ===
        inputs = keras.Input((), dtype="string", name="texts")
        ids = self.vectorizer(inputs) if vectorizer is not None else inputs
        x = self.base(ids)
        if new_words is not None:
            x = keras.layers.Add(name="word_vectors")([x, self.new_words(ids)])
        x = self.encoder(x)
        outputs = self.head(x)
        kwargs.setdefault("name", f"text_{encoder}_classifier")
        super().__init__(inputs, outputs, **kwargs)

        # === Config ===
        self.num_classes = num_classes
        self.activation = activation
        self.encoder_name = encoder
        self.dropout = dropout
        self.embeddings_source = embeddings_source
        self._coverage_json = json.dumps(dict(vocabulary_coverage)
                                         if vocabulary_coverage else None)
        self.class_names = class_names

    @property
    def feature_layer(self):
        return self.encoder

    # === Strings in, as users hold them ===
    # Keras takes a string tensor or dataset, not a list of str nor a NumPy
    # array of str ("Unrecognized data type", "Invalid dtype: str96").

    def predict(self, x, *args, **kwargs):
        return super().predict(as_text_tensor(x), *args, **kwargs)

    def predict_on_batch(self, x):
        return super().predict_on_batch(as_text_tensor(x))

    def evaluate(self, x=None, y=None, *args, **kwargs):
        return super().evaluate(as_text_tensor(x), y, *args, **kwargs)

    # === What the trainer asks ===

    default_fine_tune_at = 0  # a text base (an embedding or a module) is unfrozen whole

    @property
    def cheap_epochs(self):
        # Over word vectors, the whole model is an embedding lookup and a small
        # encoder: an epoch costs about what a head's epoch on features does.
        return self.vectorizer is not None

    def default_fine_tune_learning_rate(self, lora_rank=None):
        # Word vectors need a rate that moves the embedding (benchmarks/text_real.py).
        return TEXT_FINE_TUNE_LEARNING_RATE if self.vectorizer is not None else None

    def activation_cut_reason(self):
        return "a text model's base is unfrozen whole: nothing below the cut to cache"

    def fixed_features_reason(self):
        if self.new_words is not None:
            return ("the vectors of words without a pre-trained one train in phase 1 "
                    "(a text model's epoch is cheap)")
        return super().fixed_features_reason()

    @property
    def vocabulary_coverage(self):
        """Shares of the vocabulary and of the training tokens with a vector."""
        return json.loads(self._coverage_json)

    @property
    def base_identity(self):
        if isinstance(self.base, keras.Model):  # an exported model: its own identity
            return identity_of(self.base)
        source = "tf_hub" if self.vectorizer is None else "word_vectors"
        return {"name": self.base.name, "source": source, "handle": self.embeddings_source,
                "preprocessing": "text", "lineage": []}

    layer_arguments = ("embedding", "vectorizer", "new_words")

    def get_config(self):
        config = self._base_config(embedding=self.base, vectorizer=self.vectorizer,
                                   new_words=self.new_words)
        config.update(encoder=self.encoder_name, dropout=self.dropout,
                      embeddings_source=self.embeddings_source,
                      vocabulary_coverage=self.vocabulary_coverage)
        return config
