"""Text transfer on real sentences against models without transfer, side by side.

Real data: the UCI "Sentiment Labelled Sentences" (Amazon, IMDB and Yelp
reviews, 1,000 sentences each, `sentence<TAB>label`), read with
`tl_keras.text_dataset`, and the real GloVe Twitter 25-d vectors.

1. All three sites, a stable 60/20/20 split (by a hash of each sentence, as
   `text_dataset(validation_split=0.2, test_split=0.2)` cuts it): tl_keras
   defaults; each encoder; a bag-of-words logistic regression from scratch (no
   vectors); the GloVe vectors averaged + logistic regression. Logistic
   regressions are Keras `Dense` layers trained to convergence (Adam, early
   stopping on the validation loss, best weights kept), as `fit_two_phase`
   does. The validation part selects (early stopping, kept epochs); the test
   part is read once, for the figure reported.
2. Few labels on a new site: 100 labelled IMDB sentences (80 to train, 20 to
   validate), tested on the other 900. From scratch and vectors-only as
   above, tl_keras defaults on the 100, and the chain: a tl_keras model trained
   on Amazon + Yelp, exported, then used with `tl_keras.load_base` as the base
   of the IMDB model.

Every arm runs over 3 seeds (`--seeds`: the split or the 100 sentences, and
the initialisation), reported as mean ± standard deviation. No augmentation
anywhere. Missing data is an error.

Usage:

    python benchmarks/text_real.py \\
        --data ../shared/assets/sentiment_labelled_sentences \\
        --vectors ../shared/assets/glove/glove.twitter.27B.25d.subset12k.txt
"""

import argparse
import os
import sys
import tempfile
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import tl_keras as tlk  # noqa: E402
from tl_keras.data.splits import side_of  # noqa: E402

SITES = ("amazon_cells", "imdb", "yelp")


def _site(data, name):
    train, _, names = tlk.text_dataset(os.path.join(data, f"{name}_labelled.txt"),
                                       validation_split=0, verbose=0)
    batches = list(train)  # one pass: the pipeline reshuffles on every pass
    texts = np.array([t.decode() for x, _ in batches for t in x.numpy()], dtype=object)
    labels = np.concatenate([y.numpy() for _, y in batches])
    assert names == ["0", "1"]
    return texts, labels


def _converged(model, train, val, test, batch_size=32):
    model.compile(keras.optimizers.Adam(1e-2 if len(model.weights) <= 2 else 1e-3),
                  "sparse_categorical_crossentropy", metrics=["accuracy"])
    stop = keras.callbacks.EarlyStopping(patience=10, restore_best_weights=True)
    model.fit(*train, validation_data=val, epochs=300, batch_size=batch_size,
              callbacks=[stop], verbose=0)
    return model.evaluate(*test, verbose=0)[1]


def bag_of_words(train, val, test):
    """Logistic regression on multi-hot words (tf-idf weighted), from scratch."""
    vectorize = keras.layers.TextVectorization(max_tokens=20000, output_mode="tf_idf")
    vectorize.adapt(train[0].astype(str))
    x, vx, tx = (vectorize(t.astype(str)).numpy() for t in (train[0], val[0], test[0]))
    model = keras.Sequential([keras.Input(x.shape[1:]), keras.layers.Dense(
        2, activation="softmax", kernel_regularizer=keras.regularizers.l2(1e-4))])
    return _converged(model, (x, train[1]), (vx, val[1]), (tx, test[1]))


def averaged_vectors(train, val, test, words, vectors):
    """Logistic regression on the mean GloVe vector of each sentence's words."""
    index = {w: i for i, w in enumerate(words)}
    strip = keras.layers.TextVectorization(output_mode="int", max_tokens=None)
    strip.adapt(train[0].astype(str))
    vocab = strip.get_vocabulary()

    def features(texts):
        ids = strip(texts.astype(str)).numpy()
        out = np.zeros((len(texts), vectors.shape[1]), "float32")
        for row, sentence in enumerate(ids):
            found = [vectors[index[vocab[i]]] for i in sentence if i > 1 and vocab[i] in index]
            if found:
                out[row] = np.mean(found, axis=0)
        return out

    x, vx, tx = features(train[0]), features(val[0]), features(test[0])
    model = keras.Sequential([keras.Input(x.shape[1:]), keras.layers.Dense(2, "softmax")])
    return _converged(model, (x, train[1]), (vx, val[1]), (tx, test[1]))


def tl_keras_model(train, val, vectors_path, **build):
    model = tlk.build_text_model(vectors_path, 2, texts=train[0], verbose=0, **build)
    tlk.fit_two_phase(model, train, val, verbose=0)
    return model


def _test_accuracy(model, test):
    return tlk.evaluate_classifier(model, test, class_names=["0", "1"])["accuracy"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--vectors", required=True)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--only", choices=("all-sites", "few-labels"),
                        help="run one of the two comparisons (default: both)")
    args = parser.parse_args(argv)
    for path in (args.data, args.vectors):
        if not os.path.exists(path):
            sys.exit(f"error: {path} not found (see ../shared/assets/README.md)")
    warnings.filterwarnings("ignore")
    words, vectors = tlk.load_word_vectors(args.vectors)
    sites = {name: _site(args.data, name) for name in SITES}

    # 1. All three sites, 60/20/20.
    texts = np.concatenate([sites[s][0] for s in SITES])
    labels = np.concatenate([sites[s][1] for s in SITES])
    results = {}

    def row(name, seed, run):
        keras.utils.set_random_seed(seed)
        start = time.perf_counter()
        accuracy = run()
        results.setdefault(name, []).append((accuracy, time.perf_counter() - start))
        print(f"  seed {seed}, {name}: {accuracy:.3f}", flush=True)

    for seed in range(args.seeds if args.only != "few-labels" else 0):
        sides = np.array([side_of(t, 0.2, 0.2, seed) for t in texts])
        train, val, test = ((texts[sides == s], labels[sides == s])
                            for s in ("train", "validation", "test"))
        print(f"All three sites, seed {seed}: {len(train[0])} training, {len(val[0])} "
              f"validation, {len(test[0])} test sentences")
        row("tl_keras defaults", seed,
            lambda: _test_accuracy(tl_keras_model(train, val, args.vectors), test))
        for encoder in ("conv", "average", "bilstm"):
            row(f"tl_keras encoder={encoder!r}", seed,
                lambda e=encoder: _test_accuracy(
                    tl_keras_model(train, val, args.vectors, encoder=e), test))
        row("bag-of-words logistic regression, from scratch", seed,
            lambda: bag_of_words(train, val, test))
        row("GloVe averaged + logistic regression", seed,
            lambda: averaged_vectors(train, val, test, words, vectors))
    if results:
        _table(results)
    if args.only == "all-sites":
        return 0

    # 2. IMDB with 100 labels (80 train, 20 validate), tested on the other 900.
    imdb_texts, imdb_labels = sites["imdb"]
    source = (np.concatenate([sites["amazon_cells"][0], sites["yelp"][0]]),
              np.concatenate([sites["amazon_cells"][1], sites["yelp"][1]]))
    results = {}
    print("\nIMDB with 100 labels (80 train, 20 validate; tested on the other 900)")
    for seed in range(args.seeds):
        order = np.random.default_rng(seed).permutation(len(imdb_texts))
        few_train = (imdb_texts[order[:80]], imdb_labels[order[:80]])
        few_val = (imdb_texts[order[80:100]], imdb_labels[order[80:100]])
        test = (imdb_texts[order[100:]], imdb_labels[order[100:]])
        row("bag-of-words logistic regression, from scratch", seed,
            lambda: bag_of_words(few_train, few_val, test))
        row("GloVe averaged + logistic regression", seed,
            lambda: averaged_vectors(few_train, few_val, test, words, vectors))
        row("tl_keras defaults on the 100", seed, lambda: _test_accuracy(
            tl_keras_model(few_train, few_val, args.vectors), test))

        def chain(seed=seed, few_train=few_train, few_val=few_val, test=test):
            with tempfile.TemporaryDirectory() as directory:
                source_side = np.array([side_of(t, 0.2, 0.0, seed) for t in source[0]])
                model = tl_keras_model(
                    (source[0][source_side == "train"], source[1][source_side == "train"]),
                    (source[0][source_side == "validation"],
                     source[1][source_side == "validation"]), args.vectors)
                path = tlk.export_saved_model(model, os.path.join(directory, "reviews"),
                                              class_names=["0", "1"], warmup=False)
                imdb = tlk.build_text_model(tlk.load_base(path), 2, verbose=0)
                tlk.fit_two_phase(imdb, few_train, few_val, verbose=0)
                return _test_accuracy(imdb, test)

        row("chain: tl_keras Amazon + Yelp export -> IMDB (100 labels)", seed, chain)
    _table(results)
    return 0


def _table(results):
    print("\n| model | test accuracy (mean ± sd) | seeds | time per run (s) |\n"
          "| --- | --- | --- | --- |")
    for name, runs in results.items():
        accuracies = np.array([a for a, _ in runs])
        spread = accuracies.std(ddof=1) if len(runs) > 1 else 0.0
        print(f"| {name} | {accuracies.mean():.3f} ± {spread:.3f} | {len(runs)} | "
              f"{np.mean([t for _, t in runs]):.1f} |")
    print()


if __name__ == "__main__":
    sys.exit(main())
