"""The spec's checklists (Detection and Triage, the IC's "establish command" steps, and the
appendix's Initial Response and Resolution checklists) as the default templates. Admins edit
the templates as data; `ensure_templates` only fills in what is missing, after migrate.

Each item has a stable key, independent of its wording (which admins may edit and tests pin
to the spec): the portal ticks items by key when it knows they are done (`AUTO_TICKS`), and
items that repeat across lists (the spec's lists overlap) share a key, so ticking one ticks
its twins."""

from dataclasses import dataclass

from django.db import transaction


@dataclass(frozen=True)
class Item:
    key: str
    text: str
    verification: bool = False  # resolving needs it done, or waived with a reason


DEFAULT_TEMPLATES: tuple[tuple[str, str, tuple[Item, ...]], ...] = (
    (
        "triage",
        "Initial triage",
        (
            Item("assess_customer_impact", "Assess customer impact (number of users affected)"),
            Item("evaluate_business_impact", "Evaluate business impact (revenue, reputation)"),
            Item("determine_technical_impact", "Determine technical impact (data loss, security)"),
            Item(
                "classify_type",
                "Classify incident type (service outage, performance degradation, security breach)",
            ),
            Item("classify_severity", "Assign severity level (P1-P4) based on impact assessment"),
            Item("identify_components", "Identify affected components and potential scope"),
            Item(
                "document_classification",
                "Document initial classification in incident management system",
            ),
        ),
    ),
    (
        "initial_response",
        "Initial response",
        (
            Item("acknowledge_alert", "Acknowledge incident alert"),
            Item("verify_real", "Verify incident is real (not false alarm)"),
            Item("classify_severity", "Classify severity (P1-P4)"),
            Item("notify_team", "Notify appropriate team members"),
            Item("communication_channels", "Establish communication channels"),
            Item("begin_documentation", "Begin incident documentation"),
            Item("assign_roles", "Assign initial roles (IC, Technical Lead, etc.)"),
            Item("communicate_initial_status", "Communicate initial status"),
        ),
    ),
    (
        "establish_command",
        "Establish command",
        (
            Item(
                "announce_command",
                "Acknowledge the incident alert and announce assumption of command",
            ),
            Item("communication_channels", "Set up the appropriate communication channels"),
            Item("begin_documentation", "Begin documenting the incident timeline"),
            Item("assign_roles", "Assign initial response team roles"),
            Item("establish_cadence", "Establish regular status update cadence"),
            Item("set_priorities", "Set priorities for investigation and mitigation"),
        ),
    ),
    (
        "resolution",
        "Resolution",
        (
            Item("verify_stable", "Verify all affected systems are stable", True),
            Item("confirm_user_impact_resolved", "Confirm user impact is resolved", True),
            Item("document_resolution", "Document resolution steps taken"),
            Item("update_status_page", "Update status page with resolution"),
            Item("send_final_notifications", "Send final notifications to stakeholders"),
            Item("schedule_postmortem", "Schedule post-mortem if required"),
            Item("create_followup_tickets", "Create tickets for follow-up work"),
            Item("complete_documentation", "Complete incident documentation"),
        ),
    ),
)

# What the portal knows is done when an event is written: event kind -> a function of the
# event's params giving the item keys it ticks. Later features add theirs.
AUTO_TICKS = {
    # A manual declaration is acknowledged and verified at once; it classifies and documents.
    "declared": lambda p: (
        ("classify_severity", "begin_documentation", "document_classification")
        + (("acknowledge_alert", "verify_real") if p.get("status") != "triage" else ())
    ),
    "acknowledged": lambda p: ("acknowledge_alert",),
    "verified": lambda p: ("acknowledge_alert", "verify_real"),
    "role_assigned": lambda p: ("assign_roles",),
    "status_update": lambda p: ("communicate_initial_status",) if p.get("number") == 1 else (),
    "status_changed": lambda p: ("document_resolution",) if p.get("to") == "resolved" else (),
}


def keys_for(kind: str, params: dict) -> tuple[str, ...]:
    rule = AUTO_TICKS.get(kind)
    return tuple(rule(params)) if rule else ()


def default_keys() -> dict[str, str]:
    """Wording -> key of the default items (to key templates and items made before keys)."""
    return {item.text: item.key for _, _, items in DEFAULT_TEMPLATES for item in items}


def ensure_templates(**kwargs) -> None:
    from .models import ChecklistTemplate

    with transaction.atomic():
        for position, (kind, title, items) in enumerate(DEFAULT_TEMPLATES):
            template, created = ChecklistTemplate.objects.get_or_create(
                kind=kind, defaults={"title": title, "position": position}
            )
            if created:
                template.items.bulk_create(
                    template.items.model(
                        template=template,
                        position=i,
                        key=item.key,
                        text=item.text,
                        is_verification=item.verification,
                    )
                    for i, item in enumerate(items)
                )
