"""The NGSI-LD query language (ETSI GS CIM 009 clause 4.9) and geo-queries (clause 4.10).

`parse_q(text)` turns a `q=` expression into a `Query` tree; `matches(entity, query)` says
whether a normalized entity (canonical names, see `hakama.core.jsonld`) satisfies it.
`parse_geoq(...)` / `geo_matches(entity, geoq)` do the same for `georel`/`geometry`/
`coordinates`/`geoproperty` (they live in `hakama.core.ngsi_geo` and are re-exported here);
Type and scope selection (`type=`, `scopeQ`) live in `hakama.core.ngsi_selectors`. All are pure and used by the entities service
(GET /entities) and by the subscriptions service (`q` and `geoQ` of a subscription).

Grammar (clause 4.9): `;` is AND, `|` is OR (AND binds tighter), parentheses group; a term is
an attribute path alone (existence) or `path op value` with op in `== != > >= < <= ~= !~=`;
values are numbers, "strings", booleans, ISO dates/times, URIs, lists `a,b,c` and ranges
`a..b`; `!path` tests absence. A path is `attr`, `attr.subattr` (a sub-attribute),
`attr[key.key]` (a member of a structured value) or `attr.subattr[key]`.

A VocabProperty is compared by the IRI its vocab stands for (its JSON-LD expansion), so a
bare term matches it only once expanded: `expand_values` expands the values of the terms
on the attributes a request lists in `expandValues` against its @context (clause 4.9,
EXAMPLE 12) before the query runs, in SQL and in Python alike.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hakama.core import jsonld
from hakama.core.errors import Invalid
from hakama.core.ngsi_geo import (
    GEOMETRY_TYPES,
    GEORELS,
    GeoQuery,
    check_geometry,
    geo_matches,
    parse_geoq,
)
from hakama.core.patterns import MAX_LENGTH as MAX_REGEX_LENGTH
from hakama.core.patterns import UserPattern, compile_user_pattern

__all__ = [
    "GEOMETRY_TYPES",
    "GEORELS",
    "And",
    "Comparison",
    "GeoQuery",
    "Not",
    "Or",
    "Path",
    "Query",
    "Range",
    "attribute_names",
    "check_geometry",
    "expand_values",
    "geo_matches",
    "matches",
    "parse_geoq",
    "parse_q",
    "to_text",
]


@dataclass(frozen=True)
class Path:
    """An attribute path: the attribute, optional sub-attribute names, optional keys in the value."""

    attribute: str
    sub_attributes: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Comparison:
    """`path op value` (op `==`, `!=`, `>`, `>=`, `<`, `<=`, `~=`, `!~=`), or existence when op is None."""

    path: Path
    op: str | None
    value: Any = None  # a scalar, a tuple (list of alternatives) or a Range


@dataclass(frozen=True)
class Range:
    low: Any
    high: Any


@dataclass(frozen=True)
class Not:
    """`!path`: the attribute (or member) is absent."""

    path: Path


@dataclass(frozen=True)
class And:
    terms: tuple[Query, ...]


@dataclass(frozen=True)
class Or:
    terms: tuple[Query, ...]


Query = Comparison | Not | And | Or


_OPERATORS = ("!~=", "~=", "==", "!=", ">=", "<=", ">", "<")
#: Members of an attribute a path may name after a dot, read directly instead of a sub-attribute.
_ATTRIBUTE_MEMBERS = frozenset(
    {"observedAt", "unitCode", "datasetId", "createdAt", "modifiedAt", "object", "value", "lang"}
)
_NAME = re.compile(r"[^\s;|()\[\]\.!=<>~,\"']+")
_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?Z?")
#: An unquoted value: a URI (`urn:ngsi-ld:Device:1`) or a plain word.
_BARE = re.compile(r"[\w][\w\-.:/#@%+~]*")
MAX_Q_LENGTH = 4096
MAX_DEPTH = 32


def parse_q(text: str, *, expand: Callable[[str], str] | None = None) -> Query:
    """Parse a `q=` expression; raise `core.errors.Invalid` with the position on a syntax error.

    `expand` maps each attribute name as written to its canonical name (the request's context,
    `Context.to_canonical`); without it names are kept as written.
    """
    if not isinstance(text, str) or not text.strip():
        raise Invalid("q: empty query")
    if len(text) > MAX_Q_LENGTH:
        raise Invalid(f"q: longer than {MAX_Q_LENGTH} characters")
    parser = _Parser(text, expand or (lambda name: name))
    query = parser.expression(0)
    parser.skip_spaces()
    if parser.pos != len(text):
        raise parser.error("unexpected character")
    return query


class _Parser:
    """A recursive-descent parser over the query text (AND binds tighter than OR)."""

    def __init__(self, text: str, expand: Callable[[str], str]) -> None:
        self.text = text
        self.pos = 0
        self.expand = expand

    def error(self, message: str) -> Invalid:
        shown = self.text[self.pos : self.pos + 20]
        return Invalid(f"q: {message} at position {self.pos} ({shown!r})", position=self.pos)

    def skip_spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] == " ":
            self.pos += 1

    def peek(self) -> str:
        self.skip_spaces()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def expression(self, depth: int) -> Query:
        if depth > MAX_DEPTH:
            raise self.error("too deeply nested")
        alternatives = [self.conjunction(depth)]
        while self.peek() == "|":
            self.pos += 1
            alternatives.append(self.conjunction(depth))
        return alternatives[0] if len(alternatives) == 1 else Or(tuple(alternatives))

    def conjunction(self, depth: int) -> Query:
        terms = [self.factor(depth)]
        while self.peek() == ";":
            self.pos += 1
            terms.append(self.factor(depth))
        return terms[0] if len(terms) == 1 else And(tuple(terms))

    def factor(self, depth: int) -> Query:
        char = self.peek()
        if char == "(":
            self.pos += 1
            inner = self.expression(depth + 1)
            if self.peek() != ")":
                raise self.error("missing ')'")
            self.pos += 1
            return inner
        if (
            char == "!"
            and not self.text.startswith("!=", self.pos)
            and not self.text.startswith("!~=", self.pos)
        ):
            self.pos += 1
            return Not(self.path())
        path = self.path()
        self.skip_spaces()
        for op in _OPERATORS:
            if self.text.startswith(op, self.pos):
                self.pos += len(op)
                return Comparison(path, op, self.value(op))
        return Comparison(path, None)

    def path(self) -> Path:
        self.skip_spaces()
        names = [self.name()]
        while self.pos < len(self.text) and self.text[self.pos] == ".":
            self.pos += 1
            names.append(self.name())
        keys: list[str] = []
        if self.pos < len(self.text) and self.text[self.pos] == "[":
            self.pos += 1
            keys.append(self.name())
            while self.pos < len(self.text) and self.text[self.pos] == ".":
                self.pos += 1
                keys.append(self.name())
            if self.pos >= len(self.text) or self.text[self.pos] != "]":
                raise self.error("missing ']'")
            self.pos += 1
        return Path(
            self.expand(names[0]),
            tuple(self.expand(n) if n not in _ATTRIBUTE_MEMBERS else n for n in names[1:]),
            tuple(keys),
        )

    def name(self) -> str:
        found = _NAME.match(self.text, self.pos)
        if not found:
            raise self.error("expected an attribute name")
        self.pos = found.end()
        return found.group()

    def raw_value(self) -> str:
        """The value text up to the next `;`, `|` or unmatched `)` outside quotes."""
        start = self.pos
        depth = 0
        quoted = False
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if quoted:
                if char == "\\":
                    self.pos += 1
                elif char == '"':
                    quoted = False
            elif char == '"':
                quoted = True
            elif char == "(":
                depth += 1
            elif char == ")":
                if depth == 0:
                    break
                depth -= 1
            elif char in ";|" and depth == 0:
                break
            self.pos += 1
        if quoted:
            raise self.error("unterminated string")
        return self.text[start : self.pos]

    def value(self, op: str) -> Any:
        self.skip_spaces()
        start = self.pos
        raw = self.raw_value().rstrip(" ")
        if not raw:
            self.pos = start
            raise self.error("expected a value")
        if op in ("~=", "!~="):
            quoted = len(raw) > 1 and raw.startswith('"') and _is_quoted(raw)
            pattern = raw[1:-1].replace('\\"', '"') if quoted else raw
            if len(pattern) > MAX_REGEX_LENGTH:
                raise self.error(f"regular expression longer than {MAX_REGEX_LENGTH}")
            try:
                return compile_user_pattern(pattern)
            except Invalid as exc:
                reason = exc.message.split(": ", 1)[-1]
                raise self.error(f"bad regular expression ({reason})") from None
        parts = _split_outside_quotes(raw, ",")
        if len(parts) > 1:
            if op not in ("==", "!="):
                raise self.error("a list of values needs == or !=")
            return tuple(self.scalar(p, start) for p in parts)
        bounds = _split_outside_quotes(raw, "..")
        if len(bounds) == 2:
            if op not in ("==", "!="):
                raise self.error("a range needs == or !=")
            return Range(self.scalar(bounds[0], start), self.scalar(bounds[1], start))
        if len(bounds) > 2:
            raise self.error("a range has two ends")
        return self.scalar(raw, start)

    def scalar(self, raw: str, start: int) -> Any:
        token = raw.strip(" ")
        if not token:
            self.pos = start
            raise self.error("empty value in a list or range")
        if token.startswith('"'):
            if not _is_quoted(token):
                self.pos = start
                raise self.error("malformed string")
            return _unquote(token)
        if token in ("true", "false"):
            return token == "true"
        if _NUMBER.fullmatch(token):
            number = float(token)
            if not math.isfinite(number):
                self.pos = start
                raise self.error("number out of range")
            return int(token) if token.lstrip("-").isdigit() else number
        if _DATETIME.fullmatch(token) or _DATE.fullmatch(token):
            return _to_datetime(token) or token
        if _TIME.fullmatch(token):
            return token
        if not _BARE.fullmatch(token):
            self.pos = start
            raise self.error(f"unquoted value {token!r} (strings are written in double quotes)")
        return token  # a URI or a bare word, compared as a string


def _split_outside_quotes(raw: str, separator: str) -> list[str]:
    parts: list[str] = []
    quoted = False
    current = 0
    i = 0
    while i < len(raw):
        char = raw[i]
        if quoted:
            if char == "\\":
                i += 1
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif raw.startswith(separator, i):
            parts.append(raw[current:i])
            i += len(separator)
            current = i
            continue
        i += 1
    parts.append(raw[current:])
    return parts


def _is_quoted(token: str) -> bool:
    """Is the token one string literal: a quote, escaped characters, a closing quote last?"""
    i = 1
    while i < len(token):
        if token[i] == "\\":
            i += 2
            continue
        if token[i] == '"':
            return i == len(token) - 1
        i += 1
    return False


def _unquote(token: str) -> str:
    body = token[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


def _to_datetime(text: str) -> datetime | None:
    """An aware datetime from an ISO 8601 date or date-time (UTC when no offset is given)."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def expand_values(query: Query, attributes: frozenset[str], expand: Callable[[str], str]) -> Query:
    """The query with the string values of its terms on `attributes` (canonical names)
    expanded to IRIs by `expand` (the request's `Context.expand`): `expandValues`, clause 4.9.
    Numbers, dates, booleans and regular expressions are left as they are."""
    if isinstance(query, And):
        return And(tuple(expand_values(t, attributes, expand) for t in query.terms))
    if isinstance(query, Or):
        return Or(tuple(expand_values(t, attributes, expand) for t in query.terms))
    if isinstance(query, Not) or query.op is None or query.path.attribute not in attributes:
        return query
    return Comparison(query.path, query.op, _expanded(query.value, expand))


def _expanded(value: Any, expand: Callable[[str], str]) -> Any:
    if isinstance(value, tuple):
        return tuple(_expanded(v, expand) for v in value)
    if isinstance(value, Range):
        return Range(_expanded(value.low, expand), _expanded(value.high, expand))
    return expand(value) if isinstance(value, str) else value


# --------------------------------------------------------------------------- evaluation


def matches(entity: Mapping[str, Any], query: Query) -> bool:
    """Does the normalized entity (canonical names) satisfy `query`?"""
    if isinstance(query, And):
        return all(matches(entity, t) for t in query.terms)
    if isinstance(query, Or):
        return any(matches(entity, t) for t in query.terms)
    if isinstance(query, Not):
        return not _targets(entity, query.path)
    targets = _targets(entity, query.path)
    if query.op is None:
        return bool(targets)
    if query.op == "!=":
        # Present and different from every target (clause 4.9: the target must exist).
        return bool(targets) and not any(_compare(t, "==", query.value) for t in targets)
    if query.op == "!~=":
        return bool(targets) and not any(_compare(t, "~=", query.value) for t in targets)
    return any(_compare(t, query.op, query.value) for t in targets)


def _targets(entity: Mapping[str, Any], path: Path) -> list[Any]:
    """The values a path points at (several for multi-instance attributes and arrays)."""
    attribute = entity.get(path.attribute)
    if attribute is None:
        return []
    found: list[Any] = []
    for instance in attribute if isinstance(attribute, list) else [attribute]:
        node: Any = instance
        for name in path.sub_attributes:
            node = node.get(name) if isinstance(node, Mapping) else None
            if node is None:
                break
        if node is None:
            continue
        value = _value_of(node)
        for key in path.keys:
            value = _member(value, key)
            if value is _MISSING:
                break
        if value is _MISSING or value is None:
            continue
        if isinstance(value, list):
            found.extend(value)
        elif isinstance(value, Mapping) and node is not value and _is_language_map(node):
            found.extend(value.values())
        else:
            found.append(value)
    return found


_MISSING = object()


def _member(value: Any, key: str) -> Any:
    if isinstance(value, Mapping):
        return value.get(key, _MISSING)
    if isinstance(value, list):
        picked = [v[key] for v in value if isinstance(v, Mapping) and key in v]
        return picked if picked else _MISSING
    return _MISSING


def _is_language_map(node: Any) -> bool:
    return isinstance(node, Mapping) and "languageMap" in node


def _value_of(node: Any) -> Any:
    """What a query compares for an attribute (or sub-attribute or member)."""
    if not isinstance(node, Mapping):
        return node
    if "vocab" in node and node.get("type") == "VocabProperty":
        vocab = node["vocab"]
        iri = jsonld.core().expand
        return [iri(v) for v in vocab] if isinstance(vocab, list) else iri(str(vocab))
    for member in ("value", "object", "languageMap", "json", "vocab", "valueList", "objectList"):
        if member in node:
            return node[member]
    return node


def _compare(target: Any, op: str, expected: Any) -> bool:
    if isinstance(expected, tuple):
        return any(_compare(target, "==", e) for e in expected)
    if isinstance(expected, Range):
        return _compare(target, ">=", expected.low) and _compare(target, "<=", expected.high)
    if isinstance(expected, UserPattern):
        return isinstance(target, str) and expected.search(target)
    left, right = _comparable(target, expected)
    if left is None or right is None:
        return False
    try:
        if op == "==":
            return bool(left == right)
        if op == ">":
            return bool(left > right)
        if op == ">=":
            return bool(left >= right)
        if op == "<":
            return bool(left < right)
        if op == "<=":
            return bool(left <= right)
    except TypeError:
        return False
    return False


def _comparable(target: Any, expected: Any) -> tuple[Any, Any]:
    """Both sides as values of one kind, or (None, None) when they cannot be compared."""
    if isinstance(expected, bool) or isinstance(target, bool):
        return (
            (target, expected)
            if isinstance(target, bool) and isinstance(expected, bool)
            else (None, None)
        )
    if isinstance(expected, int | float):
        return (target, expected) if isinstance(target, int | float) else (None, None)
    if isinstance(expected, datetime):
        if isinstance(target, str):
            parsed = _to_datetime(target)
            return (parsed, expected) if parsed else (None, None)
        return (None, None)
    if isinstance(expected, str):
        return (target, expected) if isinstance(target, str) else (None, None)
    return (None, None)


def attribute_names(query: Query) -> frozenset[str]:
    """The attributes a query reads (e.g. so a subscription knows what it watches)."""
    if isinstance(query, And | Or):
        return frozenset().union(*(attribute_names(t) for t in query.terms))
    return frozenset({query.path.attribute})


def to_text(query: Query) -> str:
    """The query written back in the q-language (names as stored)."""
    if isinstance(query, And):
        return ";".join(_grouped(t, inside_and=True) for t in query.terms)
    if isinstance(query, Or):
        return "|".join(to_text(t) for t in query.terms)
    if isinstance(query, Not):
        return "!" + _path_text(query.path)
    if query.op is None:
        return _path_text(query.path)
    return _path_text(query.path) + query.op + _value_text(query.value)


def _grouped(query: Query, *, inside_and: bool) -> str:
    text = to_text(query)
    return f"({text})" if inside_and and isinstance(query, Or) else text


def _path_text(path: Path) -> str:
    text = ".".join((path.attribute, *path.sub_attributes))
    return text + (f"[{'.'.join(path.keys)}]" if path.keys else "")


def _value_text(value: Any) -> str:
    if isinstance(value, UserPattern):
        return '"' + str(value.pattern).replace('"', '\\"') + '"'
    if isinstance(value, tuple):
        return ",".join(_value_text(v) for v in value)
    if isinstance(value, Range):
        return f"{_value_text(value.low)}..{_value_text(value.high)}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    text = str(value)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
