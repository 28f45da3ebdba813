#!/usr/bin/env bash
# Installs tl_keras into a fresh virtual environment that already holds an older
# supported TensorFlow (as Colab holds its own), and checks that TensorFlow is
# still that version afterwards. Not part of `make test` (it downloads TensorFlow).
#
# Usage: bash scripts/install_keeps_tensorflow.sh [TENSORFLOW_VERSION]   (default 2.18.1)
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:-2.18.1}"
python="${PYTHON:-python3}"
env_dir="$(mktemp -d)/env"
"$python" -m venv "$env_dir"
"$env_dir/bin/python" -m pip install --quiet --upgrade pip
"$env_dir/bin/python" -m pip install --quiet "tensorflow==$version"
before="$("$env_dir/bin/python" -m pip show tensorflow | sed -n 's/^Version: //p')"
"$env_dir/bin/python" -m pip install --quiet .
after="$("$env_dir/bin/python" -m pip show tensorflow | sed -n 's/^Version: //p')"
"$env_dir/bin/python" - <<'PY'
import os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import keras, tensorflow as tf, tl_keras as tlk
model = tlk.build_model("mobilenet_v3_small", num_classes=2, weights=None, input_shape=(32, 32, 3))
print(f"import and build: ok (tl_keras {tlk.__version__}, TensorFlow {tf.__version__}, "
      f"Keras {keras.__version__})")
PY
echo "TensorFlow before: $before; after pip install .: $after"
rm -rf "$(dirname "$env_dir")"
if [ "$before" != "$after" ]; then
  echo "FAILED: installing tl_keras replaced TensorFlow $before with $after"
  exit 1
fi
echo "OK: TensorFlow $before kept"
