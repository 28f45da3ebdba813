"""`tl-keras to-tfrecord` and `tl-keras demo`."""

import sys

from tl_keras.data.text_tfrecords import write_text_tfrecords
from tl_keras.data.tfrecords import write_image_tfrecords


def to_tfrecord(args):
    if args.text:
        write_text_tfrecords(args.data, args.output, shards=args.shards,
                             text_column=args.text_column,
                             label_column=args.label_column,
                             encoding=args.encoding)
        print(f"Read them with tl_keras.text_dataset('{args.output}/*.tfrecord', ...) or "
              f"`tl-keras train-text --data '{args.output}/*.tfrecord'`.")
        return 0
    write_image_tfrecords(args.data, args.output, shards=args.shards)
    print(f"Read them with tl_keras.image_dataset('{args.output}/*.tfrecord', ...) or "
          f"`tl-keras train --data '{args.output}/*.tfrecord'`.")
    return 0


def demo(args):
    from tl_keras.demo import run_demo

    result = run_demo(args.output)
    if result["transfer_accuracy"] <= result["scratch_accuracy"]:
        print("tl-keras demo: error: transfer did not beat training from scratch",
              file=sys.stderr)
        return 1
    return 0
