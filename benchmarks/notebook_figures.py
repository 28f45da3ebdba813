"""Runs tutorial notebook 01 on real photos and real ImageNet weights, offline.

The notebook as a reader runs it, with one injected cell (as the test suite does):
cats vs dogs from ../shared/assets in place of tf_flowers, and MobileNet (v1) alpha
0.25 with its real ImageNet weights registered as the base. Prints the figures the
notebook prints (untrained head, from scratch, transfer), for its prose.

    .venv/bin/python benchmarks/notebook_figures.py \\
        --data ../shared/assets/cats_and_dogs_filtered/train \\
        --weights ../shared/assets/weights/mobilenet_2_5_224_tf_no_top.h5
"""

import argparse
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="folder of class subfolders")
    parser.add_argument("--weights", required=True, help="MobileNet alpha 0.25 no-top .h5")
    parser.add_argument("--image-size", type=int, default=224)
    args = parser.parse_args()
    for path in (args.data, args.weights):
        if not os.path.exists(path):
            sys.exit(f"error: {path} is not here (see ../shared/assets/README.md)")
    import nbformat
    from nbclient import NotebookClient

    injected = f'''# injected by benchmarks/notebook_figures.py
import keras
tlk.register_base("mobilenet_025", lambda *, weights, input_shape, **kw:
    keras.applications.MobileNet(alpha=0.25, include_top=False, weights=weights,
                                 input_shape=input_shape),
    default_size=224, preprocessing="tf")
DATASET = {os.path.abspath(args.data)!r}
BASE = "mobilenet_025"
WEIGHTS = {os.path.abspath(args.weights)!r}
IMAGE_SIZE = {args.image_size}'''
    nb = nbformat.read(os.path.join(ROOT, "notebooks", "01_image_classifier.ipynb"), 4)
    index = next(i for i, c in enumerate(nb.cells)
                 if "parameters" in c.metadata.get("tags", []))
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(injected))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with tempfile.TemporaryDirectory() as work:
        start = time.perf_counter()
        NotebookClient(nb, timeout=3600, kernel_name="python3",
                       resources={"metadata": {"path": work}}).execute()
        seconds = time.perf_counter() - start
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            text = output.get("text", "")
            for line in text.splitlines():
                if any(k in line for k in ("accuracy", "untrained", "parameters", "Phase")):
                    print(line)
    print(f"notebook wall time: {seconds:.0f} s")


if __name__ == "__main__":
    main()
