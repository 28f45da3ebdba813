"""What an export writes beyond the model: the card's review fields and the serving options.

`export_saved_model(model, directory, card=ModelCard(...), serving=ServingOptions(...))`
takes these two small records instead of a dozen keywords, in the way of
Keras's `Model.export` (a few arguments, the rest in objects of their own).
"""

import dataclasses

from tl_keras.data.image_files import DEFAULT_RESIZE

SIGNATURE_NAMES = ("serving_default", "serving_bytes", "classify", "features")


@dataclasses.dataclass(frozen=True)
class ModelCard:
    """What the model card says beyond what the model itself tells.

    Args:
        history: a `TwoPhaseHistory` or `keras.callbacks.History` whose values at
            the kept epoch go into the card's `metrics`. Defaults to `None`.
        metrics: a dict of extra figures for the card's `metrics`. Defaults to
            `None`.
        test_report: the model's evaluation on a test split nothing selected on
            (`tl_keras.evaluate_classifier(model, test)`), the card's `test`.
            Defaults to `None`.
        training_data: the training data, for the card's `training_data`: its
            fingerprint and examples per class. Defaults to `None`.
        intended_use: what the model is for, in words, for a reviewer.
            Defaults to `None`.
        limitations: what it is not for, or known weaknesses. Defaults to `None`.

    Example:

    >>> report = tl_keras.evaluate_classifier(model, test)
    >>> card = tl_keras.ModelCard(history=history, test_report=report,
    ...                           intended_use="sorting flower photos")
    >>> tl_keras.export_saved_model(model, "saved_models/flowers", card=card)
    'saved_models/flowers/1'
    """

    history: object = None
    metrics: dict = None
    test_report: dict = None
    training_data: object = None
    intended_use: str = None
    limitations: str = None

    def __post_init__(self):
        if self.metrics is not None and not isinstance(self.metrics, dict):
            raise ValueError("Expected `metrics` to be a dict of figures. "
                             f"Received: metrics={self.metrics!r}")
        if self.test_report is not None and "accuracy" not in self.test_report:
            raise ValueError("Expected `test_report` from tl_keras.evaluate_classifier("
                             f"model, test). Received: test_report={self.test_report!r}")
        for field in ("intended_use", "limitations"):
            value = getattr(self, field)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"Expected `{field}` to be text. Received: "
                                 f"{field}={value!r}")


@dataclasses.dataclass(frozen=True)
class ServingOptions:
    """How the exported version serves.

    Args:
        top_k: how many `classes` and `scores` to return. Defaults to `5`
            (all classes when fewer).
        signatures: the signatures to write, a subset of `serving_default`,
            `serving_bytes`, `classify`, `features`. Defaults to `None`: all that
            apply (`classify` needs class names).
        resize: how `serving_bytes` and `classify` fit images to the input size:
            `"crop"`, `"stretch"` or `"pad"`, as in `tl_keras.image_dataset`.
            Defaults to `"crop"`.
        warmup: write TF Serving warmup requests: `True` (needs
            `tensorflow-serving-api`), `False`, or `"auto"`: when that package
            is installed, else one line says how to add them. Defaults to `"auto"`.

    Example:

    >>> serving = tl_keras.ServingOptions(top_k=3, warmup=False)
    >>> serving.resize
    'crop'
    """

    top_k: int = 5
    signatures: tuple = None
    resize: str = DEFAULT_RESIZE
    warmup: object = "auto"

    def __post_init__(self):
        if isinstance(self.top_k, bool) or not isinstance(self.top_k, int) or self.top_k < 1:
            raise ValueError("Expected `top_k` to be a positive integer. "
                             f"Received: top_k={self.top_k!r}")
        if self.warmup not in ("auto", True, False):
            raise ValueError("Expected `warmup` to be 'auto', True or False. "
                             f"Received: warmup={self.warmup!r}")


CARD_FIELDS = tuple(f.name for f in dataclasses.fields(ModelCard))
SERVING_FIELDS = tuple(f.name for f in dataclasses.fields(ServingOptions))
