"""Alert intake (issue 12): integrations and what their alerts do. An alert is stored once
per fingerprint; a repeat counts; a resolved notification resolves it. The alerts of one
group (Alertmanager's groupKey) share one incident: the group's first firing alert declares
it in Triage, as the system, and paging starts by its severity. Everything for one request
runs in one transaction, group and alert rows locked, so Alertmanager's repeats and retries
arriving at once never open two incidents for one group."""

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from portal.errors import ApplicationError

from .. import bounds, timeline
from ..models import Component, Incident, Source
from ..severity import SEVERITIES
from ..taxonomy import TYPES
from .models import Alert, AlertGroup, AlertStatus, Integration, IntegrationKind, SeenSignature
from .payloads import AlertIn, GroupIn

TOKEN_BYTES = 24


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def integration_create(
    *,
    actor,
    name: str,
    kind: str,
    bearer_token: str = "",
    signing_secret: str = "",
    auto_resolve: bool = False,
    now: datetime | None = None,
) -> tuple[Integration, str]:
    """A new integration and its secret token (shown once: only its hash is kept)."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ApplicationError("Name the integration (1-100 characters).", field="name")
    if kind not in IntegrationKind.values:
        raise ApplicationError(
            f"Unknown kind {kind!r}; one of {', '.join(IntegrationKind.values)}.", field="kind"
        )
    if Integration.objects.filter(name=name).exists():
        raise ApplicationError(f"An integration named {name!r} exists.", field="name")
    if signing_secret and kind == IntegrationKind.ALERTMANAGER:
        raise ApplicationError(
            "Alertmanager cannot sign its webhooks; use a bearer token instead.",
            field="signing_secret",
        )
    token = secrets.token_urlsafe(TOKEN_BYTES)
    integration = Integration.objects.create(
        name=name,
        kind=kind,
        token_hash=digest(token),
        token_hint=token[:6],
        bearer_hash=digest(bearer_token) if bearer_token else "",
        signing_secret=signing_secret,
        auto_resolve=bool(auto_resolve),
        created_by=actor,
        created_at=now or timezone.now(),
    )
    return integration, token


@transaction.atomic
def integration_revoke(*, actor, integration: Integration, now: datetime | None = None) -> None:
    if integration.revoked_at is not None:
        raise ApplicationError("This integration was already revoked.")
    Integration.objects.filter(pk=integration.pk).update(revoked_at=now or timezone.now())


def integration_for(token: str) -> Integration | None:
    if not token or len(token) > 100:
        return None
    return Integration.objects.filter(token_hash=digest(token), revoked_at__isnull=True).first()


def bearer_ok(integration: Integration, header: str) -> bool:
    if not integration.bearer_hash:
        return True
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not value:
        return False
    return hmac.compare_digest(integration.bearer_hash, digest(value.strip()))


# --- signatures ---------------------------------------------------------------------------

# A signed request older (or newer) than this is refused; its signature is remembered for
# twice as long, so a replay inside the window is refused too.
STALE = timedelta(minutes=5)
# (signature header, timestamp headers) per kind. Grafana lets the timestamp header be named
# freely: its documented example and the obvious name are both read.
SIGNATURE_HEADERS = {
    IntegrationKind.GRAFANA: (
        "X-Grafana-Alerting-Signature",
        ("X-Grafana-Alerting-Timestamp", "X-Grafana-Alerting-Signature-Timestamp"),
    ),
    IntegrationKind.GENERIC: ("X-Portal-Signature", ("X-Portal-Timestamp",)),
}


def expected_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Hex HMAC-SHA256 over "<timestamp>:<body>", as Grafana signs with a timestamp."""
    return hmac.new(secret.encode(), timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()


class Replay(Exception):
    """This signed request was already received."""


def signature_error(integration: Integration, headers, body: bytes, now: datetime) -> str:
    """Why a request to a signing integration is refused, or "" when its signature holds.
    Nothing is written here: alerts_receive remembers the signature with the alerts."""
    if not integration.signing_secret:
        return ""
    header, stamp_headers = SIGNATURE_HEADERS[integration.kind]
    signature = (headers.get(header) or "").strip().removeprefix("sha256=")
    stamp = next((headers.get(h) for h in stamp_headers if headers.get(h)), "")
    if not signature or not stamp:
        if signature and integration.kind == IntegrationKind.GRAFANA:
            # Grafana signs the body alone unless its contact point names a timestamp header.
            return (
                "The request carries no timestamp: set the Grafana contact point's HMAC "
                f"timestamp header to {stamp_headers[0]}."
            )
        return f"This integration needs a signed request ({header} and {stamp_headers[0]})."
    try:
        sent = datetime.fromtimestamp(int(stamp.strip()), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return "The timestamp is not Unix seconds."
    if abs(now - sent) > STALE:
        return "The request is stale: its timestamp is more than 5 minutes off."
    if not hmac.compare_digest(
        signature.lower(), expected_signature(integration.signing_secret, stamp.strip(), body)
    ):
        return "The signature does not match."
    return ""


def signature_of(integration: Integration, headers) -> str:
    if not integration.signing_secret:
        return ""
    header, _ = SIGNATURE_HEADERS[integration.kind]
    return (headers.get(header) or "").strip().removeprefix("sha256=").lower()


def _remember(integration: Integration, signature: str, now: datetime) -> None:
    SeenSignature.objects.filter(seen_at__lt=now - 2 * STALE).delete()
    try:
        with transaction.atomic():
            SeenSignature.objects.create(
                integration=integration, signature_hash=digest(signature), seen_at=now
            )
    except IntegrityError:
        raise Replay("This request was already received (a replay).") from None


# --- receiving ---------------------------------------------------------------------------


GROUP_FIELDS = (
    "integration", "key_hash", "incident", "resolved_at", "silenced", "incident__status",
    "incident__reference", "incident__version", "incident__severity", "incident__significant",
)  # fmt: skip


def _group(integration: Integration, key: str, now: datetime) -> tuple[AlertGroup, bool]:
    key_hash = digest(key)
    # Of the incident, only what intake reads: a repeat must not load every column of it.
    locked = (
        AlertGroup.objects.select_related("incident")
        .select_for_update(of=("self",))
        .only(*GROUP_FIELDS)
    )
    found = locked.filter(integration=integration, key_hash=key_hash).first()
    if found is not None:
        return found, False
    try:
        with transaction.atomic():
            return (
                AlertGroup.objects.create(
                    integration=integration, key_hash=key_hash, key=key[:2000], created_at=now
                ),
                True,
            )
    except IntegrityError:  # the same group arrived in another request at this moment
        return locked.get(integration=integration, key_hash=key_hash), False


def _create(integration, group, incoming: AlertIn, now: datetime) -> bool:
    """A new alert row; False when another request created it first."""
    resolved = incoming.status == AlertStatus.RESOLVED
    try:
        with transaction.atomic():
            Alert.objects.create(
                integration=integration,
                group=group,
                fingerprint=incoming.fingerprint,
                status=incoming.status,
                title=incoming.title,
                labels=incoming.labels,
                annotations=incoming.annotations,
                starts_at=incoming.starts_at,
                ends_at=incoming.ends_at if resolved else None,
                source_url=incoming.source_url,
                runbook_url=incoming.runbook_url,
                dashboard_url=incoming.dashboard_url,
                first_seen_at=now,
                last_seen_at=now,
                resolved_at=now if resolved else None,
            )
    except IntegrityError:
        return False
    return True


def _alerts(integration, group, incoming: list[AlertIn], now: datetime) -> list[tuple]:
    """Store a group's alerts: [(alert, "new" | "repeat" | "refired" | "resolved")]. The
    common case, a repeat of alerts already known, costs one locking read and one update
    for the whole group."""
    latest = {a.fingerprint: a for a in incoming}  # a fingerprint twice: the last one counts
    existing = {
        a.fingerprint: a
        for a in Alert.objects.select_for_update()
        .filter(integration=integration, fingerprint__in=list(latest))
        .order_by("pk")
        .only("pk", "fingerprint", "status", "group_id")
    }
    outcomes, repeats = [], []
    for fingerprint, alert in latest.items():
        resolved = alert.status == AlertStatus.RESOLVED
        known = existing.get(fingerprint)
        if known is None and _create(integration, group, alert, now):
            outcomes.append((alert, "resolved" if resolved else "new"))
            continue
        if known is None:  # created by a request racing this one
            known = Alert.objects.select_for_update().get(
                integration=integration, fingerprint=fingerprint
            )
        if resolved and known.status == AlertStatus.FIRING:
            fields = {"status": AlertStatus.RESOLVED, "resolved_at": now, "ends_at": alert.ends_at}
            outcome = "resolved"
        elif not resolved and known.status == AlertStatus.RESOLVED:
            fields = {"status": AlertStatus.FIRING, "resolved_at": None, "ends_at": None}
            if known.group_id != group.pk:
                fields["group"] = group
            outcome = "refired"
        else:
            repeats.append(known.pk)
            outcomes.append((alert, "repeat"))
            continue
        Alert.objects.filter(pk=known.pk).update(count=F("count") + 1, last_seen_at=now, **fields)
        outcomes.append((alert, outcome))
    if repeats:
        Alert.objects.filter(pk__in=repeats).update(count=F("count") + 1, last_seen_at=now)
    return outcomes


def _severity(integration: Integration, alerts: list[AlertIn]) -> tuple[str, str]:
    """The most severe mapped label value among the alerts, and why."""
    best, why = None, ""
    mapping = {str(k).lower(): v for k, v in (integration.severity_map or {}).items()}
    for alert in alerts:
        value = alert.labels.get(integration.severity_label, "")
        code = mapping.get(value.lower())
        if code in SEVERITIES and (best is None or code < best):
            best, why = code, f"{integration.severity_label}={value}"
    if best is None:
        return integration.default_severity, "the integration's default severity"
    return best, f"the alert's {why} label"


def _components(integration: Integration, alerts: list[AlertIn]) -> list[Component]:
    names = {a.labels.get(integration.component_label, "").strip().lower() for a in alerts}
    names.discard("")
    if not names:
        return []
    return [c for c in Component.objects.all() if c.name.lower() in names]


def _declare(
    integration: Integration, group: AlertGroup, firing: list[AlertIn], now, *, storm=False
):
    from ..services.declare import incident_declare

    first = firing[0]
    severity, why = _severity(integration, firing)
    kind = first.labels.get(integration.type_label, "")
    kind = kind if kind in TYPES else integration.default_type
    starts = [a.starts_at for a in firing if a.starts_at is not None]
    detected = min(starts) if starts else now
    if bounds.detection_error(detected, now):
        detected = now  # a clock off by years must not refuse the alert
    more = f" and {len(firing) - 1} more" if len(firing) > 1 else ""
    description = first.annotations.get("description", "")
    summary = f"Opened by the {integration.name} integration: {first.title}{more}."
    if description:
        summary += f"\n\n{description}"
    title = f"{first.title}{more}"
    if storm:
        title = f"Alert storm from {integration.name}"
        summary = (
            f"{integration.name} sent more than {integration.storm_limit} new alert groups in a "
            "minute; further new groups join this incident instead of opening their own "
            f"until it is resolved. First: {first.title}."
        )
    incident = incident_declare(
        actor=None,
        title=title[:200],
        summary=summary[:10_000],
        type=kind,
        severity=severity,
        severity_reason=f"Set from {why}.",
        detected_at=detected,
        components=_components(integration, firing),
        source=Source.ALERT,
        now=now,
    )
    AlertGroup.objects.filter(pk=group.pk).update(incident=incident, resolved_at=None)
    return incident


def _maintenance(components: list[Component], now: datetime):
    """A maintenance window running now on any of these components, if there is one."""
    from ..models import Maintenance, MaintenanceStatus

    if not components:
        return None
    running = Q(status__in=(MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING)) | Q(
        status=MaintenanceStatus.SCHEDULED, starts_at__lte=now, ends_at__gt=now
    )
    return Maintenance.objects.filter(running, components__in=components).distinct().first()


def _storming(integration: Integration, now: datetime) -> bool:
    """This integration opened storm_limit incidents in the last minute."""
    recent = (
        Incident.objects.filter(
            alert_groups__integration=integration, declared_at__gte=now - timedelta(minutes=1)
        )
        .distinct()
        .count()
    )
    return recent >= integration.storm_limit


def _open(integration: Integration, group: AlertGroup, woke: list[AlertIn], now: datetime):
    """A group woke with no active incident: silence it (maintenance), join the alert storm,
    or declare its own incident."""
    window = _maintenance(_components(integration, woke), now)
    if window is not None:
        AlertGroup.objects.filter(pk=group.pk).update(
            silenced=f"Recorded without paging: {window.title} (maintenance) runs until "
            f"{window.ends_at:%Y-%m-%d %H:%M} UTC."[:300]
        )
        return None
    # The storm check serialises the integration's new incidents (rare), not its repeats.
    integration = Integration.objects.select_for_update().get(pk=integration.pk)
    if not _storming(integration, now):
        return _declare(integration, group, woke, now)
    storm = integration.storm_incident
    if storm is None or not storm.is_active:
        incident = _declare(integration, group, woke, now, storm=True)
        Integration.objects.filter(pk=integration.pk).update(storm_incident=incident)
        return incident
    AlertGroup.objects.filter(pk=group.pk).update(incident=storm, resolved_at=None, silenced="")
    for alert in woke:
        timeline.alert(storm, action="attached", title=alert.title, source=integration.name, at=now)
    Incident.objects.filter(pk=storm.pk).touch()
    return storm


def _maybe_resolve(integration: Integration, incident: Incident, now: datetime) -> None:
    """An integration set to auto-resolve resolves an incident still in Triage once none of
    its alerts fire (a storm incident: none of any group's)."""
    from ..services.triage import closes_itself, incident_resolve_cleared

    if not integration.auto_resolve or not closes_itself(incident):
        return
    if Alert.objects.filter(group__incident=incident, status=AlertStatus.FIRING).exists():
        return
    incident_resolve_cleared(incident=incident, source=integration.name, now=now)


@transaction.atomic
def alerts_receive(
    *,
    integration: Integration,
    groups: list[GroupIn],
    signature: str = "",
    now: datetime | None = None,
) -> dict:
    """Store the alerts and open, join or tell incidents. Returns counts for the response.
    signature: a signed request's signature, remembered with the alerts (Replay if seen)."""
    now = now or timezone.now()
    if signature:
        _remember(integration, signature, now)
    counts = {"new": 0, "repeat": 0, "refired": 0, "resolved": 0, "incidents": []}
    for incoming in groups:
        group, _ = _group(integration, incoming.key, now)
        outcomes = _alerts(integration, group, incoming.alerts, now)
        for _, outcome in outcomes:
            counts[outcome] += 1
        seen = {"last_seen_at": now}
        woke = [a for a, o in outcomes if o in ("new", "refired")]
        incident = group.incident
        active = incident is not None and incident.is_active
        if woke and not active:
            incident = _open(integration, group, woke, now)
        elif woke:
            for alert, outcome in outcomes:
                if outcome in ("new", "refired"):
                    action = "attached" if outcome == "new" else "refired"
                    timeline.alert(
                        incident, action=action, title=alert.title, source=integration.name, at=now
                    )
            seen["resolved_at"] = None
            Incident.objects.filter(pk=incident.pk).touch()
        elif (
            active
            and group.resolved_at is None
            and any(o == "resolved" for _, o in outcomes)
            and not group.alerts.filter(status=AlertStatus.FIRING).exists()
        ):
            seen["resolved_at"] = now
            timeline.alert(incident, action="resolved", title="", source=integration.name, at=now)
            Incident.objects.filter(pk=incident.pk).touch()
            _maybe_resolve(integration, incident, now)
        AlertGroup.objects.filter(pk=group.pk).update(**seen)
        if incident is not None:
            counts["incidents"].append(incident.reference)
    # Stamped at most once a minute: a storm of repeats must not queue on this one row.
    last = integration.last_received_at
    if last is None or now - last > timedelta(minutes=1):
        Integration.objects.filter(pk=integration.pk).update(last_received_at=now)
    counts["incidents"] = sorted(set(counts["incidents"]))
    return counts
