"""TensorFlow Datasets, shared by image and text datasets, with a clear offline error."""

from tl_keras import compat
from tl_keras.errors import DownloadError


def load_tfds(name, *, split, data_dir, validation_split):
    """Loads a supervised TFDS dataset: `(datasets, splits, class_names)`.

    `split=None` divides the `train` split by `validation_split`.
    """
    import tensorflow as tf
    import tensorflow_datasets as tfds

    if split is None:
        if validation_split:
            cut = int(round(100 * (1 - validation_split)))
            splits = [f"train[:{cut}%]", f"train[{cut}%:]"]
        else:
            splits = ["train"]
    else:
        splits = [split] if isinstance(split, str) else list(split)
        if len(splits) not in (1, 2):
            raise ValueError("Expected `split` to name one split or [train, validation]. "
                             f"Received: split={split!r}")
    try:
        datasets, info = tfds.load(name, split=splits, as_supervised=True, with_info=True,
                                   data_dir=data_dir, shuffle_files=False)
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
    return datasets, splits, class_names
