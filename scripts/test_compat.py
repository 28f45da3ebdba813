"""The compatibility run (`make test-compat`): the corners of the supported window.

For each corner (a Python, a TensorFlow and a Keras), a virtual environment
under `build/compat/CORNER` (kept between runs; rebuilt when the corner's pins,
setup.cfg or pyproject.toml change) gets tl_keras with its test extra, the
corner's TensorFlow and Keras, and the rest pinned by
`constraints/compat/CORNER.txt`. Then:

1. the tests marked `compat` run there (training with each cache on and off,
   `.keras` round trips, export, the Keras-free check, TFLite, text models, the
   TF Hub layer, the CLI's train and predict, the version check);
2. each corner writes a `.keras` model, and every corner loads every other
   corner's file: a table says which Keras reads which.

A corner whose Python is not on the machine is skipped with one line, and is
not counted as passed; `--require-all` (CI) makes it a failure.

    python3 scripts/test_compat.py [--corners NAME,...] [--require-all]
        [--freeze]   # write constraints/compat/CORNER.txt from what resolved
"""

import argparse
import collections
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build", "compat")
PINS = os.path.join(ROOT, "constraints", "compat")

# The oldest and newest corners of the window, and one in between (Colab's
# Python with a Keras from the middle of the window).
CORNERS = [
    {"name": "py3.11-tf2.18-keras3.10", "python": "3.11", "tensorflow": "2.18.1",
     "keras": "3.10.0"},
    {"name": "py3.12-tf2.20-keras3.12", "python": "3.12", "tensorflow": "2.20.0",
     "keras": "3.12.0"},
    {"name": "py3.13-tf2.21-keras3.15", "python": "3.13", "tensorflow": "2.21.0",
     "keras": "3.15.1"},
]


def find_python(version):
    """An interpreter for `version` ("3.12"): on PATH as python3.12, or a pyenv
    installation. None when the machine has neither."""
    candidates = [shutil.which(f"python{version}")]
    pyenv_root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates += sorted(glob.glob(os.path.join(pyenv_root, "versions", f"{version}.*",
                                                "bin", f"python{version}")), reverse=True)
    for candidate in candidates:
        if not candidate:
            continue
        try:
            found = subprocess.run([candidate, "-c", "import sys; print('%d.%d' % "
                                    "sys.version_info[:2])"], capture_output=True,
                                   text=True, timeout=60).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            continue
        if found == version:
            return candidate
    return None


def _fingerprint(corner):
    digest = hashlib.sha256(json.dumps(corner, sort_keys=True).encode())
    for path in ("setup.cfg", "pyproject.toml", os.path.join(PINS, f"{corner['name']}.txt")):
        full = os.path.join(ROOT, path)
        if os.path.exists(full):
            with open(full, "rb") as f:
                digest.update(f.read())
    return digest.hexdigest()


def _run(command, log, **kwargs):
    with open(log, "a") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        return subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                              **kwargs).returncode


def install(corner, python, log):
    """Creates or reuses the corner's environment; returns its python."""
    venv = os.path.join(BUILD, corner["name"])
    venv_python = os.path.join(venv, "bin", "python")
    stamp = os.path.join(venv, ".tl_keras-installed")
    fingerprint = _fingerprint(corner)
    if os.path.exists(stamp) and open(stamp).read() == fingerprint:
        return venv_python, "reused"
    if not os.path.exists(venv_python) and _run([python, "-m", "venv", venv], log):
        raise RuntimeError(f"could not create {venv}")
    command = [venv_python, "-m", "pip", "install", "--quiet", "-e", ".[test]",
               f"tensorflow=={corner['tensorflow']}", f"keras=={corner['keras']}"]
    pins = os.path.join(PINS, f"{corner['name']}.txt")
    if os.path.exists(pins):
        command[4:4] = ["-c", pins]
    if _run(command, log):
        raise RuntimeError(f"pip could not install the corner (see {log})")
    with open(stamp, "w") as f:
        f.write(fingerprint)
    return venv_python, "installed"


def freeze(corner, venv_python):
    frozen = subprocess.run([venv_python, "-m", "pip", "freeze", "--exclude-editable"],
                            capture_output=True, text=True, check=True).stdout
    os.makedirs(PINS, exist_ok=True)
    with open(os.path.join(PINS, f"{corner['name']}.txt"), "w") as f:
        f.write(f"# The compatibility corner {corner['name']}: what resolved with "
                "scripts/test_compat.py --freeze.\n" + frozen)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corners", help="comma-separated corner names. Defaults to all: "
                        + ", ".join(c["name"] for c in CORNERS))
    parser.add_argument("--require-all", action="store_true",
                        help="a corner whose Python is missing fails the run")
    parser.add_argument("--freeze", action="store_true",
                        help="write constraints/compat/CORNER.txt after installing")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments")
    args = parser.parse_args(argv)
    names = {c["name"] for c in CORNERS}
    chosen = CORNERS
    if args.corners:
        wanted = args.corners.split(",")
        unknown = sorted(set(wanted) - names)
        if unknown:
            parser.error(f"unknown corner(s) {unknown}; expected some of {sorted(names)}")
        chosen = [c for c in CORNERS if c["name"] in wanted]

    os.makedirs(BUILD, exist_ok=True)
    models = os.path.join(BUILD, "models")
    shutil.rmtree(models, ignore_errors=True)
    results, ready = {}, []
    tests = collections.Counter()  # test outcomes summed over the corners
    for corner in chosen:
        name, started = corner["name"], time.time()
        log = os.path.join(BUILD, f"{name}.log")
        open(log, "w").close()
        python = find_python(corner["python"])
        if python is None:
            results[name] = "skipped"
            print(f"[{name}] skipped: no Python {corner['python']} on this machine "
                  "(python{0} on PATH or a pyenv version {0}.x)".format(corner["python"]),
                  flush=True)
            continue
        try:
            venv_python, how = install(corner, python, log)
        except RuntimeError as error:
            results[name] = "failed"
            print(f"[{name}] failed: {error}", flush=True)
            continue
        if args.freeze:
            freeze(corner, venv_python)
        print(f"[{name}] environment {how} ({time.time() - started:.0f} s); "
              "running the compat tests", flush=True)
        code = _run([venv_python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m",
                     "compat", "tests", *args.pytest_args], log,
                    env=dict(os.environ, TL_KERAS_COMPAT_CORNER=name))
        with open(log) as f:
            summary = [line for line in f.read().splitlines() if " in " in line and
                       ("passed" in line or "failed" in line or "error" in line)]
        outcome = summary[-1].strip("= ") if summary else "no pytest summary"
        for count, word in re.findall(r"(\d+) (passed|failed|errors?|skipped)", outcome):
            tests[word.rstrip("s").replace("error", "failed")] += int(count)
        results[name] = "passed" if code == 0 and summary else "failed"
        print(f"[{name}] {results[name]}: {outcome} ({time.time() - started:.0f} s in "
              f"all; log: {os.path.relpath(log, ROOT)})", flush=True)
        if _run([venv_python, "-m", "tests.compat_models", "write", models, name], log):
            print(f"[{name}] could not write its .keras model (see the log)", flush=True)
        else:
            ready.append((corner, venv_python))

    matrix = _keras_files_across(ready, models)
    corners = collections.Counter(results.values())
    corners["failed"] += matrix["failed"]
    print(f"\ncompat corners: {corners['passed']} passed, {corners['failed']} failed, "
          f"{corners['skipped']} skipped")
    # The closing line: tests over all corners, and the cross-version loads.
    print(f"compat: {tests['passed'] + matrix['passed']} passed, "
          f"{tests['failed'] + matrix['failed']} failed, {tests['skipped']} skipped")
    if corners["failed"] or (corners["skipped"] and args.require_all):
        return 1
    return 0


def _keras_files_across(ready, models):
    """Every corner loads every other corner's `.keras` file and export. What an
    older Keras and TensorFlow wrote must load in a newer one (Keras reads older
    files); a newer one's file in an older one is reported, not failed."""
    outcomes = collections.Counter()
    if len(ready) < 2:
        return outcomes
    keras_of = {corner["name"]: tuple(map(int, corner["keras"].split(".")))
                for corner, _ in ready}
    print("\nSaved models across the corners (writer -> reader):")
    for corner, venv_python in ready:
        output = subprocess.run([venv_python, "-m", "tests.compat_models", "read", models,
                                 corner["name"]], capture_output=True, text=True, cwd=ROOT,
                                env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")).stdout
        for line in output.splitlines():
            if not line.startswith("{"):
                continue
            row = json.loads(line)
            older_writer = keras_of[row["writer"]] <= keras_of[row["reader"]]
            what = ".keras file" if row["kind"] == "keras" else "export (SavedModel)"
            if row["ok"]:
                verdict = "loads, same predictions"
                outcomes["passed"] += 1
            elif older_writer:
                verdict = f"FAILED: {row['error']}"
                outcomes["failed"] += 1
            else:
                verdict = f"does not load (written by a newer Keras): {row['error']}"
            print(f"  {what}: {describe(row['writer'])} -> {describe(row['reader'])}: "
                  f"{verdict}")
    return outcomes


def describe(name):
    corner = next(c for c in CORNERS if c["name"] == name)
    return f"TF {corner['tensorflow']} / Keras {corner['keras']}"


if __name__ == "__main__":
    sys.exit(main())
