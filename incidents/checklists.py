"""The spec's checklists (Detection and Triage, the IC's "establish command" steps, and the
appendix's Initial Response and Resolution checklists) as the default templates. Admins edit
the templates as data; `ensure_templates` only fills in what is missing, after migrate."""

from django.db import transaction

DEFAULT_TEMPLATES: tuple[tuple[str, str, tuple[str | tuple[str, bool], ...]], ...] = (
    (
        "triage",
        "Initial triage",
        (
            "Assess customer impact (number of users affected)",
            "Evaluate business impact (revenue, reputation)",
            "Determine technical impact (data loss, security)",
            "Classify incident type (service outage, performance degradation, security breach)",
            "Assign severity level (P1-P4) based on impact assessment",
            "Identify affected components and potential scope",
            "Document initial classification in incident management system",
        ),
    ),
    (
        "initial_response",
        "Initial response",
        (
            "Acknowledge incident alert",
            "Verify incident is real (not false alarm)",
            "Classify severity (P1-P4)",
            "Notify appropriate team members",
            "Establish communication channels",
            "Begin incident documentation",
            "Assign initial roles (IC, Technical Lead, etc.)",
            "Communicate initial status",
        ),
    ),
    (
        "establish_command",
        "Establish command",
        (
            "Acknowledge the incident alert and announce assumption of command",
            "Set up the appropriate communication channels",
            "Begin documenting the incident timeline",
            "Assign initial response team roles",
            "Establish regular status update cadence",
            "Set priorities for investigation and mitigation",
        ),
    ),
    (
        "resolution",
        "Resolution",
        (
            # Verification items: resolving needs them done, or waived with a reason.
            ("Verify all affected systems are stable", True),
            ("Confirm user impact is resolved", True),
            "Document resolution steps taken",
            "Update status page with resolution",
            "Send final notifications to stakeholders",
            "Schedule post-mortem if required",
            "Create tickets for follow-up work",
            "Complete incident documentation",
        ),
    ),
)


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
                        text=item if isinstance(item, str) else item[0],
                        is_verification=not isinstance(item, str) and item[1],
                    )
                    for i, item in enumerate(items)
                )
