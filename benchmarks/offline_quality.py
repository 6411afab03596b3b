"""Offline quality and cost of the whole pipeline on a MovieLens folder (default ml-latest-small).

    python -m benchmarks.offline_quality [--dataset ../shared/datasets/ml-latest-small]
    python -m benchmarks.offline_quality --split leave_last_out    # another evaluation protocol

Runs `python -m recsys materialize` (load, interactions, tuning with the default budget,
evaluation, refit on all data, exports, publication) in a fresh RECSYS_HOME, and prints its
wall time and peak memory, then the metrics table the `model_selection` asset recorded (each
family's best, scored on the same test split as popularity) and the champion's ratio to
popularity. `--split` and `--min-rating` choose the evaluation protocol
(RECSYS_EVALUATION_SPLIT, RECSYS_RELEVANCE_MIN_RATING).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._util import ROOT, recsys_env
from recsys.evaluation.split import PROTOCOLS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default = ROOT.parent / "shared" / "datasets" / "ml-latest-small"
    parser.add_argument("--dataset", type=Path, default=default)
    parser.add_argument(
        "--split",
        default="temporal",
        choices=PROTOCOLS,
    )
    parser.add_argument("--min-rating", type=float, default=4.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = recsys_env(
            home,
            dataset=f"movielens:{args.dataset}",
            evaluation_split=args.split,
            relevance_min_rating=args.min_rating,
        )
        started = time.perf_counter()
        completed = subprocess.run(
            [sys.executable, "-m", "recsys", "materialize"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        wall = time.perf_counter() - started
        if completed.returncode != 0:
            sys.exit(f"pipeline failed:\n{completed.stderr[-3000:]}")
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        os.environ["DAGSTER_HOME"] = str(Path(home) / "dagster")
        import dagster as dg

        with dg.DagsterInstance.get() as instance:
            event = instance.get_latest_materialization_event(dg.AssetKey("model_selection"))
            metadata = event.asset_materialization.metadata
    champion = metadata["champion"].value
    ratio = metadata["champion_ndcg_at_10"].value / metadata["popularity_ndcg_at_10"].value
    print(f"dataset: {args.dataset}")
    print(f"evaluation: {metadata['evaluation'].value}")
    print(
        f"end-to-end pipeline: {wall:.0f} s wall, peak memory {peak_mb:,.0f} MB (largest process)"
    )
    print(f"champion: {champion} {metadata['champion_params'].value}")
    print(f"champion NDCG@10 / popularity NDCG@10 = {ratio:.2f}x\n")
    print(metadata["metrics"].value)


if __name__ == "__main__":
    main()
