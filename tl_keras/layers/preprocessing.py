"""Pixel preprocessing as a serializable layer inside the model.

Every tl_keras image model takes RGB pixels in [0, 255]. The preprocessing
that a base was trained with is this layer, so training, evaluation, export
and serving can never disagree, and `.keras` files load with `safe_mode=True`
(there is no `Lambda` layer).
"""

import keras
from keras import ops

# mode -> what it does (the `mode` of `keras.applications.imagenet_utils`).
MODES = {
    "caffe": "RGB to BGR, then subtract the ImageNet channel means (VGG, ResNet v1)",
    "tf": "scale to [-1, 1] (Inception, Xception, MobileNet v1/v2, ResNet v2, NASNet)",
    "torch": "scale to [0, 1], then normalize by the ImageNet mean and std (DenseNet)",
    "unit": "scale to [0, 1] (TF Hub image modules)",
    "none": "pass through: the base rescales inside (EfficientNet, ConvNeXt, MobileNet v3)",
}

_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)


@keras.saving.register_keras_serializable(package="tl_keras")
class Preprocessing(keras.layers.Layer):
    """Maps RGB pixels in [0, 255] to what a pre-trained base expects.

    Reproduces `keras.applications.<family>.preprocess_input` exactly, as a
    layer that serializes with the model.

    Args:
        mode: one of `"caffe"`, `"tf"`, `"torch"`, `"unit"` or `"none"` (see
            `tl_keras.layers.preprocessing.MODES`). Defaults to `"tf"`.
        **kwargs: base layer arguments (`name`, `dtype`).

    Example:

    >>> layer = Preprocessing("tf")
    >>> keras.ops.convert_to_numpy(layer(np.array([[[[0.0, 127.5, 255.0]]]])))
    array([[[[-1.,  0.,  1.]]]], dtype=float32)
    """

    def __init__(self, mode="tf", **kwargs):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(
                f"Unknown preprocessing mode. Expected one of {sorted(MODES)}. "
                f"Received: mode={mode!r}"
            )
        self.mode = mode
        self.built = True

    def call(self, inputs):
        x = ops.cast(inputs, self.compute_dtype)
        if self.mode == "caffe":
            x = ops.flip(x, axis=-1)
            return x - ops.convert_to_tensor(_CAFFE_MEAN_BGR, dtype=x.dtype)
        if self.mode == "tf":
            return x / 127.5 - 1.0
        if self.mode == "torch":
            mean = ops.convert_to_tensor(_TORCH_MEAN, dtype=x.dtype)
            std = ops.convert_to_tensor(_TORCH_STD, dtype=x.dtype)
            return (x / 255.0 - mean) / std
        if self.mode == "unit":
            return x / 255.0
        return x

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["mode"] = self.mode
        return config
