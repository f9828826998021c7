#!/usr/bin/env python3
"""Iterate a frozen dataset mounted by Lake and read every member file.

    lake mount --dataset ds-… /mnt/train
    python3 read_dataset.py /mnt/train

Uses only the standard library and numpy: copy it into a training script. Each line of
manifest.jsonl is one case: its id, name, params and, per member, the paths of its files relative
to the dataset folder. Prints a JSON summary: cases, files, bytes, the scalar params as a matrix
(one row per case, columns in params_schema order) and the SHA-256 of every file read.
"""
import hashlib
import json
import os
import sys

import numpy as np


def cases(root):
    with open(os.path.join(root, "manifest.jsonl"), encoding="utf-8") as manifest:
        for line in manifest:
            if line.strip():
                yield json.loads(line)


def main(root):
    with open(os.path.join(root, "dataset.json"), encoding="utf-8") as f:
        dataset = json.load(f)
    scalars = sorted(k for k, d in dataset["params_schema"].items() if d["type"] == "scalar")
    rows, digests, total, files = [], {}, 0, 0
    for case in cases(root):
        rows.append([case["params"][k]["value"] for k in scalars])
        for member in case["members"]:
            for path in member["files"]:
                # A real script would parse the file here (e.g. with VTK); the bytes are all there.
                data = np.fromfile(os.path.join(root, path), dtype=np.uint8)
                digests[path] = hashlib.sha256(data.tobytes()).hexdigest()
                total += int(data.size)
                files += 1
    params = np.array(rows, dtype=np.float64).reshape(len(rows), len(scalars))
    print(json.dumps({"dataset": dataset["id"], "cases": len(rows), "files": files, "bytes": total,
                      "param_names": scalars, "params": params.tolist(), "sha256": digests}, indent=2))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
