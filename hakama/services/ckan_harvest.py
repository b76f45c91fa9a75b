"""`hakama catalog import-ckan URL`: list another CKAN portal's datasets about the territory
beside hakama's own — their metadata only, each linking back to where it lives.

The other portal is asked with its own action API (`package_search`, paged by 1,000) for the
datasets whose text names the territory (its province's name in French and Arabic, or the
words given); what it answers is kept as it said it, refreshed on each import.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import sqlalchemy as sa

from hakama.core.access import Actor
from hakama.core.clock import utcnow
from hakama.core.errors import Invalid
from hakama.services import audit, dataset_builds, datasets
from hakama.services.platform import Platform
from hakama.storage.schema_open_data import harvested_datasets

PAGE = 1000
MAX_DATASETS = 20_000


@dataclass(frozen=True)
class HarvestReport:
    source: str
    found: int
    added: int
    updated: int
    skipped_own: int  # names hakama publishes itself


def _search(client: httpx.Client, url: str, q: str, start: int) -> dict[str, Any]:
    try:
        response = client.get(
            f"{url}/api/3/action/package_search", params={"q": q, "rows": PAGE, "start": start}
        )
    except httpx.HTTPError as exc:
        raise Invalid(f"cannot reach {url}: {exc}", field="url") from exc
    try:
        body = response.json()
    except ValueError:
        raise Invalid(
            f"{url} did not answer as a CKAN portal (HTTP {response.status_code})", field="url"
        ) from None
    if (
        not isinstance(body, dict)
        or not body.get("success")
        or not isinstance(body.get("result"), dict)
    ):
        raise Invalid(
            f"{url} answered with an error: {str(body.get('error') if isinstance(body, dict) else body)[:200]}",
            field="url",
        )
    result: dict[str, Any] = body["result"]
    return result


def import_ckan(
    platform: Platform,
    url: str,
    *,
    words: Sequence[str] = (),
    actor: Actor,
    client: httpx.Client | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> HarvestReport:
    """Fetch the other portal's datasets about the territory and keep their metadata."""
    dataset_builds.check_manage(platform, actor)
    url = url.rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise Invalid("the portal's URL must start with http:// or https://", field="url")
    pub = datasets.publisher(platform)
    terms = list(words) or ([pub.names.get("fr", ""), pub.names.get("ar", "")] if pub else [])
    query = " OR ".join(f'"{t}"' for t in terms if t) or "*:*"
    own = {d.id for d in datasets.own_datasets(platform)}
    found: list[dict[str, Any]] = []
    with client or httpx.Client(timeout=30, follow_redirects=True) as http:
        start = 0
        while len(found) < MAX_DATASETS:
            result = _search(http, url, query, start)
            batch = [
                r
                for r in result.get("results", [])
                if isinstance(r, dict) and isinstance(r.get("name"), str)
            ]
            found += batch
            total = int(result.get("count") or 0)
            if progress:
                progress(len(found), total)
            start += PAGE
            if not batch or start >= total:
                break
    now = utcnow()
    added = updated = skipped = 0
    with platform.db.begin() as conn:
        existing = set(conn.execute(sa.select(harvested_datasets.c.id)).scalars())
        for meta in found:
            name = meta["name"]
            if name in own:
                skipped += 1
                continue
            keep = {
                k: meta.get(k)
                for k in (
                    "name",
                    "title",
                    "notes",
                    "license_id",
                    "tags",
                    "organization",
                    "metadata_modified",
                    "url",
                )
            }
            keep["resources"] = [
                {"format": r.get("format"), "url": r.get("url"), "name": r.get("name")}
                for r in meta.get("resources", [])
                if isinstance(r, dict)
            ]
            row = {"source_url": url, "metadata": keep, "harvested_at": now}
            if name in existing:
                conn.execute(
                    harvested_datasets.update().where(harvested_datasets.c.id == name).values(**row)
                )
                updated += 1
            else:
                conn.execute(harvested_datasets.insert().values(id=name, **row))
                existing.add(name)
                added += 1
        audit.record(
            conn,
            actor=actor,
            action="catalog.import_ckan",
            resource=f"ckan:{url}",
            after={"added": added, "updated": updated},
        )
    return HarvestReport(url, len(found), added, updated, skipped)
