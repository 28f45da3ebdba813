"""`tl-keras bases`, `models`, `check` and `rank`: what there is to build on."""

import tensorflow as tf

import tl_keras as tlk
from tl_keras.bases import get_entry
from tl_keras.bases import list_bases
from tl_keras.cli.train import alpha_for
from tl_keras.export.check import check_export
from tl_keras.library import format_models
from tl_keras.library import list_models


def bases(args):
    kwargs = {} if args.alpha is None else {"alpha": args.alpha}
    print(f"{'name':<22}{'default size':>13}{'min size':>10}{'features':>10}  preprocessing")
    for name in list_bases():
        entry = get_entry(name)
        if kwargs and not set(kwargs) <= set(entry.feature_size_args):
            continue  # the argument does not apply to this base
        dim = entry.feature_dim_for(**kwargs)
        print(f"{name:<22}{entry.default_size:>13}{entry.min_size:>10}"
              f"{dim if dim is not None else '-':>10}  {entry.preprocessing}")


def check(args):
    return 0 if check_export(args.path).ok else 1


def models(args):
    if args.root and args.root_option and args.root != args.root_option:
        raise ValueError(f"Two roots given: pass one. Received: {args.root} --root "
                         f"{args.root_option}")
    root = args.root or args.root_option or "saved_models"
    if not tf.io.gfile.isdir(root):
        print(f"No exported models under {root} (it does not exist yet: "
              "`tl-keras train` exports there).")
        return 0
    entries = list_models(root)
    if not entries:
        print(f"No exported models under {root}.")
        return 0
    print(format_models(entries))
    return 0


def rank(args):
    size = (args.image_size, args.image_size)
    weights = None if args.weights.lower() == "none" else args.weights
    bases = [name.strip() for name in args.bases.split(",") if name.strip()]
    alphas = alpha_for(bases, args.alpha, "bases")
    data, _, _ = tlk.image_dataset(args.data, image_size=size, validation_split=0,
                                   shuffle=False)
    # A MobileNet at --alpha is loaded here (with --weights); the rest by rank_bases.
    bases = [(name, tlk.load_base(name, input_shape=size + (3,), weights=weights,
                                  **alphas[name])) if alphas[name] else name
             for name in bases]
    ranking = tlk.rank_bases(data, bases, method=args.method, weights=weights)
    print(tlk.format_ranking(ranking))
    if args.plot:
        tlk.plots.plot_ranking(ranking).savefig(args.plot, dpi=100)
        print(f"Plot: {args.plot}")
    return 0
