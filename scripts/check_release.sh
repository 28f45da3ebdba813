#!/usr/bin/env bash
# The release check: builds the sdist and the wheel as a release would, checks their
# metadata (twine check --strict: the README renders on PyPI), installs the wheel
# into a clean virtual environment with the tested pins, and runs it from outside
# the source tree (so the checkout cannot stand in for a missing file): import, a
# model built and called, the console script. .ci/run runs it after the tests;
# .github/workflows/release.yml runs it before publishing.
#
# Usage: bash scripts/check_release.sh   (PYTHON=python3.12 to build with another)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
python="${PYTHON:-python3}"
work="$root/build/release"
rm -rf "$work" && mkdir -p "$work"

"$python" -m venv "$work/tools"
"$work/tools/bin/python" -m pip install --quiet build twine
"$work/tools/bin/python" -m build --outdir "$work/dist" . > "$work/build.log" 2>&1 \
  || { tail -30 "$work/build.log"; exit 1; }
"$work/tools/bin/python" -m twine check --strict "$work"/dist/*
version="$(sed -n 's/^__version__ = "\(.*\)"/\1/p' tl_keras/version.py)"
ls "$work/dist/tl_keras-$version.tar.gz" "$work/dist/tl_keras-$version-py3-none-any.whl"

"$python" -m venv "$work/clean"
"$work/clean/bin/python" -m pip install --quiet -c constraints.txt \
  "$work/dist/tl_keras-$version-py3-none-any.whl"
cd "$work"  # not the checkout: only the installed wheel can be imported
TF_CPP_MIN_LOG_LEVEL=3 "$work/clean/bin/python" - "$version" <<'PY'
import os
import sys

import numpy as np

import tl_keras as tlk

assert tlk.__version__ == sys.argv[1], (tlk.__version__, sys.argv[1])
assert "site-packages" in tlk.__file__, tlk.__file__  # the wheel, not the checkout
model = tlk.build_model("mobilenet_v3_small", num_classes=2, weights=None,
                        input_shape=(32, 32, 3), class_names=["a", "b"])
assert model.predict(np.zeros((1, 32, 32, 3), "float32"), verbose=0).shape == (1, 2)
probe = os.path.join(os.path.dirname(tlk.__file__), "export", "keras_free_probe.py")
assert os.path.exists(probe), probe  # check_export runs it from its file
print(f"wheel: tl_keras {tlk.__version__} imports, builds and predicts "
      f"({os.path.dirname(tlk.__file__)})")
PY
"$work/clean/bin/tl-keras" bases > "$work/bases.txt"
grep -q "mobilenet_v2" "$work/bases.txt"
echo "OK: sdist and wheel of tl_keras $version build, pass twine check and run installed"
