"""The tutorial notebooks run top to bottom, offline, on small local data.

Each notebook's `parameters` cell is followed by an injected cell that points it at
data made here (image folders, a CSV, a vectors file, TF Hub fixtures, a photo)
with `weights=None` and tiny sizes, as papermill does. Each runs in a directory of
its own, with nothing another notebook wrote: on Colab each has its own machine.
"""

import glob
import json
import os
import re
import subprocess
import sys

import nbformat
import numpy as np
import pytest

from tests.fixtures import REPO_ROOT

# End to end (training, exporting, subprocesses): the full tier, `make test`.
pytestmark = pytest.mark.slow

NOTEBOOK_DIR = os.path.join(REPO_ROOT, "notebooks")
NOTEBOOKS = sorted(glob.glob(os.path.join(NOTEBOOK_DIR, "*.ipynb")))


def test_the_six_notebooks_are_there_and_stripped():
    names = [os.path.basename(n) for n in NOTEBOOKS]
    assert names == ["01_image_classifier.ipynb", "02_tf_hub.ipynb", "03_text.ipynb",
                     "04_serving.ipynb", "05_model_library.ipynb",
                     "06_explore_a_folder.ipynb"]
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, \
                    (path, cell.source[:40])
        sources = [c.source for c in nb.cells]
        assert "colab-badge.svg" in sources[0]
        assert 'if "google.colab" in sys.modules' in sources[1]
        assert "list_physical_devices(\"GPU\")" in sources[2]
        assert sum("parameters" in c.metadata.get("tags", []) for c in nb.cells) == 1
        assert "tl_keras" not in json.dumps(nb.metadata).replace("tl_keras.git", "")
        assert nb.metadata["accelerator"] == "GPU" and "T4 GPU" in sources[0]
        assert "## Try this next" in sources[-1]


def test_badges_and_install_cells_follow_the_url_in_setup_cfg(tmp_path):
    script = os.path.join(os.path.dirname(NOTEBOOK_DIR), "scripts", "notebook_links.py")
    result = subprocess.run([sys.executable, script, "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    # and the check does fail on a notebook that points elsewhere
    copy = tmp_path / "repo"
    (copy / "notebooks").mkdir(parents=True)
    (copy / "scripts").mkdir()
    for name in ("setup.cfg", "README.md", "scripts/notebook_links.py"):
        (copy / name).write_text(open(os.path.join(os.path.dirname(NOTEBOOK_DIR), name)).read())
    nb = json.load(open(NOTEBOOKS[0]))
    nb["cells"][1]["source"] = [line.replace("tl_keras.git", "elsewhere.git")
                                for line in nb["cells"][1]["source"]]
    (copy / "notebooks" / os.path.basename(NOTEBOOKS[0])).write_text(json.dumps(nb))
    result = subprocess.run([sys.executable, str(copy / "scripts" / "notebook_links.py"),
                             "--check"], capture_output=True, text=True)
    assert result.returncode == 1 and "01_image_classifier.ipynb" in result.stdout


def test_packages_are_installed_in_the_first_code_cell_only():
    """Issue 26 row 20: notebook 02 ran `pip install keras-hub` halfway through, which
    can replace the TensorFlow already imported."""
    for path in NOTEBOOKS:
        code = [''.join(cell["source"]) for cell in json.load(open(path))["cells"]
                if cell["cell_type"] == "code"]
        for index, source in enumerate(code[1:], start=2):
            assert "pip install" not in source.replace("pip install \"tl_keras", "") \
                and '"pip", "install"' not in source, (os.path.basename(path), index)
        assert "import tensorflow" not in code[0] and "import tl_keras" not in code[0]


def test_notebooks_use_public_names_only():
    import tl_keras as tlk
    from tl_keras import plots

    public = {"tlk": set(tlk.__all__) | {"__version__", "cli", "demo", "library", "plots"},
              "plots": {n for n in dir(plots) if not n.startswith("_")}}
    for path in NOTEBOOKS:
        code = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells
                         if c.cell_type == "code")
        imports = re.findall(r"^\s*(?:from|import) (tl_keras[\w.]*)", code, re.M)
        assert set(imports) <= {"tl_keras"}, (path, imports)
        for module, name in re.findall(r"\b(tlk|plots)\.(\w+)", code):
            assert name in public[module], f"{os.path.basename(path)} uses {module}.{name}"


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    """Small data for every notebook, made on the fly."""
    import tensorflow as tf

    from tests.fixtures.hub import write_image_feature_vector
    from tests.fixtures.hub import write_text_embedding

    root = tmp_path_factory.mktemp("notebook_data")
    rng = np.random.default_rng(0)

    def folders(name, classes, per_class=10):
        for index, label in enumerate(classes):
            (root / name / label).mkdir(parents=True)
            for i in range(per_class):
                image = rng.integers(0, 60, (36, 36, 3)).astype("uint8")
                image[..., index % 3] += 190
                (root / name / label / f"{i}.png").write_bytes(
                    tf.io.encode_png(tf.constant(image)).numpy())
        return str(root / name)

    words = ["good", "great", "fun", "bad", "dull", "boring", "film", "plot", "story"]
    with open(root / "vectors.txt", "w") as f:
        for i, word in enumerate(words):
            vector = rng.normal(0, 1, 8) + (3 if i < 3 else -3 if i < 6 else 0)
            f.write(word + " " + " ".join(f"{v:.4f}" for v in vector) + "\n")
    with open(root / "reviews.csv", "w") as f:
        f.write("text,label\n")
        for i in range(60):
            positive = i % 2
            chosen = rng.choice(words[:3] if positive else words[3:6], 2)
            label = "pos" if positive else "neg"
            f.write(f"{' '.join(chosen)} {rng.choice(words[6:])},{label}\n")

    from tests.fixtures.kerashub import write_vit_preset

    photo = rng.integers(0, 256, (48, 64, 3)).astype("uint8")
    (root / "photo.jpg").write_bytes(tf.io.encode_jpeg(tf.constant(photo)).numpy())
    return {
        "images": folders("flowers", ["red", "green", "blue"]),
        "images_b": folders("beans", ["healthy", "rust"]),
        "hub_image": write_image_feature_vector(root / "hub_image"),
        "hub_text": write_text_embedding(root / "hub_text" / "module"),
        "vectors": str(root / "vectors.txt"),
        "csv": str(root / "reviews.csv"),
        "photo": str(root / "photo.jpg"),
        "vit": write_vit_preset(root / "vit_tiny"),
    }


def _run(name, overrides, work_dir):
    from nbclient import NotebookClient

    os.makedirs(work_dir)
    nb = nbformat.read(os.path.join(NOTEBOOK_DIR, name), as_version=4)
    index = next(i for i, c in enumerate(nb.cells)
                 if "parameters" in c.metadata.get("tags", []))
    source = "\n".join(f"{key} = {value!r}" for key, value in overrides.items())
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell("# injected by the tests\n" + source))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": work_dir}})
    client.execute()
    return nb


def _text(nb):
    out = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            out.append(output.get("text", "") or json.dumps(output.get("data", {}))[:2000])
    return "\n".join(out)


IMAGE_RUN = dict(WEIGHTS=None, IMAGE_SIZE=32, EPOCHS=2, FINE_TUNE_EPOCHS=1, BATCH_SIZE=8)


def test_01_image_classifier(local, tmp_path):
    nb = _run("01_image_classifier.ipynb",
              dict(IMAGE_RUN, DATASET=local["images"], BASE="mobilenet_v3_small"),
              str(tmp_path / "work"))
    text = _text(nb)
    assert "['blue', 'green', 'red']" in text and "Phase 2/2" in text
    assert "untrained head" in text and "from scratch" in text and "| transfer" in text
    assert "trainable parameters now:" in text
    # the data, augmentation, curves, confusion matrix, top losses, predictions
    assert text.count("image/png") >= 6
    assert os.path.isdir(tmp_path / "work" / "saved_models" / "flowers" / "1")


def test_02_tf_hub(local, tmp_path):
    nb = _run("02_tf_hub.ipynb",
              dict(HUB_HANDLE=local["hub_image"], DATASET=local["images"], IMAGE_SIZE=32,
                   EPOCHS=1, FINE_TUNE_EPOCHS=1, BATCH_SIZE=8, KERASHUB_BASE=local["vit"]),
              str(tmp_path / "work"))
    text = _text(nb)
    assert "HubLayer trainable: False" in text and "module trainable now: True" in text
    assert "k-nearest neighbours on the frozen features:" in text
    assert "KerasHub vit_tiny with LoRA:" in text
    assert "validation accuracy:" in text
    assert os.path.isdir(tmp_path / "work" / "saved_models" / "flowers_hub" / "1")


def test_03_text(local, tmp_path):
    nb = _run("03_text.ipynb",
              dict(VECTORS=local["vectors"], VECTORS_LIMIT=None, TEXT_DATASET=local["csv"],
                   HUB_TEXT_HANDLE=local["hub_text"], EPOCHS=2, FINE_TUNE_EPOCHS=1,
                   SEQUENCE_LENGTH=8), str(tmp_path / "work"))
    text = _text(nb)
    assert "Vocabulary coverage" in text and "TF Hub embedding:" in text
    assert "random vectors:" in text and re.search(r"(pos|neg)  \w+ \w+ \w+", text)
    assert os.path.isdir(tmp_path / "work" / "saved_models" / "reviews" / "1")


def test_04_serving_trains_its_own_export_when_there_is_none(local, tmp_path):
    nb = _run("04_serving.ipynb",
              dict(PHOTO=local["photo"], DATASET=local["images"], BASE="mobilenet_v3_small",
                   WEIGHTS=None, IMAGE_SIZE=32, EPOCHS=1), str(tmp_path / "work"))
    text = _text(nb)
    assert "No export in saved_models/flowers: training one" in text
    assert text.count("ready to serve") == 2  # the API and the CLI
    assert "serving_bytes ['image_bytes']" in text and "64x48 pixels" in text


def test_05_model_library(local, tmp_path):
    nb = _run("05_model_library.ipynb",
              dict(IMAGE_RUN, TASK_A=local["images"], TASK_B=local["images_b"],
                   BASE="mobilenet_v3_small"), str(tmp_path / "work"))
    text = _text(nb)
    assert "from task_a/1" in text and "LogisticRegression validation accuracy:" in text
    assert "from task A's export" in text and "from ImageNet" in text
    assert "rank  base" in text and "logme" in text  # the bases scored before training
    assert "versions: 1" in text and 'name: "task_b"' in text  # models.config
    assert "Not served (no approved version): {'task_a':" in text
    assert "Base weights license:" in text and "task_b@stable is task_b_v1" in text


def test_06_explore_a_folder(local, tmp_path):
    nb = _run("06_explore_a_folder.ipynb",
              dict(FOLDER=local["images"], TRAIN_FOLDER=local["images_b"], WEIGHTS=None,
                   IMAGE_SIZE=32, LABELS_PER_CLASS=3), str(tmp_path / "work"))
    text = _text(nb)
    assert "<Embeddings: 30 items, dimension 1280, base='mobilenet_v2'>" in text
    # Random weights on noise images: whether the copy is found is measured with
    # ImageNet weights (benchmarks/unlabelled.py), not here.
    assert "The planted copy found: " in text
    assert "Split audit (20 train, 30 validation)" in text
    assert "cluster  " in text and "image/png" in text  # the table and the sheet
    assert "propagate_labels: " in text and "a head on the few alone: " in text
    assert "Open " in text and "index.html" in text
    work = tmp_path / "work"
    assert (work / "explore_report" / "index.html").exists()
    assert (work / "embeddings.npz").exists()
