"""`hakama records …` as an operator runs it: real processes on a data folder, one killed with
SIGKILL in the middle of an import."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from hakama.services.platform import Platform
from hakama.settings import Settings
from tests.services.records.conftest import EAST, seed

MAPPING = """
columns:
  file_number: [N° dossier, رقم الملف]
  requested_at: Date dépôt
values:
  channel: {Guichet: counter, "En ligne": online}
  status: {Délivré: delivered, "En cours": pending, Rejeté: rejected}
dates:
  requested_at: "%d/%m/%Y"
"""


def hakama(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hakama.cli.main", "--data-dir", str(data_dir), *args],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    platform = Platform.open(Settings(data_dir=data, environment="test"))
    seed(platform)
    platform.close()
    return data


def test_import_reports_errors_refuses_then_stores_with_partial(
    data_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "m.yaml").write_text(MAPPING, encoding="utf-8")
    (tmp_path / "permis.csv").write_text(
        "N° dossier;Date dépôt;canal;statut\nP-1;02/01/2025;Guichet;Délivré\n"
        "P-2;03/01/2025;Fax;En cours\nP-3;31/02/2025;En ligne;En cours\n",
        encoding="utf-8",
    )
    args = ("records", "import", str(tmp_path / "permis.csv"), "--area", EAST,
            "--type", "building_permit", "--mapping", str(tmp_path / "m.yaml"))  # fmt: skip
    refused = hakama(data_dir, *args, "--errors", str(tmp_path / "errors.csv"))
    assert refused.returncode == 1
    assert "line 3, canal 'Fax': unknown code" in refused.stdout
    assert "line 4, Date dépôt '31/02/2025': not a date" in refused.stdout
    assert refused.stderr.strip().startswith(
        "error: 2 of 3 rows were rejected, so nothing was stored"
    )
    assert "Traceback" not in refused.stderr
    errors = (tmp_path / "errors.csv").read_text(encoding="utf-8").splitlines()
    assert errors[0] == '"line","column","value","code","reason"' and len(errors) == 3
    kept = hakama(data_dir, *args, "--partial", "--json")
    assert kept.returncode == 0, kept.stderr
    report = json.loads(kept.stdout)
    assert (report["inserted"], report["rows_rejected"], report["state"]) == (1, 2, "committed")
    again = hakama(data_dir, *args, "--partial")
    assert "stored: 0 new, 0 updated, 1 unchanged" in again.stdout
    listed = json.loads(hakama(data_dir, "records", "imports", "--json").stdout)
    assert [i["state"] for i in listed] == ["committed", "committed", "refused"]
    assert {i["actor"] for i in listed} == {"system:cli"}
    assert listed[0]["file_sha256"] == listed[2]["file_sha256"]
    bad = hakama(
        data_dir,
        "records",
        "import",
        str(tmp_path / "m.yaml"),
        "--area",
        EAST,
        "--type",
        "building_permit",
    )
    assert bad.returncode == 1 and "error: line 1:" in bad.stderr and "Traceback" not in bad.stderr


def _count(db: Path, sql: str) -> int:
    con = sqlite3.connect(db, timeout=30)
    try:
        return int(con.execute(sql).fetchone()[0])
    finally:
        con.close()


def test_kill_9_during_an_import_leaves_all_or_nothing(data_dir: Path, tmp_path: Path) -> None:
    n = 120_000
    path = tmp_path / "big.csv"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("file_number,requested_at,channel,status\n")
        for i in range(n):
            handle.write(f"K-{i},2025-{i % 12 + 1:02d}-{i % 28 + 1:02d} 10:00,online,pending\n")
    args = [sys.executable, "-m", "hakama.cli.main", "--data-dir", str(data_dir), "records", "import",
            str(path), "--area", EAST, "--type", "building_permit"]  # fmt: skip
    db = data_dir / "hakama.db"
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    # Wait for the preview to be recorded: the commit (one long transaction) starts right after.
    while time.monotonic() < deadline and proc.poll() is None:
        if _count(db, "SELECT count(*) FROM record_imports") > 0:
            break
        time.sleep(0.05)
    time.sleep(0.5)
    assert proc.poll() is None, "the import ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stored = _count(db, "SELECT count(*) FROM admin_records")
    committed = _count(db, "SELECT count(*) FROM record_imports WHERE state = 'committed'")
    assert (stored, committed) in ((0, 0), (n, 1))
    done = hakama(
        data_dir, "records", "import", str(path), "--area", EAST, "--type", "building_permit"
    )
    assert done.returncode == 0, done.stderr
    assert _count(db, "SELECT count(*) FROM admin_records") == n
    assert _count(db, "SELECT count(*) FROM record_lake_days") == 0
    con = duckdb.connect()
    lake = str(data_dir / "lake" / "admin_records" / "day=*" / "*.parquet")
    rows, ids = con.execute(
        f"SELECT count(*), count(DISTINCT record_id) FROM read_parquet('{lake}')"
    ).fetchone()  # type: ignore[misc]
    con.close()
    assert rows == ids == n
    assert hakama(data_dir, "audit", "verify").returncode == 0
