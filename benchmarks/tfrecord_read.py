"""Reading images: TFRecord shards against the JPEG folder they were written from.

Real data: the 2,000 cats vs dogs training JPEGs, written once with
`tl-keras to-tfrecord` (the files' bytes, no re-encoding) into a temporary
directory. Each pass is one full epoch of `tl_keras.image_dataset(...)` at
224 px, batch 32, decode and resize included; the two sources alternate, 3
passes each after a warm-up pass of each (the page cache then holds both).
`--validation-split 0.2` reads the training side of the stable split instead
(the shards then hash each record's file name as the folder does).

Usage:

    python benchmarks/tfrecord_read.py \\
        --data ../shared/assets/cats_and_dogs_filtered/train
"""

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

import tl_keras as tlk  # noqa: E402
from tl_keras.data.tfrecords import write_image_tfrecords  # noqa: E402


def _epoch(source, validation_split):
    train, _, _ = tlk.image_dataset(source, image_size=224,
                                    validation_split=validation_split, batch_size=32,
                                    verbose=0)
    start = time.perf_counter()
    count = sum(int(images.shape[0]) for images, _ in train)
    return count, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--validation-split", type=float, default=0.0,
                        help="read the training side of this split (0: every image)")
    args = parser.parse_args()
    if not os.path.isdir(args.data):
        sys.exit(f"error: {args.data} not found (see ../shared/assets/README.md)")
    with tempfile.TemporaryDirectory() as root:
        start = time.perf_counter()
        write_image_tfrecords(args.data, root, shards=args.shards, verbose=0)
        written = time.perf_counter() - start
        sources = {"JPEG folder": args.data,
                   f"{args.shards} TFRecord shards": os.path.join(root, "*.tfrecord")}
        for source in sources.values():
            _epoch(source, args.validation_split)  # warm-up
        times = {name: [] for name in sources}
        counts = {}
        for _ in range(args.passes):
            for name, source in sources.items():
                counts[name], seconds = _epoch(source, args.validation_split)
                times[name].append(seconds)
    print(f"\nWriting the shards: {written:.1f} s\n")
    print("| source | images | seconds per epoch | images per second |")
    print("| --- | --- | --- | --- |")
    for name, values in times.items():
        values = np.asarray(values)
        print(f"| {name} | {counts[name]} | {values.mean():.2f} ± {values.std(ddof=1):.2f} | "
              f"{counts[name] / values.mean():.0f} |")


if __name__ == "__main__":
    main()
