"""The catalogue in DCAT-AP 3 (Turtle, JSON-LD, RDF/XML), for harvesters such as ckanext-dcat.

`/catalog` answers in the format asked by `Accept` (Turtle by default); `/catalog.ttl`,
`/catalog.jsonld`, `/catalog.rdf` name theirs; `/data/{id}.ttl` (…) describe one dataset.
Pages of `?page=N` (100 datasets each) carry a hydra:PagedCollection, as ckanext-dcat's own
endpoint does, so a harvester walks them with hydra:nextPage. The graph is built from the same
`core.datasets.Dataset` values as the CKAN API, so the two never disagree. Datasets listed from
other portals are left out: they are theirs to describe.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, RDFS, SKOS, XSD
from shapely.geometry import shape

from hakama.core.datasets import FORMATS, LANGUAGES, THEMES, Dataset, Frequency
from hakama.core.errors import Invalid, NotFound
from hakama.http.deps import platform_of
from hakama.http.offload import run_blocking
from hakama.services import datasets
from hakama.services.platform import Platform

router = APIRouter(tags=["open data (DCAT-AP)"])

HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
LOCN = Namespace("http://www.w3.org/ns/locn#")
GSP = Namespace("http://www.opengis.net/ont/geosparql#")
PAGE_SIZE = 100
EU = "http://publications.europa.eu/resource/authority/"

FORMATS_OUT = {
    "turtle": ("text/turtle", "ttl"),
    "json-ld": ("application/ld+json", "jsonld"),
    "xml": ("application/rdf+xml", "rdf"),
}
BY_EXTENSION = {ext: fmt for fmt, (_m, ext) in FORMATS_OUT.items()}


def _when(value: datetime) -> Literal:
    return Literal(value.replace(microsecond=0).isoformat(), datatype=XSD.dateTime)


def _texts(g: Graph, subject: URIRef | BNode, prop: URIRef, texts: dict[str, str] | object) -> None:
    if isinstance(texts, dict):
        for lang in LANGUAGES:
            if texts.get(lang):
                g.add((subject, prop, Literal(texts[lang], lang=lang)))


def _concept(g: Graph, uri: str, labels: dict[str, str], scheme: str, scheme_title: str) -> URIRef:
    node = URIRef(uri)
    g.add((node, RDF.type, SKOS.Concept))
    _texts(g, node, SKOS.prefLabel, labels)
    scheme_node = URIRef(scheme)
    g.add((node, SKOS.inScheme, scheme_node))
    g.add((scheme_node, RDF.type, SKOS.ConceptScheme))
    g.add((scheme_node, DCTERMS.title, Literal(scheme_title, lang="en")))
    return node


def _publisher(g: Graph, base: str, d: Dataset) -> URIRef:
    agent = URIRef(f"{base}/organization/{d.publisher}")
    g.add((agent, RDF.type, FOAF.Agent))
    _texts(g, agent, FOAF.name, dict(d.publisher_names) or {"fr": d.publisher})
    return agent


def add_dataset(g: Graph, base: str, d: Dataset) -> URIRef:
    """One dataset and its distributions, as DCAT-AP 3 says them."""
    node = URIRef(f"{base}/data/{d.id}")
    g.add((node, RDF.type, DCAT.Dataset))
    g.add((node, DCTERMS.identifier, Literal(d.uuid)))
    _texts(g, node, DCTERMS.title, dict(d.titles))
    _texts(g, node, DCTERMS.description, dict(d.descriptions))
    for lang, words in d.keywords.items():
        for word in words:
            g.add((node, DCAT.keyword, Literal(word, lang=lang)))
    for theme in d.themes:
        if theme in THEMES:
            g.add(
                (
                    node,
                    DCAT.theme,
                    _concept(
                        g,
                        THEMES[theme].uri,
                        dict(THEMES[theme].titles),
                        EU + "data-theme",
                        "Data theme",
                    ),
                )
            )
    g.add((node, DCTERMS.publisher, _publisher(g, base, d)))
    contact = URIRef(f"{base}/organization/{d.publisher}#contact")
    g.add((contact, RDF.type, VCARD.Kind))
    g.add((contact, RDF.type, VCARD.Organization))
    g.add((contact, VCARD.fn, Literal(d.publisher_names.get("fr") or d.publisher)))
    g.add((contact, VCARD.hasURL, URIRef(f"{base}/data")))
    g.add((node, DCAT.contactPoint, contact))
    frequency = URIRef(Frequency.uri(d.frequency))
    g.add((frequency, RDF.type, DCTERMS.Frequency))
    g.add((node, DCTERMS.accrualPeriodicity, frequency))
    for lang in LANGUAGES:
        language = URIRef(f"{EU}language/{ {'ar': 'ARA', 'fr': 'FRA', 'en': 'ENG'}[lang] }")
        g.add((language, RDF.type, DCTERMS.LinguisticSystem))
        g.add((node, DCTERMS.language, language))
    if d.issued:
        g.add((node, DCTERMS.issued, _when(d.issued)))
    if d.modified:
        g.add((node, DCTERMS.modified, _when(d.modified)))
    if d.temporal:
        period = BNode()
        g.add((period, RDF.type, DCTERMS.PeriodOfTime))
        g.add((period, DCAT.startDate, Literal(d.temporal[0], datatype=XSD.date)))
        g.add((period, DCAT.endDate, Literal(d.temporal[1], datatype=XSD.date)))
        g.add((node, DCTERMS.temporal, period))
    if d.spatial_code:
        place = URIRef(f"{base}/api/territory/areas/{d.spatial_code}")
        g.add((place, RDF.type, DCTERMS.Location))
        if d.spatial:
            g.add(
                (place, DCAT.bbox, Literal(shape(d.spatial).envelope.wkt, datatype=GSP.wktLiteral))
            )
        g.add((node, DCTERMS.spatial, place))
    g.add((node, DCAT.landingPage, _document(g, f"{base}/data/{d.id}")))
    licence = URIRef(d.licence.url or f"{base}/data/licences#{d.licence_id}")
    g.add((licence, RDF.type, DCTERMS.LicenseDocument))
    g.add((licence, RDFS.label, Literal(d.licence.title)))
    for dist in d.distributions:
        fmt = FORMATS[dist.format]
        url = URIRef(f"{base}/data/{d.id}/download/{dist.filename}")
        dn = URIRef(f"{base}/data/{d.id}#{dist.format.lower()}")
        g.add((node, DCAT.distribution, dn))
        g.add((dn, RDF.type, DCAT.Distribution))
        g.add((dn, DCTERMS.identifier, Literal(dist.id)))
        g.add((dn, DCTERMS.title, Literal(f"{d.title('fr')} ({dist.format})", lang="fr")))
        g.add((dn, DCAT.accessURL, url))
        g.add((dn, DCAT.downloadURL, url))
        file_type = URIRef(fmt.eu_uri)
        g.add((file_type, RDF.type, DCTERMS.MediaTypeOrExtent))
        g.add((dn, DCTERMS.format, file_type))
        media = URIRef(fmt.iana_uri)
        g.add((media, RDF.type, DCTERMS.MediaType))
        g.add((dn, DCAT.mediaType, media))
        g.add((dn, DCAT.byteSize, Literal(dist.size, datatype=XSD.nonNegativeInteger)))
        g.add((dn, DCTERMS.license, licence))
        if d.modified:
            g.add((dn, DCTERMS.modified, _when(d.modified)))
    return node


def _document(g: Graph, url: str) -> URIRef:
    page = URIRef(url)
    g.add((page, RDF.type, FOAF.Document))
    return page


def catalog_graph(
    platform: Platform, base: str, *, page: int | None = None, only: Sequence[Dataset] | None = None
) -> Graph:
    """The catalogue (or one page of it, or some datasets) as an RDF graph."""
    g = Graph(bind_namespaces="core")
    for prefix, ns in (
        ("dcat", DCAT),
        ("dct", DCTERMS),
        ("foaf", FOAF),
        ("skos", SKOS),
        ("vcard", VCARD),
        ("hydra", HYDRA),
        ("locn", LOCN),
        ("gsp", GSP),
    ):
        g.bind(prefix, ns)
    own = datasets.own_datasets(platform) if only is None else list(only)
    pub = datasets.publisher(platform)
    catalog = URIRef(f"{base}/catalog")
    g.add((catalog, RDF.type, DCAT.Catalog))
    names = dict(pub.names) if pub else {"fr": "hakama"}
    _texts(
        g,
        catalog,
        DCTERMS.title,
        {
            lang: f"Données ouvertes — {n}"
            if lang == "fr"
            else f"Open data — {n}"
            if lang == "en"
            else f"البيانات المفتوحة — {n}"
            for lang, n in names.items()
        },
    )
    _texts(
        g,
        catalog,
        DCTERMS.description,
        {
            "fr": "Jeux de données publiés par hakama pour le territoire (indicateurs, demandes, capteurs, recensement).",
            "en": "Datasets hakama publishes for the territory (indicators, requests, sensors, census).",
            "ar": "مجموعات البيانات التي ينشرها حكامة للمجال الترابي (مؤشرات، طلبات، أجهزة الاستشعار، الإحصاء).",
        },
    )
    agent = URIRef(f"{base}/organization/{pub.code if pub else 'hakama'}")
    g.add((agent, RDF.type, FOAF.Agent))
    _texts(g, agent, FOAF.name, names)
    g.add((catalog, DCTERMS.publisher, agent))
    g.add((catalog, FOAF.homepage, _document(g, f"{base}/data")))
    modified = [d.modified for d in own if d.modified]
    if modified:
        g.add((catalog, DCTERMS.modified, _when(max(modified))))
    if page is not None:
        if page < 1:
            raise Invalid("page must be 1 or more", field="page")
        total = len(own)
        last = max(1, -(-total // PAGE_SIZE))
        if page > last:
            raise NotFound(f"page {page} is past the last page ({last})")
        view = URIRef(f"{base}/catalog?page={page}")
        g.add((view, RDF.type, HYDRA.PagedCollection))
        g.add((view, HYDRA.totalItems, Literal(total, datatype=XSD.integer)))
        g.add((view, HYDRA.itemsPerPage, Literal(PAGE_SIZE, datatype=XSD.integer)))
        g.add((view, HYDRA.firstPage, Literal(f"{base}/catalog?page=1")))
        g.add((view, HYDRA.lastPage, Literal(f"{base}/catalog?page={last}")))
        if page < last:
            g.add((view, HYDRA.nextPage, Literal(f"{base}/catalog?page={page + 1}")))
        if page > 1:
            g.add((view, HYDRA.previousPage, Literal(f"{base}/catalog?page={page - 1}")))
        own = own[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    for d in own:
        g.add((catalog, DCAT.dataset, add_dataset(g, base, d)))
    return g


def negotiate(accept: str) -> str:
    """The RDF format an Accept header asks for (Turtle when it names none we speak)."""
    best, best_q = "turtle", -1.0
    for part in accept.split(","):
        kind, *params = [p.strip() for p in part.split(";")]
        q = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        for fmt, (media, _ext) in FORMATS_OUT.items():
            if kind == media and q > best_q:
                best, best_q = fmt, q
        if kind in ("application/json",) and q > best_q:
            best, best_q = "json-ld", q
    return best


def _serialise(g: Graph, fmt: str) -> Response:
    media, _ext = FORMATS_OUT[fmt]
    body = (
        g.serialize(format=fmt, auto_compact=True) if fmt == "json-ld" else g.serialize(format=fmt)
    )
    return Response(body, media_type=f"{media}; charset=utf-8", headers={"Vary": "Accept"})


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("/catalog", summary="The DCAT-AP 3 catalogue (Turtle, JSON-LD or RDF/XML by Accept)")
async def catalog(
    request: Request, page: int | None = Query(None, ge=1, description="Page of 100 datasets (hydra)")
) -> Response:
    fmt = negotiate(request.headers.get("accept", ""))
    g = await run_blocking(
        catalog_graph, platform_of(request), _base(request), page=page
    )
    return _serialise(g, fmt)


@router.get("/catalog.{ext}", summary="The DCAT-AP 3 catalogue in the format its extension names")
async def catalog_file(request: Request, ext: str, page: int | None = Query(None, ge=1)) -> Response:
    if ext not in BY_EXTENSION:
        raise NotFound(f"no catalogue format .{ext}; one of .ttl, .jsonld, .rdf")
    g = await run_blocking(
        catalog_graph, platform_of(request), _base(request), page=page
    )
    return _serialise(g, BY_EXTENSION[ext])


def _one(platform: Platform, base: str, dataset_id: str) -> Graph:
    d = datasets.get(platform, dataset_id)
    if d.source:
        raise NotFound(f"{dataset_id} is described by its own portal: {d.external_url}")
    return catalog_graph(platform, base, only=[d])


@router.get("/data/{dataset_id}.{ext}", summary="One dataset in DCAT-AP 3")
async def dataset_file(request: Request, dataset_id: str, ext: str) -> Response:
    if ext not in BY_EXTENSION:
        raise NotFound(f"no format .{ext}; one of .ttl, .jsonld, .rdf")
    g = await run_blocking(_one, platform_of(request), _base(request), dataset_id)
    return _serialise(g, BY_EXTENSION[ext])
