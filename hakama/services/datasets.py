"""The open-data catalogue: the datasets hakama published (and those listed from other CKAN
portals), as `core.datasets.Dataset` values, and the search the CKAN API and `/data` share.

Only built datasets are listed: a dataset is what passed the privacy gate at least once.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa

from hakama.core.datasets import FORMATS, LICENCES, THEMES, Column, Dataset, Distribution
from hakama.core.errors import Invalid, NotFound
from hakama.core.territory import Area
from hakama.services import dataset_builds, territory
from hakama.services.dataset_specs import Spec
from hakama.services.platform import Platform
from hakama.storage.schema_open_data import harvested_datasets, open_datasets

MAX_ROWS = 1000
FACETS = ("organization", "groups", "tags", "res_format", "license_id")
SORTS = {"score", "name", "title_string", "metadata_modified", "metadata_created"}


publisher = dataset_builds.publisher


def _dataset(
    platform: Platform, s: Spec, state: dataset_builds.BuildState, pub: Area | None
) -> Dataset:
    manifest = state.manifest or {}
    files: Mapping[str, Mapping[str, Any]] = manifest.get("files", {})
    distributions = [
        Distribution(
            s.id,
            fmt,
            int(info["size"]),
            int(manifest.get("rows", 0)),
            f"{s.id}/{state.version}/{info['name']}",
        )
        for fmt, info in files.items()
        if fmt in FORMATS
    ]
    order = list(FORMATS)
    distributions.sort(key=lambda d: order.index(d.format))
    temporal = manifest.get("temporal")
    notes = s.column_notes
    return Dataset(
        id=s.id,
        titles=s.titles,
        descriptions=s.descriptions,
        publisher=pub.code if pub else "",
        publisher_names=dict(pub.names) if pub else {},
        themes=s.themes,
        keywords=s.keywords,
        licence_id=state.licence_id or platform.settings.open_data_licence,
        frequency=s.frequency,
        issued=state.issued_at,
        modified=state.built_at,
        temporal=(date.fromisoformat(temporal[0]), date.fromisoformat(temporal[1]))
        if temporal
        else None,
        spatial=pub.geometry if pub else None,
        spatial_code=pub.code if pub else None,
        distributions=distributions,
        columns=[
            Column(c["name"], c["type"], notes.get(c["name"], {}))
            for c in manifest.get("columns", [])
        ],
        time_column=s.time_column,
        value_column=s.value_column,
        stale_error=state.error,
        built=state.version is not None,
    )


def own_datasets(platform: Platform) -> list[Dataset]:
    """hakama's own published datasets (built at least once), in catalogue order."""
    states = dataset_builds.states(platform)
    province = publisher(platform)
    areas = territory.areas_by_code(platform)
    found = []
    for s in dataset_builds.specs(platform):
        state = states.get(s.id)
        if state is not None and state.version is not None:
            pub = areas.get(s.publisher) if s.publisher else province
            found.append(_dataset(platform, s, state, pub))
    return found


def harvested(platform: Platform) -> list[Dataset]:
    """Datasets listed from other CKAN portals (metadata only, links out)."""
    with platform.db.connect() as conn:
        rows = conn.execute(sa.select(harvested_datasets).order_by(harvested_datasets.c.id)).all()
    return [_from_ckan(r.metadata, r.source_url) for r in rows]


def _from_ckan(meta: Mapping[str, Any], source: str) -> Dataset:
    title = str(meta.get("title") or meta.get("name"))
    notes = str(meta.get("notes") or "")
    org = meta.get("organization") or {}
    return Dataset(
        id=str(meta["name"]),
        titles={"fr": title, "en": title, "ar": title},
        descriptions={"fr": notes, "en": notes, "ar": notes},
        publisher=str(org.get("name") or "external"),
        publisher_names={"fr": str(org.get("title") or org.get("name") or source)},
        themes=[],
        keywords={"fr": [str(t.get("name")) for t in meta.get("tags", []) if isinstance(t, dict)]},
        licence_id=str(meta.get("license_id") or ""),
        frequency="IRREG",
        distributions=[],
        external_url=f"{source.rstrip('/')}/dataset/{meta['name']}",
        source=source,
    )


@dataclass
class Snapshot:
    """The catalogue as last read, and what was derived from it (search texts, renderings).

    Kept in `platform.derived.open_data` and reused while `freshness` reads the same: a
    build, a licence change or an import (from this process or another) changes it.
    """

    key: tuple[Any, ...]
    datasets: list[Dataset]
    texts: dict[str, str] = field(default_factory=dict)
    rendered: dict[tuple[str, ...], Any] = field(default_factory=dict)




def freshness(platform: Platform) -> tuple[Any, ...]:
    """A cheap fingerprint of what the catalogue is made of (a few small queries)."""
    with platform.db.connect() as conn:
        own = conn.execute(
            sa.select(
                open_datasets.c.id,
                open_datasets.c.licence_id,
                open_datasets.c.version,
                open_datasets.c.attempted_at,
            ).order_by(open_datasets.c.id)
        ).all()
        other = conn.execute(
            sa.select(sa.func.count(), sa.func.max(harvested_datasets.c.harvested_at))
        ).one()
    return (tuple(tuple(r) for r in own), tuple(other), len(dataset_builds.specs(platform)))


def snapshot(platform: Platform) -> Snapshot:
    key = freshness(platform)
    cached = platform.derived.open_data
    if cached is not None and cached.key == key:
        return cached
    found = own_datasets(platform) + harvested(platform)
    fresh = Snapshot(key, found, {d.id: d.searchable_text() for d in found})
    platform.derived.open_data = fresh
    return fresh


def all_datasets(platform: Platform) -> list[Dataset]:
    return list(snapshot(platform).datasets)


def get(platform: Platform, dataset_id: str) -> Dataset:
    """One dataset by its name or UUID (CKAN accepts both)."""
    for d in all_datasets(platform):
        if dataset_id in (d.id, d.uuid):
            return d
    raise NotFound(f"no dataset {dataset_id!r}", dataset=dataset_id)


def resource(platform: Platform, resource_id: str) -> tuple[Dataset, Distribution]:
    for d in snapshot(platform).datasets:
        for dist in d.distributions:
            if resource_id in (dist.id, f"{d.id}.{FORMATS[dist.format].extension}"):
                return d, dist
    raise NotFound(f"no resource {resource_id!r}", resource=resource_id)


# Search ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchResult:
    count: int
    results: list[Dataset]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    sort: str = "score desc, metadata_modified desc"


def facet_values(d: Dataset, facet: str) -> list[str]:
    if facet == "organization":
        return [d.publisher]
    if facet == "groups":
        return list(d.themes)
    if facet == "tags":
        return d.all_keywords()
    if facet == "res_format":
        return d.formats
    if facet == "license_id":
        return [d.licence_id]
    raise Invalid(f"cannot facet on {facet!r}; one of: {', '.join(FACETS)}", field="facet.field")


def parse_q(q: str) -> list[list[str]]:
    """Solr's everyday syntax: `a b` (both), `"a phrase"`, `x OR y`; `*:*` is everything."""
    alternatives = []
    for part in re.split(r"\s+OR\s+", q.replace("*:*", " ").strip()):
        try:
            terms = shlex.split(part)
        except ValueError:
            terms = part.replace('"', " ").split()
        terms = [t.casefold() for t in terms if t.strip()]
        if terms:
            alternatives.append(terms)
    return alternatives


def parse_fq(fq: str) -> list[tuple[str, str]]:
    """`organization:x tags:"air quality" +res_format:CSV` → [(field, value)] (all must hold)."""
    try:
        parts = shlex.split(fq.replace(" AND ", " "))
    except ValueError as exc:
        raise Invalid(f"fq: {exc}", field="fq") from exc
    found = []
    for part in parts:
        part = part.lstrip("+")
        name, sep, value = part.partition(":")
        if not sep or name not in FACETS or not value:
            raise Invalid(
                f"fq: {part!r} is not field:value with a field of {', '.join(FACETS)}", field="fq"
            )
        found.append((name, value.strip('"')))
    return found


def parse_sort(sort: str) -> list[tuple[str, bool]]:
    """`metadata_modified desc, name asc` → [(key, descending)]."""
    keys = []
    for clause in sort.split(","):
        words = clause.split()
        if not words:
            continue
        if (
            len(words) > 2
            or words[0] not in SORTS
            or (len(words) == 2 and words[1] not in ("asc", "desc"))
        ):
            raise Invalid(
                f"sort: {clause.strip()!r}; sort by {', '.join(sorted(SORTS))} asc|desc",
                field="sort",
            )
        keys.append((words[0], len(words) == 2 and words[1] == "desc"))
    return keys or [("score", True)]


def search(
    platform: Platform,
    *,
    q: str = "",
    fq: str = "",
    rows: int = 10,
    start: int = 0,
    sort: str = "score desc, metadata_modified desc",
    facet_fields: Sequence[str] = (),
    lang: str = "fr",
    datasets: Sequence[Dataset] | None = None,
) -> SearchResult:
    """CKAN's package_search over the catalogue: words in q (all must appear), fq filters."""
    if rows < 0 or rows > MAX_ROWS:
        raise Invalid(f"rows must be between 0 and {MAX_ROWS}", field="rows")
    if start < 0:
        raise Invalid("start must be 0 or more", field="start")
    keys = parse_sort(sort)
    filters = parse_fq(fq)
    for f in facet_fields:
        if f not in FACETS:
            raise Invalid(
                f"cannot facet on {f!r}; one of: {', '.join(FACETS)}", field="facet.field"
            )
    alternatives = parse_q(q)
    snap = snapshot(platform) if datasets is None else None
    pool = list(datasets) if datasets is not None else snap.datasets if snap else []
    matched: list[tuple[int, Dataset]] = []
    for d in pool:
        if any(value not in facet_values(d, name) for name, value in filters):
            continue
        text = snap.texts.get(d.id) or d.searchable_text() if snap else d.searchable_text()
        hits = [terms for terms in alternatives if all(t in text for t in terms)]
        if alternatives and not hits:
            continue
        score = sum(text.count(t) for terms in hits for t in terms)
        matched.append((score, d))
    for key, desc in reversed(keys):
        matched.sort(key=_sorter(key, lang), reverse=desc)
    facets = {f: _count(matched, f) for f in facet_fields}
    return SearchResult(len(matched), [d for _s, d in matched[start : start + rows]], facets, sort)


def _sorter(key: str, lang: str) -> Callable[[tuple[int, Dataset]], Any]:
    def sort_key(pair: tuple[int, Dataset]) -> Any:
        return _sort_key(pair, key, lang)

    return sort_key


def _sort_key(pair: tuple[int, Dataset], key: str, lang: str) -> Any:
    score, d = pair
    if key == "score":
        return score
    if key == "name":
        return d.id
    if key == "title_string":
        return d.title(lang).casefold()
    when = d.modified if key == "metadata_modified" else d.issued
    return when.isoformat() if when else ""


def _count(matched: list[tuple[int, Dataset]], facet: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _s, d in matched:
        for value in facet_values(d, facet):
            counts[value] = counts.get(value, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def licences() -> list[Any]:
    return list(LICENCES.values())


def themes() -> list[Any]:
    return list(THEMES.values())
