#!/usr/bin/env python3
"""`lake upload` of many small files, two `lake` builds alternating.

    python3 upload_many_bench.py WORK 100,1000,3000 ROUNDS before=/path/to/lake,after=.build/release/lake

For each count, that many ASCII STL files of one triangle each (distinct bytes); for each round
and build, a fresh store, then `lake upload FILES…` (stored and processed, as a user runs it)
and, separately, `lake upload --no-wait FILES…` followed by `lake process`. Prints the median
wall time and ms per file.
"""
import os, shutil, statistics, subprocess, sys, time


def timed(argv, env):
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main():
    work, counts, rounds = sys.argv[1], [int(c) for c in sys.argv[2].split(",")], int(sys.argv[3])
    builds = {name: os.path.abspath(path) for name, path in (b.split("=", 1) for b in sys.argv[4].split(","))}
    print("| files | command | " + " | ".join(f"{n} s (ms per file)" for n in builds) + " |")
    print("|---|---|" + "---|" * len(builds))
    for count in counts:
        files = os.path.join(work, f"files-{count}")
        shutil.rmtree(files, ignore_errors=True)
        os.makedirs(files)
        for i in range(count):
            with open(os.path.join(files, f"p{i:05}.stl"), "w") as f:
                f.write(f"solid s\nfacet normal 0 0 1\nouter loop\nvertex 0 0 {i}\nvertex 1 0 0\nvertex 0 1 0\n"
                        "endloop\nendfacet\nendsolid s\n")
        paths = sorted(os.path.join(files, name) for name in os.listdir(files))
        results = {(label, n): [] for label in ("upload", "upload --no-wait + process") for n in builds}
        for _ in range(rounds):
            for n, lake in builds.items():
                for label in ("upload", "upload --no-wait + process"):
                    store = os.path.join(work, "store")
                    shutil.rmtree(store, ignore_errors=True)
                    env = dict(os.environ, LAKE_STORE=store)
                    subprocess.run([lake, "init"], env=env, check=True, stdout=subprocess.DEVNULL)
                    if label == "upload":
                        results[(label, n)].append(timed([lake, "upload", *paths], env))
                    else:
                        results[(label, n)].append(timed([lake, "upload", "--no-wait", *paths], env) + timed([lake, "process"], env))
        for label in ("upload", "upload --no-wait + process"):
            cells = []
            for n in builds:
                t = statistics.median(results[(label, n)])
                cells.append(f"{t:.2f} ({1000 * t / count:.2f})")
            print(f"| {count:,} | `{label}` | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
