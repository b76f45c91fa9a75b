"""What a citizen is told when their request changes: which changes, and the words, per language.

Pure: `compose` turns one change into an e-mail (subject, text) and an SMS, in the recipient's
language, each with the request's tracking link and the link that stops the messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hakama.core.requests import EventKind

#: Changes a requester or follower is told about. Assignment, photos and internal notes are not.
NOTIFIED: frozenset[EventKind] = frozenset(
    {
        EventKind.CREATED,
        EventKind.ACKNOWLEDGED,
        EventKind.IN_PROGRESS,
        EventKind.RESOLVED,
        EventKind.CLOSED,
        EventKind.REOPENED,
        EventKind.CONTESTED,
        EventKind.CONFIRMED,
        EventKind.MERGED,
        EventKind.COMMENTED,
    }
)
#: The confirmation a follower gets before anything else (they must answer it).
FOLLOW = "follow"
LANGUAGES = ("ar", "fr", "en")
#: Characters of an agent's note an SMS carries (the e-mail has all of it).
SMS_NOTE = 280


def recipients_told(kind: EventKind, *, public: bool, by_requester: bool, role: str) -> bool:
    """Whether a recipient (`requester` or `follower`) is told about this change."""
    if kind not in NOTIFIED:
        return False
    if kind in (EventKind.COMMENTED, EventKind.MERGED) and not public:
        return False  # an internal note; the primary's side of a merge
    if kind is EventKind.CREATED:
        return role == "requester"
    # What the requester did themselves (contest, confirm, comment) they need not be told.
    return not (by_requester and role == "requester")


_WORDS: Mapping[str, Mapping[str, str]] = {
    "en": {
        "created": "Your request {id} ({service}) was received. The commune will look at it.",
        "acknowledged": "Request {id} ({service}) was acknowledged by the commune.",
        "in_progress": "Work has started on request {id} ({service}).",
        "resolved": "Request {id} ({service}) is resolved. If the problem is still there, say so "
        "from the tracking page.",
        "closed": "Request {id} ({service}) is closed.",
        "confirmed": "Request {id} ({service}) is closed: its requester confirmed it is solved.",
        "reopened": "Request {id} ({service}) is open again.",
        "contested": "Request {id} ({service}) is open again: the problem is not solved.",
        "merged": "Request {id} ({service}) was joined to request {into}, which reports the same "
        "problem. Follow that one from now on.",
        "commented": "The commune wrote about request {id} ({service}).",
        "follow": "Someone asked, with this address, to be told when request {id} ({service}) "
        "changes. To confirm, open: {confirm}\nIf it was not you, ignore this message.",
        "note": "The commune's note: {note}",
        "track": "Follow it: {link}",
        "stop": "Stop these messages: {stop}",
        "subject": "Request {id}: {change}",
        "subject_follow": "Request {id}: confirm to follow it",
        "sms_stop": "STOP: {stop}",
    },
    "fr": {
        "created": "Votre demande {id} ({service}) a été reçue. La commune va l'examiner.",
        "acknowledged": "La demande {id} ({service}) a été prise en compte par la commune.",
        "in_progress": "Les travaux ont commencé pour la demande {id} ({service}).",
        "resolved": "La demande {id} ({service}) est résolue. Si le problème persiste, "
        "dites-le depuis la page de suivi.",
        "closed": "La demande {id} ({service}) est close.",
        "confirmed": "La demande {id} ({service}) est close : son auteur a confirmé la résolution.",
        "reopened": "La demande {id} ({service}) est de nouveau ouverte.",
        "contested": "La demande {id} ({service}) est de nouveau ouverte : le problème n'est pas "
        "résolu.",
        "merged": "La demande {id} ({service}) a été jointe à la demande {into}, qui signale le "
        "même problème. Suivez désormais celle-ci.",
        "commented": "La commune a écrit au sujet de la demande {id} ({service}).",
        "follow": "Quelqu'un a demandé, avec cette adresse, à être prévenu des changements de la "
        "demande {id} ({service}). Pour confirmer, ouvrez : {confirm}\nSi ce n'était pas vous, "
        "ignorez ce message.",
        "note": "Note de la commune : {note}",
        "track": "Suivre la demande : {link}",
        "stop": "Ne plus recevoir ces messages : {stop}",
        "subject": "Demande {id} : {change}",
        "subject_follow": "Demande {id} : confirmez le suivi",
        "sms_stop": "STOP : {stop}",
    },
    "ar": {
        "created": "تم استلام طلبكم {id} ({service}). ستدرسه الجماعة.",
        "acknowledged": "أخذت الجماعة الطلب {id} ({service}) بعين الاعتبار.",
        "in_progress": "بدأت الأشغال في الطلب {id} ({service}).",
        "resolved": "تمت معالجة الطلب {id} ({service}). إن لم يُحَلّ المشكل، أخبرونا من صفحة التتبع.",
        "closed": "أُغلق الطلب {id} ({service}).",
        "confirmed": "أُغلق الطلب {id} ({service})، فقد أكد صاحبه أن المشكل حُلّ.",
        "reopened": "أُعيد فتح الطلب {id} ({service}).",
        "contested": "أُعيد فتح الطلب {id} ({service})، فالمشكل لم يُحَلّ.",
        "merged": "ضُمّ الطلب {id} ({service}) إلى الطلب {into} الذي يبلّغ عن المشكل نفسه. "
        "تابعوا ذلك الطلب من الآن.",
        "commented": "كتبت الجماعة بخصوص الطلب {id} ({service}).",
        "follow": "طلب شخص بهذا العنوان أن يُخبَر بتغيّرات الطلب {id} ({service}). للتأكيد، "
        "افتحوا: {confirm}\nإن لم تكونوا أنتم، فتجاهلوا هذه الرسالة.",
        "note": "ملاحظة الجماعة: {note}",
        "track": "تتبع الطلب: {link}",
        "stop": "إيقاف هذه الرسائل: {stop}",
        "subject": "الطلب {id}: {change}",
        "subject_follow": "الطلب {id}: أكّدوا المتابعة",
        "sms_stop": "إيقاف: {stop}",
    },
}

#: The short name of each change, for subjects.
_CHANGES: Mapping[str, Mapping[str, str]] = {
    "en": {
        "created": "received",
        "acknowledged": "acknowledged",
        "in_progress": "in progress",
        "resolved": "resolved",
        "closed": "closed",
        "confirmed": "closed",
        "reopened": "open again",
        "contested": "open again",
        "merged": "joined to another",
        "commented": "a note from the commune",
    },
    "fr": {
        "created": "reçue",
        "acknowledged": "prise en compte",
        "in_progress": "en cours",
        "resolved": "résolue",
        "closed": "close",
        "confirmed": "close",
        "reopened": "rouverte",
        "contested": "rouverte",
        "merged": "jointe à une autre",
        "commented": "une note de la commune",
    },
    "ar": {
        "created": "تم الاستلام",
        "acknowledged": "أُخذ بعين الاعتبار",
        "in_progress": "قيد الإنجاز",
        "resolved": "تمت المعالجة",
        "closed": "مغلق",
        "confirmed": "مغلق",
        "reopened": "أُعيد فتحه",
        "contested": "أُعيد فتحه",
        "merged": "ضُمّ إلى طلب آخر",
        "commented": "ملاحظة من الجماعة",
    },
}


@dataclass(frozen=True)
class Notice:
    """One change to tell one recipient about (an outbox row, with what the sender looked up)."""

    kind: str  # an EventKind value, or FOLLOW
    request_id: str
    service: str
    note: str = ""
    merged_into: str = ""


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    sms: str


def language_of(lang: str) -> str:
    """The language notices are written in: the one asked if we write it, else Arabic."""
    return lang if lang in _WORDS else "ar"


def compose(
    notice: Notice, *, language: str, track_url: str, stop_url: str, confirm_url: str = ""
) -> Message:
    """The e-mail and the SMS telling of `notice`, in `language` (Arabic if not written)."""
    words = _WORDS[language_of(language)]
    values = {
        "id": notice.request_id,
        "service": notice.service,
        "into": notice.merged_into,
        "link": track_url,
        "stop": stop_url,
        "confirm": confirm_url,
        "note": notice.note.strip(),
    }
    lead = words[notice.kind].format(**values)
    if notice.kind == FOLLOW:
        subject = words["subject_follow"].format(**values)
        return Message(subject=subject, text=lead + "\n", sms=lead)
    change = _CHANGES[language_of(language)][notice.kind]
    subject = words["subject"].format(**values, change=change)
    parts = [lead]
    if values["note"]:
        parts.append(words["note"].format(**values))
    body = "\n\n".join(parts)
    text = f"{body}\n\n{words['track'].format(**values)}\n\n-- \n{words['stop'].format(**values)}\n"
    short = values["note"]
    if len(short) > SMS_NOTE:
        short = short[: SMS_NOTE - 1].rstrip() + "…"
    sms_body = lead + (" " + words["note"].format(**{**values, "note": short}) if short else "")
    sms = f"{sms_body} {track_url} {words['sms_stop'].format(**values)}"
    return Message(subject=subject, text=text, sms=sms)
