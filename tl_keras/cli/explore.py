"""`tl-keras cluster`, `explore` and `label-issues`: a collection before it has labels,
and labels that look wrong."""

import csv
import io
import os

import tensorflow as tf

import tl_keras as tlk
from tl_keras.cli.paths import data_class_names
from tl_keras.cli.train import alpha_for
from tl_keras.data.tfrecords import ENCODED
from tl_keras.data.tfrecords import FILENAME
from tl_keras.data.tfrecords import is_tfrecord_source
from tl_keras.data.tfrecords import shard_files
from tl_keras.plots.explore_page import write_explore_page

OUTLIERS_SHOWN = 30


def cluster_command(args):
    """`tl-keras cluster DATA --out OUT`: one folder of images per cluster and
    `clusters.csv` (id, cluster, file written). Returns the exit status."""
    out = _new_directory(args.out)
    emb = _embed(args, args.data)
    report = tlk.cluster(emb, k=args.k, verbose=0)
    print(report.summary())
    written = {}
    cluster_of = dict(zip(emb.ids, report.labels.tolist()))
    for item, data in _item_bytes(args.data, emb.ids):
        folder = os.path.join(out, f"cluster_{cluster_of[item]:02d}")
        name = _unique_name(folder, os.path.basename(str(item)), written)
        tf.io.gfile.makedirs(folder)
        with tf.io.gfile.GFile(os.path.join(folder, name), "wb") as f:
            f.write(data)
        written[item] = os.path.join(folder, name)
    _write_csv(os.path.join(out, "clusters.csv"), ["id", "cluster", "file"],
               [(i, int(c), written.get(i, "")) for i, c in zip(emb.ids, report.labels)])
    print(f"Wrote {len(written)} images in {report.k} folders under {out}, and "
          f"clusters.csv. Rename the folders to class names (merge or delete some), then "
          f"`tl-keras train --data {out} --base ...`.")
    return 0


def explore_command(args):
    """`tl-keras explore DATA --out OUT`: duplicates, leaks (with
    `--validation-data`), clusters and outliers in `OUT/index.html`, with a CSV
    of each beside it. Returns the exit status."""
    out = _new_directory(args.out)
    for folder in (args.validation_data, args.test_data):
        if folder and not tf.io.gfile.isdir(folder):
            raise ValueError(f"No such folder: {folder}. Received: {folder!r}")
    emb = _embed(args, args.data)
    duplicates = tlk.find_duplicates(emb, verbose=0)
    clusters = tlk.cluster(emb, verbose=0)
    outliers = tlk.find_outliers(emb, verbose=0)
    audit = None
    if args.validation_data:
        audit = tlk.audit_splits(
            emb, _embed(args, args.validation_data),
            _embed(args, args.test_data) if args.test_data else None, verbose=0)
    for line in (duplicates.summary(), clusters.summary()) + (
            (audit.summary(),) if audit else ()):
        print(line)
    _write_csv(os.path.join(out, "duplicates.csv"), ["group", "id"],
               [(g, i) for g, group in enumerate(duplicates.groups) for i in group])
    _write_csv(os.path.join(out, "clusters.csv"), ["id", "cluster"],
               zip(clusters.ids, clusters.labels.tolist()))
    _write_csv(os.path.join(out, "outliers.csv"), ["rank", "id", "score"],
               [(r + 1, i, f"{s:.6f}") for r, (i, s) in
                enumerate(zip(outliers.ids, outliers.scores))])
    if audit is not None:
        _write_csv(os.path.join(out, "leaks.csv"), ["id_in_train", "id_elsewhere",
                                                   "similarity"], audit.leaks)
        _write_csv(os.path.join(out, "conflicts.csv"), ["id_a", "class_a", "id_b",
                                                       "class_b", "similarity"],
                   audit.conflicts)
    page = write_explore_page(out, title=f"Exploring {args.data}", duplicates=duplicates,
                              clusters=clusters, outliers=outliers.top(OUTLIERS_SHOWN),
                              audit=audit,
                              read=lambda items: dict(_item_bytes(args.data, items)))
    print(f"Open {page} in a browser (no server needed); the CSVs are beside it.")
    return 0


def label_issues_command(args):
    """`tl-keras label-issues DATA --out FILE.csv`: the images whose class folder
    looks wrong, most likely first, from `tl_keras.find_label_issues` on a fresh
    head over `--base`'s frozen features. Returns the exit status."""
    out = args.out
    if tf.io.gfile.isdir(out):
        raise ValueError(f"--out {out} is a directory: pass a file name (such as "
                         f"{os.path.join(out, 'label_issues.csv')}). Received: --out {out}")
    if args.folds < 2:
        raise ValueError(f"Expected --folds of 2 or more. Received: --folds {args.folds}")
    class_names = data_class_names(args.data)
    weights = None if args.weights.lower() == "none" else args.weights
    kwargs = alpha_for([args.base], args.alpha, "base")[args.base]
    shape = None if args.image_size is None else (args.image_size, args.image_size, 3)
    model = tlk.build_model(args.base, num_classes=len(class_names), weights=weights,
                            input_shape=shape, class_names=class_names, **kwargs)
    issues = tlk.find_label_issues(model, args.data, folds=args.folds)
    folder = os.path.dirname(out)
    if folder:
        tf.io.gfile.makedirs(folder)
    issues.to_csv(out)
    for rank in range(min(10, len(issues.indices))):
        print(f"  {issues.files[rank]}: filed under {issues.given_names[rank]}, looks like "
              f"{issues.suggested_names[rank]} (p={1 - issues.self_confidence[rank]:.2f})")
    print(f"Wrote {len(issues.indices)} rows to {out}, most likely mislabelled first.")
    return 0


def _embed(args, data):
    weights = None if args.weights.lower() == "none" else args.weights
    kwargs = alpha_for([args.base], args.alpha, "base")[args.base]
    return tlk.embed(args.base, data, weights=weights, image_size=args.image_size,
                     verbose=0, **kwargs)


def _new_directory(path):
    """`path`, made; refused before any work when it is a file or holds files."""
    if tf.io.gfile.exists(path) and (not tf.io.gfile.isdir(path) or
                                     tf.io.gfile.listdir(path)):
        raise ValueError(f"--out {path} exists and is not an empty directory: pass a new "
                         f"one. Received: --out {path}")
    tf.io.gfile.makedirs(path)
    return path


def _item_bytes(data, ids):
    """`(id, the image's bytes)` for each id: files read, TFRecords' records."""
    if isinstance(data, str) and is_tfrecord_source(data) and not tf.io.gfile.exists(
            str(ids[0])):
        wanted = set(ids)
        spec = {ENCODED: tf.io.FixedLenFeature([], tf.string),
                FILENAME: tf.io.FixedLenFeature([], tf.string, default_value="")}
        for position, record in enumerate(tf.data.TFRecordDataset(shard_files(data))):
            parsed = tf.io.parse_single_example(record, spec)
            name = parsed[FILENAME].numpy().decode("utf-8", "replace")
            if name in wanted:
                yield name, parsed[ENCODED].numpy()
        return
    for item in ids:
        with tf.io.gfile.GFile(str(item), "rb") as f:
            yield item, f.read()


def _unique_name(folder, name, written):
    taken = {os.path.basename(p) for p in written.values() if os.path.dirname(p) == folder}
    stem, extension = os.path.splitext(name)
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        candidate = f"{stem}_{number}{extension}"
    return candidate


def _write_csv(path, header, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    with tf.io.gfile.GFile(path, "w") as f:
        f.write(buffer.getvalue())
