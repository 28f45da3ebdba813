"""TF Hub-format SavedModels written locally, for offline tests of HubLayer.

Each builder writes a reusable TF2 SavedModel (TF Hub's format: `__call__`,
`variables`, `trainable_variables`, `regularization_losses`) into a directory.
"""

import os

import numpy as np
import tensorflow as tf


class _FeatureVector(tf.__internal__.tracking.AutoTrackable):
    """Conv -> BatchNorm (statistics updated only when training) -> ReLU -> mean pool.

    Lists `variables` and `trainable_variables` as TF Hub's reusable format asks.
    """

    def __init__(self, channels=8, seed=0):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.kernel = tf.Variable(rng.normal(0, 0.5, (3, 3, 3, channels)).astype("float32"),
                                  name="conv/kernel")
        self.gamma = tf.Variable(tf.ones([channels]), name="bn/gamma")
        self.beta = tf.Variable(tf.zeros([channels]), name="bn/beta")
        self.moving_mean = tf.Variable(tf.zeros([channels]), trainable=False,
                                       name="bn/moving_mean")
        self.moving_variance = tf.Variable(tf.ones([channels]), trainable=False,
                                           name="bn/moving_variance")
        self.variables = [self.kernel, self.gamma, self.beta, self.moving_mean,
                          self.moving_variance]
        self.trainable_variables = [self.kernel, self.gamma, self.beta]
        self.regularization_losses = [
            tf.function(lambda: 0.01 * tf.reduce_sum(tf.square(self.kernel)),
                        input_signature=[])
        ]

    @tf.function
    def __call__(self, images, training=False):
        x = tf.nn.conv2d(images, self.kernel, 1, "SAME")
        if training:
            mean, variance = tf.nn.moments(x, [0, 1, 2])
            self.moving_mean.assign(0.9 * self.moving_mean + 0.1 * mean)
            self.moving_variance.assign(0.9 * self.moving_variance + 0.1 * variance)
        else:
            mean, variance = self.moving_mean, self.moving_variance
        x = tf.nn.batch_normalization(x, mean, variance, self.beta, self.gamma, 1e-3)
        return tf.reduce_mean(tf.nn.relu(x), axis=[1, 2])


def write_image_feature_vector(path, size=None):
    """An image feature-vector module: [0, 1] pixels -> an 8-d vector."""
    module = _FeatureVector()
    spec = tf.TensorSpec([None, size, size, 3], tf.float32)
    for training in (True, False):
        module.__call__.get_concrete_function(spec, training=training)
    tf.saved_model.save(module, os.fspath(path))
    return os.fspath(path)


class _FileWritingFeatureVector(tf.Module):
    """A feature-vector module whose graph writes a file when it runs: what a
    swapped SavedModel could do on the machine that loads it."""

    def __init__(self, marker):
        super().__init__()
        self.marker = os.fspath(marker)
        self.scale = tf.Variable(1.0, name="scale")

    @tf.function
    def __call__(self, images, training=False):
        tf.io.write_file(self.marker, "the swapped graph ran")
        return self.scale * tf.zeros([tf.shape(images)[0], 8])


def write_file_writing_module(path, marker):
    """A feature-vector module (same signature as `write_image_feature_vector`'s)
    whose graph writes `marker` when called."""
    module = _FileWritingFeatureVector(marker)
    spec = tf.TensorSpec([None, None, None, 3], tf.float32)
    for training in (True, False):
        module.__call__.get_concrete_function(spec, training=training)
    tf.saved_model.save(module, os.fspath(path))
    return os.fspath(path)


class _Classifier(tf.Module):
    def __init__(self, classes=4, size=32):
        super().__init__()
        rng = np.random.default_rng(1)
        self.dense = tf.Variable(rng.normal(0, 1, (3, classes)).astype("float32"),
                                 name="logits/kernel")
        self.size = size

    @tf.function(input_signature=[tf.TensorSpec([None, 32, 32, 3], tf.float32)])
    def __call__(self, images):
        logits = tf.matmul(tf.reduce_mean(images, axis=[1, 2]), self.dense)
        return {"logits": logits, "probabilities": tf.nn.softmax(logits)}


def write_classifier(path):
    """A classification module with dict outputs at a fixed 32x32 size."""
    module = _Classifier()
    tf.saved_model.save(module, os.fspath(path),
                        signatures={"serving_default": module.__call__})
    return os.fspath(path)


class _TextEmbedding(tf.Module):
    def __init__(self, vocabulary_file, size, dim=4):
        super().__init__()
        initializer = tf.lookup.TextFileInitializer(
            vocabulary_file, tf.string, tf.lookup.TextFileIndex.WHOLE_LINE,
            tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER)
        self.table = tf.lookup.StaticHashTable(initializer, default_value=size)
        rng = np.random.default_rng(2)
        self.embeddings = tf.Variable(rng.normal(0, 1, (size + 1, dim)).astype("float32"),
                                      name="embeddings")

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def __call__(self, texts):
        tokens = tf.strings.split(tf.strings.lower(texts))
        ids = tf.ragged.map_flat_values(self.table.lookup, tokens)
        vectors = tf.ragged.map_flat_values(tf.nn.embedding_lookup, self.embeddings, ids)
        return tf.reduce_mean(vectors, axis=1)


def write_text_embedding(path, words=("good", "bad", "movie", "great", "awful")):
    """A text embedding module: strings -> 4-d vectors, through a vocabulary
    file asset and a lookup table (out-of-vocabulary words share one row)."""
    path = os.fspath(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    vocabulary_file = os.path.join(os.path.dirname(path), "vocabulary_source.txt")
    with open(vocabulary_file, "w") as f:
        f.write("\n".join(words) + "\n")
    module = _TextEmbedding(vocabulary_file, len(words))
    tf.saved_model.save(module, path)
    os.remove(vocabulary_file)  # the module must carry its own copy
    return path


class _TwoOutputs(tf.__internal__.tracking.AutoTrackable):
    """A module whose call returns a tuple, as a detector's (boxes, scores) does."""

    def __init__(self):
        super().__init__()
        self.scale = tf.Variable(2.0, name="scale")
        self.variables = [self.scale]
        self.trainable_variables = [self.scale]

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32)])
    def __call__(self, inputs):
        return inputs * self.scale, tf.reduce_sum(inputs, axis=-1, keepdims=True)


def write_two_output_module(path):
    """A module `[batch, 4]` -> (`[batch, 4]` doubled, `[batch, 1]` sums)."""
    tf.saved_model.save(_TwoOutputs(), os.fspath(path))
    return os.fspath(path)
