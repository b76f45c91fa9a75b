"""A Spark standalone cluster on this machine, from the pyspark package's own launcher.

`bin/spark-class org.apache.spark.deploy.master.Master` and `…worker.Worker`, each its own JVM,
bound to one address (loopback by default): the same processes a real cluster runs on its
nodes, so the cluster path of `open_engine("spark")` (HAKAMA_SPARK_MASTER=spark://…) is tried
for real in the tests and the catalogue benchmark. Not for production: there a cluster is run
by its own tooling (sbin/start-master.sh, YARN, Kubernetes).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path


def spark_home() -> Path:
    """The pyspark package's folder: it holds bin/spark-class and the jars."""
    import pyspark

    return Path(pyspark.__file__).parent


@dataclass
class Cluster:
    master_url: str
    ui_url: str  # the master's web UI; `/json/` tells its workers and applications
    workers: int
    logs: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def log_tail(self, lines: int = 40) -> str:
        out = []
        for log in sorted(self.logs.glob("*.log")):
            out.append(f"== {log.name}")
            out += log.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(out)


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def _wait_port(host: str, port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Spark process for port {port} exited ({process.returncode})")
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:.0f} s")


def _wait_workers(ui: str, workers: int, timeout: float) -> None:
    """Until the master's status page counts `workers` alive workers."""
    import json
    import urllib.request

    deadline = time.monotonic() + timeout
    alive = 0
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{ui}/json/", timeout=2) as r:
                state = json.loads(r.read())
            alive = sum(1 for w in state.get("workers", []) if w.get("state") == "ALIVE")
            if alive >= workers:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{alive} of {workers} Spark workers registered after {timeout:.0f} s")


@contextmanager
def standalone_cluster(
    *,
    host: str = "127.0.0.1",
    master_port: int | None = None,
    ui_ports: Sequence[int] = (),
    workers: int = 2,
    cores: int = 1,
    memory: str = "1g",
    timeout: float = 120.0,
) -> Iterator[Cluster]:
    """A master and `workers` workers on `host`; stopped (and their folders removed) on exit.

    `master_port` and `ui_ports` (the master's web UI first, whose status page says when the
    workers are in, then one per worker): free ports of `host` when not given.
    """
    master_port = master_port or free_port(host)
    ui_ports = list(ui_ports) or [free_port(host) for _ in range(workers + 1)]
    if len(ui_ports) < workers + 1:
        raise ValueError("one web UI port for the master and one per worker")
    launcher = str(spark_home() / "bin" / "spark-class")
    folder = Path(tempfile.mkdtemp(prefix="hakama-spark-cluster-"))
    env = {
        **os.environ,
        "SPARK_HOME": str(spark_home()),
        "SPARK_LOCAL_IP": host,
        "SPARK_LOCAL_DIRS": str(folder / "local"),
        "SPARK_WORKER_DIR": str(folder / "work"),
        "SPARK_LOG_DIR": str(folder),
        "PYSPARK_PYTHON": sys.executable,
    }
    cluster = Cluster(
        f"spark://{host}:{master_port}", f"http://{host}:{ui_ports[0]}", workers, folder
    )
    try:
        cluster.processes.append(
            _start(
                launcher,
                "org.apache.spark.deploy.master.Master",
                ["--host", host, "--port", str(master_port), "--webui-port", str(ui_ports[0])],
                env,
                folder / "master.log",
            )
        )
        _wait_port(host, master_port, cluster.processes[0], timeout)
        for i in range(workers):
            cluster.processes.append(
                _start(
                    launcher,
                    "org.apache.spark.deploy.worker.Worker",
                    [
                        cluster.master_url,
                        "--host",
                        host,
                        "--cores",
                        str(cores),
                        "--memory",
                        memory,
                        "--webui-port",
                        str(ui_ports[i + 1]),
                        "--work-dir",
                        str(folder / f"work-{i}"),
                    ],
                    env,
                    folder / f"worker-{i}.log",
                )
            )
        _wait_workers(cluster.ui_url, workers, timeout)
        yield cluster
    finally:
        for process in reversed(cluster.processes):
            process.terminate()
        for process in reversed(cluster.processes):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(folder, ignore_errors=True)


def _start(
    launcher: str, main_class: str, args: list[str], env: dict[str, str], log: Path
) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [launcher, main_class, *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
