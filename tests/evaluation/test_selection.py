"""Choosing what to transfer (rank_bases, LogME) and adapting without labels."""

import itertools

import keras
import numpy as np
import pytest

import tl_keras as tlk
from tests.fixtures.images import colour_base
from tests.fixtures.images import colour_task
from tests.fixtures.images import weights_by_path
from tests.fixtures.images import write_image_folders
from tl_keras.cli import main
from tl_keras.selection import ranking
from tl_keras.selection.transferability import knn_accuracy
from tl_keras.selection.transferability import linear_probe_accuracy
from tl_keras.selection.transferability import logme


def _evidence(features, target, alpha, beta):
    """The log evidence of Bayesian linear regression, written out directly
    (no SVD): log p(y | F, alpha, beta), per example."""
    n, d = features.shape
    a = alpha * np.eye(d) + beta * features.T @ features
    mean = beta * np.linalg.solve(a, features.T @ target)
    residual = ((target - features @ mean) ** 2).sum()
    value = (d / 2 * np.log(alpha) + n / 2 * np.log(beta) - 0.5 * np.linalg.slogdet(a)[1]
             - beta / 2 * residual - alpha / 2 * mean @ mean - n / 2 * np.log(2 * np.pi))
    return value / n


def test_logme_is_the_maximum_evidence_averaged_over_classes():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(24, 3))
    labels = (features[:, 0] + 0.3 * rng.normal(size=24) > 0).astype(int)
    grid = np.exp(np.linspace(np.log(1e-3), np.log(1e3), 121))
    by_hand = np.mean([max(_evidence(features, (labels == c).astype(float), a, b)
                           for a, b in itertools.product(grid, grid)) for c in (0, 1)])
    assert logme(features, labels) == pytest.approx(by_hand, abs=2e-3)
    # Features that carry the labels score higher than noise.
    noise = rng.normal(size=(24, 3))
    assert logme(features, labels) > logme(noise, labels)
    assert knn_accuracy(features, labels) > knn_accuracy(noise, labels)
    assert linear_probe_accuracy(features, labels) >= 0.75


@pytest.mark.parametrize("method", ["logme", "knn", "linear"])
def test_rank_bases_puts_a_useful_base_above_a_blind_one(method, capsys):
    images, labels = colour_task()
    with tlk.FeatureCache() as cache:
        ranking = tlk.rank_bases((images, labels), [
            ("blind", colour_base("blind", sees_colour=False)),
            ("useful", colour_base("useful", sees_colour=True))], method=method,
            feature_cache=cache)
    assert [r["name"] for r in ranking] == ["useful", "blind"]
    assert ranking[0]["feature_dim"] == 8 and ranking[0]["method"] == method
    table = tlk.format_ranking(ranking)
    assert table.splitlines()[1].split()[:2] == ["1", "useful"]
    out = capsys.readouterr().out
    assert "useful: " + method in out
    # Issue 34, row 2: 12 examples a class is too few for the scores to be trusted.
    caution = "12 examples in the smallest class (under 30)"
    assert all(r["caution"] == caution for r in ranking)
    assert f"Ranking caution: {caution}." in out and table.endswith(f"Caution: {caution}.")
    with pytest.raises(ValueError, match=r"Unknown method.*Received: method='leep'"):
        tlk.rank_bases((images, labels), ["mobilenet"], method="leep")


def test_adapt_batchnorm_changes_statistics_and_nothing_else():
    images, labels = colour_task()
    model = tlk.build_model(colour_base("source", sees_colour=True, batchnorm=True),
                            num_classes=2, dropout=0.0)
    model.predict(images, verbose=0)
    shifted = images * 0.5 + 100  # a new camera: washed out, brighter
    before, predicted = weights_by_path(model), model.predict(shifted, verbose=0)
    norm = [layer for layer in model.base.layers
            if isinstance(layer, keras.layers.BatchNormalization)][0]
    tlk.adapt_batchnorm(model, shifted, batch_size=8, name="new camera", verbose=0)
    after = weights_by_path(model)
    moving = {norm.moving_mean.path, norm.moving_variance.path}
    assert all(not np.array_equal(before[p], after[p]) for p in moving)
    assert all(np.array_equal(before[p], after[p]) for p in before if p not in moving)
    # The moving mean is the target domain's mean of the layer's input.
    conv = keras.Model(model.base.input, model.base.layers[2].output)
    np.testing.assert_allclose(norm.moving_mean.numpy(),
                               conv.predict(shifted, verbose=0).mean(axis=(0, 1, 2)),
                               rtol=1e-4, atol=1e-5)
    assert not np.allclose(model.predict(shifted, verbose=0), predicted)
    assert norm.trainable is False  # frozen again, as it was
    assert model.adaptations[0]["method"] == "adabn"
    assert model.adaptations[0]["examples"] == 24
    restored = tlk.ImageClassifier.from_config(model.get_config())
    assert restored.adaptations == model.adaptations  # kept in the config
    # Relative to the source: the same data as source and target moves nothing.
    adapted = weights_by_path(model)
    tlk.adapt_batchnorm(model, shifted, source_data=shifted, batch_size=8, verbose=0)
    for path, value in weights_by_path(model).items():
        np.testing.assert_allclose(value, adapted[path], rtol=1e-5, atol=1e-6)
    assert model.adaptations[1]["method"] == "adabn, relative to the source"
    with pytest.raises(ValueError, match="has no BatchNormalization layer"):
        tlk.adapt_batchnorm(tlk.build_model(colour_base("plain", sees_colour=True),
                                            num_classes=2), shifted)


@pytest.mark.slow
def test_cli_rank_prints_a_table_and_a_plot(tmp_path, capsys):
    from tests.fixtures.images import write_image_folders
    from tl_keras.cli import main

    data = write_image_folders(tmp_path / "colours", per_class=4, size=32)
    status = main(["rank", "--data", str(data), "--bases", "mobilenet_v3_small,vgg16",
                   "--weights", "none", "--image-size", "32", "--method", "knn",
                   "--plot", str(tmp_path / "rank.png")])
    assert status == 0
    out = capsys.readouterr().out
    assert out.count("mobilenet_v3_small") == 2 and "rank  base" in out  # line + table
    assert (tmp_path / "rank.png").stat().st_size > 0


def test_feature_sizes_far_apart_are_a_caution_for_logme_not_for_knn():
    """Issue 34, row 2: LogME and the linear probe ranked a small CNN above MobileNet on
    the digits, against trained heads; feature sizes 4x apart make them unreliable."""
    records = [{"feature_dim": 64}, {"feature_dim": 1280}]
    labels = np.arange(200) % 2
    assert ranking._caution(records, labels, "logme") == (
        "feature sizes from 64 to 1280, which logme scores unevenly (knn does not)")
    assert ranking._caution(records, labels, "knn") is None
    assert ranking._caution(records[:1], labels, "linear") is None


def test_an_unknown_base_name_is_refused_before_any_base_is_scored(capsys):
    """Issue 34, row 20: `rank --bases mobilenet,resnet51` scored the first base
    before rejecting the second name."""
    images, labels = colour_task()
    with pytest.raises(ValueError, match=r"Unknown base.*Did you mean one of \['resnet50'.*"
                                         r"Received: base='resnet51'"):
        tlk.rank_bases((images, labels), ["mobilenet_v2", "resnet51"], weights=None)
    assert "mobilenet_v2:" not in capsys.readouterr().out  # nothing was scored


def test_ranking_two_bases_of_one_name_gives_distinct_rows_and_bars():
    """Row 4: two loaded bases named alike were two rows "mobilenet" and two bars on
    top of each other; with negative LogME the best had the shortest bar."""
    from tests.fixtures.images import colour_base
    from tests.fixtures.images import colour_task

    images, labels = colour_task()
    with tlk.FeatureCache() as cache:
        ranking = tlk.rank_bases((images, labels), [colour_base("mobilenet", sees_colour=False),
                                                    colour_base("mobilenet", sees_colour=True)],
                                 feature_cache=cache, verbose=0)
    names = [record["name"] for record in ranking]
    assert sorted(names) == ["mobilenet", "mobilenet (2)"]
    assert names[0] == "mobilenet (2)"  # the one that sees colour
    negative = [dict(r, score=s) for r, s in zip(ranking, (-0.5, -2.0))]
    for records in (ranking, negative):
        figure = tlk.plots.plot_ranking(records)
        bars = figure.axes[0].patches
        assert len(bars) == 2 and bars[0].get_y() != bars[1].get_y()  # a row each
        widths = {label.get_text(): bar.get_width() for bar, label
                  in zip(bars, figure.axes[0].get_yticklabels())}
        assert widths[records[0]["name"]] > widths[records[1]["name"]]  # best longest


@pytest.mark.slow
def test_rank_takes_alpha_for_the_mobilenet_just_trained(tmp_path, capsys):
    """Row 5: without --alpha, ranking a MobileNet trained at alpha 0.25 (its weights
    file) failed with "Shape mismatch"."""
    data = write_image_folders(tmp_path / "colours", size=32)
    weights = str(tmp_path / "mobilenet_025.weights.h5")
    keras.applications.MobileNet(include_top=False, weights=None, alpha=0.25,
                                 input_shape=(32, 32, 3)).save_weights(weights)
    assert main(["rank", "--data", str(data), "--bases", "mobilenet", "--weights", weights,
                 "--alpha", "0.25", "--image-size", "32"]) == 0
    out = capsys.readouterr().out.splitlines()
    first = out[[line.split()[:1] for line in out].index(["rank"]) + 1].split()
    assert first[:2] == ["1", "mobilenet"] and first[3] == "256"  # alpha 0.25's features


def test_alpha_for_a_base_without_one_is_an_error_before_any_work(tmp_path, capsys):
    """Row 13: `train --base resnet50 --alpha 0.25` was reported as a weights error."""
    data = write_image_folders(tmp_path / "colours", size=32)
    for command in (["train", "--data", str(data), "--base", "resnet50"],
                    ["rank", "--data", str(data), "--bases", "resnet50,vgg16"]):
        assert main([*command, "--alpha", "0.25", "--weights", "none"]) != 0
        error = capsys.readouterr().err
        assert "--alpha applies to the MobileNet bases only (mobilenet, mobilenet_v2" in error
        assert "Received: --base" in error and "--alpha 0.25" in error
    assert not (tmp_path / "saved_models").exists()


@pytest.mark.slow
def test_rank_scores_each_candidate_at_its_own_size(tmp_path, capsys):
    """Row 6: an export with a fixed input size next to a named base aborted the
    ranking ("pass input_shape=None", an API argument the CLI lacks)."""
    from tests.fixtures.images import small_image_classifier

    data = write_image_folders(tmp_path / "colours", size=40)
    export = tlk.export_saved_model(small_image_classifier(size=32, class_names=["b", "r"]),
                                    str(tmp_path / "saved_models" / "small"), verbose=0,
                                    warmup=False)
    assert main(["rank", "--data", str(data), "--bases", f"{export},mobilenet_v3_small",
                 "--weights", "none", "--image-size", "40"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert sorted(row.split()[1] for row in rows[1:] if row.split()[0].isdigit()) == sorted(
        [export, "mobilenet_v3_small"])
