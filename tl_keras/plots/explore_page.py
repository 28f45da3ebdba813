"""The page `tl-keras explore` writes: one self-contained HTML file with thumbnails.

It opens from disk in any browser (no server, no script from elsewhere):
thumbnails are small JPEGs in `thumbnails/` beside it, linked relatively.
A short script at the end counts the thumbnails that loaded into the body's
`data-images` attribute (`"N of M"`), which the tests read from a real
headless browser.
"""

import html
import os

import tensorflow as tf

from tl_keras.data.image_files import decode_rgb
from tl_keras.data.image_files import resize_image

THUMBNAIL = 128

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
.row { display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0 16px; align-items: flex-start; }
figure { margin: 0; width: 132px; font-size: 11px; word-break: break-all; }
figure img { width: 128px; height: 128px; object-fit: contain; background: #eee; }
.label { font-weight: bold; margin: 12px 0 0; }
"""

_COUNT_SCRIPT = """
<script>
window.addEventListener("load", function () {
  var images = document.querySelectorAll("img");
  var loaded = 0;
  images.forEach(function (img) { if (img.complete && img.naturalWidth > 0) loaded++; });
  document.body.setAttribute("data-images", loaded + " of " + images.length);
});
</script>
"""


def write_explore_page(directory, *, title, duplicates, clusters, outliers, audit, read):
    """Writes `directory/index.html` and its thumbnails; returns the page's path.

    Args:
        directory: where the page goes (it exists).
        title: the page's title.
        duplicates: a `DuplicateReport`.
        clusters: a `ClusterReport`.
        outliers: `(id, score)` of the most outlying items, in order.
        audit: a `SplitAudit`, or None.
        read: a function of a list of ids that returns `{id: image bytes}`.
    """
    shown = _shown_items(duplicates, clusters, outliers, audit)
    thumbnails = _write_thumbnails(directory, shown, read)
    parts = [f"<h1>{html.escape(title)}</h1>",
             "<p>" + html.escape(duplicates.summary()) + "<br>" +
             html.escape(clusters.summary()) + (
                 "<br>" + html.escape(audit.summary()) if audit else "") + "</p>"]
    parts.append(f"<h2>Near-duplicates ({len(duplicates.groups)} groups)</h2>")
    for number, group in enumerate(duplicates.groups):
        parts.append(f'<p class="label">Group {number + 1}</p>' + _row(group, thumbnails))
    if audit is not None:
        parts.append(f"<h2>Leaks across splits ({len(audit.leaks)})</h2>")
        for first, second, similarity in audit.leaks:
            parts.append(_row([first, second], thumbnails, [f"{similarity:.3f}"] * 2))
        parts.append(f"<h2>One image under two classes ({len(audit.conflicts)})</h2>")
        for a, class_a, b, class_b, _ in audit.conflicts:
            parts.append(_row([a, b], thumbnails, [class_a, class_b]))
    parts.append(f"<h2>Clusters ({clusters.k})</h2>")
    for number, examples in enumerate(clusters.examples):
        parts.append(f'<p class="label">Cluster {number} ({clusters.sizes[number]} items; '
                     f'the nearest its centre)</p>' + _row(examples, thumbnails))
    parts.append(f"<h2>Outliers (the {len(outliers)} farthest from the rest)</h2>")
    parts.append(_row([i for i, _ in outliers], thumbnails,
                      [f"{s:.3f}" for _, s in outliers]))
    page = ("<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>"
            f"{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
            + "\n".join(parts) + _COUNT_SCRIPT + "</body></html>\n")
    path = os.path.join(directory, "index.html")
    with tf.io.gfile.GFile(path, "w") as f:
        f.write(page)
    return path


def _shown_items(duplicates, clusters, outliers, audit):
    items = [i for g in duplicates.groups for i in g]
    items += [i for e in clusters.examples for i in e] + [i for i, _ in outliers]
    if audit is not None:
        items += [i for a, b, _ in audit.leaks for i in (a, b)]
        items += [i for a, _, b, _, _ in audit.conflicts for i in (a, b)]
    return list(dict.fromkeys(items))


def _write_thumbnails(directory, items, read):
    """`{id: relative path}` of a 128-pixel JPEG for each id whose image reads."""
    folder = os.path.join(directory, "thumbnails")
    tf.io.gfile.makedirs(folder)
    found = read(items)
    size = (THUMBNAIL, THUMBNAIL)
    paths = {}
    for number, item in enumerate(items):
        if item not in found:
            continue
        image = resize_image(decode_rgb(found[item], size), size, "pad")
        name = f"{number:05d}.jpg"
        tf.io.write_file(os.path.join(folder, name),
                         tf.io.encode_jpeg(tf.cast(tf.round(image), tf.uint8), quality=85))
        paths[item] = f"thumbnails/{name}"
    return paths


def _row(items, thumbnails, captions=None):
    figures = []
    for index, item in enumerate(items):
        name = html.escape(os.path.basename(str(item)))
        caption = name if captions is None else f"{name}<br>{html.escape(captions[index])}"
        source = thumbnails.get(item)
        image = (f'<img src="{html.escape(source)}" alt="{name}" title="'
                 f'{html.escape(str(item))}">' if source else "")
        figures.append(f"<figure>{image}<figcaption>{caption}</figcaption></figure>")
    return '<div class="row">' + "".join(figures) + "</div>"
