"""Transfer without labels on real photos: duplicates, clusters, outliers, speed.

Real data: the 1,000 validation cats and dogs of `cats_and_dogs_filtered`, and
scikit-learn's bundled handwritten digits; MobileNet (v1) alpha=0.25 with its
real ImageNet weights at 224 px. Each section puts tl_keras next to what a user
could do without it, in one run; seeded parts run 3 seeds (mean ± standard
deviation).

- Duplicates: 100 of the images get an edited copy (crop to 85-95%, resize
  0.6-0.9, brightness ±15%, JPEG quality 30-70). Precision and recall of
  `find_duplicates` (automatic threshold) against the raw features' cosine at
  0.92 (the best fixed threshold the issue found) and at 0.88, and a
  perceptual hash (phash, as imagehash computes it: the sign of the 8x8
  low-frequency DCT of a 32x32 grey image against its median; Hamming
  distance <= 10).
- Clusters: cluster accuracy (the best matching of clusters to classes) and
  NMI of `cluster` (k given, and k chosen) against k-means on the same
  features and on raw pixels (32x32), on the cats and dogs (k=2) and the
  digits (k=10, 1,797 images upscaled to 224 px).
- Outliers: 30 intruders planted among the 1,000 (20 digits as a group, and
  10 single synthetic images: noise, solid colours, gradients, patterns), and
  again as 30 digits alone: how many of the top 30 are intruders, for
  `find_outliers` against the distance to the 5th neighbour, the mean
  distance to 50 neighbours, local outlier factor and an isolation forest.
- A few labels: 10 labels a class on the 2,000 training cats and dogs;
  accuracy of `propagate_labels` on the half no label was drawn from, against
  a logistic regression on the 20 alone, and each method forced.
- Speed: images per second of `embed` on the folder against the base's own
  `predict` on a `keras.utils.image_dataset_from_directory` pipeline of the
  same files; duplicate search for 10^4 and 10^5 random vectors with 1%
  planted near-copies, exact against faiss's approximate index (time, the
  pairs both find, and the index's recall@10 against exact search).

Usage:

    python benchmarks/unlabelled.py \\
        --data ../shared/assets/cats_and_dogs_filtered \\
        --weights ../shared/assets/weights/mobilenet_2_5_224_tf_no_top.h5
"""

import argparse
import glob
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import scipy.fft  # noqa: E402
import tensorflow as tf  # noqa: E402
from scipy.optimize import linear_sum_assignment  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.ensemble import IsolationForest  # noqa: E402
from sklearn.metrics import normalized_mutual_info_score  # noqa: E402
from sklearn.neighbors import LocalOutlierFactor  # noqa: E402

import tl_keras as tlk  # noqa: E402
from tl_keras.data.image_files import load_images  # noqa: E402
from tl_keras.unlabelled.neighbours import normalized  # noqa: E402

SIZE = 224
SEEDS = (0, 1, 2)


def _mean(values):
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


# === Duplicates ===

def _edit(path, rng):
    image = tf.io.decode_jpeg(tf.io.read_file(path), channels=3)
    h, w = image.shape[:2]
    share = rng.uniform(0.85, 0.95)
    ch, cw = int(h * share), int(w * share)
    top, left = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
    image = image[top:top + ch, left:left + cw]
    scale = rng.uniform(0.6, 0.9)
    image = tf.image.resize(image, (int(ch * scale), int(cw * scale))) * rng.uniform(0.85, 1.15)
    image = tf.cast(tf.clip_by_value(image, 0, 255), tf.uint8)
    return tf.io.encode_jpeg(image, quality=int(rng.integers(30, 71)))


def _phash(path):
    image = tf.io.decode_image(tf.io.read_file(path), channels=1, expand_animations=False)
    grey = tf.image.resize(tf.cast(image, tf.float32), (32, 32), antialias=True)[..., 0]
    low = scipy.fft.dctn(grey.numpy(), norm="ortho")[:8, :8]
    return (low > np.median(low)).ravel()


def _scores(found, truth):
    found = {tuple(sorted(pair)) for pair in found}
    hits = len(found & truth)
    return hits / max(len(found), 1), hits / len(truth)


def duplicates(args, base, originals, original_emb):
    rows = {name: ([], []) for name in ("find_duplicates (auto)", "raw cosine >= 0.92",
                                        "raw cosine >= 0.88", "phash (Hamming <= 10)")}
    thresholds = []
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        chosen = rng.choice(len(originals), 100, replace=False)
        folder = tempfile.mkdtemp(prefix="tl_keras_duplicates_")
        copies = []
        for i in chosen:
            copy = os.path.join(folder, f"copy_of_{os.path.basename(originals[i])}")
            tf.io.write_file(copy, _edit(originals[i], rng))
            copies.append(copy)
        truth = {tuple(sorted((originals[i], c))) for i, c in zip(chosen, copies)}
        copy_emb = tlk.embed(base, copies, verbose=0)
        emb = tlk.Embeddings(np.concatenate([original_emb.vectors, copy_emb.vectors]),
                             originals + copies)
        report = tlk.find_duplicates(emb, verbose=0)
        thresholds.append(report.threshold)
        _add(rows["find_duplicates (auto)"], _scores([p[:2] for p in report.pairs], truth))
        unit = normalized(emb.vectors)
        similarity = unit @ unit.T
        upper = np.triu(np.ones_like(similarity, dtype=bool), 1)
        for name, cut in (("raw cosine >= 0.92", 0.92), ("raw cosine >= 0.88", 0.88)):
            a, b = np.nonzero((similarity >= cut) & upper)
            _add(rows[name], _scores([(emb.ids[i], emb.ids[j]) for i, j in zip(a, b)], truth))
        hashes = np.array([_phash(p) for p in emb.ids])
        distance = (hashes[:, None, :] != hashes[None, :, :]).sum(-1)
        a, b = np.nonzero((distance <= 10) & upper)
        _add(rows["phash (Hamming <= 10)"],
             _scores([(emb.ids[i], emb.ids[j]) for i, j in zip(a, b)], truth))
        tf.io.gfile.rmtree(folder)
    print("\n### Duplicates: 1,000 photos + 100 edited copies, 3 seeds")
    print(f"automatic threshold: {_mean(thresholds)} (whitened cosine)\n")
    print("| method | precision | recall |\n| --- | --- | --- |")
    for name, (precision, recall) in rows.items():
        print(f"| {name} | {_mean(precision)} | {_mean(recall)} |")


def _add(row, scores):
    row[0].append(scores[0])
    row[1].append(scores[1])


# === Clusters ===

def _cluster_accuracy(truth, labels):
    k = max(truth.max(), labels.max()) + 1
    counts = np.zeros((k, k))
    np.add.at(counts, (labels, truth), 1)
    rows, columns = linear_sum_assignment(-counts)
    return counts[rows, columns].sum() / len(truth)


def _digit_images(indices=None):
    digits = load_digits()
    images = digits.images if indices is None else digits.images[indices]
    pixels = tf.image.resize(images[..., None] / 16.0 * 255.0, (SIZE, SIZE)).numpy()
    return np.repeat(255.0 - pixels, 3, axis=-1).astype("float32"), digits.target


def clusters(args, base, emb, originals):
    digit_images, digit_labels = _digit_images()
    digit_emb = tlk.embed(base, digit_images, verbose=0)
    sets = [("cats and dogs", emb, emb.labels, load_images(originals, (32, 32))),
            ("digits", digit_emb, digit_labels, digit_images[:, ::7, ::7])]
    print("\n### Clusters: accuracy (NMI), 3 seeds\n")
    print("| data | tl_keras cluster, k given | tl_keras, k chosen | k-means on the features "
          "| k-means on raw pixels |\n| --- | --- | --- | --- | --- |")
    for name, data, truth, pixels in sets:
        k = len(np.unique(truth))
        cells = {"given": [], "chosen": [], "kmeans": [], "pixels": []}
        chosen_k = []
        for seed in SEEDS:
            given = tlk.cluster(data, k=k, seed=seed, verbose=0)
            chosen = tlk.cluster(data, seed=seed, verbose=0)
            chosen_k.append(chosen.k)
            plain = KMeans(k, n_init=10, random_state=seed).fit_predict(data.vectors)
            raw = KMeans(k, n_init=10, random_state=seed).fit_predict(
                pixels.reshape(len(pixels), -1))
            for key, labels in (("given", given.labels), ("chosen", chosen.labels),
                                ("kmeans", plain), ("pixels", raw)):
                cells[key].append((_cluster_accuracy(truth, labels),
                                   normalized_mutual_info_score(truth, labels)))
        text = {key: f"{np.mean([a for a, _ in v]):.3f} ({np.mean([m for _, m in v]):.2f})"
                for key, v in cells.items()}
        print(f"| {name} (k={k}) | {text['given']} | {text['chosen']}, k = "
              f"{sorted(set(chosen_k))} | {text['kmeans']} | {text['pixels']} |")


# === Outliers ===

def _singles(rng):
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] / (SIZE - 1.0)
    return np.stack([
        rng.uniform(0, 255, (SIZE, SIZE, 3)),
        np.broadcast_to(np.array([200.0, 30, 30]), (SIZE, SIZE, 3)),
        np.stack([xx * 255, yy * 255, (1 - xx) * 255], -1),
        ((np.floor(xx * 8) + np.floor(yy * 8)) % 2)[..., None].repeat(3, -1) * 255,
        (np.sin(xx * 60) > 0)[..., None].repeat(3, -1) * 255.0,
        np.stack([(((xx - .5) ** 2 + (yy - .5) ** 2) < .1) * 255.0, np.zeros_like(xx),
                  np.full_like(xx, 120)], -1),
        np.full((SIZE, SIZE, 3), 10.0),
        np.clip(rng.normal(128, 10, (SIZE, SIZE, 3)), 0, 255),
        np.stack([np.sin(xx * 20) * 127 + 128, np.cos(yy * 13) * 127 + 128,
                  np.full_like(xx, 60)], -1),
        np.kron(rng.uniform(0, 255, (7, 7, 3)), np.ones((32, 32, 1))),
    ]).astype("float32")


def outliers(args, base, emb):
    print("\n### Outliers: intruders in the top 30 of 1,030, 3 seeds\n")
    print("| intruders | tl_keras find_outliers | 5th-neighbour distance | mean distance "
          "to 50 neighbours | LOF (k=20) | isolation forest |\n| --- | --- | --- | --- | "
          "--- | --- |")
    for name, group in (("20 digits + 10 singles", 20), ("30 digits", 30)):
        found = {key: [] for key in ("ours", "knn5", "mean50", "lof", "iforest")}
        for seed in SEEDS:
            rng = np.random.default_rng(seed)
            picked = rng.choice(1797, group, replace=False)
            intruders = _digit_images(picked)[0]
            if group < 30:
                intruders = np.concatenate([intruders, _singles(rng)])
            vectors = np.concatenate([emb.vectors,
                                      tlk.embed(base, intruders, verbose=0).vectors])
            planted = set(range(len(emb), len(vectors)))
            report = tlk.find_outliers(tlk.Embeddings(vectors, range(len(vectors))),
                                       verbose=0)
            found["ours"].append(len(set(report.ids[:30]) & planted))
            unit = normalized(vectors)
            similarity = unit @ unit.T
            np.fill_diagonal(similarity, -np.inf)
            distance = 1 - np.sort(similarity, axis=1)[:, ::-1]
            for key, score in (
                    ("knn5", distance[:, 4]), ("mean50", distance[:, :50].mean(1)),
                    ("lof", -LocalOutlierFactor(20).fit(unit).negative_outlier_factor_),
                    ("iforest", -IsolationForest(random_state=seed).fit(unit)
                     .score_samples(unit))):
                found[key].append(len(set(np.argsort(-score)[:30].tolist()) & planted))
        cells = " | ".join(f"{np.mean(v):.1f} ± {np.std(v):.1f}" for v in found.values())
        print(f"| {name} | {cells} |")


# === A few labels ===

def few_labels(args, base):
    """10 labels a class among the 2,000 training images; accuracy on the half of
    them (by a seeded permutation) that no label was drawn from."""
    emb = tlk.embed(base, os.path.join(args.data, "train"), verbose=0)
    truth = emb.labels
    rows = {key: [] for key in ("ours", "head", "clusters", "spreading")}
    chosen_methods = []
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(emb))
        pool, test = order[:len(emb) // 2], order[len(emb) // 2:]
        known = np.full(len(emb), -1)
        for label in (0, 1):
            picked = rng.choice(pool[truth[pool] == label], 10, replace=False)
            known[picked] = label
        report = tlk.propagate_labels(emb, known, seed=seed, verbose=0)
        chosen_methods.append(report.method)
        rows["ours"].append(np.mean(report.labels[test] == truth[test]))
        for method in ("head", "clusters", "spreading"):
            forced = tlk.propagate_labels(emb, known, method=method, seed=seed, verbose=0)
            rows[method].append(np.mean(forced.labels[test] == truth[test]))
    print("\n### A few labels: 10 a class of 2,000 training images, accuracy on the "
          "unlabelled test half, 3 seeds\n")
    print("| propagate_labels (auto) | head on the 20 alone | clusters named by the 20 | "
          "label spreading | methods chosen |\n| --- | --- | --- | --- | --- |")
    print(f"| {_mean(rows['ours'])} | {_mean(rows['head'])} | {_mean(rows['clusters'])} | "
          f"{_mean(rows['spreading'])} | {', '.join(chosen_methods)} |")


# === Speed ===

def speed(args, base, folder):
    """Each arm 4 times, alternating; the best rate of each (timeit's rule: on a
    shared 2-core machine some passes of either arm ran at half the rate)."""
    extractor = keras.Sequential([keras.Input((SIZE, SIZE, 3)),
                                  tlk.Preprocessing(base.identity["preprocessing"]), base,
                                  keras.layers.GlobalAveragePooling2D()])
    rates = {"embed": [], "plain": []}
    for _ in range(4):
        start = time.perf_counter()
        count = len(tlk.embed(base, folder, verbose=0))
        rates["embed"].append(count / (time.perf_counter() - start))
        start = time.perf_counter()
        plain = keras.utils.image_dataset_from_directory(folder, image_size=(SIZE, SIZE),
                                                         shuffle=False, verbose=False)
        vectors = extractor.predict(plain.map(lambda x, y: x), verbose=0)
        rates["plain"].append(len(vectors) / (time.perf_counter() - start))
    print("\n### Speed\n")
    best = {arm: max(values) for arm, values in rates.items()}
    print(f"embed on the folder: {best['embed']:.0f} images/s; "
          f"image_dataset_from_directory + predict: {best['plain']:.0f} images/s; "
          f"ratio {best['embed'] / best['plain']:.2f} (every pass: embed "
          f"{', '.join(f'{r:.0f}' for r in rates['embed'])}; plain "
          f"{', '.join(f'{r:.0f}' for r in rates['plain'])})")


def search(args):
    """Duplicate search on random vectors with planted near-copies, exact and
    approximate (faiss)."""
    print("\n### Search\n")
    print("| vectors (256-d, 1% planted near-copies) | exact: seconds | approximate "
          "(faiss HNSW): seconds | pairs found by both / by exact | recall@10 of the "
          "approximate index |\n| --- | --- | --- | --- | --- |")
    rng = np.random.default_rng(0)
    for count in (10_000, 100_000):
        vectors = rng.normal(size=(count, 256)).astype("float32")
        planted = rng.choice(count, count // 100, replace=False)
        vectors[planted[len(planted) // 2:]] = vectors[planted[:len(planted) // 2]] + \
            rng.normal(scale=0.1, size=(len(planted) - len(planted) // 2, 256))
        emb = tlk.Embeddings(vectors, range(count))
        timed = {}
        for search in ("exact", "approximate"):
            start = time.perf_counter()
            report = tlk.find_duplicates(emb, search=search, verbose=0)
            timed[search] = (time.perf_counter() - start, {p[:2] for p in report.pairs})
        queries = emb.subset(range(200))
        exact_ids, _ = tlk.SimilarityIndex(emb).search(queries, k=10)
        found_ids, _ = tlk.SimilarityIndex(emb, approximate=True).search(queries, k=10)
        recall = np.mean([len(set(a) & set(b)) / 10
                          for a, b in zip(exact_ids.tolist(), found_ids.tolist())])
        both = len(timed["exact"][1] & timed["approximate"][1])
        print(f"| {count:,} | {timed['exact'][0]:.1f} | {timed['approximate'][0]:.1f} | "
              f"{both} / {len(timed['exact'][1])} | {recall:.3f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--weights", required=True)
    parser.add_argument("--only", default=None,
                        choices=("duplicates", "clusters", "outliers", "few_labels", "speed",
                                 "search"),
                        help="run one section (default: all)")
    args = parser.parse_args()
    for path in (args.data, args.weights):
        if not os.path.exists(path):
            sys.exit(f"Missing {path}: see ../shared/assets/README.md")
    folder = os.path.join(args.data, "validation")
    originals = sorted(glob.glob(os.path.join(folder, "*", "*.jpg")))
    base = tlk.load_base("mobilenet", weights=args.weights, alpha=0.25,
                         input_shape=(SIZE, SIZE, 3))
    emb = tlk.embed(base, folder, verbose=0)
    if emb.ids != originals:
        sys.exit("The folder's images are not the 1,000 validation JPEGs expected.")
    sections = {"duplicates": lambda: duplicates(args, base, originals, emb),
                "clusters": lambda: clusters(args, base, emb, originals),
                "outliers": lambda: outliers(args, base, emb),
                "few_labels": lambda: few_labels(args, base),
                "speed": lambda: speed(args, base, folder),
                "search": lambda: search(args)}
    for name, run in sections.items():
        if args.only in (None, name):
            run()


if __name__ == "__main__":
    main()
