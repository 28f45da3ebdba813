"""`fit` across several workers: Keras's training step run through `strategy.run`.

Under `tf.distribute.MultiWorkerMirroredStrategy`, Keras 3's `fit` fails with
TensorFlow 2.20 ("Attempt to convert a value (PerReplica...) to a Tensor",
keras-team/keras#20585). The model's own `train_step` and `test_step` work
under `strategy.run`: the loss is scaled by the number of replicas, the
optimizer all-reduces the gradients with tf.distribute's collectives, and the
metrics' variables sum across workers when read. `fit` here runs that loop
with `Model.fit`'s contract (callbacks, `History`, progress, `initial_epoch`,
`class_weight`, validation metrics) and calls `Model.fit` everywhere else.

The training data each worker passes is its own shard (`shard_for_worker`):
each epoch every worker runs the same number of steps, the smallest of their
shard's batch counts, so no collective waits on a worker that ran out. A
worker's extra batch (at most one) sits out that epoch; shuffled data puts
other examples there the next epoch. The validation data is the whole set on
every worker: the metrics (sums and counts) add across workers, so their
ratios, the loss and accuracy, are exactly the one-worker values.
"""

import weakref

import keras
import numpy as np
import tensorflow as tf

from tl_keras import compat
from tl_keras.log import no_retracing_warnings


def across_workers():
    """The `MultiWorkerMirroredStrategy` in scope, or None."""
    if not tf.distribute.has_strategy():
        return None
    strategy = tf.distribute.get_strategy()
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return strategy
    return None


def shard_for_worker(data, strategy, batch_size):
    """This worker's share of `data`: every n-th example (n workers), from arrays
    `(x, y[, sample_weight])` or a batched dataset, which is batched again by
    `batch_size`.

    A dataset is read whole on every worker and each keeps its share of the
    examples, as tf.data's `AutoShardPolicy.DATA` does: the image pipelines'
    report of files lost while reading still sees every file.
    """
    resolver = strategy.cluster_resolver
    spec = resolver.cluster_spec().as_dict()
    count = len(spec.get("worker", [])) + len(spec.get("chief", []))
    if count <= 1:
        return data
    index = _worker_index(resolver)
    if isinstance(data, tf.data.Dataset):
        return data.unbatch().shard(count, index).batch(batch_size)
    return tuple(np.asarray(array)[index::count] for array in data)


def _worker_index(resolver):
    """This task's position among chief and workers (the chief first)."""
    spec = resolver.cluster_spec().as_dict()
    if resolver.task_type == "chief":
        return 0
    return resolver.task_id + len(spec.get("chief", []))


def fit(model, **kwargs):
    """`model.fit(**kwargs)`, or the same through `strategy.run` across workers."""
    strategy = across_workers()
    with no_retracing_warnings():
        if strategy is None:
            return model.fit(**kwargs)
        return fit_across_workers(model, strategy, **kwargs)


def fit_across_workers(model, strategy, *, x, y=None, batch_size=None, epochs=1,
                       initial_epoch=0, validation_data=None, callbacks=None,
                       class_weight=None, sample_weight=None, shuffle=True, verbose=1):
    """Trains `model` (compiled in `strategy`'s scope) like `Model.fit`."""
    train = _dataset(x, y, sample_weight, batch_size, shuffle, class_weight)
    steps = _steps_every_worker_runs(strategy, train)
    validation = None
    if validation_data is not None:
        validation = _dataset(validation_data, None, None, batch_size, False, None)
    callbacks = keras.callbacks.CallbackList(
        callbacks, add_history=True, add_progbar=verbose != 0, verbose=verbose,
        epochs=epochs, steps=steps, model=model)
    train_step = _distributed(strategy, model.train_step)
    test_step = _distributed(strategy, model.test_step)
    model.stop_training = False
    callbacks.on_train_begin()
    logs = {}
    for epoch in range(initial_epoch, epochs):
        model.reset_metrics()
        callbacks.on_epoch_begin(epoch)
        batches = iter(strategy.distribute_datasets_from_function(
            lambda _: train.take(steps)))
        for step in range(steps):
            callbacks.on_train_batch_begin(step)
            train_step(next(batches))
            callbacks.on_train_batch_end(step, _floats(model.get_metrics_result()))
        logs = _floats(model.get_metrics_result())
        if validation is not None:
            model.reset_metrics()
            for batch in strategy.distribute_datasets_from_function(lambda _: validation):
                test_step(batch)
            logs.update({f"val_{k}": v for k, v in _floats(model.get_metrics_result()).items()})
        callbacks.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    callbacks.on_train_end(logs)
    return model.history


def _distributed(strategy, step):
    @tf.function
    def run(batch):
        strategy.run(step, args=(batch,))
    return run


def _steps_every_worker_runs(strategy, dataset):
    """The fewest batches any worker holds: every worker runs that many steps."""
    count = int(dataset.cardinality())
    if count < 0:  # unknown (files skipped on reading): count them once
        count = int(dataset.reduce(np.int64(0), lambda n, _: n + 1))
    local = tf.constant([count], tf.int64)

    def local_count():
        return local

    @tf.function
    def every_count():
        return strategy.gather(strategy.run(local_count), axis=0)

    fewest = int(tf.reduce_min(every_count()))  # of one count per replica
    if fewest < 1:
        raise ValueError("Expected every worker to hold at least one training batch. "
                         f"Received: {count} batches on this worker")
    return fewest


def _dataset(x, y, sample_weight, batch_size, shuffle, class_weight):
    """A batched dataset of `(x, y[, weight])` from `fit`'s data arguments."""
    if isinstance(x, tf.data.Dataset):
        dataset = x
    else:
        if y is None:
            x, y, *rest = x
            sample_weight = rest[0] if rest else sample_weight
        arrays = (x, y) if sample_weight is None else (x, y, sample_weight)
        dataset = tf.data.Dataset.from_tensor_slices(arrays)
        if shuffle:
            dataset = dataset.shuffle(len(x), reshuffle_each_iteration=True)
        dataset = dataset.batch(batch_size or 32)
    if class_weight:
        weights = tf.constant([class_weight.get(i, 1.0) for i in range(max(class_weight) + 1)],
                              tf.float32)

        def weighted(features, labels, *rest):
            weight = tf.gather(weights, tf.reshape(_class_indices(labels), [-1]))
            return features, labels, weight * rest[0] if rest else weight
        dataset = dataset.map(weighted)
    return dataset.prefetch(tf.data.AUTOTUNE)


def _class_indices(labels):
    """The class of each label, as `Model.fit`'s `class_weight` reads it: sparse
    labels rounded, one-hot rows by their argmax, and a single column (a sigmoid
    unit's 0/1 labels, shape `(n, 1)`) by its rounded value."""
    if labels.shape.rank == 1:
        return tf.cast(tf.round(tf.cast(labels, tf.float32)), tf.int32)
    if labels.shape[-1] == 1:
        return tf.cast(tf.round(tf.squeeze(tf.cast(labels, tf.float32), axis=-1)), tf.int32)
    return tf.argmax(labels, axis=-1, output_type=tf.int32)


def _floats(results):
    return {name: float(value) for name, value in results.items()}


def predict_batch(model, inputs):
    """`model.predict_on_batch(inputs)`, local to this worker across workers (where
    Keras's predict gathers every worker's outputs). For a model whose variables
    are mirrored (built in a `MirroredStrategy`'s scope), a compiled call of the
    model: Keras 3's `predict_on_batch` there returns each row once per replica."""
    if across_workers() is None and not is_distributed(model):
        return np.asarray(model.predict_on_batch(inputs))
    return np.asarray(_compiled_call(model)(inputs))


_CALLS = weakref.WeakKeyDictionary()


def _compiled_call(model):
    """`model(x, training=False)` as one `tf.function` per model, kept with it."""
    if model not in _CALLS:
        _CALLS[model] = tf.function(lambda x: model(x, training=False),
                                    reduce_retracing=True)
    return _CALLS[model]


def is_distributed(model):
    """Whether `model`'s variables are tf.distribute's (mirrored across replicas)."""

    return any(isinstance(compat.tf_variable(v), tf.distribute.DistributedValues)
               for v in model.weights[:1])


def predict(model, inputs, batch_size=256):
    """`model.predict(inputs)` for an array; across workers, local to this one."""
    if across_workers() is None:
        with no_retracing_warnings():
            return model.predict(inputs, batch_size=batch_size, verbose=0)
    chunks = [np.asarray(model(inputs[i:i + batch_size], training=False))
              for i in range(0, len(inputs), batch_size)]
    return np.concatenate(chunks) if chunks else np.zeros((0,) + tuple(model.output_shape[1:]))
