"""TensorFlow Datasets, shared by image and text datasets, with a clear offline error."""

from tl_keras import compat
from tl_keras.errors import DownloadError


def load_tfds(name, *, split, data_dir, validation_split, test_split=0.0):
    """Loads a supervised TFDS dataset: `(datasets, splits, class_names)`, the
    first two dicts keyed by side (`"train"`, `"validation"`, `"test"`; a side
    not asked for is absent).

    `split=None` divides the `train` split: training first, then
    `validation_split` of it, then `test_split`. A list names `[train,
    validation]`, or `[train, validation, test]`.
    """
    import tensorflow as tf
    import tensorflow_datasets as tfds

    if split is None:
        val_at = int(round(100 * (1 - validation_split - test_split)))
        test_at = int(round(100 * (1 - test_split)))
        sides = {"train": f"train[:{val_at}%]" if val_at < 100 else "train"}
        if validation_split:
            sides["validation"] = f"train[{val_at}%:{test_at}%]"
        if test_split:
            sides["test"] = f"train[{test_at}%:]"
    else:
        splits = [split] if isinstance(split, str) else list(split)
        if len(splits) not in (1, 2, 3):
            raise ValueError("Expected `split` to name one split, [train, validation] or "
                             f"[train, validation, test]. Received: split={split!r}")
        sides = dict(zip(("train", "validation", "test"), splits))
    try:
        datasets, info = tfds.load(name, split=list(sides.values()), as_supervised=True,
                                   with_info=True, data_dir=data_dir, shuffle_files=False)
    except compat.tfds_not_found_error(tfds) as error:
        raise ValueError(f"Unknown TFDS dataset. See tfds.list_builders(). "
                         f"Received: source='tfds:{name}'") from error
    except ImportError as error:  # a package TFDS imports lazily, not the network
        missing = getattr(error, "name", None) or str(error)
        raise ImportError(
            f"TensorFlow Datasets needs the package {missing!r} to load {name!r}, and it "
            f"is not installed: pip install {missing}. Received: source='tfds:{name}'"
        ) from error
    # Offline, TFDS's downloader raises requests' ConnectionError (an OSError);
    # reading a prepared directory raises tf.errors.
    except (OSError, tf.errors.OpError) as error:
        raise DownloadError(
            f"Could not load TFDS dataset {name!r} ({type(error).__name__}: "
            f"{str(error)[:300]}). No network? Prepare it where there is one "
            "(tfds.load or `tfds build`), copy its data directory here and pass "
            f"data_dir='/path/to/tensorflow_datasets'. Received: source='tfds:{name}'"
        ) from error
    label = info.features["label"]
    class_names = list(getattr(label, "names", None) or
                       [str(i) for i in range(label.num_classes)])
    return dict(zip(sides, datasets)), sides, class_names
