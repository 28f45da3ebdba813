"""`tl-keras train` audits its splits before training: a planted leak is named."""

import shutil

import pytest

from tests.fixtures.collections import edited
from tests.fixtures.collections import pattern
from tests.fixtures.collections import write_jpeg
from tl_keras.cli import main

pytestmark = pytest.mark.slow  # trains and exports


def _folders(root):
    for i in range(16):
        write_jpeg(str(root / "train" / "ab"[i % 2] / f"{i}.jpg"), pattern(i))
    for i in range(16, 24):
        write_jpeg(str(root / "val" / "ab"[i % 2] / f"{i}.jpg"), pattern(i))
    shutil.copy(root / "train" / "a" / "2.jpg", root / "val" / "a" / "copy_of_2.jpg")
    write_jpeg(str(root / "val" / "b" / "resized_5.jpg"), edited(pattern(5), 0, brighter=False))
    return root / "train", root / "val"


def test_train_names_a_planted_leak_before_training_and_no_audit_skips_it(tmp_path, capsys):
    train, val = _folders(tmp_path)
    flags = ["train", "--data", str(train), "--validation-data", str(val),
             "--base", "mobilenet_v2", "--weights", "none", "--image-size", "64",
             "--epochs", "1", "--fine-tune-epochs", "0", "--batch-size", "8"]
    assert main(flags + ["--export", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("Split audit"))
    assert "(16 train, 10 validation): 2 leaks" in line and "0 conflicts" in line
    assert "  leak: train/a/2.jpg ~ val/a/copy_of_2.jpg (1.00)" in out
    assert "  leak: train/b/5.jpg ~ val/b/resized_5.jpg" in out
    assert out.index("Split audit") < out.index("Phase 1/2")  # before the work
    assert main(flags + ["--export", str(tmp_path / "out2"), "--no-audit"]) == 0
    assert "Split audit" not in capsys.readouterr().out
