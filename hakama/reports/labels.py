"""The words and numbers of the council report and its downloads, in Arabic, French and English.

Arabic uses Western digits as Morocco's administration does (`ar_MA`: 284.061), French the
Moroccan French style (284 061), English the usual 284,061.
"""

from __future__ import annotations

from babel.numbers import format_decimal

LANGUAGES = ("ar", "fr", "en")
RTL = frozenset({"ar"})
NUMBER_LOCALES = {"ar": "ar_MA", "fr": "fr_MA", "en": "en"}

_TEXT: dict[str, tuple[str, str, str]] = {
    # key: (ar, fr, en)
    "title": ("تقرير المجلس", "Rapport au conseil", "Council report"),
    "generated": ("أعد في", "Établi le", "Made on"),
    "page": ("صفحة", "Page", "Page"),
    "of": ("من", "sur", "of"),
    "period": ("الفترة", "Période", "Period"),
    "period_start": ("بداية الفترة", "Début de la période", "Period start"),
    "code": ("الرمز", "Code", "Code"),
    "previous": ("الفترة السابقة", "Période précédente", "Previous period"),
    "last_year": (
        "نفس الفترة من السنة الماضية",
        "Même période l'an dernier",
        "Same period last year",
    ),
    "change": ("التغير", "Évolution", "Change"),
    "key_figures": ("الأرقام الرئيسية", "Chiffres clés", "Key figures"),
    "indicator": ("المؤشر", "Indicateur", "Indicator"),
    "unit": ("الوحدة", "Unité", "Unit"),
    "value": ("القيمة", "Valeur", "Value"),
    "sample": ("عدد الملاحظات", "Observations", "Observations"),
    "quality": ("الجودة", "Qualité", "Quality"),
    "rank": ("الرتبة", "Rang", "Rank"),
    "province": ("الإقليم", "Province", "Province"),
    "commune": ("الجماعة", "Commune", "Commune"),
    "communes": ("الجماعات", "Communes", "Communes"),
    "lagging": (
        "الجماعات المتأخرة ولماذا",
        "Les communes en retard, et pourquoi",
        "The communes that lag behind, and why",
    ),
    "score": ("المؤشر المركب", "Score composite", "Composite score"),
    "priority": ("ذات أولوية", "prioritaire", "priority"),
    "reasons": ("أكبر الأسباب", "Principales raisons", "Main reasons"),
    "contribution": ("المساهمة (نقاط)", "Contribution (points)", "Contribution (points)"),
    "raw": ("قيمة الجماعة", "Valeur de la commune", "Commune's value"),
    "province_value": ("قيمة الإقليم", "Valeur de la province", "Province's value"),
    "moved": (
        "ما تغير منذ الفترة السابقة",
        "Ce qui a bougé depuis la période précédente",
        "What moved since the previous period",
    ),
    "nothing_moved": (
        "لا شيء تغير بشكل ملموس",
        "Rien n'a bougé sensiblement",
        "Nothing moved noticeably",
    ),
    "census": ("الإحصاء العام", "recensement", "census"),
    "live": ("مؤشر حي", "indicateur vivant", "live indicator"),
    "census_title": (
        "الإحصاء العام للسكان والسكنى 2014 و2024",
        "Recensement 2014 et 2024",
        "Census 2014 and 2024",
    ),
    "service_levels": ("مستوى الخدمات", "Niveau de service", "Service levels"),
    "service": ("الخدمة", "Service", "Service"),
    "all_services": ("كل الخدمات", "Tous les services", "All services"),
    "filed": ("الطلبات المقدمة", "Demandes déposées", "Requests filed"),
    "resolved": ("المعالجة", "Résolues", "Resolved"),
    "backlog": (
        "في الانتظار آخر الفترة",
        "En attente en fin de période",
        "Waiting at the period's end",
    ),
    "median_hours": (
        "الوسيط الزمني للمعالجة (ساعات)",
        "Délai médian de résolution (heures)",
        "Median time to resolve (hours)",
    ),
    "within_target": ("ضمن الأجل (%)", "Dans le délai (%)", "Within target (%)"),
    "alerts": ("تنبيهات الفترة", "Alertes de la période", "Alerts of the period"),
    "alert": ("التنبيه", "Alerte", "Alert"),
    "opened": ("فتح في", "Ouverte le", "Opened"),
    "closed": ("أغلق في", "Fermée le", "Closed"),
    "still_open": ("مازال مفتوحا", "toujours ouverte", "still open"),
    "map": (
        "خريطة الجماعات حسب المؤشر المركب",
        "Carte des communes selon le score composite",
        "Map of the communes by composite score",
    ),
    "best": ("الأفضل", "meilleure", "best"),
    "worst": ("الأسوأ", "la plus en retard", "furthest behind"),
    "no_value": ("بدون قيمة", "sans valeur", "no value"),
    "charts": ("مبيانات", "Graphiques", "Charts"),
    "method": ("المنهجية والمصادر", "Méthode et sources", "Method and sources"),
    "sources": ("المصادر", "Sources", "Sources"),
    "no_indicators": (
        "لا توجد أي قيمة لمؤشر في هذه الفترة.",
        "Aucune valeur d'indicateur pour cette période.",
        "No indicator has a value for this period.",
    ),
    "no_requests": (
        "لم يقدم أي طلب ولم يعالج أي طلب في هذه الفترة.",
        "Aucune demande déposée ni traitée pendant cette période.",
        "No request was filed or handled in this period.",
    ),
    "no_alerts": (
        "لا يوجد أي تنبيه في هذه الفترة.",
        "Aucune alerte pendant cette période.",
        "No alert in this period.",
    ),
    "no_composite": (
        "لا يمكن حساب المؤشر المركب: لا توجد معطيات.",
        "Le score composite ne peut être calculé : aucune donnée.",
        "The composite cannot be computed: no data.",
    ),
    "no_live": (
        "لا توجد مؤشرات حية لهذه الفترة: الترتيب مبني على الإحصاء العام وحده.",
        "Aucun indicateur vivant pour cette période : le classement repose sur le seul recensement.",
        "No live indicator for this period: the ranking rests on the census alone.",
    ),
    "uncertain_note": (
        "≈ : قيمة مبنية على عدد قليل من الملاحظات أو على فترة غير مكتملة.",
        "≈ : valeur fondée sur trop peu d'observations ou sur une période incomplète.",
        "≈: a value resting on too few observations or on a period not fully covered.",
    ),
    "indicators_method": (
        "طريقة حساب كل مؤشر",
        "Mode de calcul de chaque indicateur",
        "How each indicator is computed",
    ),
    "hakama_source": (
        "معطيات هكامة: طلبات المواطنين، السجلات الإدارية، أجهزة الاستشعار",
        "Données hakama : demandes des citoyens, registres administratifs, capteurs",
        "hakama data: citizen requests, administrative records, sensors",
    ),
    "period_compare": (
        "الفترة، الفترة السابقة ونفس الفترة من السنة الماضية",
        "Période, période précédente et même période l'an dernier",
        "Period, previous period and same period last year",
    ),
    "requests_by_commune": ("الطلبات حسب الجماعة", "Demandes par commune", "Requests by commune"),
    "points": ("نقطة", "points", "points"),
    "sheet_sources": ("المصادر", "Sources", "Sources"),
    "downloaded": ("حمل في", "Téléchargé le", "Downloaded"),
    "lower_better": ("الأقل أفضل", "plus bas = mieux", "lower is better"),
    "higher_better": ("الأعلى أفضل", "plus haut = mieux", "higher is better"),
    "year_2014": ("2014", "2014", "2014"),
    "year_2024": ("2024", "2024", "2024"),
    "what": ("البيان", "Donnée", "Figure"),
    "complete": ("كاملة", "complète", "complete"),
    "partial_period": ("فترة غير مكتملة", "période incomplète", "partial period"),
    "too_few_observations": ("ملاحظات قليلة", "trop peu d'observations", "too few observations"),
    "suppressed": ("مخفية: عدد قليل", "masquée : trop peu", "hidden: too few"),
    "sensors": ("أجهزة الاستشعار", "Capteurs", "Sensors"),
    "profile": ("بطاقة الجماعة", "Fiche de la commune", "Commune profile"),
    "profiles": ("الجماعات", "Les communes", "The communes"),
    "search": ("بحث", "Rechercher", "Search"),
    "search_hint": (
        "اسم الجماعة بالعربية أو بالفرنسية",
        "Nom de la commune, en arabe ou en français",
        "The commune's name, in Arabic or French",
    ),
    "no_match": (
        "لا توجد جماعة بهذا الاسم.",
        "Aucune commune de ce nom.",
        "No commune of that name.",
    ),
    "live_title": ("المؤشرات الحية", "Indicateurs vivants", "Live indicators"),
    "trend": ("المنحى", "Tendance", "Trend"),
    "better": ("تحسن", "mieux", "better"),
    "worse": ("تراجع", "moins bien", "worse"),
    "same": ("مستقر", "stable", "steady"),
    "requests_title": ("طلبات المواطنين", "Demandes des citoyens", "Citizen requests"),
    "alerts_open": ("التنبيهات المفتوحة", "Alertes ouvertes", "Open alerts"),
    "staff_only": ("للموظفين فقط", "réservé au personnel", "staff only"),
    "device": ("الجهاز", "Appareil", "Device"),
    "type": ("النوع", "Type", "Type"),
    "last_seen": ("آخر إرسال", "Dernière mesure", "Last seen"),
    "state": ("الحالة", "État", "State"),
    "ok": ("يعمل", "en service", "working"),
    "disabled": ("معطل", "désactivé", "disabled"),
    "never": ("أبدا", "jamais", "never"),
    "no_sensors": (
        "لا يوجد أي جهاز استشعار في هذه الجماعة.",
        "Aucun capteur dans cette commune.",
        "No sensor in this commune.",
    ),
    "composite_place": (
        "المرتبة في المؤشر المركب",
        "Place au score composite",
        "Place on the composite",
    ),
    "see_composite": (
        "طريقة الحساب وكل الجماعات",
        "La méthode et toutes les communes",
        "The method and every commune",
    ),
    "download_csv": ("تحميل (CSV)", "Télécharger (CSV)", "Download (CSV)"),
    "download_xlsx": ("تحميل (XLSX)", "Télécharger (XLSX)", "Download (XLSX)"),
    "print": ("طباعة", "Imprimer", "Print"),
    "dashboards": ("لوحات القيادة", "Tableaux de bord", "Dashboards"),
    "urban": ("حضرية", "urbaine", "urban"),
    "rural": ("قروية", "rurale", "rural"),
    "make_report": (
        "إعداد تقرير المجلس",
        "Établir le rapport au conseil",
        "Make the council report",
    ),
    "area": ("المجال الترابي", "Territoire", "Area"),
    "language": ("اللغة", "Langue", "Language"),
    "format": ("الصيغة", "Format", "Format"),
    "make": ("إعداد", "Établir", "Make"),
    "report_intro": (
        "تقرير للإقليم أو لجماعة واحدة، لفترة واحدة مقارنة بالفترة السابقة وبنفس الفترة من السنة الماضية.",
        "Un rapport pour la province ou une commune, pour une période comparée à la précédente et à la même période l'an dernier.",
        "A report for the province or one commune, for one period compared with the previous one and the same period last year.",
    ),
    "subscriptions": ("الإرسال المنتظم", "Envois programmés", "Scheduled delivery"),
    "frequency": ("الوتيرة", "Fréquence", "Frequency"),
    "monthly": ("شهري", "mensuel", "monthly"),
    "quarterly": ("كل ثلاثة أشهر", "trimestriel", "quarterly"),
    "recipients": ("العناوين الإلكترونية", "Adresses e-mail", "E-mail addresses"),
    "subscribe": ("اشتراك", "Abonner", "Subscribe"),
    "stop": ("إيقاف", "Arrêter", "Stop"),
    "stopped": ("موقوف", "arrêté", "stopped"),
    "sent_record": ("سجل الإرسال", "Envois effectués", "What was sent"),
    "attempts": ("المحاولات", "Tentatives", "Attempts"),
    "file": ("الملف", "Fichier", "File"),
    "when": ("التاريخ", "Date", "When"),
    "delivered": ("أرسل", "envoyé", "sent"),
    "failed": ("فشل", "échec", "failed"),
    "mail_off": ("البريد الإلكتروني غير مفعل على هذا الخادم (HAKAMA_SMTP_HOST).", "L'envoi de courriels n'est pas configuré sur ce serveur (HAKAMA_SMTP_HOST).", "Mail is not set up on this server (HAKAMA_SMTP_HOST)."),
    "period_hint": (
        "2026-Q3 (ربع)، 2026-09 (شهر) أو 2026 (سنة)",
        "2026-Q3 (trimestre), 2026-09 (mois) ou 2026 (année)",
        "2026-Q3 (quarter), 2026-09 (month) or 2026 (year)",
    ),
}

UNITS: dict[str, tuple[str, str, str]] = {
    "days": ("أيام", "jours", "days"),
    "hours": ("ساعات", "heures", "hours"),
    "documents": ("وثائق", "documents", "documents"),
    "hours per lamp": ("ساعات لكل مصباح", "heures par lampe", "hours per lamp"),
    "inhabitants": ("نسمة", "habitants", "inhabitants"),
    "households": ("أسرة", "ménages", "households"),
    "m³ per inhabitant": ("م³ لكل نسمة", "m³ par habitant", "m³ per inhabitant"),
    "per 10,000 inhabitants": ("لكل 10.000 نسمة", "pour 10 000 habitants", "per 10,000 inhabitants"),
    "ratio": ("نسبة", "ratio", "ratio"),
    "requests": ("طلبات", "demandes", "requests"),
    "vehicles": ("مركبات", "véhicules", "vehicles"),
    "km": ("كلم", "km", "km"),
    "points": ("نقطة", "points", "points"),
}


def text(key: str, lang: str) -> str:
    """The report's word for `key` in `lang`."""
    return _TEXT[key][LANGUAGES.index(lang) if lang in LANGUAGES else 2]


def unit(name: str, lang: str) -> str:
    found = UNITS.get(name)
    return found[LANGUAGES.index(lang) if lang in LANGUAGES else 2] if found else name


def number(value: float | None, lang: str) -> str:
    """A value with as many decimals as it deserves, grouped the language's way ("—" for none)."""
    if value is None:
        return "—"
    size = abs(value)
    pattern = "#,##0" if size >= 100 else "#,##0.0" if size >= 10 else "#,##0.##"
    return str(format_decimal(value, format=pattern, locale=NUMBER_LOCALES.get(lang, "en")))


def rounded(value: float | None) -> float | None:
    """The value rounded as `number` shows it (for downloads: the same figure as the page)."""
    if value is None:
        return None
    size = abs(value)
    return round(value) if size >= 100 else round(value, 1) if size >= 10 else round(value, 2)


def signed(value: float | None, lang: str) -> str:
    if value is None:
        return "—"
    shown = number(value, lang)
    return shown if value < 0 or shown.startswith(("-", "−")) else f"+{shown}"
