"""Importing administrative records from CSV: hakama's validation against DuckDB's `read_csv`
of the same file, and the memory the whole import takes.

The file has 10^6 civil-status rows with French column names, a value map and dates in
`dd/mm/YYYY HH:MM` (what a commune's export looks like). Timed in the same run:
- baseline: DuckDB `CREATE TABLE AS SELECT * FROM read_csv(file)` (parse every cell, no checks);
- validate: `record_file_imports.stage` — detect the encoding, hash the file, read it, map, check
  every cell (types, codes, dates not in the future, required, keys unique) and stage the good rows;
- commit: `record_file_imports.commit` — write the records to SQLite in one transaction, rebuild the
  lake days; then the indicators' incremental computation, timed apart.
The hakama side runs in a child process so its peak memory (max RSS) is its own. Usage:
    python benchmarks/records_import.py [--rows 1000000] [--quick]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
from _report import report

HEADER = "numero_acte;annee_acte;nature_acte;date_demande;date_delivrance;canal;statut;document;nom_titulaire\n"
KINDS = ("Naissance", "Mariage", "Décès")
MAPPING = """
columns: {register_number: numero_acte, register_year: annee_acte, act_kind: nature_acte,
          requested_at: date_demande, delivered_at: date_delivrance, channel: canal,
          status: statut, document: document, holder_name: nom_titulaire}
values:
  act_kind: {Naissance: birth, Mariage: marriage, Décès: death}
  channel: {Guichet: counter, En ligne: online}
  status: {Délivré: delivered, En cours: pending, Rejeté: rejected}
dates:
  requested_at: "%d/%m/%Y %H:%M"
  delivered_at: "%d/%m/%Y %H:%M"
"""


def write_file(path: Path, rows: int) -> None:
    with open(path, "w", encoding="utf-8") as out:
        out.write(HEADER)
        for i in range(rows):
            day, month, hour = i % 28 + 1, (i // 28) % 12 + 1, 8 + i % 9
            delivered = f"{day:02d}/{month:02d}/2025 {hour + 1:02d}:15" if i % 3 else ""
            status = "Délivré" if i % 3 else "En cours"
            out.write(
                f"{i};{1950 + i % 70};{KINDS[i % 3]};{day:02d}/{month:02d}/2025 {hour:02d}:00;"
                f"{delivered};{'En ligne' if i % 4 == 0 else 'Guichet'};{status};extract;Nom {i % 997}\n"
            )


CHILD = """
import json, sys, time, resource
from pathlib import Path
from hakama.core.access import system_actor
from hakama.core.territory import Area, Level
from hakama.services import record_file_imports, record_lake, records, territory
from hakama.services.platform import Platform
from hakama.settings import Settings
data, path, mapping = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]).read_text()
p = Platform.open(Settings(data_dir=data, environment="test"))
actor = system_actor("bench")
territory.save_areas(p, [Area("99", Level.PROVINCE, {"fr": "P"}),
                         Area("99.01", Level.COMMUNE, {"fr": "C"}, parent_code="99", population={2024: 10})], actor=actor)
import pyarrow as pa
pa.array(["warm"])  # pyarrow imports pandas on first use; a running server already has
t = time.perf_counter()
staged = record_file_imports.stage(p, actor=actor, area_code="99.01", type_id="civil_status_certificate", path=path, mapping_text=mapping)
validate = time.perf_counter() - t
rss_validate = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
done = record_file_imports.commit(p, actor=actor, import_id=staged.id, recompute=False)
commit = time.perf_counter() - t
rss_commit = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
periods = record_lake.recompute_indicators(p)
recompute = time.perf_counter() - t
print(json.dumps({"validate": validate, "commit": commit, "valid": staged.rows_valid,
                  "rejected": staged.rows_rejected, "inserted": done.inserted,
                  "rss_validate_kb": rss_validate, "rss_commit_kb": rss_commit,
                  "recompute": recompute, "periods": periods}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="100,000 rows")
    args = parser.parse_args()
    rows = 100_000 if args.quick else args.rows
    with tempfile.TemporaryDirectory(prefix="hakama-bench-records-") as tmp:
        folder = Path(tmp)
        path = folder / "etat-civil.csv"
        write_file(path, rows)
        (folder / "mapping.yaml").write_text(MAPPING, encoding="utf-8")
        size_mb = path.stat().st_size / 1e6
        con = duckdb.connect()
        t = time.perf_counter()
        con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{path}', delim=';', header=true)")
        baseline = time.perf_counter() - t
        assert con.execute("SELECT count(*) FROM t").fetchone() == (rows,)
        con.close()
        child = subprocess.run(
            [sys.executable, "-c", CHILD, str(folder / "data"), str(path), str(folder / "mapping.yaml")],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        out = json.loads(child.stdout.strip().splitlines()[-1])
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    assert out["valid"] == rows and out["inserted"] == rows, out
    table = [
        {"step": "DuckDB read_csv (baseline)", "seconds": baseline, "rows_per_s": rows / baseline, "vs_baseline": 1.0},
        {"step": "hakama validate (stage)", "seconds": out["validate"], "rows_per_s": rows / out["validate"],
         "vs_baseline": baseline / out["validate"]},
        {"step": "hakama commit (database + lake days)", "seconds": out["commit"], "rows_per_s": rows / out["commit"],
         "vs_baseline": baseline / out["commit"]},
        {"step": "indicators recomputed (touched periods)", "seconds": out["recompute"],
         "rows_per_s": rows / out["recompute"], "vs_baseline": baseline / out["recompute"]},
    ]  # fmt: skip
    report(
        "records_import",
        table,
        records=rows,
        file_mb=round(size_mb, 1),
        validate_speed_vs_duckdb=round(baseline / out["validate"], 3),
        validate_target=0.25,
        validate_rss_mb=round(out["rss_validate_kb"] / 1024, 1),
        import_rss_mb=round(out["rss_commit_kb"] / 1024, 1),
        peak_rss_mb_with_indicators=round(peak_mb, 1),
        memory_target_mb=500,
    )


if __name__ == "__main__":
    main()
