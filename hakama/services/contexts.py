"""User @contexts given by URL: fetched once with httpx, then served from a cache.

The cache is the data directory (`<data_dir>/contexts/<sha256 of the URL>.json`, kept across
restarts) plus memory. Core contexts never come here (`hakama.core.jsonld` ships them).
Only http(s) URLs are fetched, with a short timeout and a size cap, so a client cannot make
hakama read local files or hang on a slow server.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
import socket
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from hakama.core import jsonld
from hakama.core.access import Action, Actor, allowed
from hakama.core.errors import Forbidden, HakamaError, Invalid, NotFound, Unauthorized
from hakama.services import audit, territory
from hakama.services.platform import Platform

TIMEOUT_SECONDS = 5.0
MAX_BYTES = 1_000_000


class ContextUnavailable(HakamaError):
    """A remote @context could not be fetched or is not a JSON-LD context (NGSI-LD
    LdContextNotAvailable, 504: clause 6.3.2 since v1.6.1)."""


def build(platform: Platform, value: jsonld.ContextValue) -> jsonld.Context:
    """The `Context` for a request's @context (URL, inline object or list), fetching as needed."""
    if value is None:
        return jsonld.core()
    return jsonld.build(value, lambda url: resolve(platform, url))


def resolve(platform: Platform, url: str) -> Any:
    """The `@context` member of the document at `url` (cached; fetched once).

    A URL ending in `/ngsi-ld/v1/jsonldContexts/<id>` names a context hosted here (POST
    /jsonldContexts) and is answered from the data directory, whatever host it names, so a
    commune without internet can still use its own vocabulary.
    """
    memory = platform.derived.jsonld_contexts
    if url in memory:
        return memory[url]
    hosted_id = _hosted_id(url)
    if hosted_id is not None:
        path = _hosted_path(platform, hosted_id)
        if not path.exists():
            raise ContextUnavailable(f"@context {url}: no context {hosted_id} is hosted here")
        context = json.loads(path.read_text("utf-8"))["@context"]
        memory[url] = context
        return context
    if not url.startswith(("http://", "https://")):
        raise Invalid(f"@context {url!r}: only http(s) URLs are resolved")
    path = _cache_path(platform, url)
    if path.exists():
        document = json.loads(path.read_text("utf-8"))
    else:
        document = _fetch(url, allow_private=platform.settings.may_fetch_private)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.stem}.{uuid.uuid4().hex}.tmp")  # concurrent fetches may race
        tmp.write_text(json.dumps(document), "utf-8")
        os.replace(tmp, path)
    context = document["@context"]
    memory[url] = context
    return context


def cached(platform: Platform) -> list[str]:
    """URLs of the contexts held here (for GET /jsonldContexts): fetched ones by their URL,
    hosted ones by their path under /ngsi-ld/v1/jsonldContexts."""
    directory = platform.settings.data_dir / "contexts"
    urls: list[str] = []
    for file in sorted(directory.glob("*.json")) if directory.exists() else []:
        try:
            urls.append(json.loads(file.read_text("utf-8"))["url"])
        except (ValueError, KeyError):
            continue
    return urls


def host(platform: Platform, value: Any, *, actor: Actor) -> str:
    """Keep a client's @context here (POST /jsonldContexts); its id, derived from its content.

    The context must resolve (its remote parts are fetched now). Audited.
    """
    _may_manage(platform, actor)
    jsonld.build(value, lambda url: resolve(platform, url))
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"))
    hosted_id = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]
    path = _hosted_path(platform, hosted_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps({"url": f"{HOSTED_PREFIX}{hosted_id}", "@context": value}), "utf-8")
    os.replace(tmp, path)
    with platform.db.begin() as conn:
        audit.record(
            conn, actor=actor, action="ngsi.context.add", resource=f"jsonldContext:{hosted_id}"
        )
    return hosted_id


def document(platform: Platform, context_id: str) -> dict[str, Any]:
    """The `{"@context": ...}` document of a core, fetched or hosted context; NotFound if none."""
    if context_id in jsonld.CORE_URLS:
        return {"@context": dict(jsonld.core_document(jsonld.CORE_URLS[context_id]))}
    hosted_id = _hosted_id(context_id) or (context_id if _HOSTED_ID.fullmatch(context_id) else None)
    path = _hosted_path(platform, hosted_id) if hosted_id else _cache_path(platform, context_id)
    if not path.exists():
        raise NotFound(f"no @context {context_id!r} is held here")
    return {"@context": json.loads(path.read_text("utf-8"))["@context"]}


def forget(platform: Platform, context_id: str, *, actor: Actor) -> None:
    """Drop a fetched (it will be fetched again) or hosted context (DELETE /jsonldContexts)."""
    _may_manage(platform, actor)
    if context_id in jsonld.CORE_URLS:
        raise Invalid("the core @context cannot be deleted")
    hosted_id = _hosted_id(context_id) or (context_id if _HOSTED_ID.fullmatch(context_id) else None)
    path = _hosted_path(platform, hosted_id) if hosted_id else _cache_path(platform, context_id)
    if not path.exists():
        raise NotFound(f"no @context {context_id!r} is held here")
    path.unlink()
    platform.derived.jsonld_contexts = {}
    with platform.db.begin() as conn:
        audit.record(
            conn,
            actor=actor,
            action="ngsi.context.delete",
            resource=f"jsonldContext:{context_id}"[:300],
        )


HOSTED_PREFIX = "/ngsi-ld/v1/jsonldContexts/"
_HOSTED_ID = re.compile(r"[0-9a-f]{32}")
_HOSTED_URL = re.compile(r".*/ngsi-ld/v1/jsonldContexts/([0-9a-f]{32})")


def _hosted_id(url: str) -> str | None:
    match = _HOSTED_URL.fullmatch(url)
    return match.group(1) if match else None


def _hosted_path(platform: Platform, hosted_id: str) -> Path:
    return Path(platform.settings.data_dir) / "contexts" / f"hosted-{hosted_id}.json"


def _may_manage(platform: Platform, actor: Actor) -> None:
    if actor.kind == "anonymous":
        raise Unauthorized("managing @contexts needs an API key or a signed-in user")
    if not allowed(actor, Action.WRITE_DATA, territory.area_chain(platform, actor.area_code)):
        raise Forbidden(f"{actor.label} may not manage @contexts")


def _cache_path(platform: Platform, url: str) -> Path:
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()
    return Path(platform.settings.data_dir) / "contexts" / f"{digest}.json"


def _refuse_private(request: httpx.Request) -> None:
    """Refuse hosts that resolve to loopback, private, link-local or reserved addresses."""
    host = request.url.host
    try:
        infos = socket.getaddrinfo(host, request.url.port or 443, proto=socket.IPPROTO_TCP)
    except OSError:
        return  # httpx reports the failure to resolve
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise ContextUnavailable(f"@context host {host} is not a public address")


def _fetch(url: str, *, allow_private: bool = False) -> dict[str, Any]:
    hooks = {} if allow_private else {"request": [_refuse_private]}
    try:
        with (
            httpx.Client(
                timeout=TIMEOUT_SECONDS, follow_redirects=True, max_redirects=3, event_hooks=hooks
            ) as client,
            client.stream(
                "GET", url, headers={"Accept": "application/ld+json, application/json"}
            ) as response,
        ):
            if response.status_code != 200:
                raise ContextUnavailable(
                    f"@context {url}: the server answered {response.status_code}"
                )
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_BYTES:
                    raise ContextUnavailable(f"@context {url}: larger than {MAX_BYTES} bytes")
    except httpx.HTTPError as exc:
        raise ContextUnavailable(f"@context {url}: {type(exc).__name__}") from None
    try:
        parsed = json.loads(body)
    except ValueError:
        raise ContextUnavailable(f"@context {url}: not JSON") from None
    if not isinstance(parsed, Mapping) or "@context" not in parsed:
        raise ContextUnavailable(f"@context {url}: no @context member")
    return {"url": url, "@context": parsed["@context"]}
