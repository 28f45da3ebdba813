"""`tl-keras predict`: an exported model's top classes for images or texts.

`--format text` (the default) prints `INPUT: class score, ...` lines;
`--format json` one JSON object a line (`{"input", "classes", "scores"}`) and
`--format csv` a table (`input,class_1,score_1,...`), both on standard output
alone, with the `Model: ...` line on standard error, for a script to read.
"""

import csv
import json
import sys

import numpy as np
import tensorflow as tf

from tl_keras.data.image_files import DEFAULT_RESIZE
from tl_keras.data.image_files import load_images
from tl_keras.data.image_folder import scan_files
from tl_keras.io import layout
from tl_keras.io.library_records import resolve_reference
from tl_keras.io.library_records import retired_note


def predict(args):
    version_dir = layout.resolve_version_dir(resolve_reference(args.model_dir))
    if version_dir is not None and retired_note(version_dir):
        print(retired_note(version_dir))
    if version_dir is None:
        raise ValueError(
            "Expected an exported model: saved_models/NAME (its latest version) or a "
            f"version directory with saved_model.pb. Received: model_dir={args.model_dir!r}"
        )
    serve = tf.saved_model.load(version_dir).signatures["serving_default"]
    if "texts" in serve.structured_input_signature[1]:  # a text model: texts in
        return _predict_texts(serve, version_dir, args)
    paths, skipped, missing = scan_files(args.images)
    if missing:
        raise FileNotFoundError(f"Image files or folders not found. Received: {missing}")
    for path, reason in skipped:
        print(f"{path}: skipped: {reason}", file=sys.stderr)
    if not paths:
        print("tl-keras predict: error: no readable image among the "
              f"{len(skipped)} file(s) given", file=sys.stderr)
        return 1
    newer = [v for v in layout.broken_versions(args.model_dir)
             if v > layout.version_of(version_dir)]
    if newer and not layout.is_version_dir(args.model_dir):
        print(f"Skipped version(s) {newer}: no saved_model.pb (broken or unfinished "
              "exports).")
    height, width = serve.structured_input_signature[1]["images"].shape[1:3]
    resize = layout.read_model_card(version_dir).get("resize", DEFAULT_RESIZE)
    write = _writer(args)
    print(f"Model: {version_dir}", file=sys.stdout if args.format == "text" else sys.stderr)
    for start in range(0, len(paths), 32):
        batch = paths[start:start + 32]
        outputs = serve(images=tf.constant(load_images(batch, (height, width), resize)))
        for index, path in enumerate(batch):
            write(path, *_top(outputs, index, args.top))
    return 0


def _top(outputs, index, top):
    """`(classes, scores)`: the top classes of one example of a signature's outputs."""
    if "classes" in outputs:
        classes = [c.decode() for c in outputs["classes"][index].numpy()[:top]]
        scores = outputs["scores"][index].numpy()[:top]
    else:
        probabilities = outputs["probabilities"][index].numpy()
        order = np.argsort(-probabilities)[:top]
        classes, scores = [str(i) for i in order], probabilities[order]
    return classes, [float(score) for score in scores]


def _writer(args):
    """A function `(input, classes, scores)` that prints one result in `--format`."""
    if args.format == "json":
        return lambda item, classes, scores: print(json.dumps(
            {"input": item, "classes": classes, "scores": [round(s, 6) for s in scores]}))
    if args.format == "csv":
        table = csv.writer(sys.stdout, lineterminator="\n")
        header = ["input"] + [f"{kind}_{rank}" for rank in range(1, args.top + 1)
                              for kind in ("class", "score")]
        table.writerow(header)
        return lambda item, classes, scores: table.writerow(
            [item] + [v for pair in zip(classes, (f"{s:.6f}" for s in scores)) for v in pair])

    def text(item, classes, scores):
        shown = item if len(item) <= 60 or tf.io.gfile.exists(item) else item[:57] + "..."
        ranked = ", ".join(f"{name} {score:.3f}" for name, score in zip(classes, scores))
        print(f"{shown}: {ranked}")

    return text


def _predict_texts(serve, version_dir, args):
    """`predict` for a text model: each non-empty line of the files given (`-`:
    standard input) is one text."""
    texts = []
    for name in args.images:
        if name == "-":
            texts += sys.stdin.read().splitlines()
            continue
        if not tf.io.gfile.exists(name) or tf.io.gfile.isdir(name):
            raise FileNotFoundError(f"Expected text files (a text per line) for a text "
                                    f"model. Received: {name}")
        with tf.io.gfile.GFile(name, "rb") as f:
            content = f.read()
        kind = _binary_kind(content)
        if kind:
            raise ValueError(f"Expected text files (a text per line) for a text model; "
                             f"{name} is {kind}. Received: {name}")
        texts += content.decode("utf-8-sig", errors="replace").splitlines()
    texts = [text.strip() for text in texts if text.strip()]
    if not texts:
        print("tl-keras predict: error: no text in the files given (a text per line)",
              file=sys.stderr)
        return 1
    write = _writer(args)
    print(f"Model: {version_dir} (texts)",
          file=sys.stdout if args.format == "text" else sys.stderr)
    for start in range(0, len(texts), 32):
        batch = texts[start:start + 32]
        outputs = serve(texts=tf.constant(batch))
        for index, text in enumerate(batch):
            write(text, *_top(outputs, index, args.top))
    return 0


_MAGIC = {b"\xff\xd8\xff": "a JPEG image", b"\x89PNG": "a PNG image", b"GIF8": "a GIF image",
          b"BM": "a BMP image", b"%PDF": "a PDF", b"PK\x03\x04": "a ZIP archive"}


def _binary_kind(content):
    """What a binary file is (`"a JPEG image"`, `"binary"`), or None for text."""
    for magic, kind in _MAGIC.items():
        if content.startswith(magic):
            return kind
    return "binary (it holds NUL bytes)" if b"\x00" in content[:8192] else None
