"""What `tl-keras train` and `train-text` report after training, before the export:
calibration on the validation data, the figures of the weights that ship, the test
set's report, and the gate."""

import sys

import tl_keras as tlk
from tl_keras.evaluation.classifier_report import summary_line
from tl_keras.training.cached_training import unknown_length_is_expected


def check_test_split(args):
    """`--test-split` in [0, 1), not beside `--test-data`: the share to cut."""
    share = args.test_split
    if not 0 <= share < 1:
        raise ValueError(f"Expected --test-split in [0, 1). Received: --test-split {share}")
    if share and args.test_data is not None:
        raise ValueError("--test-split and --test-data both choose the test data: pass "
                         f"one. Received: --test-split {share} --test-data {args.test_data}")
    return share


def split_sides(parts):
    """`(train, validation, test or None, class_names)` from what `image_dataset` or
    `text_dataset` returned (three items, or four with a test split)."""
    if len(parts) == 4:
        return parts
    train, val, class_names = parts
    return train, val, None, class_names


def final_figures(model, train, val, test, args):
    """Calibrates (on the validation data, when asked), then evaluates the weights
    about to ship: `(metrics for the card, test report or None, result lines)`."""

    if args.calibrate and val is not None:
        try:
            tlk.calibrate(model, val)
        except ValueError as error:  # too little validation data: said, not fatal
            print(f"Calibration skipped ({str(error).split('. Received')[0]}); the "
                  "probabilities are the model's own.")
    metrics, result = shipped_metrics(model, train, val)
    lines = [result]
    report = None
    if test is not None:
        with unknown_length_is_expected():
            report = tlk.evaluate_classifier(model, test)
        lines.append(summary_line(report) + " (nothing in training or selection read "
                                            "the test data)")
    return metrics, report, lines


def gated_export(model, data, args, export_dir, history, command):
    """Calibration, the figures, the gate, then the export: `(path or None when
    the gate failed and nothing was written, result lines)`."""

    train, val, test = data
    metrics, report, result = final_figures(model, train, val, test, args)
    if not passes_the_gate(metrics, report, args.assert_accuracy_at_least, result, command):
        return None, result
    card = tlk.ModelCard(history=history, metrics=metrics, test_report=report,
                         training_data=train, intended_use=args.intended_use,
                         limitations=args.limitations)
    return tlk.export_saved_model(model, export_dir, card=card), result


def shipped_metrics(model, train, val):
    """The metrics of the weights about to be exported, evaluated on the validation
    data (the training data without it): `({"val_accuracy": ...}, result line)`."""
    data, part, name = (val, "val", "validation") if val is not None else (
        train, "train", "training")
    with unknown_length_is_expected():  # a folder's pipeline skips unreadable files
        values = model.evaluate(data, verbose=0, return_dict=True)
    metrics = {f"{part}_{key}": float(value) for key, value in values.items()}
    shown = ", ".join(f"{key} {value:.4f}" for key, value in sorted(values.items()))
    count = _examples_up_to(data, FEW_EXAMPLES)
    if count < FEW_EXAMPLES:  # "accuracy 1.0000" on one image says nothing
        shown += (f" (on {count} example{'s' if count != 1 else ''}: too few to tell; "
                  "hold out more with --validation-split or --validation-data)")
    return metrics, f"Result on the {name} data, with the final weights: {shown}"


FEW_EXAMPLES = 20  # below this, a figure is said to tell little


def _examples_up_to(data, limit):
    """How many examples `data` holds, counting no further than `limit`."""
    if isinstance(data, (tuple, list)):
        return min(len(data[0]), limit)
    count = 0
    for batch in data:
        count += int(batch[0].shape[0])
        if count >= limit:
            break
    return count


def passes_the_gate(metrics, report, threshold, lines, command):
    """`--assert-accuracy-at-least`, on the weights that would ship, before anything
    is written: the test accuracy when there is a test set, else the validation
    (or training) accuracy. Prints why when it fails."""
    if threshold is None:
        return True
    if report is not None:
        accuracy, where = report["accuracy"], "test"
    else:
        accuracy = metrics.get("val_accuracy", metrics.get("train_accuracy", float("nan")))
        where = "validation" if "val_accuracy" in metrics else "training"
    if accuracy >= threshold:
        return True
    print("\n".join(lines))
    print(f"tl-keras {command}: error: the {where} accuracy {accuracy:.4f} of the trained "
          f"weights is below --assert-accuracy-at-least {threshold}: nothing was "
          "exported.", file=sys.stderr)
    return False
