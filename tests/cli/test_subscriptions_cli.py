"""`hakama subscriptions list|show|delete|send` on a real data folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from hakama.core.access import system_actor
from hakama.services import subscriptions
from hakama.services.platform import Platform
from hakama.settings import Settings


def hakama(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hakama.cli.main", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "250", "PATH": "/usr/bin:/bin"},
    )


def test_list_show_send_delete(tmp_path: Path) -> None:
    data = tmp_path / "data"
    platform = Platform.open(Settings(data_dir=data, environment="test"))
    sub = subscriptions.create(
        platform,
        {
            "id": "urn:ngsi-ld:Subscription:cli",
            "entities": [{"type": "Sensor"}],
            "notification": {"endpoint": {"uri": "http://127.0.0.1:9/x"}},
        },
        actor=system_actor("test"),
    )
    platform.close()
    listed = hakama(data, "subscriptions", "list")
    assert listed.returncode == 0, listed.stderr
    assert "urn:ngsi-ld:Subscription:cli" in listed.stdout and "1 subscription(s)" in listed.stdout
    shown = hakama(data, "subscriptions", "show", sub.sub.id)
    assert shown.returncode == 0, shown.stderr
    body = json.loads(shown.stdout)
    assert body["id"] == sub.sub.id and body["outbox"] == {} and body["status"] == "active"
    sent = hakama(data, "subscriptions", "send")
    assert sent.returncode == 0 and "0 notification(s) sent" in sent.stdout
    missing = hakama(data, "subscriptions", "show", "urn:ngsi-ld:Subscription:none")
    assert missing.returncode == 1 and "no subscription" in missing.stderr
    deleted = hakama(data, "subscriptions", "delete", sub.sub.id, "--yes")
    assert deleted.returncode == 0 and "deleted" in deleted.stdout
    assert "0 subscription(s)" in hakama(data, "subscriptions", "list").stdout
