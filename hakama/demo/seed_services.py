"""The demo's service catalogue and its service requests in the operational database.

`CATALOGUE` is a realistic catalogue for a Moroccan commune, in Arabic, French and English. It
is defined once at each province (every commune of it inherits it); urban communes, which run
their own technical services, override the department of some services — the way a real
catalogue grows. Then the requests the demo generated for the lake (`hakama.demo.requests`)
are loaded into the operational database in bulk, with their histories, so the back office,
Open311 and the portal show the same year the indicators are computed from
(`hakama.demo.request_load`). No requester contact details are made up: the demo has none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hakama.core.access import system_actor
from hakama.core.request_types import Service, service_from_dict
from hakama.core.territory import Area, Level
from hakama.demo.request_load import load_requests
from hakama.services import request_types, territory
from hakama.services.platform import Platform

Names = tuple[str, str, str]
#: Tamazight (Tifinagh) names of some services (a first draft, for a native speaker to review);
#: the others show their Arabic name on Tamazight pages.
ZGH_NAMES = {
    "public_lighting": "ⵜⴰⴼⴰⵡⵜ ⵜⴰⵎⴰⵜⴰⵢⵜ",
    "roads": "ⵉⴱⵔⴷⴰⵏ",
    "water_leak": "ⴰⴼⴼⴰⵢ ⵏ ⵡⴰⵎⴰⵏ",
    "green_spaces": "ⵉⴷⵖⴰⵔⵏ ⵉⵣⴳⵣⴰⵡⵏ",
    "noise": "ⵜⴰⵖⵓⵢⵢⴰ",
}


def _names(names: Names) -> dict[str, str]:
    """A text in the three languages of the UI, keyed by language."""
    ar, fr, en = names
    return {"ar": ar, "fr": fr, "en": en}


def _choice(
    code: str, datatype: str, question: Names, values: Sequence[tuple[str, str, str, str]]
) -> dict[str, Any]:
    """A required list attribute: its question and its `(key, ar, fr, en)` values."""
    return {
        "code": code,
        "datatype": datatype,
        "required": True,
        "descriptions": _names(question),
        "values": [{"key": key, "names": _names((ar, fr, en))} for key, ar, fr, en in values],
    }


def _field(code: str, datatype: str, question: Names, *, required: bool = False) -> dict[str, Any]:
    """A free attribute (text, number, date) and its question."""
    field: dict[str, Any] = {"code": code, "datatype": datatype}
    if required:
        field["required"] = True
    field["descriptions"] = _names(question)
    return field


#: The departments as the demo catalogue stores them (in French, as the province's records are
#: kept), with their names per language for the pages; Tamazight pages fall back to Arabic.
DEPARTMENTS: Mapping[str, Mapping[str, str]] = {
    "Service technique — éclairage public": {
        "ar": "المصلحة التقنية — الإنارة العمومية",
        "en": "Technical service — street lighting",
    },
    "Service d'hygiène — collecte des déchets": {
        "ar": "مصلحة حفظ الصحة — جمع النفايات",
        "en": "Sanitation service — waste collection",
    },
    "Service technique — voirie": {
        "ar": "المصلحة التقنية — الطرق",
        "en": "Technical service — roads",
    },
    "Régie de distribution — eau potable": {
        "ar": "وكالة التوزيع — الماء الصالح للشرب",
        "en": "Distribution agency — drinking water",
    },
    "Service d'assainissement": {"ar": "مصلحة التطهير السائل", "en": "Sewerage service"},
    "Service des espaces verts": {
        "ar": "مصلحة المساحات الخضراء",
        "en": "Parks and green spaces service",
    },
    "Bureau communal d'hygiène": {"ar": "المكتب الجماعي لحفظ الصحة", "en": "Municipal health office"},
    "Police administrative": {"ar": "الشرطة الإدارية", "en": "Administrative police"},
    "Service d'hygiène — propreté": {
        "ar": "مصلحة حفظ الصحة — النظافة",
        "en": "Sanitation service — cleanliness",
    },
    "Bureau d'état civil": {"ar": "مكتب الحالة المدنية", "en": "Civil registry office"},
    "Direction des services techniques communaux": {
        "ar": "مديرية المصالح التقنية الجماعية",
        "en": "Municipal technical services directorate",
    },
}


def _department_names(department: str) -> dict[str, str]:
    return {"fr": department, **DEPARTMENTS[department]}


def _service(
    code: str,
    *,
    icon: str,
    group: str,
    hours: int,
    department: str,
    names: Names,
    descriptions: Names,
    keywords: list[str],
    attributes: list[dict[str, Any]],
    category: str | None = None,
    business_hours: bool = False,
) -> dict[str, Any]:
    """One catalogue entry in the form `service_from_dict` reads (category defaults to code)."""
    entry: dict[str, Any] = {
        "code": code,
        "category": category or code,
        "icon": icon,
        "group": group,
        "target_hours": hours,
    }
    if business_hours:
        entry["business_hours"] = True
    entry.update(
        department=department,
        department_names=_department_names(department),
        names=_names(names) | ({"zgh": ZGH_NAMES[code]} if code in ZGH_NAMES else {}),
        descriptions=_names(descriptions),
        keywords=keywords,
        attributes=attributes,
    )
    return entry


CATALOGUE: tuple[Mapping[str, Any], ...] = (
    _service(
        "public_lighting",
        icon="lighting",
        group="infrastructure",
        hours=72,
        department="Service technique — éclairage public",
        names=("الإنارة العمومية", "Éclairage public", "Street lighting"),
        descriptions=(
            "مصباح مطفأ أو يشتعل نهارا أو عمود متضرر",
            "Lampadaire éteint, allumé le jour ou poteau endommagé",
            "Street light out, on by day, or a damaged pole",
        ),
        keywords=["lampadaire", "lumière", "إنارة"],
        attributes=[
            _choice(
                "problem",
                "singlevaluelist",
                ("ما المشكل؟", "Quel est le problème ?", "What is wrong?"),
                [
                    ("off", "مطفأ", "Éteint", "Out"),
                    ("flickering", "يومض", "Clignote", "Flickering"),
                    ("on_daytime", "مشتعل نهارا", "Allumé le jour", "On during the day"),
                    ("damaged_pole", "عمود متضرر", "Poteau endommagé", "Damaged pole"),
                ],
            ),
            _field(
                "pole_number",
                "string",
                ("رقم العمود (إن وجد)", "Numéro du poteau (si visible)", "Pole number (if shown)"),
            ),
        ],
    ),
    _service(
        "waste",
        icon="waste",
        group="cleanliness",
        hours=48,
        department="Service d'hygiène — collecte des déchets",
        names=("جمع النفايات", "Collecte des déchets", "Waste collection"),
        descriptions=(
            "نفايات لم تجمع أو حاوية ممتلئة أو متضررة",
            "Déchets non ramassés, bac plein ou abîmé",
            "Rubbish not collected, bin full or damaged",
        ),
        keywords=["poubelle", "ordures", "نفايات"],
        attributes=[
            _choice(
                "problem",
                "singlevaluelist",
                ("ما المشكل؟", "Quel est le problème ?", "What is wrong?"),
                [
                    ("not_collected", "لم تجمع", "Non ramassés", "Not collected"),
                    ("overflowing_bin", "حاوية ممتلئة", "Bac qui déborde", "Overflowing bin"),
                    ("damaged_bin", "حاوية متضررة", "Bac abîmé", "Damaged bin"),
                    ("missing_bin", "لا توجد حاوية", "Pas de bac", "No bin"),
                ],
            ),
        ],
    ),
    _service(
        "roads",
        icon="road",
        group="infrastructure",
        hours=240,
        department="Service technique — voirie",
        names=("الطرق والحفر", "Voirie et nids-de-poule", "Roads and potholes"),
        descriptions=(
            "حفرة أو طريق منهار أو رصيف أو علامة متضررة",
            "Nid-de-poule, chaussée effondrée, trottoir ou panneau abîmé",
            "Pothole, collapsed road, damaged pavement or sign",
        ),
        keywords=["route", "trou", "طريق", "حفرة"],
        attributes=[
            _choice(
                "hazard",
                "singlevaluelist",
                ("نوع الضرر", "Type de dégât", "Kind of damage"),
                [
                    ("pothole", "حفرة", "Nid-de-poule", "Pothole"),
                    ("collapsed", "انهيار", "Chaussée effondrée", "Collapsed road"),
                    ("sidewalk", "رصيف متضرر", "Trottoir abîmé", "Damaged pavement"),
                    ("sign", "علامة متضررة", "Panneau abîmé", "Damaged sign"),
                ],
            ),
            _field(
                "width_m",
                "number",
                ("العرض التقريبي بالأمتار", "Largeur approximative (m)", "Approximate width (m)"),
            ),
        ],
    ),
    _service(
        "water_leak",
        icon="water",
        group="water",
        hours=24,
        department="Régie de distribution — eau potable",
        names=("تسرب الماء", "Fuite d'eau", "Water leak"),
        descriptions=(
            "تسرب في الشارع أو عند العداد",
            "Fuite sur la voie publique ou au compteur",
            "Leak in the street or at a meter",
        ),
        keywords=["eau", "fuite", "ماء"],
        attributes=[
            _choice(
                "where",
                "singlevaluelist",
                ("أين التسرب؟", "Où est la fuite ?", "Where is the leak?"),
                [
                    ("street", "في الشارع", "Dans la rue", "In the street"),
                    ("meter", "عند العداد", "Au compteur", "At a meter"),
                    ("hydrant", "صنبور إطفاء", "Bouche d'incendie", "Fire hydrant"),
                ],
            ),
            _field("since", "datetime", ("منذ متى؟", "Depuis quand ?", "Since when?")),
        ],
    ),
    _service(
        "sanitation",
        icon="sewer",
        group="water",
        hours=72,
        department="Service d'assainissement",
        names=("التطهير السائل", "Assainissement et égouts", "Sanitation and sewers"),
        descriptions=(
            "مجرى مسدود أو بالوعة مفتوحة أو فيضان",
            "Égout bouché, regard ouvert, inondation ou odeurs",
            "Blocked sewer, open manhole, flooding or smell",
        ),
        keywords=["égout", "بالوعة"],
        attributes=[
            _choice(
                "problem",
                "singlevaluelist",
                ("ما المشكل؟", "Quel est le problème ?", "What is wrong?"),
                [
                    ("blocked", "انسداد", "Égout bouché", "Blocked sewer"),
                    ("open_manhole", "بالوعة مفتوحة", "Regard ouvert", "Open manhole"),
                    ("flooding", "فيضان", "Inondation", "Flooding"),
                    ("smell", "روائح", "Odeurs", "Smell"),
                ],
            ),
        ],
    ),
    _service(
        "green_spaces",
        icon="tree",
        group="environment",
        hours=168,
        department="Service des espaces verts",
        names=("المساحات الخضراء", "Espaces verts", "Parks and green spaces"),
        descriptions=(
            "سقي أو تقليم أو شجرة ساقطة أو تجهيزات متضررة",
            "Arrosage, taille, arbre tombé ou équipement abîmé",
            "Watering, pruning, fallen tree or damaged equipment",
        ),
        keywords=["jardin", "arbre", "حديقة"],
        attributes=[
            _choice(
                "needs",
                "multivaluelist",
                ("ماذا يلزم؟", "Que faut-il faire ?", "What is needed?"),
                [
                    ("watering", "سقي", "Arrosage", "Watering"),
                    ("pruning", "تقليم", "Taille", "Pruning"),
                    ("fallen_tree", "شجرة ساقطة", "Arbre tombé", "Fallen tree"),
                    ("equipment", "تجهيزات متضررة", "Équipement abîmé", "Damaged equipment"),
                ],
            ),
        ],
    ),
    _service(
        "stray_animals",
        icon="animal",
        group="health",
        hours=72,
        department="Bureau communal d'hygiène",
        names=("الحيوانات الضالة", "Animaux errants", "Stray animals"),
        descriptions=(
            "كلاب ضالة أو ماشية في الطريق",
            "Chiens errants ou bétail sur la voie publique",
            "Stray dogs or livestock on the road",
        ),
        keywords=["chien", "كلاب"],
        attributes=[
            _choice(
                "animal",
                "singlevaluelist",
                ("أي حيوان؟", "Quel animal ?", "Which animal?"),
                [
                    ("dog", "كلب", "Chien", "Dog"),
                    ("cat", "قط", "Chat", "Cat"),
                    ("livestock", "ماشية", "Bétail", "Livestock"),
                    ("other", "آخر", "Autre", "Other"),
                ],
            ),
            _field("count", "number", ("كم عددها؟", "Combien ?", "How many?")),
        ],
    ),
    _service(
        "noise",
        icon="noise",
        group="health",
        hours=48,
        department="Police administrative",
        names=("الضوضاء", "Nuisances sonores", "Noise"),
        descriptions=(
            "أشغال أو محل أو حفل في ساعات متأخرة",
            "Chantier, commerce ou fête à des heures tardives",
            "Works, a business or a party late at night",
        ),
        keywords=["bruit", "ضجيج"],
        attributes=[
            _choice(
                "source",
                "singlevaluelist",
                ("مصدر الضوضاء", "Source du bruit", "Source of the noise"),
                [
                    ("works", "أشغال", "Chantier", "Works"),
                    ("business", "محل تجاري", "Commerce", "Business"),
                    ("party", "حفل", "Fête", "Party"),
                    ("vehicles", "مركبات", "Véhicules", "Vehicles"),
                ],
            ),
            _field("when", "datetime", ("متى؟", "Quand ?", "When?")),
        ],
    ),
    _service(
        "illegal_dumping",
        icon="dumping",
        group="cleanliness",
        hours=120,
        department="Service d'hygiène — propreté",
        names=("رمي النفايات العشوائي", "Dépôt sauvage", "Illegal dumping"),
        descriptions=(
            "ردم أو نفايات مرمية في مكان غير مخصص",
            "Gravats ou déchets jetés hors des points prévus",
            "Rubble or rubbish dumped where it should not be",
        ),
        keywords=["gravats", "décharge", "ردم"],
        attributes=[
            _choice(
                "kind",
                "multivaluelist",
                ("نوع النفايات", "Type de déchets", "Kind of waste"),
                [
                    ("rubble", "ردم", "Gravats", "Rubble"),
                    ("household", "منزلية", "Ménagers", "Household"),
                    ("green", "خضراء", "Végétaux", "Green waste"),
                    ("bulky", "كبيرة الحجم", "Encombrants", "Bulky items"),
                    ("hazardous", "خطرة", "Dangereux", "Hazardous"),
                ],
            ),
        ],
    ),
    _service(
        "public_space_occupation",
        icon="occupation",
        group="public_space",
        hours=240,
        department="Police administrative",
        names=("احتلال الملك العمومي", "Occupation du domaine public", "Blocked public space"),
        descriptions=(
            "رصيف أو ساحة محتلة بدون ترخيص",
            "Trottoir ou place occupés sans autorisation",
            "Pavement or square taken over without a permit",
        ),
        keywords=["trottoir", "رصيف"],
        attributes=[
            _choice(
                "kind",
                "singlevaluelist",
                ("ما نوع الاحتلال؟", "Quel type ?", "What kind?"),
                [
                    ("terrace", "مقهى أو مطعم", "Terrasse", "Café terrace"),
                    ("vendor", "باعة متجولون", "Vendeurs ambulants", "Street vendors"),
                    ("materials", "مواد البناء", "Matériaux de construction", "Building materials"),
                    ("parking", "وقوف عشوائي", "Stationnement gênant", "Obstructive parking"),
                ],
            ),
        ],
    ),
    _service(
        "civil_status_appointment",
        category="civil_status",
        icon="document",
        group="administration",
        hours=72,
        business_hours=True,
        department="Bureau d'état civil",
        names=("موعد الحالة المدنية", "Rendez-vous état civil", "Civil status appointment"),
        descriptions=(
            "طلب موعد لاستخراج وثيقة من الحالة المدنية",
            "Demander un rendez-vous pour un acte d'état civil",
            "Ask for an appointment for a civil status document",
        ),
        keywords=["acte", "naissance", "عقد الازدياد"],
        attributes=[
            _choice(
                "document",
                "singlevaluelist",
                ("الوثيقة المطلوبة", "Document demandé", "Document needed"),
                [
                    ("birth", "عقد الازدياد", "Acte de naissance", "Birth certificate"),
                    ("marriage", "عقد الزواج", "Acte de mariage", "Marriage certificate"),
                    ("death", "شهادة الوفاة", "Acte de décès", "Death certificate"),
                    ("family_book", "الدفتر العائلي", "Livret de famille", "Family record book"),
                ],
            ),
            _field(
                "preferred_date",
                "datetime",
                ("التاريخ المفضل", "Date souhaitée", "Preferred date"),
                required=True,
            ),
            _field("details", "text", ("تفاصيل", "Précisions", "Details")),
        ],
    ),
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
                        {
                            **_plain(base),
                            "department": department,
                            "department_names": _department_names(department),
                        },
                        area_code=area.code,
                    )
                )
    return services


def _plain(service: Service) -> dict[str, Any]:
    from hakama.core.request_types import service_to_dict

    return service_to_dict(service)


def seed(platform: Platform, *, seed: int, scale: float) -> str:
    """Save the catalogue and load the demo's requests (replacing earlier demo requests)."""
    from hakama.demo import requests as demo_requests

    areas = territory.list_areas(platform)
    actor = system_actor("demo")
    services = catalogue_for(areas)
    request_types.save_services(platform, services, actor=actor)
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
