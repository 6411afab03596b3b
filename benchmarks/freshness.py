"""Freshness and fold-in cost, measured over HTTP against a real API process.

    python -m benchmarks.freshness                # default synthetic dataset, embedded warehouse
    python -m benchmarks.freshness --home DIR     # reuse a home where the pipeline already ran

Freshness: a user likes an item from their list; the clock runs from `POST /events` returning
to the first `GET /recommendations` that reflects it (served by fold-in, the liked item gone).
Fold-in cost: in the same run, interleaved, GET latency for precomputed users (no new events)
vs fold-in users right after an event (their history read from the warehouse and scored) vs
the same fold-in users again (cached until their next event).
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import psutil

from benchmarks._util import ROOT, free_port, percentiles, recsys_env, start_api


def publish(home: Path) -> None:
    env = recsys_env(home)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "recsys", "materialize"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    print(f"pipeline published in {time.perf_counter() - started:.0f} s", flush=True)


def timed_get(client: httpx.Client, user: str) -> tuple[float, dict]:
    started = time.perf_counter()
    response = client.get(f"/recommendations/{user}", params={"k": 10})
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    return elapsed, response.json()


def measure(base_url: str, users: list[str], rounds: int) -> None:
    rng = random.Random(7)
    freshness, precomputed, fold_in, cached = [], [], [], []
    reflected_first_time = 0
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for _ in range(50):  # warm up connections and code paths
            timed_get(client, rng.choice(users))
        untouched = list(users)
        rng.shuffle(untouched)
        for n in range(rounds):
            # A precomputed user (never posted for in this run) ...
            elapsed, body = timed_get(client, untouched.pop())
            assert body["source"] == "precomputed", body["source"]
            precomputed.append(elapsed)
            # ... and a user who just liked something from their list.
            user = untouched.pop()
            _, before = timed_get(client, user)
            liked = rng.choice(before["items"])["item_id"]
            client.post(
                "/events", json={"user_id": user, "item_id": liked, "event_type": "like"}
            ).raise_for_status()
            posted = time.perf_counter()
            attempts = 0
            while True:
                attempts += 1
                elapsed, after = timed_get(client, user)
                ids = {item["item_id"] for item in after["items"]}
                if after["source"] == "fold_in" and liked not in ids:
                    break
                assert time.perf_counter() - posted < 10, "never reflected"
            freshness.append((time.perf_counter() - posted) * 1000)
            reflected_first_time += attempts == 1
            fold_in.append(elapsed)
            cached.append(timed_get(client, user)[0])
            if n % 50 == 49:
                print(f"  {n + 1} rounds", flush=True)
    p_pre, p_fold, p_cached = (np.percentile(s, [50, 99]) for s in (precomputed, fold_in, cached))
    print(f"\n{rounds} rounds, one API process (uvicorn, 1 worker), embedded warehouse")
    print(f"freshness  POST returned -> GET reflects it: {percentiles(freshness)}")
    print(f"           reflected by the first GET in {reflected_first_time}/{rounds} rounds")
    print(f"GET precomputed user          {percentiles(precomputed)}")
    print(f"GET fold-in user, after event {percentiles(fold_in)}")
    print(f"GET fold-in user, cached      {percentiles(cached)}")
    print(
        f"fold-in cost vs precomputed: p50 {p_fold[0] / p_pre[0]:.2f}x, p99 "
        f"{p_fold[1] / p_pre[1]:.2f}x (cached: p50 {p_cached[0] / p_pre[0]:.2f}x)"
    )


def known_users(base_url: str, limit: int) -> list[str]:
    """Users with a precomputed list (the synthetic world names them u0, u1, ...)."""
    users = []
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for index in range(limit * 3):
            body = client.get(f"/recommendations/u{index}", params={"k": 10}).json()
            if body["source"] == "precomputed" and len(body["items"]) == 10:
                users.append(f"u{index}")
            if len(users) == limit:
                break
    return users


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, help="a RECSYS_HOME where the pipeline ran")
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        home = args.home or Path(scratch)
        if args.home is None:
            publish(home)
        port = free_port()
        api = start_api(home, port)
        try:
            base_url = f"http://127.0.0.1:{port}"
            users = known_users(base_url, 2 * args.rounds + 10)
            with httpx.Client(base_url=base_url, timeout=30) as client:
                version = client.get("/model").json()
            print(f"served: {version['algorithm']} ({version['model_version']})")
            measure(base_url, users, args.rounds)
            # What holding the version costs the API (a ranker holds every retriever's item side).
            rss = psutil.Process(api.pid).memory_info().rss / 2**20
            print(f"API process resident memory after the run: {rss:,.0f} MB")
        finally:
            api.terminate()
            api.wait(timeout=30)


if __name__ == "__main__":
    main()
