"""The feature cache's memory budget on a folder pipeline (unknown length).

Real images: the cats vs dogs training images, each written again as its
horizontal flip and a centre crop (so `--copies 3` gives 6,000 JPEGs in a
temporary folder). MobileNet (v1) alpha=0.25 with its ImageNet weights at
224 px, `fit_two_phase(epochs=2, fine_tune_epochs=2)`: phase 2 cut at the
default depth, its activations cached. Two runs, each in a fresh process:

- in memory: the default budget (2 GiB), larger than the activations;
- bounded: `FeatureCache(memory_limit_bytes=B)` with B a quarter of the
  activations' size, so they spill to a memory-mapped file.

Reported: the activations' size, the budget, each run's peak resident memory
above what the process held before training (`ru_maxrss`), wall time, and
whether both runs end with the same weights.

Usage:

    python benchmarks/memory_budget.py \\
        --data ../shared/assets/cats_and_dogs_filtered/train \\
        --weights ../shared/assets/weights/mobilenet_2_5_224_tf_no_top.h5
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

_RUN = r"""
import json, os, resource, sys, threading, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"

PEAK = {"RssAnon": 0, "RssFile": 0}


def _sample():  # anonymous memory (what the budget bounds) and mapped file pages
    while True:
        with open("/proc/self/status") as f:  # local: this process's own status
            for line in f:
                key = line.split(":")[0]
                if key in PEAK:
                    PEAK[key] = max(PEAK[key], int(line.split()[1]) * 1024)
        time.sleep(0.05)

import numpy as np
import keras
import tl_keras as tlk

folder, weights, budget = sys.argv[1], sys.argv[2], int(sys.argv[3])
keras.utils.set_random_seed(0)
train, val, names = tlk.image_dataset(folder, image_size=224, validation_split=0.1,
                                      verbose=0)
model = tlk.build_model("mobilenet", num_classes=2, alpha=0.25, weights=weights,
                        input_shape=(224, 224, 3))
for batch in train.take(1):
    model.predict_on_batch(batch[0])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
with open("/proc/self/status") as f:  # local: this process's own status
    anon_before = next(int(l.split()[1]) * 1024 for l in f if l.startswith("RssAnon"))
threading.Thread(target=_sample, daemon=True).start()
start = time.time()
with tlk.FeatureCache(memory_limit_bytes=budget) as cache:
    tlk.fit_two_phase(model, train, val, epochs=2, fine_tune_epochs=2, verbose=0,
                      caching=tlk.Caching(store=cache))
    info = cache.info()
seconds = time.time() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print("RESULT " + json.dumps({
    "seconds": seconds, "before": before, "peak": peak, "info": info,
    "anon": PEAK["RssAnon"] - anon_before, "file": PEAK["RssFile"],
    "weights": float(sum(np.abs(w).sum() for w in model.get_weights()))}))
"""


def _write_copies(source, target, copies):
    """Each image of `source` (a folder of class folders) `copies` times: as it is,
    flipped, and centre-cropped to 80%."""
    import tensorflow as tf

    count = 0
    for name in sorted(os.listdir(source)):  # local: the shared assets
        os.makedirs(os.path.join(target, name))
        for file in sorted(os.listdir(os.path.join(source, name))):  # local: the assets
            image = tf.io.decode_jpeg(tf.io.read_file(os.path.join(source, name, file)),
                                      channels=3)
            variants = [image, tf.image.flip_left_right(image),
                        tf.image.central_crop(image, 0.8)]
            for index, variant in enumerate(variants[:copies]):
                tf.io.write_file(os.path.join(target, name, f"{index}_{file}"),
                                 tf.io.encode_jpeg(variant, quality=90))
                count += 1
    return count


def _run(folder, weights, budget):
    done = subprocess.run([sys.executable, "-c", _RUN, folder, weights, str(budget)],
                          capture_output=True, text=True)
    if done.returncode:
        sys.exit(done.stderr[-3000:])
    return json.loads(done.stdout.split("RESULT ")[1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--weights", required=True)
    parser.add_argument("--copies", type=int, default=3)
    args = parser.parse_args()
    for path in (args.data, args.weights):
        if not os.path.exists(path):
            sys.exit(f"error: {path} not found (see ../shared/assets/README.md)")
    with tempfile.TemporaryDirectory() as root:
        count = _write_copies(args.data, root, args.copies)
        in_memory = _run(root, args.weights, 2 * 1024 ** 3)
        activations = in_memory["info"]["peak_bytes_in_memory"] / 2  # the join doubled
        budget = int(activations / 4)
        bounded = _run(root, args.weights, budget)
    mb = 1024 ** 2
    print(f"\n{count} images; phase-2 activations {activations / mb:.0f} MB\n")
    print("| run | budget (MB) | activations held in memory at most (MB) | spill files | "
          "peak anonymous memory above the start (MB) | peak RSS above the start (MB) | "
          "wall time (s) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, run, limit in (("in memory", in_memory, 2 * 1024 ** 3),
                             ("bounded", bounded, budget)):
        print(f"| {name} | {limit / mb:.0f} | {run['info']['peak_bytes_in_memory'] / mb:.0f} | "
              f"{run['info']['spill_files']} | {run['anon'] / mb:.0f} | "
              f"{(run['peak'] - run['before']) / mb:.0f} | {run['seconds']:.0f} |")
    same = abs(in_memory["weights"] - bounded["weights"]) <= 1e-4 * abs(in_memory["weights"])
    print(f"\nSum of |weights|: {in_memory['weights']:.4f} vs {bounded['weights']:.4f} "
          f"({'the same' if same else 'DIFFERENT'})")


if __name__ == "__main__":
    main()
