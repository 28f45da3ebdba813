"""Image files: a cheap validity check, decoding to RGB, and resize policies.

The same decode and resize run in training pipelines (`tl_keras.image_dataset`)
and in `tl-keras predict`, so a model sees images prepared one way.
"""

import os

import tensorflow as tf

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp")
READABLE_FORMATS = "JPEG, PNG, GIF, BMP and WebP"

# resize policy -> what it does
RESIZE_POLICIES = {
    "crop": "central crop to the target aspect ratio, then resize (no distortion; "
            "the default, as ImageNet evaluation does)",
    "stretch": "resize to the target size, changing the aspect ratio",
    "pad": "resize to fit inside the target, then pad with black (nothing cut off)",
}
DEFAULT_RESIZE = "crop"


def check_resize(resize):
    if resize not in RESIZE_POLICIES:
        raise ValueError(f"Unknown resize policy. Expected one of {sorted(RESIZE_POLICIES)}. "
                         f"Received: resize={resize!r}")
    return resize


def image_problem(path):
    """Returns why `path` is not a decodable image, or None when it is one.

    Reads the file's first and last bytes (magic number, end marker); only a
    file whose end looks wrong is decoded in full to decide.
    """
    try:
        size = tf.io.gfile.stat(path).length
        with tf.io.gfile.GFile(path, "rb") as f:
            head = f.read(16)
            f.seek(max(0, size - 16))
            tail = f.read(16)
    except (OSError, tf.errors.OpError) as error:
        reason = getattr(error, "strerror", None) or getattr(error, "message", None) or error
        return f"unreadable: {reason}"
    if size == 0:
        return "empty file"
    if head.startswith(b"\xff\xd8"):
        complete = tail.rstrip(b"\x00").endswith(b"\xff\xd9")
    elif head.startswith(b"\x89PNG\r\n\x1a\n"):
        complete = b"IEND" in tail
    elif head.startswith((b"GIF87a", b"GIF89a")):
        complete = tail.rstrip(b"\x00").endswith(b"\x3b")
    elif head.startswith(b"BM"):
        complete = int.from_bytes(head[2:6], "little") <= size
    elif head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        complete = int.from_bytes(head[4:8], "little") + 8 <= size
    else:
        return f"not an image (starts with {head[:8]!r})"
    if complete:
        return None
    try:  # an unusual ending: let the decoder decide
        tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    except (tf.errors.InvalidArgumentError, ValueError):
        return "truncated or corrupt: the decoder cannot read it to the end"
    return None


def unsupported_format(path):
    """Why a file that is not in `IMAGE_EXTENSIONS` is not read."""
    extension = os.path.splitext(path)[1].lower() or "no extension"
    return (f"unsupported format ({extension}): TensorFlow decodes {READABLE_FORMATS}; "
            "convert it to one of those")


# A JPEG's decoder can downscale by these factors while decoding (in the DCT
# domain, far less memory and time than decoding in full, then resizing).
JPEG_RATIOS = (8, 4, 2)
# Downscale only while the decoded image keeps at least this many times the
# target's pixels on its short side, so the final resize still has detail to use.
_JPEG_MARGIN = 2


def decode_rgb(data, target_size=None):
    """Decodes JPEG/PNG/GIF/BMP/WebP bytes to uint8 RGB (grayscale and RGBA become RGB;
    an animated GIF gives its first frame).

    With `target_size` (height, width), a JPEG much larger than it is decoded
    at 1/2, 1/4 or 1/8 scale (`tf.image.decode_jpeg`'s `ratio`): an 8000x8000
    photo for a 224x224 model no longer costs 190 MB of pixels to decode.
    """
    if target_size is None:
        image = tf.io.decode_image(data, channels=3, expand_animations=False)
    else:
        is_jpeg = tf.equal(tf.strings.substr(data, 0, 2), b"\xff\xd8")
        image = tf.cond(is_jpeg, lambda: _decode_jpeg_for(data, target_size),
                        lambda: tf.io.decode_image(data, channels=3,
                                                   expand_animations=False))
    image.set_shape([None, None, 3])
    return image


def _decode_jpeg_for(data, target_size):
    shape = tf.image.extract_jpeg_shape(data)
    short = tf.minimum(shape[0], shape[1])
    needed = _JPEG_MARGIN * max(target_size)
    branches = [(short >= needed * ratio,
                 lambda ratio=ratio: tf.image.decode_jpeg(data, channels=3, ratio=ratio))
                for ratio in JPEG_RATIOS]
    return tf.case(branches, default=lambda: tf.image.decode_jpeg(data, channels=3),
                   exclusive=False)


def resize_image(image, size, resize=DEFAULT_RESIZE):
    """Resizes one image `[h, w, 3]` to `size` by the policy; float32 in [0, 255].

    The crop is a slice of the decoded pixels before any conversion to float
    (a third faster than converting the whole image first; the same values)."""
    height, width = size
    if resize == "stretch":
        out = tf.image.resize(tf.cast(image, tf.float32), size)
    elif resize == "pad":
        out = tf.image.resize_with_pad(tf.cast(image, tf.float32), height, width)
    else:  # crop to the target aspect ratio, centred
        shape = tf.shape(image)
        h, w = tf.cast(shape[0], tf.float32), tf.cast(shape[1], tf.float32)
        target = width / height
        crop_h = tf.minimum(h, w / target)
        crop_w = tf.minimum(w, h * target)
        top = tf.cast((h - crop_h) / 2, tf.int32)
        left = tf.cast((w - crop_w) / 2, tf.int32)
        rows = tf.maximum(tf.cast(crop_h, tf.int32), 1)
        columns = tf.maximum(tf.cast(crop_w, tf.int32), 1)
        image = image[top:top + rows, left:left + columns]
        out = tf.image.resize(tf.cast(image, tf.float32), size)
    out = tf.clip_by_value(out, 0.0, 255.0)
    out.set_shape([height, width, 3])
    return out


def load_images(paths, image_size, resize=DEFAULT_RESIZE):
    """Decodes image files to a float32 `[n, height, width, 3]` batch in [0, 255]."""
    images = [resize_image(decode_rgb(tf.io.read_file(os.fspath(p)), image_size), image_size,
                           resize) for p in paths]
    return tf.stack(images).numpy()
