"""Vectors for the words that pre-trained vectors do not cover."""

import keras
import numpy as np


@keras.saving.register_keras_serializable(package="tl_keras")
class NewWordEmbedding(keras.layers.Layer):
    """Trainable vectors for the vocabulary words without a pre-trained vector.

    Added to the output of the frozen pre-trained `Embedding`, it lets those
    words (often half of a real vocabulary) learn from the first epoch while
    the pre-trained vectors stay as they are: its output is the word's row for
    a word marked new, and zeros (no gradient) for every other word.

    Args:
        input_dim: vocabulary size.
        output_dim: vector size.
        **kwargs: `keras.layers.Layer` arguments (`name`, `dtype`).

    Example:

    >>> layer = NewWordEmbedding(4, 2)
    >>> layer.set_new_words([False, False, True, False], rows=np.ones((4, 2)))
    """

    def __init__(self, input_dim, output_dim, **kwargs):
        super().__init__(**kwargs)
        self.input_dim = int(input_dim)
        self.output_dim = int(output_dim)
        self.supports_masking = True

    def build(self, input_shape):
        self.embeddings = self.add_weight(
            shape=(self.input_dim, self.output_dim), initializer="zeros",
            name="embeddings")
        self.is_new = self.add_weight(shape=(self.input_dim,), initializer="zeros",
                                      trainable=False, name="is_new")

    def set_new_words(self, is_new, rows):
        """Marks the new words (`is_new`, a boolean per word) and sets their
        starting vectors from `rows` (`[input_dim, output_dim]`)."""
        if not self.built:
            self.build(None)
        is_new = np.asarray(is_new, dtype="float32")
        self.is_new.assign(is_new)
        self.embeddings.assign(np.asarray(rows, dtype="float32") * is_new[:, None])

    def call(self, ids):
        ids = keras.ops.cast(ids, "int32")
        vectors = keras.ops.take(self.embeddings, ids, axis=0)
        return vectors * keras.ops.expand_dims(keras.ops.take(self.is_new, ids), -1)

    def compute_mask(self, ids, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(input_dim=self.input_dim, output_dim=self.output_dim)
        return config
