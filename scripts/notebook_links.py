"""Points every notebook's Colab badge and install cell, and the README's install
line, at the repository named by `url` in setup.cfg: the one place that holds it.

    python scripts/notebook_links.py                 # rewrite them from setup.cfg
    python scripts/notebook_links.py --check         # exit 1 where one differs
    python scripts/notebook_links.py https://github.com/OWNER/tl_keras  # set url, rewrite
"""

import argparse
import configparser
import glob
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BADGE = re.compile(r"https://colab\.research\.google\.com/github/[^)\s]*")
INSTALL = re.compile(r"git\+https://[^\"\s]*?\.git")


def repository_url():
    """The `url` of setup.cfg's [metadata], without a trailing slash or `.git`."""
    config = configparser.ConfigParser()
    config.read(os.path.join(ROOT, "setup.cfg"))
    url = config.get("metadata", "url", fallback="").strip().rstrip("/")
    url = url[:-4] if url.endswith(".git") else url
    if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url):
        raise SystemExit("Expected setup.cfg's [metadata] url to be "
                         f"https://github.com/OWNER/REPOSITORY. Received: url={url!r}")
    return url


def expected_links(url, notebook_name):
    """`(badge link, pip requirement)` for one notebook."""
    owner_repo = url.split("github.com/", 1)[1]
    return (f"https://colab.research.google.com/github/{owner_repo}/blob/main/notebooks/"
            f"{notebook_name}", f"git+{url}.git")


def _rewrite(text, badge, install):
    return INSTALL.sub(install, BADGE.sub(badge, text))


def sync(url, check):
    """Rewrites (or with `check`, lists) every link that differs; returns the list."""
    stale = []
    for path in sorted(glob.glob(os.path.join(ROOT, "notebooks", "*.ipynb"))):
        badge, install = expected_links(url, os.path.basename(path))
        with open(path, encoding="utf-8") as f:
            notebook = json.load(f)
        sources = ["".join(cell["source"]) for cell in notebook["cells"][:2]]
        if BADGE.search(sources[0]) is None or INSTALL.search(sources[1]) is None:
            stale.append(f"{os.path.basename(path)}: no badge in cell 1 or no install in "
                         "cell 2")
            continue
        new = [_rewrite(source, badge, install) for source in sources]
        if new != sources:
            stale.append(os.path.basename(path))
            for cell, source in zip(notebook["cells"], new):
                cell["source"] = source.splitlines(keepends=True)
            if not check:
                with open(path, "w", encoding="utf-8") as f:
                    json.dump(notebook, f, indent=1, ensure_ascii=False)
                    f.write("\n")
    readme = os.path.join(ROOT, "README.md")
    with open(readme, encoding="utf-8") as f:
        text = f.read()
    new_text = INSTALL.sub(f"git+{url}.git", text)
    if new_text != text:
        stale.append("README.md")
        if not check:
            with open(readme, "w", encoding="utf-8") as f:
                f.write(new_text)
    return stale


def _set_url(url):
    path = os.path.join(ROOT, "setup.cfg")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    text, count = re.subn(r"(?m)^url = .*$", f"url = {url}", text)
    if count != 1:
        raise SystemExit("Expected one `url = ...` line in setup.cfg's [metadata]. "
                         f"Received: {count} lines")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", help="set setup.cfg's url first")
    parser.add_argument("--check", action="store_true",
                        help="only report; exit 1 on a mismatch")
    args = parser.parse_args(argv)
    if args.url:
        _set_url(args.url.rstrip("/"))
    stale = sync(repository_url(), args.check)
    for name in stale:
        print(("differs from setup.cfg's url: " if args.check else "rewritten: ") + name)
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
