"""CAP 1.2 (OASIS Common Alerting Protocol) messages for outbound alert notifications.

SMS gateways, district command systems and public-warning tools understand CAP, so a fired
response-time alert leaves Helpline 15 as a CAP `<alert>`. `validate_cap` checks what the CAP 1.2
schema requires (element order, enumerations, date format) so a malformed message is caught here
and not by a receiver at 3 a.m.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from alerts.policy import Tier
from alerts.timers import FiredAlert

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
DEFAULT_SENDER = "helpline15@punjabpolice.gov.pk"

SEVERITY = {
    Tier.ADVISORY: "Minor",
    Tier.WARNING: "Moderate",
    Tier.CRITICAL: "Severe",
    Tier.EMERGENCY: "Extreme",
}
URGENCY = {
    Tier.ADVISORY: "Expected",
    Tier.WARNING: "Immediate",
    Tier.CRITICAL: "Immediate",
    Tier.EMERGENCY: "Immediate",
}

_ENUMS = {
    "status": {"Actual", "Exercise", "System", "Test", "Draft"},
    "msgType": {"Alert", "Update", "Cancel", "Ack", "Error"},
    "scope": {"Public", "Restricted", "Private"},
    "category": {
        "Geo",
        "Met",
        "Safety",
        "Security",
        "Rescue",
        "Fire",
        "Health",
        "Env",
        "Transport",
        "Infra",
        "CBRNE",
        "Other",
    },  # fmt: skip
    "urgency": {"Immediate", "Expected", "Future", "Past", "Unknown"},
    "severity": {"Extreme", "Severe", "Moderate", "Minor", "Unknown"},
    "certainty": {"Observed", "Likely", "Possible", "Unlikely", "Unknown"},
}
# Element order of the CAP 1.2 schema (xs:sequence); '?' optional, '*' repeatable, '+' 1..n.
_ALERT_ORDER = ["identifier", "sender", "sent", "status", "msgType", "source?", "scope",
                "restriction?", "addresses?", "code*", "note?", "references?", "incidents?",
                "info*"]  # fmt: skip
_INFO_ORDER = ["language?", "category+", "event", "responseType*", "urgency", "severity",
               "certainty", "audience?", "eventCode*", "effective?", "onset?", "expires?",
               "senderName?", "headline?", "description?", "instruction?", "web?", "contact?",
               "parameter*", "resource*", "area*"]  # fmt: skip
_AREA_ORDER = ["areaDesc", "polygon*", "circle*", "geocode*", "altitude?", "ceiling?"]
_CAP_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
_CIRCLE = re.compile(r"^-?\d+(\.\d+)?,-?\d+(\.\d+)? \d+(\.\d+)?$")
_BAD_ID_CHARS = re.compile(r"[\s,<&]")


class CapError(ValueError):
    """A CAP message breaks the CAP 1.2 rules; `problems` lists every rule broken."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid CAP 1.2 message: " + "; ".join(problems))
        self.problems = problems


def cap_time(moment: datetime) -> str:
    """CAP dates: seconds precision, explicit offset, never 'Z' (CAP 1.2 section 3.3.2)."""
    if moment.tzinfo is None:
        raise ValueError("CAP times must be timezone-aware")
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def build_cap(
    alert: FiredAlert,
    *,
    sender: str = DEFAULT_SENDER,
    incident_type: str | None = None,
    priority: str | None = None,
    area_desc: str = "Helpline 15 jurisdiction",
    lat: float | None = None,
    lon: float | None = None,
    radius_km: float = 0.5,
    status: str = "Actual",
    web: str | None = None,
) -> str:
    """A CAP 1.2 `<alert>` for a fired response-time alert, validated before it is returned.

    The identifier is derived from the alert key, so retries of one delivery carry the same
    identifier and a receiver can drop the repeat.
    """
    ET.register_namespace("", CAP_NS)

    def sub(parent: ET.Element, tag: str, text: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
        element.text = text
        return element

    root = ET.Element(f"{{{CAP_NS}}}alert")
    sub(root, "identifier", "h15-" + re.sub(r"[^A-Za-z0-9_.:-]", "_", alert.key))
    sub(root, "sender", sender)
    sub(root, "sent", cap_time(alert.fired_at))
    sub(root, "status", status)
    sub(root, "msgType", "Alert")
    sub(root, "scope", "Restricted")
    told = ", ".join(sorted({str(r) for r in alert.recipients})) or "duty officers"
    sub(root, "restriction", f"Punjab Police command staff: {told}")
    sub(root, "incidents", str(alert.incident_id).replace(" ", "_"))
    info = ET.SubElement(root, f"{{{CAP_NS}}}info")
    sub(info, "language", "en-US")
    sub(info, "category", "Security")
    sub(info, "event", f"Response time {alert.tier.value}")
    sub(info, "responseType", "Monitor" if alert.tier is Tier.ADVISORY else "Execute")
    sub(info, "urgency", URGENCY[alert.tier])
    sub(info, "severity", SEVERITY[alert.tier])
    sub(info, "certainty", "Observed")
    sub(info, "senderName", "Punjab Police Helpline 15")
    what = incident_type.replace("_", " ") if incident_type else "incident"
    late = " (raised late)" if alert.late else ""
    sub(info, "headline", f"{alert.tier.value.upper()}: {what} {alert.incident_id} "
        f"- {alert.milestone.replace('_', ' ')} overdue{late}")  # fmt: skip
    sub(
        info,
        "description",
        (
            f"Incident {alert.incident_id} ({priority or 'unclassified'}, {what}) has not reached "
            f"'{alert.milestone}' by {cap_time(alert.due_at)}; alert tier {alert.tier.value}."
        ),
    )
    if web:
        sub(info, "web", web)
    for name, value in (
        ("incident_id", str(alert.incident_id)),
        ("priority", priority or "unclassified"),
        ("milestone", alert.milestone),
        ("tier", alert.tier.value),
        ("due_at", cap_time(alert.due_at)),
        ("late", "true" if alert.late else "false"),
    ):
        parameter = ET.SubElement(info, f"{{{CAP_NS}}}parameter")
        sub(parameter, "valueName", name)
        sub(parameter, "value", value)
    area = ET.SubElement(info, f"{{{CAP_NS}}}area")
    sub(area, "areaDesc", area_desc)
    if lat is not None and lon is not None:
        sub(area, "circle", f"{lat:.6f},{lon:.6f} {radius_km:g}")
    text = ET.tostring(root, encoding="unicode", xml_declaration=False)
    document = '<?xml version="1.0" encoding="UTF-8"?>\n' + text
    validate_cap(document)
    return document


def _local(tag: str) -> str:
    return tag.split("}", 1)[1] if tag.startswith("{") else tag


def _check_order(parent: ET.Element, order: list[str], where: str, problems: list[str]) -> None:
    """Walk children against an xs:sequence: order, required and repeat rules."""
    children = [_local(child.tag) for child in parent]
    position = 0
    for spec in order:
        name, mark = (spec[:-1], spec[-1]) if spec[-1] in "?*+" else (spec, "")
        count = 0
        while position < len(children) and children[position] == name:
            position += 1
            count += 1
        if count == 0 and mark in ("", "+"):
            problems.append(f"{where}: <{name}> is required")
        if count > 1 and mark in ("", "?"):
            problems.append(f"{where}: <{name}> may appear once")
    if position < len(children):
        problems.append(f"{where}: unexpected or out-of-order <{children[position]}>")


def validate_cap(document: str) -> ET.Element:
    """Parse and check a CAP 1.2 alert with at least one info; raises CapError listing problems."""
    try:
        root = ET.fromstring(document.encode("utf-8"))
    except ET.ParseError as exc:
        raise CapError([f"not well-formed XML: {exc}"]) from exc
    problems: list[str] = []
    if root.tag != f"{{{CAP_NS}}}alert":
        raise CapError([f"root must be <alert> in namespace {CAP_NS}, got {root.tag}"])
    ns = {"cap": CAP_NS}
    _check_order(root, _ALERT_ORDER, "alert", problems)
    infos = root.findall("cap:info", ns)
    if not infos:
        problems.append("alert: at least one <info> is required here")
    for i, info in enumerate(infos):
        _check_order(info, _INFO_ORDER, f"info[{i}]", problems)
        for j, area in enumerate(info.findall("cap:area", ns)):
            _check_order(area, _AREA_ORDER, f"info[{i}].area[{j}]", problems)
            for circle in area.findall("cap:circle", ns):
                if not _CIRCLE.match(circle.text or ""):
                    problems.append(f"circle {circle.text!r} is not 'lat,lon radius'")
    for element in root.iter():
        name, text = _local(element.tag), (element.text or "").strip()
        if name in _ENUMS and text not in _ENUMS[name]:
            problems.append(f"<{name}> {text!r} is not one of {sorted(_ENUMS[name])}")
        if name in ("sent", "effective", "onset", "expires") and not _CAP_TIME.match(text):
            problems.append(f"<{name}> {text!r} must look like 2026-01-31T12:00:00+00:00")
        if name in ("identifier", "sender") and (not text or _BAD_ID_CHARS.search(text)):
            problems.append(f"<{name}> {text!r} must be non-empty, without spaces, ',' '<' '&'")
    scope = root.findtext("cap:scope", default="", namespaces=ns)
    if scope == "Restricted" and root.find("cap:restriction", ns) is None:
        problems.append("scope Restricted requires <restriction>")
    if scope == "Private" and root.find("cap:addresses", ns) is None:
        problems.append("scope Private requires <addresses>")
    if problems:
        raise CapError(problems)
    return root
