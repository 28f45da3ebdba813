"""TextPreprocessor: a KerasHub preset's tokenizer and packer, inside a model."""

import base64
import json
import os
import tempfile

import keras


@keras.saving.register_keras_serializable(package="tl_keras")
class TextPreprocessor(keras.layers.Layer):
    """Strings in, a KerasHub backbone's inputs out (`token_ids`, `padding_mask`...).

    KerasHub keeps a tokenizer's vocabulary in asset files that Keras loads only
    after it has rebuilt a model's graph, and a tokenizer without its vocabulary
    cannot be called to rebuild it. This layer carries the assets in its config,
    so a model with the preprocessor inside reloads from `.keras`.

    Args:
        preprocessor: a `keras_hub.models.TextClassifierPreprocessor` (or its
            serialized config).
        assets: the tokenizer's asset files, `{name: base64 text}`. Defaults to
            `None`: read from `preprocessor`'s tokenizer.
        **kwargs: base layer arguments (`name`).
    """

    def __init__(self, preprocessor, assets=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(preprocessor, dict):
            import keras_hub  # noqa: F401  (registers the preprocessor's classes)

            preprocessor = keras.layers.deserialize(preprocessor)
        self.preprocessor = preprocessor
        if assets:
            _set_assets(preprocessor.tokenizer,
                        {name: base64.b64decode(value) for name, value in assets.items()})

    def build(self, input_shape):
        self.built = True  # the preprocessor holds no weights

    def call(self, texts):
        return self.preprocessor(texts)

    def get_config(self):
        with tempfile.TemporaryDirectory() as directory:
            self.preprocessor.tokenizer.save_assets(directory)
            assets = {}
            for name in sorted(os.listdir(directory)):  # local: its own temporary directory
                with open(os.path.join(directory, name), "rb") as f:  # local: the same
                    assets[name] = base64.b64encode(f.read()).decode("ascii")
        return dict(super().get_config(),
                    preprocessor=keras.layers.serialize(self.preprocessor), assets=assets)


def _set_assets(tokenizer, files):
    """Gives `tokenizer` its vocabulary from its asset files' bytes, in memory (Keras's
    safe mode forbids loading them from files outside a model archive)."""
    if "vocabulary.spm" in files:  # SentencePiece
        tokenizer.set_proto(files["vocabulary.spm"])
    elif "merges.txt" in files:  # byte-pair encoding
        tokenizer.set_vocabulary_and_merges(
            json.loads(files["vocabulary.json"].decode("utf-8")),
            files["merges.txt"].decode("utf-8").splitlines())
    elif "vocabulary.txt" in files:  # WordPiece
        tokenizer.set_vocabulary(files["vocabulary.txt"].decode("utf-8").splitlines())
    else:
        raise ValueError("Expected a WordPiece, SentencePiece or byte-pair tokenizer's "
                         f"assets. Received: files {sorted(files)}")
