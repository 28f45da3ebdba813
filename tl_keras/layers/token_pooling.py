"""TokenPooling: one vector from a transformer's tokens."""

import keras

MODES = ("class", "mean")


@keras.saving.register_keras_serializable(package="tl_keras")
class TokenPooling(keras.layers.Layer):
    """Pools `(batch, tokens, features)` to `(batch, features)`.

    Args:
        mode: `"class"` (the first token: a ViT's class token) or `"mean"`
            (the mean over tokens). Defaults to `"class"`.
        **kwargs: base layer arguments (`name`, `dtype`).

    Example:

    >>> keras.ops.shape(TokenPooling("mean")(keras.ops.ones((2, 5, 8))))
    (2, 8)
    """

    def __init__(self, mode="class", **kwargs):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(f"Expected `mode` to be one of {list(MODES)}. "
                             f"Received: mode={mode!r}")
        self.mode = mode

    def call(self, tokens):
        if self.mode == "class":
            return tokens[:, 0, :]
        return keras.ops.mean(tokens, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        return dict(super().get_config(), mode=self.mode)
