"""The push API (`POST /api/records/{type}`) with real API keys, and scheduled pulls from a real
local HTTP server: pages, cursors, auth, failures that keep the cursor and show in /health."""

from __future__ import annotations

import json
import select
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from hakama.http.app import create_app
from hakama.jobs import record_pulls
from hakama.services import audit, keys, record_sources, records, users
from hakama.services.platform import Platform
from hakama.storage.schema_records import admin_records
from hakama.storage.schema_records import record_sources as sources_table
from hakama.storage.secret_box import KEY_FILE
from tests.browser.conftest import serve
from tests.services.records.conftest import EAST, OPERATOR, WEST


def permit(n: int, **extra: Any) -> dict[str, Any]:
    return {"file_number": f"P-{n}", "requested_at": f"2025-03-{n % 28 + 1:02d}T09:00:00Z",
            "channel": "online", "status": "pending", **extra}  # fmt: skip


@pytest.fixture
def client(territory_platform: Platform) -> Iterator[TestClient]:
    app = create_app(territory_platform.settings, platform=territory_platform, background=False)
    with TestClient(app) as c:
        yield c


def key_for(platform: Platform, area: str, scopes: list[str] | None = None) -> str:
    created = keys.create_key(platform, name=f"system {area}", role="agent", area_code=area,
                              scopes=scopes, actor=OPERATOR)  # fmt: skip
    return created.token


def count(platform: Platform, area: str = EAST) -> int:
    return records.count_records(platform, area_code=area)


def test_push_is_idempotent_by_key_and_all_or_nothing(
    client: TestClient, territory_platform: Platform
) -> None:
    token = key_for(territory_platform, EAST, ["write_data"])
    batch = [permit(i) for i in range(1, 6)]
    first = client.post("/api/records/building_permit", json=batch, headers={"X-API-Key": token})
    assert first.status_code == 200, first.text
    assert (first.json()["inserted"], first.json()["channel"]) == (5, "push")
    again = client.post("/api/records/building_permit", json={"records": batch},
                        headers={"X-API-Key": token})  # fmt: skip
    assert (again.json()["inserted"], again.json()["unchanged"]) == (0, 5)
    batch[0]["status"] = "delivered"
    batch[0]["delivered_at"] = "2025-03-20T10:00:00Z"
    bad = [*batch, {**permit(9), "channel": "pigeon"}, {"file_number": "P-10"}]
    refused = client.post("/api/records/building_permit", json=bad, headers={"X-API-Key": token})
    assert refused.status_code == 400
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert "2 of 7 records rejected; nothing stored" in problem["detail"]
    assert {(e["line"], e["column"]) for e in problem["errors"]} >= {
        (6, "channel"),
        (7, "requested_at"),
    }
    assert count(territory_platform) == 5
    with territory_platform.db.connect() as conn:
        statuses = conn.execute(sa.select(admin_records.c.status)).scalars().all()
    assert set(statuses) == {"pending"}  # the valid change in the refused batch was not kept
    kept = client.post(
        "/api/records/building_permit?partial=true", json=bad, headers={"X-API-Key": token}
    )
    assert (kept.json()["updated"], kept.json()["inserted"], kept.json()["rows_rejected"]) == (
        1,
        0,
        2,
    )


def test_push_keys_are_scoped_to_their_commune_and_to_writing(
    client: TestClient, territory_platform: Platform
) -> None:
    west = key_for(territory_platform, WEST, ["write_data"])
    reader = key_for(territory_platform, EAST, ["read_internal"])
    body = {"area_code": EAST, "records": [permit(1)]}
    assert (
        client.post(
            "/api/records/building_permit", json=body, headers={"X-API-Key": west}
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/api/records/building_permit", json=body, headers={"X-API-Key": reader}
        ).status_code
        == 403
    )
    anonymous = client.post("/api/records/building_permit", json=body)
    assert anonymous.status_code == 401
    unknown = client.post("/api/records/no_such_type", json=[permit(1)],
                          headers={"X-API-Key": key_for(territory_platform, EAST)})  # fmt: skip
    assert (
        unknown.status_code == 404 and "no record type 'no_such_type'" in unknown.json()["detail"]
    )
    assert count(territory_platform) == 0
    types = client.get("/api/records/types").json()
    permits = next(t for t in types if t["id"] == "building_permit")
    assert permits["key"] == ["file_number"]
    assert next(f for f in permits["fields"] if f["name"] == "applicant_name")["stored"] is False


def test_an_oversized_push_is_refused_with_413_before_it_is_read_whole(
    territory_platform: Platform,
) -> None:
    """A real server, a real chunked body of 64 MB against a 1 MB limit: 413 problem+json
    while the client is still sending, nothing stored."""
    platform = territory_platform
    platform.settings = platform.settings.model_copy(update={"records_max_push_mb": 1})
    token = key_for(platform, EAST, ["write_data"])
    record = json.dumps(permit(1)).encode()
    chunk = b"[" + b",".join([record] * 600) + b","  # ~64 KB of records, never closed
    total = 1024 * len(chunk)
    with serve(platform) as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            sock.sendall(
                f"POST /api/records/building_permit HTTP/1.1\r\nHost: {host}\r\n"
                f"X-API-Key: {token}\r\nContent-Type: application/json\r\n"
                "Transfer-Encoding: chunked\r\n\r\n".encode()
            )
            sent = 0
            try:
                while sent < total and not select.select([sock], [], [], 0)[0]:
                    sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    sent += len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server answered and closed: what is asserted below
            answer = b""
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                part = sock.recv(65536)
                if not part:
                    break
                answer += part
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), head
    assert b"content-type: application/problem+json" in head.lower()
    problem = json.loads(body[body.index(b"{") : body.rindex(b"}") + 1])
    assert problem["status"] == 413 and "larger than 1 MB" in problem["detail"]
    assert sent < total / 4, sent  # refused while most of the body was still unsent
    assert count(platform) == 0
    declared = TestClient(create_app(platform.settings, platform=platform, background=False))
    small = declared.post(
        "/api/records/building_permit", content=b"[" + b"," * 2_000_000 + b"]",
        headers={"X-API-Key": token, "Content-Type": "application/json"},
    )  # fmt: skip
    assert small.status_code == 413 and small.json()["status"] == 413  # Content-Length alone
    broken = declared.post("/api/records/building_permit", content=b'[{"file_number": ',
                           headers={"X-API-Key": token, "Content-Type": "application/json"})  # fmt: skip
    assert broken.status_code == 400 and broken.json()["detail"] == "the body is not valid JSON"
    fine = declared.post("/api/records/building_permit", json=[permit(1)],
                         headers={"X-API-Key": token})  # fmt: skip
    assert fine.status_code == 200 and fine.json()["inserted"] == 1


# A real HTTP source -------------------------------------------------------------------------


class Source:
    """A commune's system: records with increasing ids, pages of `page_size`, header auth."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.page_size = 3
        self.fail_with: int | None = None
        self.requests: list[str] = []

    def add(self, n: int) -> None:
        start = len(self.records) + 1
        for i in range(start, start + n):
            self.records.append({**permit(i), "id": i})


@pytest.fixture
def source() -> Iterator[tuple[Source, str]]:
    state = Source()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            state.requests.append(self.path)
            if self.headers.get("X-Api-Key") != "s3cret":
                self.send_response(401)
                self.end_headers()
                return
            if state.fail_with:
                self.send_response(state.fail_with)
                self.end_headers()
                self.wfile.write(b"down for maintenance")
                return
            query = parse_qs(urlsplit(self.path).query)
            after = int(query.get("after_id", ["0"])[0])
            page = int(query.get("page", ["1"])[0])
            newer = [r for r in state.records if r["id"] > after]
            chunk = newer[(page - 1) * state.page_size : page * state.page_size]
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if page * state.page_size < len(newer):
                self.send_header("Link", f'</records?after_id={after}&page={page + 1}>; rel="next"')
            self.end_headers()
            self.wfile.write(json.dumps({"records": chunk}).encode())

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}/records"
    server.shutdown()
    server.server_close()


def test_pull_follows_pages_moves_its_cursor_and_keeps_it_when_the_source_fails(
    territory_platform: Platform, source: tuple[Source, str], client: TestClient
) -> None:
    p = territory_platform
    state, url = source
    record_sources.add_source(
        p, actor=OPERATOR, name="urbanisme-est", record_type="building_permit", area_code=EAST,
        url=url, auth={"kind": "header", "name": "X-Api-Key", "value": "s3cret"},
        cursor_field="id", cursor_param="after_id", interval_minutes=1,
    )  # fmt: skip
    state.add(8)
    first = record_sources.pull(p, "urbanisme-est")
    assert (first.error, first.pages, first.rows, first.inserted, first.cursor) == (
        None,
        3,
        8,
        8,
        "8",
    )
    assert count(p) == 8
    again = record_sources.pull(p, "urbanisme-est")
    assert (again.pages, again.rows, again.cursor) == (0, 0, "8")
    assert state.requests[-1].endswith("after_id=8")
    state.add(4)
    state.fail_with = 503
    failed = record_sources.pull(p, "urbanisme-est")
    assert failed.error is not None and "HTTP 503" in failed.error
    src = record_sources.get_source(p, "urbanisme-est")
    assert (src.cursor_value, src.failing) == ("8", True)
    health = client.get("/health").json()
    assert health["record_sources"]["failing"] == [
        {"name": "urbanisme-est", "error": src.last_error}
    ]
    state.fail_with = None
    state.records[11]["channel"] = "carrier pigeon"  # one bad record on the second page
    bad = record_sources.pull(p, "urbanisme-est")
    assert bad.error is not None and "record 1 channel: unknown code" in bad.error
    assert (bad.pages, bad.inserted, bad.cursor) == (1, 3, "11")  # the good first page is kept
    assert record_sources.get_source(p, "urbanisme-est").cursor_value == "11"
    state.records[11]["channel"] = "online"  # fixed at the source: the next pull resumes there
    fixed = record_sources.pull(p, "urbanisme-est")
    assert (fixed.error, fixed.inserted, fixed.cursor) == (None, 1, "12")
    assert count(p) == 12
    assert client.get("/health").json()["record_sources"]["failing"] == []


def test_the_schedule_pulls_due_sources_and_a_wrong_secret_is_reported(
    territory_platform: Platform, source: tuple[Source, str]
) -> None:
    p = territory_platform
    state, url = source
    state.add(2)
    record_sources.add_source(p, actor=OPERATOR, name="wrong-key", record_type="building_permit",
                              area_code=WEST, url=url,
                              auth={"kind": "header", "name": "X-Api-Key", "value": "nope"},
                              cursor_field="id", cursor_param="after_id")  # fmt: skip
    record_sources.add_source(p, actor=OPERATOR, name="good", record_type="building_permit",
                              area_code=EAST, url=url,
                              auth={"kind": "header", "name": "X-Api-Key", "value": "s3cret"},
                              cursor_field="id", cursor_param="after_id")  # fmt: skip
    done = {r.source: r for r in record_pulls.run_round(p)}
    assert done["good"].inserted == 2 and done["wrong-key"].error is not None
    assert "HTTP 401" in str(done["wrong-key"].error)
    assert record_pulls.run_round(p) == []  # neither is due again within its interval
    assert p.lake.row_count("admin_records") == 2


def _stored_auth(p: Platform, name: str) -> dict[str, Any]:
    with p.db.connect() as conn:
        auth = conn.execute(
            sa.select(sources_table.c.auth).where(sources_table.c.name == name)
        ).scalar_one()
    return dict(auth)


def test_a_source_secret_is_stored_sealed_and_never_shown(
    territory_platform: Platform,
    source: tuple[Source, str],
    client: TestClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    p = territory_platform
    state, url = source
    state.add(2)
    caplog.set_level("DEBUG")
    record_sources.add_source(
        p, actor=OPERATOR, name="sealed", record_type="building_permit", area_code=EAST,
        url=url, auth={"kind": "header", "name": "X-Api-Key", "value": "s3cret"},
        cursor_field="id", cursor_param="after_id",
    )  # fmt: skip
    record_sources.add_source(
        p, actor=OPERATOR, name="basic", record_type="building_permit", area_code=EAST,
        url=url, auth={"kind": "basic", "username": "etat-civil", "password": "hunter2-pass"},
    )  # fmt: skip
    stored = _stored_auth(p, "sealed")
    assert set(stored) == {"kind", "name", "sealed_value"} and "s3cret" not in json.dumps(stored)
    basic = _stored_auth(p, "basic")
    assert basic["username"] == "etat-civil" and "hunter2" not in json.dumps(basic)
    key = p.settings.secrets_dir / KEY_FILE
    assert key.stat().st_mode & 0o777 == 0o600
    assert record_sources.pull(p, "sealed").inserted == 2  # opened to make the request

    # Never shown back: the office page, the API, /health, the audit log, the log lines.
    users.add_user(p, username="admin", password="correct horse battery", role="admin",
                   area_code=EAST, actor=OPERATOR)  # fmt: skip
    page = client.get("/login")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/login", data={"username": "admin", "password": "correct horse battery",
                                "csrf_token": csrf, "next": "/office"})  # fmt: skip
    office = client.get("/office/records")
    assert office.status_code == 200 and "sealed" in office.text
    with p.db.connect() as conn:
        logged = json.dumps([e.__dict__ for e in audit.entries(conn)], default=str)
    assert "records.source.add" in logged
    shown = office.text + client.get("/health").text + logged
    assert "s3cret" not in shown and "hunter2" not in shown
    assert "s3cret" not in caplog.text and "hunter2" not in caplog.text

    # A secret an older version stored in clear is sealed at the next pull.
    with p.db.begin() as conn:
        conn.execute(
            sources_table.update().where(sources_table.c.name == "sealed").values(
                auth={"kind": "header", "name": "X-Api-Key", "value": "s3cret"}, cursor_value=None
            )
        )  # fmt: skip
    assert record_sources.pull(p, "sealed").error is None
    assert "sealed_value" in _stored_auth(p, "sealed")
    assert "s3cret" not in json.dumps(_stored_auth(p, "sealed"))

    # Another data folder's key cannot open it: the pull says so and keeps its cursor.
    key.unlink()
    state.add(1)
    failed = record_sources.pull(p, "sealed")
    assert failed.error is not None and "cannot be decrypted" in failed.error
    assert record_sources.get_source(p, "sealed").cursor_value == "2"
