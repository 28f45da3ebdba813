"""Phase 1's feature cache for a KerasHub transformer against a CNN of similar cost.

Two KerasHub backbones are built at their published sizes with random weights (no
download here) and saved as preset directories: a ViT with DeiT-tiny's shape (16x16
patches, 12 layers of 192, 3 heads: 5.5M parameters) and a ResNet-18 (basic blocks
2-2-2-2: 11.2M parameters, a little more compute). On the same real photos, each
runs phase 1 with the feature cache (one pass of the backbone, then the head on
cached features) and without it (the backbone every epoch), side by side.
Accuracy means nothing here (random weights); the times and sizes are the point.

    .venv/bin/python benchmarks/kerashub_cache.py \\
        --data ../shared/assets/cats_and_dogs_filtered/validation
"""

import argparse
import os
import sys
import tempfile
import time


def _presets(root, size):
    import keras_hub

    vit = keras_hub.models.ViTBackbone(image_shape=(size, size, 3), patch_size=16,
                                       num_layers=12, num_heads=3, hidden_dim=192,
                                       mlp_dim=768)
    keras_hub.models.ViTImageClassifier(
        backbone=vit, num_classes=2,
        preprocessor=keras_hub.models.ViTImageClassifierPreprocessor(
            keras_hub.layers.ViTImageConverter(image_size=(size, size), scale=1 / 127.5,
                                               offset=-1))).save_to_preset(f"{root}/vit_tiny")
    resnet = keras_hub.models.ResNetBackbone(
        input_conv_filters=[64], input_conv_kernel_sizes=[7],
        stackwise_num_filters=[64, 128, 256, 512], stackwise_num_blocks=[2, 2, 2, 2],
        stackwise_num_strides=[1, 2, 2, 2], block_type="basic_block",
        image_shape=(None, None, 3))
    keras_hub.models.ResNetImageClassifier(
        backbone=resnet, num_classes=2,
        preprocessor=keras_hub.models.ResNetImageClassifierPreprocessor(
            keras_hub.layers.ResNetImageConverter(image_size=(size, size), scale=1 / 255))
    ).save_to_preset(f"{root}/resnet_18")
    return {"ViT (DeiT-tiny shape)": f"{root}/vit_tiny", "ResNet-18": f"{root}/resnet_18"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="a folder of class subfolders")
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    if not os.path.isdir(args.data):
        sys.exit(f"error: {args.data} is not here (see ../shared/assets/README.md)")
    import tl_keras as tlk

    train, val, _ = tlk.image_dataset(args.data, image_size=args.image_size, verbose=0)
    rows = []
    with tempfile.TemporaryDirectory() as root:
        for label, preset in _presets(root, args.image_size).items():
            for cached in (True, False):
                model = tlk.build_model(preset, num_classes=2)
                cache = tlk.FeatureCache()
                start = time.perf_counter()
                tlk.fit_two_phase(model, train, val, epochs=args.epochs, fine_tune_epochs=0,
                                  verbose=0,
                                  caching=tlk.Caching(features=cached, store=cache))
                seconds = time.perf_counter() - start
                rows.append((label, tlk.get_base(model).count_params(),
                             tlk.get_base(model).output_shape[-1], cached, seconds,
                             cache.info()["bytes_in_memory"]))
    print(f"{'backbone':<24}{'parameters':>12}{'features':>10}{'cache':>7}"
          f"{'phase 1 (s)':>13}{'cache size (MB)':>17}")
    for label, parameters, features, cached, seconds, size in rows:
        print(f"{label:<24}{parameters:>12,}{features:>10}{'on' if cached else 'off':>7}"
              f"{seconds:>13.1f}{size / 1e6:>17.2f}")


if __name__ == "__main__":
    main()
