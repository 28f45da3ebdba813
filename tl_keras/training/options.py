"""The options of `fit_two_phase` that travel together, as small frozen objects.

```python
tlk.fit_two_phase(model, train, val)                                    # the common call
tlk.fit_two_phase(model, train, val, fine_tuning=tlk.FineTuning(learning_rate=1e-4))
tlk.fit_two_phase(model, train, val, caching=tlk.Caching(features=False))
tlk.fit_two_phase(model, train, val, speed=tlk.Speed(mixed_precision="bfloat16"))
tlk.fit_two_phase(model, train, val,
                  distribution=tlk.Distribution(strategy="mirrored", backup_dir="gs://b/run"))
```

Each is a frozen dataclass with defaults: build one, reuse it across calls,
`dataclasses.replace` it to change a field. The keywords they replace
(`fine_tune_learning_rate=`, `cache_features=`, `mixed_precision=`,
`strategy=`, ...) still work for one release, with a `DeprecationWarning`
naming the new form.
"""

import dataclasses
import warnings


@dataclasses.dataclass(frozen=True)
class FineTuning:
    """How phase 2 trains the base.

    Args:
        learning_rate: phase 2's learning rate (its peak with the `"cosine"`
            schedule). Defaults to `None`: 3e-4; 3e-3 for a text model over word
            vectors (its embedding then moves); 5e-5 for a KerasHub transformer
            unfrozen whole (BERT's recipe). Each was chosen on real data (see
            `benchmarks/README.md`).
        schedule: `"cosine"`: a linear warm-up over the first tenth of phase
            2's steps, then a cosine decay to 0 (an epoch at a time when a
            pipeline's length is unknown); or `"constant"`. Defaults to
            `"cosine"`.
        lora_rank: phase 2 as LoRA adapters of this rank on the attention
            layers of a KerasHub transformer backbone (`Backbone.enable_lora`),
            the rest of the base frozen, instead of unfreezing its top; refused
            before any training for a base without attention layers. Defaults
            to `None`.
    """

    learning_rate: object = None
    schedule: str = "cosine"
    lora_rank: object = None


@dataclasses.dataclass(frozen=True)
class Caching:
    """What each phase computes once instead of every epoch.

    Args:
        features: phase 1 computes the frozen base's features once and trains
            the head on them. `"auto"` does so when it gives the same result (a
            tl_keras model, no augmentation and nothing trainable in front of
            the head, 2 or more epochs; otherwise one line says why not), `True`
            insists (an error says why it cannot), `False` never caches.
            Callbacks of a cached phase 1 see the head model. Defaults to
            `"auto"`.
        activations: phase 2 computes the output of the frozen layers below
            `fine_tune_at` once and trains only the unfrozen top on it. `"auto"`
            does so when that output is fixed (no augmentation, no random layer
            below the cut, a clean cut in the base's graph, 2 or more epochs),
            `True` insists, `False` never caches. Callbacks of a cached phase 2
            see the top model. Defaults to `"auto"`.
        store: the `tl_keras.FeatureCache` that keeps features and activations
            (in memory, or in spill files it removes) for reuse by later calls
            with the same base weights and data. Defaults to `None`: the
            process's default cache.
    """

    features: object = "auto"
    activations: object = "auto"
    store: object = None


@dataclasses.dataclass(frozen=True)
class Speed:
    """How the training steps compute.

    Args:
        mixed_precision: `None` (float32), `"float16"` or `"bfloat16"`: the
            layers compute in that type during training (variables, the output
            layer, preprocessing and TF Hub modules stay float32; float16 adds
            loss scaling), and have their own policies back after it, so the
            model saves and exports as it was built. A GPU (float16) or a
            recent CPU or TPU (bfloat16) runs faster; elsewhere it is slower.
            Defaults to `None`.
        jit_compile: compile the training steps with XLA: `True`, `False`, or
            `"auto"` (Keras's choice). Defaults to `"auto"`.
    """

    mixed_precision: object = None
    jit_compile: object = "auto"


@dataclasses.dataclass(frozen=True)
class Distribution:
    """Where the run trains, and where it keeps what survives an interruption.

    Args:
        strategy: a `tf.distribute.Strategy`, or `"mirrored"` (every GPU of
            this machine), `"multi_worker"` (the machines in `TF_CONFIG`) or
            `"tpu"`. Each batch (`batch_size` is the global batch) is split
            across the replicas and the gradients summed by tf.distribute. A
            model built outside the strategy's scope is trained as a twin built
            in it, whose weights are then copied back. Across workers
            (`MultiWorkerMirroredStrategy`, created when the program starts),
            every worker runs the same call: each takes its share of the
            training batches and of the feature pass, and evaluates the whole
            validation set; a loop through `strategy.run` replaces Keras's
            `fit`, which fails there (keras-team/keras#20585). Defaults to
            `None`: this process's default device.
        backup_dir: a directory where the run saves itself at the end of each
            epoch (weights, optimizer state, phase, epoch, history, the best
            epoch so far). Calling `fit_two_phase` again with the same model,
            data and `backup_dir` after an interruption (a preempted VM, a
            `kill -9`) resumes after the last finished epoch, with the history
            joined; a finished run removes the backup. Across workers the chief
            alone writes it and every worker resumes from it: put it on storage
            they all see. Defaults to `None`.
    """

    strategy: object = None
    backup_dir: object = None


# === The keywords they replace ===

# Old keyword -> (the group's argument name, its class, the field).
DEPRECATED_KEYWORDS = {
    "fine_tune_learning_rate": ("fine_tuning", FineTuning, "learning_rate"),
    "fine_tune_schedule": ("fine_tuning", FineTuning, "schedule"),
    "lora_rank": ("fine_tuning", FineTuning, "lora_rank"),
    "cache_features": ("caching", Caching, "features"),
    "fine_tune_cache": ("caching", Caching, "activations"),
    "feature_cache": ("caching", Caching, "store"),
    "mixed_precision": ("speed", Speed, "mixed_precision"),
    "jit_compile": ("speed", Speed, "jit_compile"),
    "strategy": ("distribution", Distribution, "strategy"),
    "backup_dir": ("distribution", Distribution, "backup_dir"),
}


def resolve_options(groups, old_keywords, function="fit_two_phase"):
    """The four option objects, from the ones passed and the old keywords.

    Args:
        groups: `{"fine_tuning": ..., "caching": ..., "speed": ...,
            "distribution": ...}`, each an option object or `None`.
        old_keywords: the other keyword arguments `function` received.
        function: the name used in messages. Defaults to `"fit_two_phase"`.

    Returns:
        A dict of the four option objects (defaults where none was given).

    Raises:
        TypeError: an unknown keyword, a group that is not its option class,
            or an old keyword given together with its group.
    """
    unknown = sorted(set(old_keywords) - set(DEPRECATED_KEYWORDS))
    if unknown:
        raise TypeError(f"{function}() got unexpected keyword argument(s) {unknown}. "
                        "Options are grouped: fine_tuning=tl_keras.FineTuning(...), "
                        "caching=tl_keras.Caching(...), speed=tl_keras.Speed(...), "
                        "distribution=tl_keras.Distribution(...). "
                        f"Received: {', '.join(f'{k}=...' for k in unknown)}")
    classes = {"fine_tuning": FineTuning, "caching": Caching, "speed": Speed,
               "distribution": Distribution}
    resolved = {}
    for name, cls in classes.items():
        value = groups.get(name)
        if value is not None and not isinstance(value, cls):
            raise TypeError(f"Expected `{name}` to be a tl_keras.{cls.__name__}(...). "
                            f"Received: {name}={value!r}")
        resolved[name] = value
    moved = {}
    for keyword, value in old_keywords.items():
        group, cls, field = DEPRECATED_KEYWORDS[keyword]
        if resolved[group] is not None:
            raise TypeError(f"Pass `{keyword}` inside `{group}` only: "
                            f"{group}=tl_keras.{cls.__name__}({field}=...). "
                            f"Received: {keyword}={value!r} and {group}={resolved[group]!r}")
        moved.setdefault(group, {})[field] = value
        warnings.warn(f"{function}({keyword}=...) is deprecated and will be removed in the "
                      f"next release; pass {group}=tl_keras.{cls.__name__}({field}=...).",
                      DeprecationWarning, stacklevel=3)
    for name, cls in classes.items():
        if resolved[name] is None:
            resolved[name] = cls(**moved.get(name, {}))
    return resolved
