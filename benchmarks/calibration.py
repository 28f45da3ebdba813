"""Calibration on real data: the same trained model before and after `tlk.calibrate`.

Real data, a test split nothing selected on:

- images: cats vs dogs (`cats_and_dogs_filtered`), MobileNet (v1) alpha=0.25 with
  its real ImageNet weights, 128x128. Trained on the 2,000 `train` images; the
  1,000 `validation` images are cut by tl_keras's stable hash into a validation
  half (early stopping, keeping the best epoch, fitting the temperature) and a
  test half (read once, at the end). `fit_two_phase` defaults, 3 phase-2 epochs.
- texts: the 3,000 review sentences (Amazon, IMDB, Yelp), `text_dataset` with
  `validation_split=0.2, test_split=0.2`, `build_text_model` on the real GloVe
  Twitter 25-d vectors, `fit_two_phase` defaults.

The simple alternative is the model as trained (what a user has without
calibration); both arms are the same weights, so accuracy must not move.
For each of 3 or more seeds: test accuracy, expected calibration error (15
bins) and negative log-likelihood, before and after. Missing data is an error.

Usage:

    python benchmarks/calibration.py \\
        --images ../shared/assets/cats_and_dogs_filtered \\
        --weights ../shared/assets/weights/mobilenet_2_5_224_tf_no_top.h5 \\
        --texts ../shared/assets/sentiment_labelled_sentences \\
        --vectors ../shared/assets/glove/glove.twitter.27B.25d.subset12k.txt
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import tl_keras as tlk  # noqa: E402

SITES = ("amazon_cells", "imdb", "yelp")


def _require(path, what):
    if not os.path.exists(path):
        sys.exit(f"error: {what} not found at {path}: pass its path (see the usage).")
    return path


def _image_run(args, seed):
    keras.utils.set_random_seed(seed)
    size = (128, 128)
    train, _, class_names = tlk.image_dataset(os.path.join(args.images, "train"),
                                              image_size=size, validation_split=0,
                                              seed=seed, verbose=0)
    # The validation folder, halved by the stable hash: validation, then test.
    val, test, _ = tlk.image_dataset(os.path.join(args.images, "validation"),
                                     image_size=size, validation_split=0.5, seed=seed,
                                     shuffle=False, verbose=0)
    model = tlk.build_model("mobilenet", num_classes=len(class_names), alpha=0.25,
                            weights=args.weights, input_shape=size + (3,))
    tlk.fit_two_phase(model, train, val, fine_tune_epochs=3, verbose=0)
    return _before_and_after(model, val, test)


def _text_run(args, seed):
    keras.utils.set_random_seed(seed)
    paths = [_require(os.path.join(args.texts, f"{site}_labelled.txt"), "sentences")
             for site in SITES]
    texts, labels = [], []
    for path in paths:
        with open(path, encoding="utf-8") as f:  # local: the shared assets
            for line in f:
                text, _, label = line.rstrip("\n").rpartition("\t")
                texts.append(text)
                labels.append(int(label))
    train, val, test, _ = tlk.text_dataset((texts, labels), validation_split=0.2,
                                           test_split=0.2, seed=seed, verbose=0)
    model = tlk.build_text_model(args.vectors, 2, texts=train)
    tlk.fit_two_phase(model, train, val, verbose=0)
    return _before_and_after(model, val, test)


def _before_and_after(model, val, test):
    before = tlk.evaluate_classifier(model, test)
    start = time.time()
    record = tlk.calibrate(model, val, verbose=0)
    seconds = time.time() - start
    after = tlk.evaluate_classifier(model, test)
    return {"examples": after["examples"], "temperature": record["temperature"],
            "seconds": seconds,
            "accuracy": (before["accuracy"], after["accuracy"]),
            "ece": (before["expected_calibration_error"], after["expected_calibration_error"]),
            "nll": (before["loss"], after["loss"])}


def _mean_spread(values):
    values = np.asarray(values, dtype="float64")
    return f"{values.mean():.3f} ± {values.std(ddof=1) if len(values) > 1 else 0:.3f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", required=True)
    parser.add_argument("--weights", required=True)
    parser.add_argument("--texts", required=True)
    parser.add_argument("--vectors", required=True)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    for path, what in ((args.images, "cats_and_dogs_filtered"), (args.weights, "weights"),
                       (args.texts, "sentiment sentences"), (args.vectors, "vectors")):
        _require(path, what)
    rows = []
    for task, run in (("cats vs dogs, MobileNet 0.25", _image_run),
                      ("review sentences, GloVe 25-d", _text_run)):
        results = [run(args, seed) for seed in range(args.seeds)]
        for seed, r in enumerate(results):
            print(f"{task} seed {seed}: T={r['temperature']:.3f} "
                  f"acc {r['accuracy'][0]:.4f}->{r['accuracy'][1]:.4f} "
                  f"ECE {r['ece'][0]:.4f}->{r['ece'][1]:.4f} "
                  f"NLL {r['nll'][0]:.4f}->{r['nll'][1]:.4f} ({r['seconds']:.1f} s)",
                  flush=True)
        rows.append((task, results))
    print(f"\n{args.seeds} seeds, mean ± standard deviation; test split, never selected on\n")
    print("| task | test examples | temperature | accuracy before / after | "
          "ECE before | ECE after | NLL before | NLL after | fit (s) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for task, results in rows:
        same = all(r["accuracy"][0] == r["accuracy"][1] for r in results)
        print(f"| {task} | {results[0]['examples']} | "
              f"{_mean_spread([r['temperature'] for r in results])} | "
              f"{_mean_spread([r['accuracy'][1] for r in results])} "
              f"({'same' if same else 'CHANGED'}) | "
              f"{_mean_spread([r['ece'][0] for r in results])} | "
              f"{_mean_spread([r['ece'][1] for r in results])} | "
              f"{_mean_spread([r['nll'][0] for r in results])} | "
              f"{_mean_spread([r['nll'][1] for r in results])} | "
              f"{_mean_spread([r['seconds'] for r in results])} |")


if __name__ == "__main__":
    main()
