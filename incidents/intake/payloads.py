"""What monitoring sends, read into one shape (issue 12): the Prometheus Alertmanager webhook
(version 4), the Grafana alerting webhook, and the portal's generic JSON. Everything is
checked and bounded here; a payload that is not what it claims raises PayloadError with the
reason, which the endpoint answers with 400 (never a 500)."""

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

MAX_ALERTS = 1000
MAX_LABELS = 100
MAX_TEXT = 2000
MAX_URL = 1000


class PayloadError(ValueError):
    """The payload is malformed; the message says how, for the sender's logs."""


@dataclass
class AlertIn:
    fingerprint: str
    status: str  # "firing" or "resolved"
    title: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    source_url: str = ""
    runbook_url: str = ""
    dashboard_url: str = ""


@dataclass
class GroupIn:
    key: str
    alerts: list[AlertIn] = field(default_factory=list)


_FRACTION = re.compile(r"(\.\d{6})\d+")


def clean(text: str) -> str:
    """No NUL characters: PostgreSQL refuses them in text and JSON, and no sender means one."""
    return text.replace("\x00", "")


def parse_time(value, what: str) -> datetime | None:
    """RFC 3339 as Go writes it (nanoseconds, "Z"); Go's zero time and empty mean none; a
    time outside 2000-2100 is none too (never a reason to refuse an alert)."""
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise PayloadError(f"{what} must be an RFC 3339 time string")
    text = _FRACTION.sub(r"\1", value.strip()).replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise PayloadError(f"{what} is not an RFC 3339 time: {value[:40]!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if not 2000 <= parsed.year <= 2100:
        return None
    return parsed.astimezone(UTC)


def _strings(value, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PayloadError(f"{what} must be an object of strings")
    if len(value) > MAX_LABELS:
        raise PayloadError(f"{what} has more than {MAX_LABELS} entries")
    out = {}
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str | int | float | bool):
            raise PayloadError(f"{what} must be an object of strings")
        out[clean(key)[:200]] = clean(str(item))[:MAX_TEXT]
    return out


def _url(value) -> str:
    if not isinstance(value, str):
        return ""
    value = clean(value).strip()
    if len(value) > MAX_URL or not value.startswith(("http://", "https://")):
        return ""
    return value


def _status(value, what: str) -> str:
    if value not in ("firing", "resolved"):
        raise PayloadError(f'{what} must be "firing" or "resolved"')
    return value


def _labels_fingerprint(labels: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:32]


def _title(labels: dict, annotations: dict) -> str:
    title = (
        annotations.get("summary")
        or annotations.get("title")
        or labels.get("alertname")
        or annotations.get("description")
        or "Alert"
    )
    return clean(" ".join(title.split()))[:300] or "Alert"


def _alert_list(data: dict) -> list:
    alerts = data.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        raise PayloadError("alerts must be a non-empty list")
    if len(alerts) > MAX_ALERTS:
        raise PayloadError(f"more than {MAX_ALERTS} alerts in one request")
    if not all(isinstance(a, dict) for a in alerts):
        raise PayloadError("each alert must be an object")
    return alerts


def alertmanager(data, *, versions=("4",), kind="Alertmanager") -> list[GroupIn]:
    """Alertmanager's webhook: one group (groupKey) of alerts. Grafana's has the same shape."""
    if not isinstance(data, dict):
        raise PayloadError("the body must be a JSON object")
    if str(data.get("version", "")) not in versions:
        raise PayloadError(
            f"{kind} webhook version {data.get('version')!r} is not supported "
            f"(expected {' or '.join(versions)})"
        )
    group_key = data.get("groupKey")
    if not isinstance(group_key, str) or not group_key or len(group_key) > MAX_TEXT:
        raise PayloadError("groupKey must be a non-empty string")
    common = _strings(data.get("commonAnnotations"), "commonAnnotations")
    group = GroupIn(key=clean(group_key))
    for n, raw in enumerate(_alert_list(data)):
        labels = _strings(raw.get("labels"), f"alerts[{n}].labels")
        annotations = {**common, **_strings(raw.get("annotations"), f"alerts[{n}].annotations")}
        fingerprint = raw.get("fingerprint")
        if fingerprint is not None and (not isinstance(fingerprint, str) or len(fingerprint) > 128):
            raise PayloadError(f"alerts[{n}].fingerprint must be a string")
        group.alerts.append(
            AlertIn(
                fingerprint=clean(fingerprint or "") or _labels_fingerprint(labels),
                status=_status(raw.get("status"), f"alerts[{n}].status"),
                title=_title(labels, annotations),
                labels=labels,
                annotations=annotations,
                starts_at=parse_time(raw.get("startsAt"), f"alerts[{n}].startsAt"),
                ends_at=parse_time(raw.get("endsAt"), f"alerts[{n}].endsAt"),
                source_url=_url(raw.get("generatorURL")),
                runbook_url=_url(annotations.get("runbook_url") or annotations.get("runbook")),
                dashboard_url=_url(raw.get("dashboardURL") or raw.get("panelURL"))
                or _url(annotations.get("dashboard_url") or annotations.get("dashboard")),
            )
        )
    return [group]


def grafana(data) -> list[GroupIn]:
    return alertmanager(data, versions=("1",), kind="Grafana")


def generic(data) -> list[GroupIn]:
    """The portal's own format: one alert object, or {"alerts": [...]}. Each alert:
    dedup_key (required), status, title (required), severity, component, type, group,
    description, labels, source_url, runbook_url, dashboard_url, started_at."""
    if not isinstance(data, dict):
        raise PayloadError("the body must be a JSON object")
    raw_alerts = _alert_list(data) if "alerts" in data else [data]
    groups: dict[str, GroupIn] = {}
    for n, raw in enumerate(raw_alerts):
        dedup = raw.get("dedup_key")
        if not isinstance(dedup, str) or not dedup or len(dedup) > 128:
            raise PayloadError(f"alerts[{n}].dedup_key must be a string of 1-128 characters")
        title = raw.get("title")
        if not isinstance(title, str) or not title.strip():
            raise PayloadError(f"alerts[{n}].title is required")
        labels = _strings(raw.get("labels"), f"alerts[{n}].labels")
        for name in ("severity", "component", "type"):
            if raw.get(name) is not None:
                if not isinstance(raw[name], str):
                    raise PayloadError(f"alerts[{n}].{name} must be a string")
                labels[name] = clean(raw[name])[:200]
        description = raw.get("description", "")
        if not isinstance(description, str):
            raise PayloadError(f"alerts[{n}].description must be a string")
        key = raw.get("group", dedup)
        if not isinstance(key, str) or not clean(key) or len(key) > MAX_TEXT:
            raise PayloadError(f"alerts[{n}].group must be a non-empty string")
        key, dedup = clean(key), clean(dedup) or "-"
        group = groups.setdefault(key, GroupIn(key=key))
        group.alerts.append(
            AlertIn(
                fingerprint=dedup,
                status=_status(raw.get("status", "firing"), f"alerts[{n}].status"),
                title=clean(" ".join(title.split()))[:300] or "Alert",
                labels=labels,
                annotations={"description": clean(description)[:MAX_TEXT]} if description else {},
                starts_at=parse_time(raw.get("started_at"), f"alerts[{n}].started_at"),
                source_url=_url(raw.get("source_url")),
                runbook_url=_url(raw.get("runbook_url")),
                dashboard_url=_url(raw.get("dashboard_url")),
            )
        )
    return list(groups.values())


PARSERS = {"alertmanager": alertmanager, "grafana": grafana, "generic": generic}
