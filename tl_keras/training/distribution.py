"""Training under a `tf.distribute.Strategy`.

Keras runs `fit` under the strategy its model was built in (variables
mirrored on every replica, each batch split across them, gradients summed by
tf.distribute's all-reduce).
`fit_two_phase(distribution=Distribution(strategy=...))` trains a model built
elsewhere by building its twin in the strategy's scope from its config,
training the twin, and copying the weights back. Across several workers,
`worker_loop.fit` replaces Keras's `fit`, which fails there.
"""

import contextlib

import keras
import tensorflow as tf

from tl_keras import compat

STRATEGIES = ("mirrored", "multi_worker", "tpu")


def get_strategy(strategy):
    """A `tf.distribute.Strategy` from a strategy or a name; None stays None."""
    if strategy is None:
        return None
    if strategy == "mirrored":
        return tf.distribute.MirroredStrategy()
    if strategy == "multi_worker":
        return multi_worker_strategy()
    if isinstance(strategy, tf.distribute.Strategy):
        return strategy
    if strategy == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    raise ValueError(f"Expected `strategy` to be a tf.distribute.Strategy or one of "
                     f"{list(STRATEGIES)}. Received: strategy={strategy!r}")


def multi_worker_strategy():
    """The process's `MultiWorkerMirroredStrategy` (the cluster from `TF_CONFIG`),
    created on the first call, which must come before anything else runs in
    TensorFlow."""
    global _MULTI_WORKER
    if _MULTI_WORKER is None:
        try:
            _MULTI_WORKER = tf.distribute.MultiWorkerMirroredStrategy()
        except RuntimeError as error:
            raise RuntimeError(
                "MultiWorkerMirroredStrategy must be created when the program starts, "
                "before TensorFlow runs anything else (it configures the collective ops "
                "then). Call `tf.distribute.MultiWorkerMirroredStrategy()` first thing and "
                "pass it as `tl_keras.Distribution(strategy=...)`, or pass "
                "`strategy='multi_worker'` before TensorFlow runs anything. "
                f"Received: strategy='multi_worker' ({error})") from None
    return _MULTI_WORKER


_MULTI_WORKER = None


def strategy_of(model):
    """The strategy whose scope `model`'s variables were created in (a model built
    in `with strategy.scope():`), or None for ordinary variables."""
    for weight in model.weights:
        variable = compat.tf_variable(weight)
        if isinstance(variable, tf.distribute.DistributedValues):
            return variable.distribute_strategy
    return None


def built_in_scope(model, strategy):
    """Whether every variable of `model` was created in `strategy`'s scope."""
    return all(strategy.extended.variable_created_in_scope(compat.tf_variable(v))
               for v in model.weights)


@contextlib.contextmanager
def trained_under(model, strategy):
    """Yields the model to train under `strategy`: `model` itself when it was
    built in the strategy's scope, else its twin built there from its config;
    after the block the twin's weights are copied into `model`."""
    if strategy is None:
        yield model
        return
    if built_in_scope(model, strategy):
        with strategy.scope():
            yield model
        return
    with strategy.scope():
        twin = model.__class__.from_config(model.get_config())
        twin.set_weights(model.get_weights())
        yield twin
    model.set_weights(twin.get_weights())
    # The frozen and unfrozen layers as a run without a strategy leaves them.
    for mine, theirs in zip(_all_layers(model), _all_layers(twin)):
        mine.trainable = theirs.trainable


def _all_layers(model):
    found = []
    for layer in model.layers:
        found.append(layer)
        if isinstance(layer, keras.Model):
            found.extend(_all_layers(layer))
    return found
