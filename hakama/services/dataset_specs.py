"""What hakama publishes: one spec per dataset, each a DuckDB query over the lake and the
operational tables that `dataset_builds` registers beside it (`areas`, `service_names`,
`indicator_values`, `approvals`). Every query names its columns; the privacy gate checks them.
Tables with a commune are ordered by commune first, then time: a commune's rows sit in a few
row groups of the Parquet file, which DuckDB skips to by their statistics (datastore_search
filtered by commune, and each commune's own slice, read those row groups only).

Views the queries read (registered by `dataset_sources.open_sources`):
- the lake's datasets (`service_requests`, `observations`, `admin_records`, …) when they exist;
- `areas(code, level, parent_code, name_ar, name_fr, name_en, …)`;
- `service_names(code, name_ar, name_fr, name_en)`; `approvals(request_id, public_text, photos)`;
- `indicator_values(indicator_id, area_code, grain, period_start, value, sample, quality)`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from hakama.core import privacy
from hakama.core.datasets import Frequency
from hakama.core.indicators import IndicatorDefinition

#: Indicator themes → catalogue themes (core.datasets.THEMES); anything else is government.
INDICATOR_THEMES = {
    "air": "environment",
    "water": "environment",
    "waste": "environment",
    "lighting": "energy",
    "coverage": "regions",
    "mobility": "regions",
}


@dataclass(frozen=True)
class BuildOptions:
    """What the queries depend on beyond the data: the privacy settings."""

    min_cell: int
    h3_resolution: int


@dataclass(frozen=True)
class Spec:
    """How to build one dataset and what to say about it."""

    id: str
    titles: Mapping[str, str]
    descriptions: Mapping[str, str]
    themes: Sequence[str]
    keywords: Mapping[str, Sequence[str]]
    frequency: str
    needs: Sequence[str]  # lake datasets the query reads (missing: the dataset is not built)
    query: Callable[[BuildOptions], str]
    time_column: str | None = None
    value_column: str | None = None
    chart: tuple[str, str] | None = None  # (x, y) SQL over the built table, grouped by x
    geometry: str | None = None  # "point" (lat/lon columns) or "geojson" (a `geometry` text)
    column_notes: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    by_commune: bool = False  # each commune also publishes its own rows (a `commune_code` column)
    publisher: str | None = None  # area code of the publisher; None: the province
    parent: str | None = None  # a slice of this dataset's built table (`parent_table` in the query)


COMMUNE_LABEL = {"ar": "الجماعة", "fr": "Commune", "en": "Commune"}


def commune_spec(parent: Spec, code: str, names: Mapping[str, str]) -> Spec:
    """One commune's rows of `parent`, published by that commune: cut from the parent's built
    Parquet file (which passed the gate), so the province's query does not run once per commune."""

    def query(_o: BuildOptions) -> str:
        return f"SELECT * FROM parent_table WHERE commune_code = '{_sql_text(code)}'"

    def name(lang: str) -> str:
        return names.get(lang) or names.get("fr") or code

    return replace(
        parent,
        id=f"{parent.id}-{code.replace('.', '-').lower()}",
        titles={lang: f"{text} — {name(lang)}" for lang, text in parent.titles.items()},
        descriptions={
            lang: f"{text} {COMMUNE_LABEL.get(lang, 'Commune')} : {name(lang)}."
            if lang == "fr"
            else f"{text} {COMMUNE_LABEL.get(lang, 'Commune')}: {name(lang)}."
            for lang, text in parent.descriptions.items()
        },
        keywords={lang: [*words, name(lang)] for lang, words in parent.keywords.items()},
        query=query,
        by_commune=False,
        publisher=code,
        parent=parent.id,
    )


def _names(alias: str, prefix: str) -> str:
    return (
        f"{alias}.name_ar AS {prefix}_name_ar, {alias}.name_fr AS {prefix}_name_fr, "
        f"{alias}.name_en AS {prefix}_name_en"
    )


def indicator_spec(d: IndicatorDefinition) -> Spec:
    """Values of one public indicator per area and period, with sample size and quality."""

    def query(o: BuildOptions) -> str:
        value = (
            privacy.keep_if_enough("v.value", "v.sample", o.min_cell)
            if _count_like(d)
            else "v.value"
        )
        suppressed = privacy.suppressed_sql("v.sample", o.min_cell) if _count_like(d) else "false"
        return f"""
            SELECT v.indicator_id, v.area_code, {_names("a", "area")},
                   a.level AS area_level, v.grain, v.period_start,
                   {value} AS value, '{_sql_text(d.unit)}' AS unit, v.sample,
                   CASE WHEN {suppressed} THEN 'suppressed' ELSE v.quality END AS quality,
                   {suppressed} AS suppressed
            FROM indicator_values v LEFT JOIN areas a ON a.code = v.area_code
            WHERE v.indicator_id = '{_sql_text(d.id)}'
            ORDER BY v.period_start, v.area_code"""

    titles = {lang: d.names.get(lang, d.id) for lang in ("ar", "fr", "en")}
    return Spec(
        id=f"indicator-{d.id.replace('_', '-')}",
        titles=titles,
        descriptions={
            lang: " ".join(p for p in (d.descriptions.get(lang, ""), d.method.get(lang, "")) if p)
            for lang in ("ar", "fr", "en")
        },
        themes=[INDICATOR_THEMES.get(d.theme, "government")],
        keywords={"fr": ["indicateur", d.theme], "en": ["indicator", d.theme], "ar": ["مؤشر"]},
        frequency={
            "day": Frequency.DAILY,
            "week": Frequency.WEEKLY,
            "month": Frequency.MONTHLY,
            "quarter": Frequency.MONTHLY,
            "year": Frequency.ANNUAL,
        }.get(d.grain.value, Frequency.MONTHLY),
        needs=(),
        query=query,
        time_column="period_start",
        value_column="value",
        chart=("period_start", "avg(value) FILTER (WHERE area_level = 'province')"),
    )


def _count_like(d: IndicatorDefinition) -> bool:
    return d.measure.kind.value in ("count", "rate_per_10k", "distinct_count")


def _sql_text(text: str) -> str:
    return text.replace("'", "''")


def _requests_query(o: BuildOptions) -> str:
    return f"""
        WITH latest AS (
            SELECT * FROM service_requests
            QUALIFY row_number() OVER (PARTITION BY request_id ORDER BY updated_at DESC) = 1
        ), placed AS MATERIALIZED (
            SELECT l.*, h3_cell(l.lat, l.lon, {o.h3_resolution}) AS cell FROM latest l
        ), centres AS MATERIALIZED (
            SELECT cell, h3_lat(cell) AS lat, h3_lon(cell) AS lon
            FROM (SELECT DISTINCT cell FROM placed WHERE cell IS NOT NULL)
        )
        SELECT p.request_id, p.time AS requested_at, p.service_code,
               {_names("s", "service")}, p.category,
               p.area_code AS commune_code, {_names("a", "commune")},
               p.status, p.channel, p.expected_at, p.resolved_at, p.closed_at, p.reopened,
               c.lat, c.lon, p.cell AS h3_cell,
               coalesce(ap.public_text, '') AS public_text, coalesce(ap.photos, '') AS photos
        FROM placed p
        LEFT JOIN centres c ON c.cell = p.cell
        LEFT JOIN service_names s ON s.code = p.service_code
        LEFT JOIN areas a ON a.code = p.area_code
        LEFT JOIN approvals ap ON ap.request_id = p.request_id
        ORDER BY p.area_code, p.time, p.request_id"""


def _service_level_query(o: BuildOptions) -> str:
    k = o.min_cell
    return f"""
        WITH latest AS (
            SELECT * FROM service_requests
            QUALIFY row_number() OVER (PARTITION BY request_id ORDER BY updated_at DESC) = 1
        ), grouped AS (
            SELECT date_trunc('month', time)::DATE AS month, area_code, service_code,
                   count(*) AS n,
                   count(resolved_at) AS n_resolved,
                   count(*) FILTER (WHERE resolved_at IS NOT NULL AND resolved_at <= expected_at) AS n_in_time,
                   median(epoch(resolved_at - time) / 3600.0) AS hours_median
            FROM latest GROUP BY ALL
        )
        SELECT g.month, g.area_code AS commune_code, {_names("a", "commune")},
               g.service_code, {_names("s", "service")},
               {privacy.keep_if_enough("g.n", "g.n", k)} AS requests,
               {privacy.keep_if_enough("g.n_resolved", "g.n", k)} AS resolved,
               {privacy.keep_if_enough("round(100.0 * g.n_in_time / nullif(g.n_resolved, 0), 1)", "g.n_resolved", k)} AS resolved_within_target_pct,
               {privacy.keep_if_enough("round(g.hours_median, 1)", "g.n_resolved", k)} AS resolution_hours_median,
               {privacy.suppressed_sql("g.n", k)} OR {privacy.suppressed_sql("g.n_resolved", k)} AS suppressed
        FROM grouped g
        LEFT JOIN areas a ON a.code = g.area_code
        LEFT JOIN service_names s ON s.code = g.service_code
        ORDER BY g.area_code, g.month, g.service_code"""


def _sensors_query(o: BuildOptions) -> str:
    return f"""
        SELECT date_trunc('hour', o.time) AS hour, o.entity_id AS station_id, o.entity_type AS station_type,
               o.attribute, any_value(o.unit) AS unit,
               o.area_code AS commune_code, {_names("a", "commune")},
               count(*) AS readings, round(avg(o.value), 4) AS mean,
               round(min(o.value), 4) AS min, round(max(o.value), 4) AS max
        FROM observations o LEFT JOIN areas a ON a.code = o.area_code
        WHERE o.value IS NOT NULL
        GROUP BY ALL
        ORDER BY commune_code, hour, station_id, attribute"""


def _territory_query(_o: BuildOptions) -> str:
    return """
        SELECT code, level, parent_code, name_ar, name_fr, name_en,
               population_2014, population_2024, households_2024, census_2024,
               attribution AS source, licence_note, geometry
        FROM areas ORDER BY code"""


def _records_query(o: BuildOptions) -> str:
    k = o.min_cell
    return f"""
        WITH grouped AS (
            SELECT date_trunc('month', time)::DATE AS month, area_code, service AS procedure,
                   count(*) AS n, count(delivered_at) AS n_delivered,
                   count(*) FILTER (WHERE channel = 'online') AS n_online,
                   median(epoch(delivered_at - time) / 86400.0) AS days_median
            FROM admin_records GROUP BY ALL
        )
        SELECT g.month, g.area_code AS commune_code, {_names("a", "commune")},
               g.procedure,
               {privacy.keep_if_enough("g.n", "g.n", k)} AS records,
               {privacy.keep_if_enough("g.n_delivered", "g.n", k)} AS delivered,
               {privacy.keep_if_enough("g.n_online", "g.n", k)} AS online,
               {privacy.keep_if_enough("round(g.days_median, 1)", "g.n_delivered", k)} AS days_to_deliver_median,
               {privacy.suppressed_sql("g.n", k)} AS suppressed
        FROM grouped g LEFT JOIN areas a ON a.code = g.area_code
        ORDER BY g.area_code, g.month, g.procedure"""


BUILT_IN: tuple[Spec, ...] = (
    Spec(
        id="service-requests",
        titles={
            "ar": "طلبات خدمات المواطنين",
            "fr": "Demandes de service des citoyens",
            "en": "Citizens' service requests",
        },
        descriptions={
            "ar": "كل طلب مقدم: الخدمة، الجماعة، الحالة والتواريخ. الموقع مقرب إلى مركز خلية H3، ولا يُنشر أي معطى شخصي ولا نص حر إلا نصا عاما وافق عليه عون.",
            "fr": "Chaque demande déposée : service, commune, statut et dates. La position est ramenée au centre d'une cellule H3 ; aucune donnée personnelle ni texte libre n'est publié, sauf un texte public approuvé par un agent.",
            "en": "Every request filed: service, commune, status and dates. Positions are coarsened to the centre of an H3 cell; no personal data and no free text is published, except a public text an agent approved.",
        },
        themes=["government"],
        keywords={
            "fr": ["demandes", "services", "Open311"],
            "en": ["service requests", "Open311"],
            "ar": ["طلبات", "خدمات"],
        },
        frequency=Frequency.DAILY,
        needs=("service_requests",),
        by_commune=True,
        query=_requests_query,
        time_column="requested_at",
        chart=("date_trunc('month', requested_at)::DATE", "count(*)"),
        geometry="point",
        column_notes={
            "lat": {
                "fr": "Latitude du centre de la cellule H3",
                "en": "Latitude of the H3 cell's centre",
                "ar": "خط عرض مركز خلية H3",
            },
            "public_text": {
                "fr": "Texte public approuvé par un agent",
                "en": "Public text approved by an agent",
                "ar": "نص عام وافق عليه عون",
            },
        },
    ),
    Spec(
        id="service-level",
        titles={
            "ar": "مستوى الخدمة حسب الجماعة والخدمة",
            "fr": "Niveau de service par commune et service",
            "en": "Service level per commune and service",
        },
        descriptions={
            "ar": "لكل شهر وجماعة وخدمة: عدد الطلبات، المعالجة، نسبة المعالجة في الأجل والمدة الوسيطة. الخلايا التي تقل عن الحد الأدنى محجوبة.",
            "fr": "Par mois, commune et service : demandes, demandes résolues, part résolue dans le délai cible et délai médian. Les cellules sous le seuil minimal sont masquées (colonne suppressed).",
            "en": "Per month, commune and service: requests, resolved, share resolved within the target and median time. Cells under the minimum count are suppressed (suppressed column).",
        },
        themes=["government"],
        keywords={
            "fr": ["qualité de service", "délais"],
            "en": ["service level", "response time"],
            "ar": ["جودة الخدمة"],
        },
        frequency=Frequency.DAILY,
        needs=("service_requests",),
        by_commune=True,
        query=_service_level_query,
        time_column="month",
        value_column="requests",
        chart=("month", "sum(requests)"),
    ),
    Spec(
        id="sensor-hourly",
        titles={
            "ar": "قياسات أجهزة الاستشعار حسب الساعة",
            "fr": "Mesures des capteurs par heure",
            "en": "Sensor readings per hour",
        },
        descriptions={
            "ar": "متوسط وأدنى وأقصى القياسات لكل محطة وخاصية وساعة (جودة الهواء، الماء، الإنارة، النفايات…).",
            "fr": "Moyenne, minimum et maximum des mesures par station, grandeur et heure (qualité de l'air, eau, éclairage, déchets…).",
            "en": "Mean, minimum and maximum of the readings per station, attribute and hour (air quality, water, lighting, waste…).",
        },
        themes=["environment"],
        keywords={
            "fr": ["capteurs", "qualité de l'air", "IoT"],
            "en": ["sensors", "air quality", "IoT"],
            "ar": ["أجهزة الاستشعار", "جودة الهواء"],
        },
        frequency=Frequency.HOURLY,
        needs=("observations",),
        by_commune=True,
        query=_sensors_query,
        time_column="hour",
        value_column="mean",
        chart=("date_trunc('day', hour)::DATE", "sum(readings)"),
    ),
    Spec(
        id="territory",
        titles={
            "ar": "المجال الترابي: الحدود والإحصاء",
            "fr": "Territoire : limites et recensement",
            "en": "Territory: outlines and census",
        },
        descriptions={
            "ar": "الجماعات والإقليم: الرموز، الأسماء، الحدود، الساكنة ومؤشرات الإحصاء العام، مع مصادرها وتراخيصها.",
            "fr": "Les communes et la province : codes, noms, limites, population et indicateurs du recensement, avec leurs sources et licences (colonne source).",
            "en": "The communes and the province: codes, names, outlines, population and census figures, with their sources and licences (source column).",
        },
        themes=["regions", "population"],
        keywords={
            "fr": ["communes", "recensement", "limites"],
            "en": ["communes", "census", "boundaries"],
            "ar": ["الجماعات", "الإحصاء"],
        },
        frequency=Frequency.IRREGULAR,
        needs=(),
        query=_territory_query,
        geometry="geojson",
    ),
    Spec(
        id="admin-records-monthly",
        titles={
            "ar": "الوثائق الإدارية حسب الشهر",
            "fr": "Actes administratifs par mois",
            "en": "Administrative records per month",
        },
        descriptions={
            "ar": "عدد الوثائق الإدارية المطلوبة والمسلمة لكل شهر وجماعة ومسطرة، والمدة الوسيطة للتسليم.",
            "fr": "Nombre d'actes administratifs demandés et délivrés par mois, commune et procédure, part en ligne et délai médian de délivrance.",
            "en": "Administrative records requested and delivered per month, commune and procedure, share online and median time to deliver.",
        },
        themes=["government"],
        keywords={
            "fr": ["état civil", "actes administratifs"],
            "en": ["administrative records"],
            "ar": ["الوثائق الإدارية"],
        },
        frequency=Frequency.MONTHLY,
        needs=("admin_records",),
        by_commune=True,
        query=_records_query,
        time_column="month",
        value_column="records",
        chart=("month", "sum(records)"),
    ),
)
