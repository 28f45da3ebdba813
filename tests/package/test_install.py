"""tl_keras installs on top of the TensorFlow a user already has (Colab's)."""

import configparser
import importlib.metadata
import os
import re
import subprocess
import sys

import pytest
from packaging.requirements import Requirement

from tests.fixtures import REPO_ROOT

# End to end (training, exporting, subprocesses): the full tier, `make test`.
pytestmark = pytest.mark.slow

OLDEST_TENSORFLOW = "2.18.0"  # setup.cfg: tensorflow>=2.18
TENSORFLOW_NAMES = {"tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tensorflow-macos",
                    "tensorflow-intel"}
ROOT = REPO_ROOT


def _core_requirements():
    config = configparser.ConfigParser()
    config.read(os.path.join(ROOT, "setup.cfg"))
    lines = config["options"]["install_requires"].strip().splitlines()
    return [Requirement(line.strip()) for line in lines
            if line.strip() and not line.strip().startswith("#")]


def _normalized(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def test_no_core_requirement_needs_a_newer_tensorflow():
    """Walks the installed metadata of every core requirement and of what they
    require in turn: none may exclude the oldest supported TensorFlow."""
    seen, found = set(), []
    pending = [(requirement, "tl_keras") for requirement in _core_requirements()]
    while pending:
        requirement, parent = pending.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        name = _normalized(requirement.name)
        if name in TENSORFLOW_NAMES:
            if not requirement.specifier.contains(OLDEST_TENSORFLOW, prereleases=True):
                found.append(f"{parent} requires {requirement}")
            continue
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = importlib.metadata.requires(requirement.name) or []
        except importlib.metadata.PackageNotFoundError:
            continue  # not installed here: nothing to read
        pending.extend((Requirement(line), name) for line in requires)
    assert not found, f"core requirements that pin a newer TensorFlow: {found}"
    assert {"tensorflow-hub", "tf-keras", "tensorflow-serving-api", "keras-hub",
            "tensorflow-text"}.isdisjoint(
        _normalized(r.name) for r in _core_requirements())
    assert "tensorflow-datasets" in seen and "keras" in seen  # the walk did read them


_WITHOUT_EXTRAS = """
import sys
from tl_keras.export.keras_free_probe import hide_modules
hide_modules(["tensorflow_hub", "tf_keras", "tensorflow_serving", "keras_hub",
              "tensorflow_text"])
import tl_keras as tlk
from tl_keras.export.warmup import warmup_possible
from tl_keras.layers.hub_handles import resolve_handle

assert warmup_possible("auto") is False
for call in (lambda: warmup_possible(True), lambda: resolve_handle("google/x/tf2/y/1"),
             lambda: tlk.load_base("hf://google/vit-base-patch16-224")):
    try:
        call()
    except ImportError as error:
        print("ImportError:", error)
"""


def test_without_the_extras_tl_keras_works_and_says_what_to_install():
    done = subprocess.run([sys.executable, "-c", _WITHOUT_EXTRAS], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert "No TF Serving warmup requests in this export: pip install " \
           '"tl_keras[serving]"' in out
    assert "ImportError: TF Serving warmup requests need tensorflow-serving-api" in out
    assert "needs tensorflow-hub: pip install \"tl_keras[hub]\"" in out
    assert "KerasHub presets need the keras-hub package: pip install " \
           '"tl_keras[kerashub]"' in out
