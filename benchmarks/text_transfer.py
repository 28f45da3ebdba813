"""Frozen GloVe vectors vs a randomly initialised embedding, at 100, 500 and all examples.

The task is generated here, offline: short tweet-like texts about one of four
topics (food, sports, weather, music). Each text mixes two or three topic words,
drawn from a per-topic list of 30 common words with Zipf-like frequencies (so
some are rare), with filler words, and one text in five carries a distractor
word of another topic. Validation texts (which select: early stopping, the kept
epochs) and test texts (read once: the figures reported) are drawn the same way,
each with a seed of its own; 3 seeds (`--seeds`), mean ± standard deviation.
The word lists are written below, by hand, without looking at the vectors.

Models (`tl_keras.build_text_model`, average encoder, same architecture):

- frozen GloVe: the real GloVe Twitter 25-d vectors, embedding frozen (phase 1);
- GloVe, two phases: the same, then the embedding fine-tuned (phase 2);
- random: the embedding randomly initialised (same scale) and trained.

Each run gets about the same number of gradient steps. Prints accuracy and the
vocabulary coverage as a Markdown table.

Usage:

    python benchmarks/text_transfer.py \\
        --vectors ../shared/assets/glove/glove.twitter.27B.25d.subset12k.txt
"""

import argparse
import math
import os
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import tl_keras as tlk  # noqa: E402

TOPICS = {
    "food": "pizza burger pasta salad cheese bread chicken rice soup cake cookie chocolate "
            "coffee tea breakfast lunch dinner delicious tasty hungry cook kitchen "
            "restaurant eat fries sandwich taco sushi bacon eggs",
    "sports": "football soccer basketball baseball tennis golf hockey game team player coach "
              "score goal win match season league championship stadium fans playoffs "
              "quarterback pitcher referee tournament olympics athlete training victory "
              "defeat",
    "weather": "rain snow sunny cloudy storm wind cold hot warm freezing temperature weather "
               "forecast thunder lightning humid degrees winter summer spring autumn fog ice "
               "heat umbrella sunshine rainy windy snowing hurricane",
    "music": "song album concert guitar piano drums singer band lyrics melody music playlist "
             "radio rock jazz hiphop rap tour stage dance beat vocals listen chorus studio "
             "remix festival dj pop tune",
}
FILLER = ("i the a so really today this is my love hate just now going to and it was what "
          "lol omg cant wait for with we you all day night tomorrow yesterday best ever "
          "again").split()


def make_texts(n, seed):
    rng = np.random.default_rng(seed)
    topics = list(TOPICS)
    words = {t: TOPICS[t].split() for t in topics}
    zipf = np.array([1 / (rank + 1) for rank in range(30)])
    zipf /= zipf.sum()
    texts, labels = [], []
    for _ in range(n):
        label = int(rng.integers(len(topics)))
        chosen = list(rng.choice(words[topics[label]], rng.integers(2, 4), p=zipf))
        if rng.uniform() < 0.2:
            other = topics[(label + rng.integers(1, len(topics))) % len(topics)]
            chosen.append(rng.choice(words[other], p=zipf))
        chosen += list(rng.choice(FILLER, rng.integers(4, 9)))
        rng.shuffle(chosen)
        texts.append(" ".join(chosen))
        labels.append(label)
    return np.asarray(texts), np.asarray(labels, "int32")


def run(kind, vectors, texts, labels, val, test, steps, seed):
    keras.utils.set_random_seed(seed)
    words, matrix = vectors
    if kind == "random":
        matrix = np.random.default_rng(seed).normal(0, matrix.std(), matrix.shape)
    model = tlk.build_text_model((words, matrix), len(TOPICS), texts=texts,
                                 sequence_length=24, seed=seed)
    epochs = max(1, math.ceil(steps / math.ceil(len(texts) / 32)))
    if kind == "random":  # everything trains from the start
        tlk.fit_two_phase(model, (texts, labels), val, epochs=0, fine_tune_epochs=epochs,
                          verbose=0, fine_tuning=tlk.FineTuning(learning_rate=5e-3))
    else:
        tlk.fit_two_phase(model, (texts, labels), val, epochs=epochs,
                          fine_tune_epochs=epochs if kind == "two_phase" else 0,
                          learning_rate=5e-3, verbose=0,
                          fine_tuning=tlk.FineTuning(learning_rate=1e-3))
    accuracy = tlk.evaluate_classifier(model, test, class_names=list(TOPICS))["accuracy"]
    return accuracy, model.vocabulary_coverage


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vectors", required=True,
                        help="glove.twitter.27B.25d.subset12k.txt (GloVe text format)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 4000])
    parser.add_argument("--steps", type=int, default=600, help="gradient steps per run")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args(argv)
    if not os.path.exists(args.vectors):
        sys.exit(f"error: {args.vectors} not found (see ../shared/assets/README.md)")
    warnings.filterwarnings("ignore")
    vectors = tlk.load_word_vectors(args.vectors)
    kinds = ("frozen", "two_phase", "random")
    results = {(n, kind): [] for n in args.sizes for kind in kinds}
    coverages = {}
    for seed in range(args.seeds):
        # Training, validation (it selects: early stopping, kept epochs) and test
        # (read once, reported) texts are drawn apart, each with its own seed.
        pool_texts, pool_labels = make_texts(max(args.sizes), 3 * seed)
        val = make_texts(1000, 3 * seed + 1)
        test = make_texts(1000, 3 * seed + 2)
        for n in args.sizes:
            texts, labels = pool_texts[:n], pool_labels[:n]
            for kind in kinds:
                accuracy, coverage = run(kind, vectors, texts, labels, val, test,
                                         args.steps, seed)
                results[(n, kind)].append(accuracy)
                coverages.setdefault(n, coverage)
                print(f"seed {seed}, {n} texts, {kind}: {accuracy:.3f}", flush=True)

    def cell(values):
        values = np.asarray(values)
        return f"{values.mean():.3f} ± {values.std(ddof=1) if len(values) > 1 else 0:.3f}"

    print(f"\nGloVe Twitter 25-d ({len(vectors[0])} words), 4-topic texts, test 1,000 "
          f"(validation 1,000 selects), ~{args.steps} steps per run, {args.seeds} seeds")
    print("| training texts | vocabulary coverage (types / tokens) | frozen GloVe | "
          "GloVe, two phases | random embedding |")
    print("| --- | --- | --- | --- | --- |")
    for n in args.sizes:
        coverage = coverages[n]
        print(f"| {n} | {coverage['types']:.1%} of {coverage['vocabulary']} / "
              f"{coverage['tokens']:.1%} | {cell(results[(n, 'frozen')])} | "
              f"{cell(results[(n, 'two_phase')])} | {cell(results[(n, 'random')])} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
