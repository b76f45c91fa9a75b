"""Which entities a query selects by type (`type=`, clause 4.17) and by scope (`scopeQ`,
clauses 4.18/4.19). Pure; used by the entities service and the subscriptions."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from typing import Any

from hakama.core.errors import Invalid
from hakama.core.ngsi_query import MAX_DEPTH, MAX_Q_LENGTH

# --------------------------------------------------------------------------- type selection

#: A parsed `type=` expression (clause 4.17): alternatives, each a set of types an entity
#: must all have. `A,B` and `A|B` are alternatives, `A;B` needs both, parentheses group.
TypeQuery = tuple[frozenset[str], ...]

_TYPE_NAME = re.compile(r"[^\s;|,()]+")


def parse_types(text: str, *, expand: Callable[[str], str] | None = None) -> TypeQuery:
    """Parse a `type=` expression into alternatives of required types; Invalid when malformed."""
    if not text.strip():
        raise Invalid("type: empty")
    if len(text) > MAX_Q_LENGTH:
        raise Invalid(f"type: longer than {MAX_Q_LENGTH} characters")
    name_of = expand or (lambda name: name)
    pos = 0

    def error(message: str) -> Invalid:
        return Invalid(f"type: {message} at position {pos}")

    def alternatives(depth: int) -> list[frozenset[str]]:
        nonlocal pos
        if depth > MAX_DEPTH:
            raise error("too deeply nested")
        found = conjunction(depth)
        while pos < len(text) and text[pos] in "|,":
            pos += 1
            found = found + conjunction(depth)
        return found

    def conjunction(depth: int) -> list[frozenset[str]]:
        nonlocal pos
        found = factor(depth)
        while pos < len(text) and text[pos] == ";":
            pos += 1
            right = factor(depth)
            found = [a | b for a in found for b in right]
            if len(found) > 64:
                raise error("too many combinations")
        return found

    def factor(depth: int) -> list[frozenset[str]]:
        nonlocal pos
        if pos < len(text) and text[pos] == "(":
            pos += 1
            inner = alternatives(depth + 1)
            if pos >= len(text) or text[pos] != ")":
                raise error("missing ')'")
            pos += 1
            return inner
        match = _TYPE_NAME.match(text, pos)
        if not match:
            raise error("expected a type name")
        pos = match.end()
        return [frozenset({name_of(match.group())})]

    result = alternatives(0)
    if pos != len(text):
        raise error("unexpected character")
    return tuple(dict.fromkeys(result))


def type_names(query: TypeQuery) -> set[str]:
    """Every type a type query mentions (for a coarse SQL prefilter)."""
    return set().union(*query) if query else set()


def types_match(types: Collection[str], query: TypeQuery) -> bool:
    """Does an entity with these types satisfy the type query?"""
    have = set(types)
    return any(required <= have for required in query)


# --------------------------------------------------------------------------- scopes (clause 4.18/4.19)

#: A scope: `/` then one or more segments separated by `/`, no wildcards, no spaces.
SCOPE = re.compile(r"/[^/\s#+;,|()]+(?:/[^/\s#+;,|()]+)*")
_SCOPE_PATTERN = re.compile(r"/(?:#|[^/\s#+;,|()]+|\+)(?:/(?:[^/\s#+;,|()]+|\+))*(?:/#)?")
#: A scope query: alternatives (`,` or `|`) of conjunctions (`;`) of scope patterns.
ScopeQuery = tuple[tuple[tuple[str, ...], ...], ...]


def parse_scope_q(text: str) -> ScopeQuery:
    """`scopeQ` (clause 4.19): `/A/B` that scope exactly, `/A/+` one level below `/A`,
    `/A/#` `/A` and everything below it (`/#` any scope); `;` and, `,` (or `|`) or."""
    if not text or len(text) > MAX_Q_LENGTH:
        raise Invalid("scopeQ: must be a non-empty scope query")
    out: list[tuple[tuple[str, ...], ...]] = []
    for alternative in re.split(r"[,|]", text.replace("(", "").replace(")", "")):
        terms: list[tuple[str, ...]] = []
        for atom in alternative.split(";"):
            atom = atom.strip()
            if not _SCOPE_PATTERN.fullmatch(atom):
                raise Invalid(f"scopeQ: {atom[:80]!r} is not a scope (/a/b, /a/+, /a/#)")
            terms.append(tuple(atom[1:].split("/")))
        out.append(tuple(terms))
    return tuple(out)


def scopes_of(entity: Mapping[str, Any]) -> list[str]:
    value = entity.get("scope")
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _scope_matches(scope: str, pattern: tuple[str, ...]) -> bool:
    segments = scope[1:].split("/")
    for index, want in enumerate(pattern):
        if want == "#":
            return True
        if index >= len(segments) or (want != "+" and want != segments[index]):
            return False
    return len(segments) == len(pattern)


def scope_q_matches(entity: Mapping[str, Any], query: ScopeQuery) -> bool:
    """Does one of the entity's scopes satisfy the scope query?"""
    scopes = scopes_of(entity)
    return any(
        all(any(_scope_matches(s, pattern) for s in scopes) for pattern in conjunction)
        for conjunction in query
    )
