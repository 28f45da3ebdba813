"""Finding mislabelled images: `find_label_issues` against the top losses.

Real data: the 2,000 cats vs dogs training images (`cats_and_dogs_filtered/train`),
with 5% of them (100) moved to the other class's folder on purpose (symbolic
links in a temporary copy; the assets are not touched). MobileNet (v1)
alpha=0.25 with its real ImageNet weights, 128x128.

- top losses (the simple alternative, what `plots.show_top_losses` shows): train
  the model on the noisy folder (`fit_two_phase`, phase 1, 1,000 validation
  images), then rank the training images by their loss under it.
- `find_label_issues(model, noisy_folder)`: out-of-fold predictions of 5 heads
  on the cached features, ranked by the probability of the given label; and
  the set the confident-learning rule flags.

Reported over 3 seeds (which images are flipped, and training): precision and
recall of the flips among the top 5% (100 images) of each ranking, and of the
flagged set. Missing data is an error.

Usage:

    python benchmarks/label_issues.py \\
        --data ../shared/assets/cats_and_dogs_filtered \\
        --weights ../shared/assets/weights/mobilenet_2_5_224_tf_no_top.h5
"""

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import tl_keras as tlk  # noqa: E402
from tl_keras.data.image_folder import scan_image_folder  # noqa: E402

SIZE = (128, 128)


def _noisy_copy(train_dir, root, share, seed):
    """Links every training image into `root`, `share` of them under the other
    class; returns the set of flipped link paths."""
    folder = scan_image_folder(train_dir)
    rng = np.random.default_rng(seed)
    flipped = set(rng.choice(len(folder.paths), int(round(share * len(folder.paths))),
                             replace=False).tolist())
    names = folder.class_names
    links = set()
    for index, (path, label) in enumerate(zip(folder.paths, folder.labels)):
        target = names[1 - label] if index in flipped else names[label]
        os.makedirs(os.path.join(root, target), exist_ok=True)
        link = os.path.join(root, target, os.path.basename(path))
        os.symlink(os.path.abspath(path), link)  # local: a temporary copy of the assets
        if index in flipped:
            links.add(link)
    return links


def _precision_recall(found, flips):
    found = set(found)
    hits = len(found & flips)
    return (hits / len(found) if found else float("nan")), hits / len(flips)


def _run(args, seed):
    keras.utils.set_random_seed(seed)
    with tempfile.TemporaryDirectory() as root:
        flips = _noisy_copy(os.path.join(args.data, "train"), root, args.share, seed)
        train, _, class_names = tlk.image_dataset(root, image_size=SIZE, validation_split=0,
                                                  seed=seed, verbose=0)
        val, _, _ = tlk.image_dataset(os.path.join(args.data, "validation"), image_size=SIZE,
                                      validation_split=0, shuffle=False, verbose=0)
        model = tlk.build_model("mobilenet", num_classes=2, alpha=0.25, weights=args.weights,
                                input_shape=SIZE + (3,), class_names=class_names)
        tlk.fit_two_phase(model, train, val, fine_tune_epochs=0, verbose=0)
        top = int(round(args.share * len(scan_image_folder(root).paths)))
        # The simple alternative: the trained model's loss on each training image.
        ordered, _, _ = tlk.image_dataset(root, image_size=SIZE, validation_split=0,
                                          shuffle=False, verbose=0)
        files = scan_image_folder(root).paths
        p = np.concatenate([model.predict_on_batch(x) for x, _ in ordered])
        labels = np.concatenate([y.numpy() for _, y in ordered])
        losses = -np.log(np.clip(p[np.arange(len(labels)), labels], 1e-12, 1))
        by_loss = [files[i] for i in np.argsort(-losses)[:top]]
        start = time.time()
        issues = tlk.find_label_issues(model, root, folds=5, verbose=0)
        seconds = time.time() - start
        by_rank = [files[i] for i in issues.ranking[:top]]
        return {"loss": _precision_recall(by_loss, flips),
                "ranking": _precision_recall(by_rank, flips),
                "flagged": _precision_recall(issues.files, flips),
                "flagged_count": len(issues.indices), "seconds": seconds, "top": top}


def _mean_spread(values):
    values = np.asarray(values, dtype="float64")
    return f"{values.mean():.3f} ± {values.std(ddof=1) if len(values) > 1 else 0:.3f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--weights", required=True)
    parser.add_argument("--share", type=float, default=0.05)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    for path in (os.path.join(args.data, "train"), args.weights):
        if not os.path.exists(path):
            sys.exit(f"error: {path} not found: pass --data and --weights (see the usage).")
    results = []
    for seed in range(args.seeds):
        r = _run(args, seed)
        results.append(r)
        print(f"seed {seed}: top {r['top']} by loss P/R {r['loss'][0]:.3f}/{r['loss'][1]:.3f}; "
              f"by find_label_issues P/R {r['ranking'][0]:.3f}/{r['ranking'][1]:.3f}; "
              f"flagged {r['flagged_count']} P/R {r['flagged'][0]:.3f}/"
              f"{r['flagged'][1]:.3f} ({r['seconds']:.1f} s)", flush=True)
    print(f"\n{args.seeds} seeds, mean ± standard deviation; "
          f"{results[0]['top']} flipped of 2,000\n")
    print("| ranking | examples looked at | precision | recall | seconds |")
    print("| --- | --- | --- | --- | --- |")
    for key, name in (("loss", "top losses of the trained model"),
                      ("ranking", "find_label_issues, top of its ranking"),
                      ("flagged", "find_label_issues, flagged set")):
        looked = (str(results[0]["top"]) if key != "flagged" else
                  _mean_spread([r["flagged_count"] for r in results]))
        seconds = _mean_spread([r["seconds"] for r in results]) if key != "loss" else "-"
        print(f"| {name} | {looked} | {_mean_spread([r[key][0] for r in results])} | "
              f"{_mean_spread([r[key][1] for r in results])} | {seconds} |")


if __name__ == "__main__":
    main()
