"""JSON-LD @context handling for NGSI-LD: expanding and compacting attribute and type names.

hakama stores names in one **canonical** form: the name compacted against the NGSI-LD core
context alone. A term of the default vocabulary (`pm25` with no user context) is stored as
`pm25`; a term a user context maps to another vocabulary is stored as its full IRI
(`https://smartdatamodels.org/dataModel.Environment/pm25`); core terms (`location`,
`observedAt`) stay short. Canonical names are unambiguous (expanding them against the core
context gives the IRI back) and readable for the common case; the lake, the events and the
subscriptions all use them.

The core contexts 1.6–1.8 ship with the package (`contexts/*.jsonld`) and are never fetched.
Other contexts given by URL are fetched by the caller (`hakama.services.contexts`) and passed
in through `resolve`; this module does no I/O beyond reading its own package data.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from hakama.core.errors import Invalid

CORE_VERSIONS = ("1.6", "1.7", "1.8")
CORE_CONTEXT_URL = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v{version}.jsonld"
#: The core context answered in Link headers and @context members.
DEFAULT_CORE_URL = CORE_CONTEXT_URL.format(version="1.8")
CORE_URLS = {CORE_CONTEXT_URL.format(version=v): v for v in CORE_VERSIONS} | {
    "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld": "1.8",
    # 1.9 only adds terms for features of later versions of the API (hakama serves 1.8.1):
    # a client naming it gets the 1.8 terms, rather than a fetch that may not be possible.
    CORE_CONTEXT_URL.format(version="1.9"): "1.8",
}
DEFAULT_VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"
JSONLD_CONTEXT_REL = "http://www.w3.org/ns/json-ld#context"

ContextValue = str | Mapping[str, Any] | Sequence[Any] | None
#: url → the `@context` member of the document found there (what `services.contexts` fetches).
Resolver = Callable[[str], Any]

_MAX_DEPTH = 8


@cache
def core_document(version: str = "1.8") -> Mapping[str, Any]:
    """The shipped core context `version` (its `@context` object)."""
    if version not in CORE_VERSIONS:
        raise Invalid(f"unknown NGSI-LD core context version {version!r}")
    text = (
        resources.files("hakama.core")
        .joinpath(f"contexts/ngsi-ld-core-context-v{version}.jsonld")
        .read_text("utf-8")
    )
    document: Mapping[str, Any] = json.loads(text)["@context"]
    return document


@dataclass
class Context:
    """A resolved @context: terms → absolute IRIs, the @vocab, and what the client sent.

    `references` is the @context as given (URLs and inline objects, core excluded), echoed back
    in responses so a client reads the names it wrote.
    """

    terms: Mapping[str, str]
    vocab: str | None
    references: tuple[str | Mapping[str, Any], ...] = ()
    #: the core context was named explicitly beside the user contexts (echoed back then)
    core_given: bool = False
    _reverse: dict[str, str] = field(default_factory=dict, repr=False)
    _to_canonical: dict[str, str] = field(default_factory=dict, repr=False)
    _from_canonical: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        # Shortest term wins when several map to one IRI, as JSON-LD compaction picks.
        for term in sorted(self.terms, key=lambda t: (len(t), t), reverse=True):
            iri = self.terms[term]
            if not term.startswith("@"):
                self._reverse[iri] = term

    @property
    def is_core(self) -> bool:
        return not self.references

    def expand(self, term: str) -> str:
        """The absolute IRI of an attribute or type name written under this context."""
        if term in self.terms:
            return self.terms[term]
        prefix, sep, suffix = term.partition(":")
        if sep:
            if prefix in self.terms and not suffix.startswith("//"):
                return self.terms[prefix] + suffix
            return term  # already an absolute IRI (or a URN)
        return (self.vocab or DEFAULT_VOCAB) + term

    def compact(self, iri: str, *, prefixes: bool = False) -> str:
        """The shortest name this context gives an IRI (the IRI itself if none); with
        `prefixes`, a compact IRI `prefix:suffix` when a term names a namespace of it."""
        term = self._reverse.get(iri)
        if term is not None:
            return term
        vocab = self.vocab or DEFAULT_VOCAB
        if iri.startswith(vocab):
            rest = iri[len(vocab) :]
            if rest and ":" not in rest and rest not in self.terms:
                return rest
        if prefixes:
            best = ""
            for namespace, prefix in self._prefixes():
                if iri.startswith(namespace) and len(namespace) > len(best) and iri != namespace:
                    best, found = namespace, f"{prefix}:{iri[len(namespace) :]}"
            if best:
                return found
        return iri

    def _prefixes(self) -> list[tuple[str, str]]:
        """(namespace IRI, term) for the terms usable as prefixes (JSON-LD 1.1, 4.4)."""
        cached: list[tuple[str, str]] | None = self.__dict__.get("_prefix_list")
        if cached is None:
            cached = sorted(
                (iri, term)
                for iri, term in self._reverse.items()
                if ":" not in term and iri[-1:] in ":/?#[]@"
            )
            object.__setattr__(self, "_prefix_list", cached)
        return cached

    def to_canonical(self, term: str) -> str:
        """The stored (canonical) name of `term` as written by a client using this context."""
        found = self._to_canonical.get(term)
        if found is None:
            found = core().compact(self.expand(term))
            self._to_canonical[term] = found
        return found

    def from_canonical(self, name: str) -> str:
        """The name a client using this context reads for a stored (canonical) name."""
        found = self._from_canonical.get(name)
        if found is None:
            found = self.compact(core().expand(name), prefixes=True)
            self._from_canonical[name] = found
        return found

    def body_context(self) -> str | list[Any]:
        """The `@context` member for an `application/ld+json` body: the user contexts as the
        client gave them (the core context is implied, clause 5.5.7), or the core context alone."""
        if not self.references:
            return DEFAULT_CORE_URL
        if self.core_given:
            return [*self.references, DEFAULT_CORE_URL]
        return list(self.references)


@cache
def core(version: str = "1.8") -> Context:
    """The core context alone (what a request without a user context uses)."""
    terms, vocab = _definitions(core_document(version), {})
    return Context(terms=terms, vocab=vocab)


def build(value: ContextValue, resolve: Resolver | None = None) -> Context:
    """Resolve a request's @context (URL, object or list of them) into a `Context`.

    The core context is always applied last and wins (its terms are protected). Core URLs are
    answered from the shipped copies; any other URL goes to `resolve`, which raises
    `LdContextNotAvailable`-style errors of its own when it cannot fetch.
    """
    references: list[str | Mapping[str, Any]] = []
    raw: dict[str, Any] = {}
    core_given = False
    for item in _flatten(value):
        if isinstance(item, str):
            if item in CORE_URLS:
                core_given = True
                continue
            references.append(item)
            if resolve is None:
                raise Invalid(f"@context {item!r} cannot be resolved here")
            _merge(raw, resolve(item), resolve, depth=1)
        else:
            references.append(item)
            _merge(raw, item, resolve, depth=1)
    if not references:
        return core()
    user_vocab = raw.get("@vocab") if isinstance(raw.get("@vocab"), str) else None
    raw.update(core_document())
    if user_vocab:
        raw["@vocab"] = user_vocab  # a user's default vocabulary overrides the core's
    terms, vocab = _definitions(raw, {})
    return Context(terms=terms, vocab=vocab, references=tuple(references), core_given=core_given)


def _flatten(value: ContextValue) -> list[str | Mapping[str, Any]]:
    if value is None:
        return []
    if isinstance(value, str | Mapping):
        return [value]
    if isinstance(value, Sequence):
        out: list[str | Mapping[str, Any]] = []
        for item in value:
            if isinstance(item, Sequence) and not isinstance(item, str):
                raise Invalid("@context: nested arrays are not allowed")
            if not isinstance(item, str | Mapping):
                raise Invalid(f"@context: unexpected member {item!r}")
            out.append(item)
        return out
    raise Invalid(f"@context must be a URL, an object or an array, not {type(value).__name__}")


def _merge(raw: dict[str, Any], value: Any, resolve: Resolver | None, *, depth: int) -> None:
    """Fold one context value (possibly remote, possibly a list) into `raw` term definitions."""
    if depth > _MAX_DEPTH:
        raise Invalid("@context: too many nested context references")
    if isinstance(value, str):
        if value in CORE_URLS:
            raw.update(core_document(CORE_URLS[value]))
            return
        if resolve is None:
            raise Invalid(f"@context {value!r} cannot be resolved here")
        _merge(raw, resolve(value), resolve, depth=depth + 1)
    elif isinstance(value, Mapping):
        if "@context" in value:  # a whole document was given
            _merge(raw, value["@context"], resolve, depth=depth + 1)
            return
        raw.update(value)
    elif isinstance(value, Sequence):
        for item in value:
            _merge(raw, item, resolve, depth=depth + 1)
    elif value is not None:
        raise Invalid(f"@context: unexpected member {value!r}")


def _definitions(
    raw: Mapping[str, Any], _seen: dict[str, str]
) -> tuple[dict[str, str], str | None]:
    """Term → absolute IRI for every term of a merged context (compact IRIs resolved)."""
    declared: dict[str, str] = {}
    for term, definition in raw.items():
        if term.startswith("@"):
            continue
        if isinstance(definition, str):
            declared[term] = definition
        elif isinstance(definition, Mapping) and isinstance(definition.get("@id"), str):
            declared[term] = definition["@id"]
        elif definition is None:
            continue
        elif isinstance(definition, Mapping):
            continue  # a definition without @id (only @type/@container) maps through @vocab
        else:
            raise Invalid(f"@context: bad definition for term {term!r}")
    vocab = raw.get("@vocab") if isinstance(raw.get("@vocab"), str) else None
    resolved: dict[str, str] = {}
    for term, iri in declared.items():
        resolved[term] = _resolve_iri(iri, declared, vocab)
    return resolved, vocab


def _resolve_iri(iri: str, declared: Mapping[str, str], vocab: str | None, depth: int = 0) -> str:
    if iri.startswith("@") or depth > _MAX_DEPTH:
        return iri
    prefix, sep, suffix = iri.partition(":")
    if sep and not suffix.startswith("//") and prefix in declared:
        return _resolve_iri(declared[prefix], declared, vocab, depth + 1) + suffix
    if sep:
        return iri
    if iri in declared and declared[iri] != iri:
        return _resolve_iri(declared[iri], declared, vocab, depth + 1)
    return (vocab or DEFAULT_VOCAB) + iri


def parse_link_header(value: str | None) -> str | None:
    """The context URL of a `Link: <url>; rel="http://www.w3.org/ns/json-ld#context"` header."""
    if not value:
        return None
    for part in value.split(","):
        pieces = [p.strip() for p in part.split(";")]
        if not pieces or not (pieces[0].startswith("<") and pieces[0].endswith(">")):
            continue
        params = {}
        for piece in pieces[1:]:
            key, _, val = piece.partition("=")
            params[key.strip().lower()] = val.strip().strip('"')
        if params.get("rel") == JSONLD_CONTEXT_REL:
            return pieces[0][1:-1]
    return None


def link_header(url: str = DEFAULT_CORE_URL) -> str:
    """The Link header that tells an `application/json` client which context names use."""
    return f'<{url}>; rel="{JSONLD_CONTEXT_REL}"; type="application/ld+json"'
