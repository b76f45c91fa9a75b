"""The demo's service catalogue and its service requests in the operational database.

`CATALOGUE` is a realistic catalogue for a Moroccan commune, in Arabic, French and English. It
is defined once at each province (every commune of it inherits it); urban communes, which run
their own technical services, override the department of some services — the way a real
catalogue grows. Then the requests the demo generated for the lake (`hakama.demo.requests`)
are loaded into the operational database in bulk, with their histories, so the back office,
Open311 and the portal show the same year the indicators are computed from. No requester
contact details are made up: the demo has none.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from hakama.core.access import system_actor
from hakama.core.services_catalog import Service, service_from_dict
from hakama.core.territory import Area, Level
from hakama.services import audit, service_catalog, territory
from hakama.services.platform import Platform
from hakama.storage.schema_requests import request_events, service_requests

DEMO_PREFIX = "demo-"
BATCH = 5000


def _v(key: str, ar: str, fr: str, en: str) -> dict[str, Any]:
    return {"key": key, "names": {"ar": ar, "fr": fr, "en": en}}


def _names(ar: str, fr: str, en: str) -> dict[str, str]:
    return {"ar": ar, "fr": fr, "en": en}


CATALOGUE: tuple[Mapping[str, Any], ...] = (
    {
        "code": "public_lighting",
        "category": "public_lighting",
        "icon": "lighting",
        "group": "infrastructure",
        "target_hours": 72,
        "department": "Service technique — éclairage public",
        "names": _names("الإنارة العمومية", "Éclairage public", "Street lighting"),
        "descriptions": _names(
            "مصباح مطفأ أو يشتعل نهارا أو عمود متضرر",
            "Lampadaire éteint, allumé le jour ou poteau endommagé",
            "Street light out, on by day, or a damaged pole",
        ),
        "keywords": ["lampadaire", "lumière", "إنارة"],
        "attributes": [
            {
                "code": "problem",
                "datatype": "singlevaluelist",
                "required": True,
                "descriptions": _names("ما المشكل؟", "Quel est le problème ?", "What is wrong?"),
                "values": [
                    _v("off", "مطفأ", "Éteint", "Out"),
                    _v("flickering", "يومض", "Clignote", "Flickering"),
                    _v("on_daytime", "مشتعل نهارا", "Allumé le jour", "On during the day"),
                    _v("damaged_pole", "عمود متضرر", "Poteau endommagé", "Damaged pole"),
                ],
            },
            {
                "code": "pole_number",
                "datatype": "string",
                "descriptions": _names(
                    "رقم العمود (إن وجد)", "Numéro du poteau (si visible)", "Pole number (if shown)"
                ),
            },
        ],
    },
    {
        "code": "waste",
        "category": "waste",
        "icon": "waste",
        "group": "cleanliness",
        "target_hours": 48,
        "department": "Service d'hygiène — collecte des déchets",
        "names": _names("جمع النفايات", "Collecte des déchets", "Waste collection"),
        "descriptions": _names(
            "نفايات لم تجمع أو حاوية ممتلئة أو متضررة",
            "Déchets non ramassés, bac plein ou abîmé",
            "Rubbish not collected, bin full or damaged",
        ),
        "keywords": ["poubelle", "ordures", "نفايات"],
        "attributes": [
            {
                "code": "problem",
                "datatype": "singlevaluelist",
                "required": True,
                "descriptions": _names("ما المشكل؟", "Quel est le problème ?", "What is wrong?"),
                "values": [
                    _v("not_collected", "لم تجمع", "Non ramassés", "Not collected"),
                    _v("overflowing_bin", "حاوية ممتلئة", "Bac qui déborde", "Overflowing bin"),
                    _v("damaged_bin", "حاوية متضررة", "Bac abîmé", "Damaged bin"),
                    _v("missing_bin", "لا توجد حاوية", "Pas de bac", "No bin"),
                ],
            }
        ],
    },
    {
        "code": "roads",
        "category": "roads",
        "icon": "road",
        "group": "infrastructure",
        "target_hours": 240,
        "department": "Service technique — voirie",
        "names": _names("الطرق والحفر", "Voirie et nids-de-poule", "Roads and potholes"),
        "descriptions": _names(
            "حفرة أو طريق منهار أو رصيف أو علامة متضررة",
            "Nid-de-poule, chaussée effondrée, trottoir ou panneau abîmé",
            "Pothole, collapsed road, damaged pavement or sign",
        ),
        "keywords": ["route", "trou", "طريق", "حفرة"],
        "attributes": [
            {
                "code": "hazard",
                "datatype": "singlevaluelist",
                "required": True,
                "descriptions": _names("نوع الضرر", "Type de dégât", "Kind of damage"),
                "values": [
                    _v("pothole", "حفرة", "Nid-de-poule", "Pothole"),
                    _v("collapsed", "انهيار", "Chaussée effondrée", "Collapsed road"),
                    _v("sidewalk", "رصيف متضرر", "Trottoir abîmé", "Damaged pavement"),
                    _v("sign", "علامة متضررة", "Panneau abîmé", "Damaged sign"),
                ],
            },
            {
                "code": "width_m",
                "datatype": "number",
                "descriptions": _names(
                    "العرض التقريبي بالأمتار", "Largeur approximative (m)", "Approximate width (m)"
                ),
            },
        ],
    },
    {
        "code": "water_leak",
        "category": "water_leak",
        "icon": "water",
        "group": "water",
        "target_hours": 24,
        "department": "Régie de distribution — eau potable",
        "names": _names("تسرب الماء", "Fuite d'eau", "Water leak"),
        "descriptions": _names(
            "تسرب في الشارع أو عند العداد",
            "Fuite sur la voie publique ou au compteur",
            "Leak in the street or at a meter",
        ),
        "keywords": ["eau", "fuite", "ماء"],
        "attributes": [
            {
                "code": "where",
                "datatype": "singlevaluelist",
                "required": True,
                "descriptions": _names("أين التسرب؟", "Où est la fuite ?", "Where is the leak?"),
                "values": [
                    _v("street", "في الشارع", "Dans la rue", "In the street"),
                    _v("meter", "عند العداد", "Au compteur", "At a meter"),
                    _v("hydrant", "صنبور إطفاء", "Bouche d'incendie", "Fire hydrant"),
                ],
            },
            {
                "code": "since",
                "datatype": "datetime",
                "descriptions": _names("منذ متى؟", "Depuis quand ?", "Since when?"),
            },
        ],
    },
    {
        "code": "sanitation",
        "category": "sanitation",
        "icon": "sewer",
        "group": "water",
        "target_hours": 72,
        "department": "Service d'assainissement",
        "names": _names("التطهير السائل", "Assainissement et égouts", "Sanitation and sewers"),
        "descriptions": _names(
            "مجرى مسدود أو بالوعة مفتوحة أو فيضان",
            "Égout bouché, regard ouvert, inondation ou odeurs",
            "Blocked sewer, open manhole, flooding or smell",
        ),
        "keywords": ["égout", "بالوعة"],
        "attributes": [
            {
                "code": "problem",
                "datatype": "singlevaluelist",
                "required": True,
                "descriptions": _names("ما المشكل؟", "Quel est le problème ?", "What is wrong?"),
                "values": [
                    _v("blocked", "انسداد", "Égout bouché", "Blocked sewer"),
                    _v("open_manhole", "بالوعة مفتوحة", "Regard ouvert", "Open manhole"),
                    _v("flooding", "فيضان", "Inondation", "Flooding"),
                    _v("smell", "روائح", "Odeurs", "Smell"),
                ],
            }
        ],
    },
    {
        "code": "green_spaces",
        "category": "green_spaces",
        "icon": "tree",
        "group": "environment",
        "target_hours": 168,
        "department": "Service des espaces verts",
        "names": _names("المساحات الخضراء", "Espaces verts", "Parks and green spaces"),
        "descriptions": _names(
            "سقي أو تقليم أو شجرة ساقطة أو تجهيزات متضررة",
            "Arrosage, taille, arbre tombé ou équipement abîmé",
            "Watering, pruning, fallen tree or damaged equipment",
        ),
        "keywords": ["jardin", "arbre", "حديقة"],
        "attributes": [
            {
                "code": "needs",
                "datatype": "multivaluelist",
                "required": True,
                "descriptions": _names("ماذا يلزم؟", "Que faut-il faire ?", "What is needed?"),
                "values": [
                    _v("watering", "سقي", "Arrosage", "Watering"),
                    _v("pruning", "تقليم", "Taille", "Pruning"),
                    _v("fallen_tree", "شجرة ساقطة", "Arbre tombé", "Fallen tree"),
                    _v("equipment", "تجهيزات متضررة", "Équipement abîmé", "Damaged equipment"),
                ],
            }
        ],
    },
    {
        "code": "stray_animals",
        "category": "stray_animals",
        "icon": "animal",
        "group": "health",
        "target_hours": 72,
        "department": "Bureau communal d'hygiène",
        "names": _names("الحيوانات الضالة", "Animaux errants", "Stray animals"),
        "descriptions": _names(
            "كلاب ضالة أو ماشية في الطريق",
            "Chiens errants ou bétail sur la voie publique",
            "Stray dogs or livestock on the road",
        ),
        "keywords": ["chien", "كلاب"],
        "attributes": [
            {
                "code": "animal",
                "datatype": "singlevaluelist",
                "required": True,
                "descriptions": _names("أي حيوان؟", "Quel animal ?", "Which animal?"),
                "values": [
                    _v("dog", "كلب", "Chien", "Dog"),
                    _v("cat", "قط", "Chat", "Cat"),
                    _v("livestock", "ماشية", "Bétail", "Livestock"),
                    _v("other", "آخر", "Autre", "Other"),
                ],
            },
            {
                "code": "count",
                "datatype": "number",
                "descriptions": _names("كم عددها؟", "Combien ?", "How many?"),
            },
        ],
    },
    {
        "code": "noise",
        "category": "noise",
        "icon": "noise",
        "group": "health",
        "target_hours": 48,
        "department": "Police administrative",
        "names": _names("الضوضاء", "Nuisances sonores", "Noise"),
        "descriptions": _names(
            "أشغال أو محل أو حفل في ساعات متأخرة",
            "Chantier, commerce ou fête à des heures tardives",
            "Works, a business or a party late at night",
        ),
        "keywords": ["bruit", "ضجيج"],
        "attributes": [
            {
                "code": "source",
                "datatype": "singlevaluelist",
                "required": True,
                "descriptions": _names("مصدر الضوضاء", "Source du bruit", "Source of the noise"),
                "values": [
                    _v("works", "أشغال", "Chantier", "Works"),
                    _v("business", "محل تجاري", "Commerce", "Business"),
                    _v("party", "حفل", "Fête", "Party"),
                    _v("vehicles", "مركبات", "Véhicules", "Vehicles"),
                ],
            },
            {
                "code": "when",
                "datatype": "datetime",
                "descriptions": _names("متى؟", "Quand ?", "When?"),
            },
        ],
    },
    {
        "code": "illegal_dumping",
        "category": "illegal_dumping",
        "icon": "dumping",
        "group": "cleanliness",
        "target_hours": 120,
        "department": "Service d'hygiène — propreté",
        "names": _names("رمي النفايات العشوائي", "Dépôt sauvage", "Illegal dumping"),
        "descriptions": _names(
            "ردم أو نفايات مرمية في مكان غير مخصص",
            "Gravats ou déchets jetés hors des points prévus",
            "Rubble or rubbish dumped where it should not be",
        ),
        "keywords": ["gravats", "décharge", "ردم"],
        "attributes": [
            {
                "code": "kind",
                "datatype": "multivaluelist",
                "required": True,
                "descriptions": _names("نوع النفايات", "Type de déchets", "Kind of waste"),
                "values": [
                    _v("rubble", "ردم", "Gravats", "Rubble"),
                    _v("household", "منزلية", "Ménagers", "Household"),
                    _v("green", "خضراء", "Végétaux", "Green waste"),
                    _v("bulky", "كبيرة الحجم", "Encombrants", "Bulky items"),
                    _v("hazardous", "خطرة", "Dangereux", "Hazardous"),
                ],
            }
        ],
    },
    {
        "code": "public_space_occupation",
        "category": "public_space_occupation",
        "icon": "occupation",
        "group": "public_space",
        "target_hours": 240,
        "department": "Police administrative",
        "names": _names(
            "احتلال الملك العمومي", "Occupation du domaine public", "Blocked public space"
        ),
        "descriptions": _names(
            "رصيف أو ساحة محتلة بدون ترخيص",
            "Trottoir ou place occupés sans autorisation",
            "Pavement or square taken over without a permit",
        ),
        "keywords": ["trottoir", "رصيف"],
        "attributes": [
            {
                "code": "kind",
                "datatype": "singlevaluelist",
                "required": True,
                "descriptions": _names("ما نوع الاحتلال؟", "Quel type ?", "What kind?"),
                "values": [
                    _v("terrace", "مقهى أو مطعم", "Terrasse", "Café terrace"),
                    _v("vendor", "باعة متجولون", "Vendeurs ambulants", "Street vendors"),
                    _v(
                        "materials",
                        "مواد البناء",
                        "Matériaux de construction",
                        "Building materials",
                    ),
                    _v("parking", "وقوف عشوائي", "Stationnement gênant", "Obstructive parking"),
                ],
            }
        ],
    },
    {
        "code": "civil_status_appointment",
        "category": "civil_status",
        "icon": "document",
        "group": "administration",
        "target_hours": 72,
        "business_hours": True,
        "department": "Bureau d'état civil",
        "names": _names(
            "موعد الحالة المدنية", "Rendez-vous état civil", "Civil status appointment"
        ),
        "descriptions": _names(
            "طلب موعد لاستخراج وثيقة من الحالة المدنية",
            "Demander un rendez-vous pour un acte d'état civil",
            "Ask for an appointment for a civil status document",
        ),
        "keywords": ["acte", "naissance", "عقد الازدياد"],
        "attributes": [
            {
                "code": "document",
                "datatype": "singlevaluelist",
                "required": True,
                "descriptions": _names("الوثيقة المطلوبة", "Document demandé", "Document needed"),
                "values": [
                    _v("birth", "عقد الازدياد", "Acte de naissance", "Birth certificate"),
                    _v("marriage", "عقد الزواج", "Acte de mariage", "Marriage certificate"),
                    _v("death", "شهادة الوفاة", "Acte de décès", "Death certificate"),
                    _v("family_book", "الدفتر العائلي", "Livret de famille", "Family record book"),
                ],
            },
            {
                "code": "preferred_date",
                "datatype": "datetime",
                "required": True,
                "descriptions": _names("التاريخ المفضل", "Date souhaitée", "Preferred date"),
            },
            {
                "code": "details",
                "datatype": "text",
                "descriptions": _names("تفاصيل", "Précisions", "Details"),
            },
        ],
    },
)

#: Urban communes run these with their own technical department.
URBAN_DEPARTMENTS = {
    "public_lighting": "Direction des services techniques communaux",
    "roads": "Direction des services techniques communaux",
}


def catalogue_for(areas: Sequence[Area]) -> list[Service]:
    """The demo catalogue at each province, and the urban communes' overrides."""
    services: list[Service] = []
    parents = {a.parent_code for a in areas if a.level is Level.COMMUNE}
    for code in sorted(c for c in parents if c):
        services.extend(service_from_dict(entry, area_code=code) for entry in CATALOGUE)
    by_code = {s.code: s for s in services}
    for area in areas:
        if area.level is Level.COMMUNE and area.attributes.get("kind") == "urban":
            for code, department in URBAN_DEPARTMENTS.items():
                base = by_code[code]
                services.append(
                    service_from_dict(
                        {**_plain(base), "department": department}, area_code=area.code
                    )
                )
    return services


def _plain(service: Service) -> dict[str, Any]:
    from hakama.core.services_catalog import service_to_dict

    return service_to_dict(service)


def seed(platform: Platform, *, seed: int, scale: float) -> str:
    """Save the catalogue and load the demo's requests (replacing earlier demo requests)."""
    from hakama.demo import requests as demo_requests

    areas = territory.list_areas(platform)
    actor = system_actor("demo")
    services = catalogue_for(areas)
    service_catalog.save_services(platform, services, actor=actor)
    start, end = _period(platform)
    table, events = demo_requests.generate_requests_and_events(
        areas, seed=seed, scale=scale, start=start, end=end
    )
    loaded = load_requests(platform, table, events, services=services)
    return f"{len(services)} service definitions, {loaded} requests"


def _period(platform: Platform) -> tuple[Any, Any]:
    from datetime import date

    from hakama.demo import readings

    try:
        from hakama.demo.build import read_manifest

        manifest = read_manifest(platform.settings.data_dir)
    except ImportError:
        manifest = None
    if manifest and manifest.get("start") and manifest.get("end"):
        return date.fromisoformat(manifest["start"]), date.fromisoformat(manifest["end"])
    period = readings.demo_period(None)
    return period.start, period.end


def load_requests(
    platform: Platform, table: pa.Table, events: pa.Table | None, *, services: Sequence[Service]
) -> int:
    """Bulk-load generated requests (lake columns) and their events, replacing earlier demo
    rows. Events are not staged for the lake: the demo wrote them there already."""
    names: dict[str, Service] = {}
    for service in services:
        names.setdefault(service.code, service)
    t, e = service_requests, request_events
    with platform.db.begin() as conn:
        conn.execute(e.delete().where(e.c.request_id.like(f"{DEMO_PREFIX}%")))
        conn.execute(t.delete().where(t.c.id.like(f"{DEMO_PREFIX}%")))
        for batch in _batches(_request_rows(table, names)):
            conn.execute(t.insert(), batch)
        if events is not None:
            for batch in _batches(_event_rows(events)):
                conn.execute(e.insert(), batch)
        audit.record(
            conn,
            actor=system_actor("demo"),
            action="request.demo_load",
            resource=f"requests:{table.num_rows}",
            after={"requests": table.num_rows, "events": events.num_rows if events else 0},
        )
    return int(table.num_rows)


def _batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _request_rows(table: pa.Table, services: Mapping[str, Service]) -> Iterator[dict[str, Any]]:
    for batch in table.to_batches(max_chunksize=BATCH):
        for r in batch.to_pylist():
            service = services.get(r["service_code"])
            language = r["language"] or "fr"
            status = r["status"]
            requested = _aware(r["time"])
            last = max(
                (x for x in (requested, _aware(r["resolved_at"]), _aware(r["closed_at"])) if x),
            )
            yield {
                "id": r["request_id"],
                "area_code": r["area_code"],
                "service_code": r["service_code"],
                "service_name": service.name(language) if service else r["service_code"],
                "category": r["category"],
                "status": status,
                "description": "",
                "lat": r["lat"],
                "lon": r["lon"],
                "address": "",
                "address_id": "",
                "attributes": {},
                "media": [],
                "language": language,
                "channel": r["channel"],
                "requested_at": requested,
                "updated_at": last,
                "expected_at": _aware(r["expected_at"]),
                "resolved_at": _aware(r["resolved_at"]),
                "closed_at": _aware(r["closed_at"]),
                "status_notes": "",
                "department": service.department if service else "",
                "assignee": "",
                "reopened": 1 if r["reopened"] else 0,
                "merged_into": None,
                "token_hash": None,
            }


def _event_rows(events: pa.Table) -> Iterator[dict[str, Any]]:
    for batch in events.to_batches(max_chunksize=BATCH):
        for r in batch.to_pylist():
            kind = r["event"]
            yield {
                "request_id": r["request_id"],
                "at": _aware(r["time"]),
                "kind": kind,
                "status": r["status"] or "open",
                "note": "",
                "public": kind not in ("assigned", "commented"),
                "actor": "system:demo",
                "actor_kind": r["actor_kind"],
                "details": {},
            }
