"""`assets.extra/tf_serving_warmup_requests`: requests TF Serving replays on load.

TF Serving runs these when it loads a version, before it routes traffic to it,
so the first real request does not pay for graph initialization.
"""

import importlib.util
import os

import numpy as np
import tensorflow as tf

from tl_keras.export.signatures import IMAGE_KEY
from tl_keras.io.layout import WARMUP_FILE
from tl_keras.log import say

_INSTALL = 'pip install "tl_keras[serving]" (tensorflow-serving-api)'


def warmup_possible(warmup, verbose="auto"):
    """Whether the export writes warmup requests: checked before any work.

    `True` insists (an error says what to install), `"auto"` writes them when
    tensorflow-serving-api is installed and otherwise says so once per export.
    """
    if warmup not in ("auto", True, False):
        raise ValueError(f"Expected `warmup` to be 'auto', True or False. "
                         f"Received: warmup={warmup!r}")
    if not warmup:
        return False
    if importlib.util.find_spec("tensorflow_serving") is not None:
        return True
    if warmup is True:
        raise ImportError(f"TF Serving warmup requests need tensorflow-serving-api: "
                          f"{_INSTALL}, or pass warmup=False. Received: warmup=True")
    say(f"No TF Serving warmup requests in this export: {_INSTALL} adds them (TF "
        "Serving then answers its first request without a warm-up delay).", verbose)
    return False


def sample_jpeg(size, seed=0):
    """A JPEG of random pixels at `size`, for warmup requests and checks."""
    pixels = np.random.default_rng(seed).integers(0, 256, tuple(size) + (3,), "uint8")
    return tf.io.encode_jpeg(tf.constant(pixels)).numpy()


def write_warmup_requests(version_dir, model_name, input_shape, signatures, *,
                          text=False):
    """Writes one warmup request per signature (a batch of one) as PredictionLogs."""
    from tensorflow_serving.apis import classification_pb2
    from tensorflow_serving.apis import input_pb2
    from tensorflow_serving.apis import model_pb2
    from tensorflow_serving.apis import predict_pb2
    from tensorflow_serving.apis import prediction_log_pb2

    def spec(signature):
        return model_pb2.ModelSpec(name=model_name, signature_name=signature)

    logs = []
    if text:
        request = predict_pb2.PredictRequest(model_spec=spec("serving_default"))
        request.inputs["texts"].CopyFrom(tf.make_tensor_proto(["warm up"]))
        logs.append(prediction_log_pb2.PredictionLog(
            predict_log=prediction_log_pb2.PredictLog(request=request)))
    else:
        image = np.random.default_rng(0).uniform(0, 255, (1,) + tuple(input_shape))
        jpeg = sample_jpeg(input_shape[:2])
        for signature in signatures:
            if signature == "classify":
                example = tf.train.Example(features=tf.train.Features(feature={
                    IMAGE_KEY: tf.train.Feature(bytes_list=tf.train.BytesList(value=[jpeg]))
                }))
                request = classification_pb2.ClassificationRequest(
                    model_spec=spec("classify"),
                    input=input_pb2.Input(example_list=input_pb2.ExampleList(
                        examples=[example])))
                logs.append(prediction_log_pb2.PredictionLog(
                    classify_log=prediction_log_pb2.ClassifyLog(request=request)))
                continue
            request = predict_pb2.PredictRequest(model_spec=spec(signature))
            if signature == "serving_bytes":
                request.inputs["image_bytes"].CopyFrom(tf.make_tensor_proto([jpeg]))
            else:
                request.inputs["images"].CopyFrom(
                    tf.make_tensor_proto(image.astype("float32")))
            logs.append(prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=request)))
    path = os.path.join(version_dir, WARMUP_FILE)
    tf.io.gfile.makedirs(os.path.dirname(path))
    with tf.io.TFRecordWriter(path) as writer:
        for log in logs:
            writer.write(log.SerializeToString())
    return path
