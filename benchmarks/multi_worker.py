"""One worker against two, on this machine's loopback: `tl-keras train` on real photos.

The same command runs once alone and once as two workers of a
`MultiWorkerMirroredStrategy` cluster (`TF_CONFIG` naming two localhost ports,
`--strategy multi_worker`), side by side; both export, and the wall time and the
validation accuracy of each are printed. On one machine the two workers share its
cores, so this measures the cost of the collectives and of each worker's share,
not the gain of a second machine.

    .venv/bin/python benchmarks/multi_worker.py \\
        --data ../shared/assets/cats_and_dogs_filtered/train \\
        --weights ../shared/assets/weights/mobilenet_2_5_224_tf_no_top.h5
"""

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _run(args, workers, export):
    command = [os.path.join(os.path.dirname(sys.executable), "tl-keras"), "train",
               "--data", args.data, "--base", "mobilenet", "--alpha", "0.25",
               "--weights", args.weights, "--image-size", str(args.image_size),
               "--epochs", str(args.epochs), "--fine-tune-epochs", str(args.fine_tune_epochs),
               "--export", export]
    environments = [dict(os.environ)]
    if workers > 1:
        command += ["--strategy", "multi_worker"]
        cluster = {"worker": [f"localhost:{port}" for port in _free_ports(workers)]}
        environments = [dict(os.environ, TF_CONFIG=json.dumps(
            {"cluster": cluster, "task": {"type": "worker", "index": i}}))
            for i in range(workers)]
    start = time.perf_counter()
    processes = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
                 for env in environments]
    outputs = [p.communicate()[0] for p in processes]
    seconds = time.perf_counter() - start
    if any(p.returncode for p in processes):
        sys.exit("failed:\n" + outputs[0][-3000:])
    accuracy = re.findall(r"val_accuracy: ([0-9.]+)", outputs[0])
    return seconds, float(accuracy[-1]) if accuracy else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--weights", required=True)
    parser.add_argument("--image-size", type=int, default=160)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--fine-tune-epochs", type=int, default=2)
    args = parser.parse_args()
    for path in (args.data, args.weights):
        if not os.path.exists(path):
            sys.exit(f"error: {path} is not here (see ../shared/assets/README.md)")
    with tempfile.TemporaryDirectory() as work:
        rows = [(workers, *_run(args, workers, os.path.join(work, f"w{workers}")))
                for workers in (1, 2)]
    print(f"{'workers':>8} {'wall time (s)':>14} {'val accuracy':>13} {'x one worker':>13}")
    for workers, seconds, accuracy in rows:
        print(f"{workers:>8} {seconds:>14.1f} {accuracy:>13.3f} {rows[0][1] / seconds:>13.2f}")


if __name__ == "__main__":
    main()
