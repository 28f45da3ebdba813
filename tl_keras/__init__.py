"""tl_keras: transfer learning for Keras 3 on TensorFlow.

Example:

```python
import tl_keras as tlk
model = tlk.build_model("mobilenet_v2", num_classes=5, weights="imagenet")
history = tlk.fit_two_phase(model, train, val, epochs=5, fine_tune_epochs=5)
tlk.export_saved_model(model, "saved_models/flowers", class_names=class_names)
```
"""

__version__ = "0.1.0"

import keras as _keras

if _keras.backend.backend() != "tensorflow":
    raise ImportError(
        "tl_keras needs the TensorFlow backend of Keras 3 (it exports TensorFlow "
        "SavedModels). Set KERAS_BACKEND=tensorflow before importing keras. "
        f"Received: keras backend={_keras.backend.backend()!r}"
    )

from tl_keras.bases import HubLayer  # noqa: E402
from tl_keras.bases import list_bases  # noqa: E402
from tl_keras.bases import load_base  # noqa: E402
from tl_keras.check import check_export  # noqa: E402
from tl_keras.data import image_dataset  # noqa: E402
from tl_keras.errors import DownloadError  # noqa: E402
from tl_keras.export import export_saved_model  # noqa: E402
from tl_keras.features import extract_features  # noqa: E402
from tl_keras.library import list_models  # noqa: E402
from tl_keras.models import build_model  # noqa: E402
from tl_keras.models import get_base  # noqa: E402
from tl_keras.preprocessing import Preprocessing  # noqa: E402
from tl_keras.training import TwoPhaseHistory  # noqa: E402
from tl_keras.training import fit_two_phase  # noqa: E402
from tl_keras.training import freeze_base  # noqa: E402
from tl_keras.text import build_text_model  # noqa: E402
from tl_keras.text_data import text_dataset  # noqa: E402
from tl_keras.tflite import export_tflite  # noqa: E402
from tl_keras.training import unfreeze_base  # noqa: E402
from tl_keras.vectors import load_word_vectors  # noqa: E402

__all__ = [
    "DownloadError", "HubLayer", "Preprocessing", "TwoPhaseHistory", "build_model",
    "check_export", "export_saved_model", "export_tflite", "extract_features",
    "fit_two_phase", "list_models", "freeze_base", "get_base",
    "build_text_model", "image_dataset", "list_bases", "load_base",
    "load_word_vectors", "text_dataset", "unfreeze_base",
]
