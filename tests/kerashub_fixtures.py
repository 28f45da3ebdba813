"""Tiny KerasHub presets written with `save_to_preset`, for offline tests.

Each is a task (backbone, preprocessor with its image converter) as KerasHub
publishes them, with a few thousand parameters: a ResNet (a feature map out) and
a ViT (tokens out, with a class token).
"""

import keras


def write_resnet_preset(path, image_size=32):
    """A two-stage basic-block ResNet with an ImageNet-normalising converter."""
    import keras_hub

    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.ResNetBackbone(
        input_conv_filters=[64], input_conv_kernel_sizes=[3], stackwise_num_filters=[64, 16],
        stackwise_num_blocks=[1, 1], stackwise_num_strides=[1, 2], block_type="basic_block",
        image_shape=(None, None, 3))
    converter = keras_hub.layers.ResNetImageConverter(
        image_size=(image_size, image_size),
        scale=[1 / (255 * 0.229), 1 / (255 * 0.224), 1 / (255 * 0.225)],
        offset=[-0.485 / 0.229, -0.456 / 0.224, -0.406 / 0.225])
    task = keras_hub.models.ResNetImageClassifier(
        backbone=backbone, num_classes=3,
        preprocessor=keras_hub.models.ResNetImageClassifierPreprocessor(converter))
    task.save_to_preset(str(path))
    return str(path)


def write_vit_preset(path, image_size=32):
    """A two-layer ViT (8x8 patches, a class token) scaling pixels to [-1, 1]."""
    import keras_hub

    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.ViTBackbone(
        image_shape=(image_size, image_size, 3), patch_size=8, num_layers=2, num_heads=2,
        hidden_dim=16, mlp_dim=32)
    converter = keras_hub.layers.ViTImageConverter(image_size=(image_size, image_size),
                                                   scale=1 / 127.5, offset=-1)
    task = keras_hub.models.ViTImageClassifier(
        backbone=backbone, num_classes=3,
        preprocessor=keras_hub.models.ViTImageClassifierPreprocessor(converter))
    task.save_to_preset(str(path))
    return str(path)


WORDS = ["good", "great", "fun", "bad", "dull", "boring", "film", "plot", "story", "the", "a"]


def write_bert_preset(path, sequence_length=12):
    """A two-layer BERT with a made-up WordPiece vocabulary of a dozen words."""
    import keras_hub

    keras.utils.set_random_seed(0)
    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS + ["##s"]
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=vocabulary)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=len(vocabulary), num_layers=2, num_heads=2, hidden_dim=8,
        intermediate_dim=16, max_sequence_length=sequence_length)
    task = keras_hub.models.BertTextClassifier(
        backbone, num_classes=2,
        preprocessor=keras_hub.models.BertTextClassifierPreprocessor(
            tokenizer, sequence_length=sequence_length))
    task.save_to_preset(str(path))
    return str(path)


def reviews(count=40, seed=0):
    """`(texts, labels)`: two praising or two damning words and a noun; 1 is praise."""
    import numpy as np

    rng = np.random.default_rng(seed)
    labels = np.arange(count) % 2
    texts = np.array([" ".join(rng.choice(WORDS[:3] if label else WORDS[3:6], 2))
                      + " " + rng.choice(WORDS[6:9]) for label in labels])
    return texts, labels
