"""Serving throughput and latency against a trivial FastAPI endpoint, in the same run.

    python -m benchmarks.serving_load                 # default synthetic dataset, embedded
    python -m benchmarks.serving_load --home DIR      # reuse a home where the pipeline ran

Needs `wrk` (Debian: `apt-get install wrk`). One uvicorn worker each for the API and for the
baseline app (benchmarks/trivial_app.py: 10 constant items, async and sync variants). wrk runs
closed-loop with 16 connections against each in turn, several rounds, random precomputed users;
the ratio is API / baseline requests per second. Two API processes serve the same home, one
recording impressions (the default) and one not (RECSYS_API_LOG_IMPRESSIONS=false): their ratio
is the cost of recording what is shown, and the recording one's /metrics say how many lists it
dropped. A paced run (wrk with a delay per request, about 2,000 lists/s) checks for drops at
that rate; the event write figures come from batched and single `POST /events`. Last, open-loop
runs at a fixed 300 requests/s (Python asyncio, one request every 3.3 ms) against one API
process at a time, impressions off and on alternating, give the latency percentiles.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from benchmarks._util import ROOT, free_port, percentiles, start_api
from benchmarks.freshness import known_users, publish

WRK_SCRIPT = """
users = {%s}
request = function()
  return wrk.format("GET", "%s" .. users[math.random(#users)] .. "?k=10")
end
"""
# Paced: each connection waits this many ms before its next request.
WRK_DELAY = """
delay = function()
  return %d
end
"""


def wrk(
    url: str, prefix: str, users: list[str], seconds: int, connections: int = 16, delay_ms: int = 0
) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % (",".join(f'"{u}"' for u in users), prefix))
        if delay_ms:
            script.write(WRK_DELAY % delay_ms)
    output = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", script.name, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    Path(script.name).unlink()
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))


def start_baseline(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "benchmarks.trivial_app:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
    )
    for _ in range(100):
        try:
            httpx.get(f"http://127.0.0.1:{port}/recommendations/x")
            return process
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("baseline app did not start")


async def open_loop(base_url: str, users: list[str], rate: float, seconds: float) -> list[float]:
    """Send `rate` requests per second on schedule (not waiting for answers); latencies in ms."""
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:

        async def one(user: str) -> None:
            started = time.perf_counter()
            response = await client.get(f"/recommendations/{user}", params={"k": 10})
            response.raise_for_status()
            latencies.append((time.perf_counter() - started) * 1000)

        tasks = []
        start = time.perf_counter()
        for n in range(int(rate * seconds)):
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(users[n % len(users)])))
        await asyncio.gather(*tasks)
    return latencies


def impression_counts(base_url: str) -> tuple[float, float]:
    """(lists recorded, lists dropped) from the API's /metrics."""
    text = httpx.get(f"{base_url}/metrics").text
    written = re.search(r"^recsys_impressions_written_total ([\d.e+]+)", text, re.M)
    dropped = re.search(r"^recsys_impressions_dropped_total ([\d.e+]+)", text, re.M)
    return float(written.group(1)), float(dropped.group(1))


def event_writes(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=60) as client:
        batches, size = 30, 1000
        started = time.perf_counter()
        for b in range(batches):
            events = [
                {
                    "user_id": f"load-{b}-{n % 50}",
                    "item_id": f"i{n % 3000}",
                    "event_type": "view_start",
                }
                for n in range(size)
            ]
            client.post("/events", json={"events": events}).raise_for_status()
        rate = batches * size / (time.perf_counter() - started)
        singles = []
        for n in range(300):
            event = {"user_id": f"single-{n}", "item_id": "i1", "event_type": "like"}
            t0 = time.perf_counter()
            client.post("/events", json=event).raise_for_status()
            singles.append((time.perf_counter() - t0) * 1000)
    print(f"POST /events batches of {size:,}: {rate:,.0f} events/s durably stored")
    print(f"POST /events single events:      {percentiles(singles)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, help="a RECSYS_HOME where the pipeline ran")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="publish into this folder and keep it")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("this benchmark needs wrk: apt-get install wrk")
    with tempfile.TemporaryDirectory() as scratch:
        home = args.home or args.keep or Path(scratch)
        if args.home is None:
            publish(home)
        api_port, off_port, base_port = free_port(), free_port(), free_port()
        api = start_api(home, api_port)
        off = start_api(home, off_port, {"RECSYS_API_LOG_IMPRESSIONS": "false"})
        baseline = start_baseline(base_port)
        try:
            api_url = f"http://127.0.0.1:{api_port}"
            off_url = f"http://127.0.0.1:{off_port}"
            base_url = f"http://127.0.0.1:{base_port}"
            users = known_users(api_url, 2000)
            rates = {"api": [], "off": [], "async": [], "sync": []}
            for _ in range(args.rounds):
                rates["async"].append(wrk(base_url, "/recommendations/", users, args.seconds))
                rates["off"].append(wrk(off_url, "/recommendations/", users, args.seconds))
                rates["api"].append(wrk(api_url, "/recommendations/", users, args.seconds))
                rates["sync"].append(wrk(base_url, "/sync/recommendations/", users, args.seconds))
            api_rps, off_rps, async_rps, sync_rps = (float(np.median(rates[k])) for k in rates)
            written, dropped = impression_counts(api_url)
            print(
                f"\nclosed loop, wrk 16 connections, {args.rounds} rounds x {args.seconds} s, "
                "medians:"
            )
            print(f"trivial async endpoint          {async_rps:8,.0f} req/s")
            print(f"trivial sync (def) endpoint     {sync_rps:8,.0f} req/s")
            print(f"GET /recommendations, impressions off {off_rps:8,.0f} req/s")
            print(
                f"GET /recommendations/{{user_id}}  {api_rps:8,.0f} req/s  "
                f"({api_rps / async_rps:.2f}x async baseline, {api_rps / sync_rps:.2f}x sync, "
                f"{api_rps / off_rps:.2f}x impressions off)"
            )
            print(
                f"impressions at saturation: {written:,.0f} lists recorded, {dropped:,.0f} "
                f"dropped ({dropped / max(written + dropped, 1):.2%})"
            )
            paced = wrk(api_url, "/recommendations/", users, 20, connections=20, delay_ms=9)
            time.sleep(2)  # the last flush
            written2, dropped2 = impression_counts(api_url)
            print(
                f"paced at {paced:,.0f} lists/s for 20 s: {written2 - written:,.0f} recorded, "
                f"{dropped2 - dropped:,.0f} dropped"
            )
            event_writes(api_url)
        finally:
            for process in (api, off, baseline):
                process.terminate()
                process.wait(timeout=30)
        tail_latency(home, users)


def tail_latency(home: Path, users: list[str]) -> None:
    """Open loop at 300 req/s against one API process at a time (no second engine on the
    home to contend with), impressions off and on, alternating, twice each."""
    for label, env in [("off", {"RECSYS_API_LOG_IMPRESSIONS": "false"}), ("on", {})] * 2:
        port = free_port()
        process = start_api(home, port, env)
        try:
            url = f"http://127.0.0.1:{port}"
            asyncio.run(open_loop(url, users, rate=300, seconds=3))  # warm up
            latencies = asyncio.run(open_loop(url, users, rate=300, seconds=20))
            print(f"open loop at 300 req/s for 20 s, impressions {label}: {percentiles(latencies)}")
        finally:
            process.terminate()
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
