"""`hakama users|keys|audit` end to end on a real data folder: output, exit codes, one-line errors."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from hakama.cli import main as cli_main
from hakama.core.access import system_actor
from hakama.core.territory import Area, Level
from hakama.services import territory
from hakama.services.platform import Platform
from hakama.settings import Settings

PASSWORD = "correct horse battery"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    platform = Platform.open(Settings(data_dir=folder, environment="test"))
    territory.save_areas(
        platform,
        [
            Area(code="P", level=Level.PROVINCE, names={"fr": "Province"}),
            Area(code="P.A", level=Level.COMMUNE, names={"fr": "A"}, parent_code="P"),
        ],
        actor=system_actor("test"),
    )
    platform.close()
    return folder


def run(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    *args: str, stdin: str = "",
) -> tuple[int, str, str]:
    """Run `hakama --data-dir DIR ARGS…` in-process, as `main()` does; (exit code, out, err)."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code: int = 0
    try:
        cli_main.main(["--data-dir", str(data_dir), *args])
    except SystemExit as exited:
        code = exited.code if isinstance(exited.code, int) else 0 if exited.code is None else 1
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error:"), err
    return lines[0]


def test_users_add_list_disable(data_dir: Path, capsys: pytest.CaptureFixture[str],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run(data_dir, capsys, monkeypatch, "users", "add", "Amina", "--role", "agent",
                       "--area", "P.A", "--name", "Amina B.", "--password-stdin",
                       stdin=PASSWORD + "\n")
    assert code == 0 and "added amina (agent, P.A)" in out
    code, out, _ = run(data_dir, capsys, monkeypatch, "users", "add", "ops", "--role", "admin",
                       "--password-stdin", stdin=PASSWORD + "\n")
    assert code == 0 and "added ops (admin, whole platform)" in out
    code, out, _ = run(data_dir, capsys, monkeypatch, "users", "list")
    assert code == 0 and "amina" in out and "ops" in out and "2 account(s)" in out
    assert "argon2" not in out
    code, out, _ = run(data_dir, capsys, monkeypatch, "users", "disable", "amina")
    assert code == 0 and "disabled amina" in out
    code, out, _ = run(data_dir, capsys, monkeypatch, "users", "list", "--area", "P.A")
    assert "disabled" in out and "1 account(s)" in out


@pytest.mark.parametrize(
    ("args", "stdin", "fragment"),
    [
        (("users", "add", "bob", "--role", "mayor", "--password-stdin"), PASSWORD, "unknown role"),
        (("users", "add", "bob", "--role", "agent", "--area", "ZZ", "--password-stdin"),
         PASSWORD, "no area"),
        (("users", "add", "bob", "--role", "agent", "--password-stdin"), "short", "at least 10"),
        (("users", "add", "bob", "--role", "agent", "--password-stdin"), "", "standard input"),
        (("users", "add", "bob", "--role", "agent"), "", "--password-stdin"),
        (("users", "add", "b b", "--role", "agent", "--password-stdin"), PASSWORD, "username"),
        (("users", "disable", "ghost"), "", "no user"),
        (("keys", "create", "k", "--role", "agent", "--scope", "fly"), "", "unknown scope"),
        (("keys", "revoke", "ffffffffffff"), "", "no API key"),
        (("audit", "verify", "--expect-head", "abc"), "", "64-character"),
    ],
)
def test_bad_arguments_are_one_line(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...], stdin: str, fragment: str,
) -> None:
    code, _, err = run(data_dir, capsys, monkeypatch, *args, stdin=stdin)
    assert code != 0
    assert fragment in one_line_error(err)


def test_bad_role_in_a_real_process(data_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "hakama.cli.main", "--data-dir", str(data_dir), "users", "add",
         "bob", "--role", "mayor", "--password-stdin"],
        input=PASSWORD, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 1
    assert "unknown role 'mayor'" in one_line_error(done.stderr)


def test_keys_create_list_revoke(data_dir: Path, capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run(data_dir, capsys, monkeypatch, "keys", "create", "station 12", "--role",
                       "agent", "--area", "P.A", "--scope", "write_data", "--scope", "read_internal")
    assert code == 0
    token = re.search(r"^(hk_[0-9a-f]{12}_\S+)$", out, re.M)
    assert token, out
    key_id = token.group(1)[3:15]
    assert f"created key {key_id}" in out and "read_internal,write_data" in out
    code, out, _ = run(data_dir, capsys, monkeypatch, "keys", "list")
    assert key_id in out and token.group(1) not in out and "active" in out
    code, out, _ = run(data_dir, capsys, monkeypatch, "keys", "revoke", key_id)
    assert code == 0 and f"revoked key {key_id}" in out
    code, out, _ = run(data_dir, capsys, monkeypatch, "keys", "list")
    assert "0 key(s)" in out
    code, out, _ = run(data_dir, capsys, monkeypatch, "keys", "list", "--all")
    assert "revoked" in out


def test_audit_verify_tamper_and_anchor(data_dir: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("u-one", "u-two", "u-three"):
        run(data_dir, capsys, monkeypatch, "users", "add", name, "--role", "citizen",
            "--password-stdin", stdin=PASSWORD)
    code, out, _ = run(data_dir, capsys, monkeypatch, "audit", "verify")
    assert code == 0
    found = re.search(r"4 entries, chain intact, head ([0-9a-f]{64})", out)
    assert found, out
    anchor = tmp_path / "anchor.json"
    code, out, _ = run(data_dir, capsys, monkeypatch, "audit", "anchor", str(anchor))
    assert code == 0 and "anchored 4 entries" in out and anchor.exists()
    code, out, _ = run(data_dir, capsys, monkeypatch, "audit", "tail", "-n", "2")
    assert "user.add" in out and "user:u-three" in out and "user:u-one" not in out

    engine = sa.create_engine(f"sqlite:///{data_dir / 'hakama.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_log WHERE seq = 4"))
    engine.dispose()
    code, out, _ = run(data_dir, capsys, monkeypatch, "audit", "verify")
    assert code == 0 and "3 entries, chain intact" in out  # the cut end is invisible…
    code, _, err = run(data_dir, capsys, monkeypatch, "audit", "verify", "--anchor", str(anchor))
    assert code == 1 and "broken at entry 4" in err and "deleted" in err  # …but not to the anchor
    code, _, err = run(data_dir, capsys, monkeypatch, "audit", "verify", "--expect-head",
                       found.group(1))
    assert code == 1 and "expected head" in err

    engine = sa.create_engine(f"sqlite:///{data_dir / 'hakama.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_log SET actor = 'user:mallory' WHERE seq = 2"))
    engine.dispose()
    code, _, err = run(data_dir, capsys, monkeypatch, "audit", "verify")
    assert code == 1
    assert "broken at entry 2" in err and "altered" in err
    assert len(err.strip().splitlines()) == 1
