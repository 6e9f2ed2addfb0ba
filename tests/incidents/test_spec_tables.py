"""The code's tables of rules, pinned to the requirements spec (incident-response-procedures.md).

The spec's values are transcribed here as literals, each with the spec section it comes from, so
changing a value in the code (or a wording shown to users) fails a test. The spec file itself is
not read: the repository must work without it. Where the code renders a spec value in its own
form (sentence case, "15 min" for "15 minutes") the test states that form next to the spec's.
"""

from dataclasses import astuple
from datetime import timedelta

from incidents.checklists import DEFAULT_TEMPLATES
from incidents.models import Status
from incidents.models.incident import UPDATABLE_STATUSES
from incidents.severity import SEVERITIES, SEVERITY_CHOICES, severity
from incidents.taxonomy import TYPES
from incidents.transitions import TRANSITIONS, Transition
from portal.models import Channel


def _sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:]


def _spec_list(inline: str) -> tuple[str, ...]:
    """The spec writes examples inline ("a, b, c"); the code keeps each one in sentence case."""
    return tuple(_sentence_case(item) for item in inline.split(", "))


# --- Severity Levels -------------------------------------------------------------------------

# Spec "Incident Classification" > "Severity Levels": code, label, description, examples.
SPEC_SEVERITIES = {
    "P1": (
        "Critical",
        "Service outage, security breach",
        "Complete platform unavailability, data breach, authentication system failure",
    ),
    "P2": (
        "High",
        "Degraded performance, elevated errors",
        "AI service unresponsive, high error rates, significant feature unavailability",
    ),
    "P3": (
        "Medium",
        "Minor functionality issues",
        "Non-critical feature unavailable, intermittent errors affecting small subset of users",
    ),
    "P4": (
        "Low",
        "Non-impacting anomalies",
        "Cosmetic issues, minor performance anomalies, isolated errors",
    ),
}

# Spec "Severity Levels" > "Response Time": 15 minutes, 30 minutes, 4 hours, 24 hours.
SPEC_RESPONSE_TIMES = {
    "P1": timedelta(minutes=15),
    "P2": timedelta(minutes=30),
    "P3": timedelta(hours=4),
    "P4": timedelta(hours=24),
}

# Spec "Severity Levels" > "Notification Channels", in the spec's order.
SPEC_CHANNELS = {
    "P1": (Channel.PHONE, Channel.SMS, Channel.EMAIL, Channel.SLACK),  # Phone + SMS + Email + Slack
    "P2": (Channel.SMS, Channel.EMAIL, Channel.SLACK),  # SMS + Email + Slack
    "P3": (Channel.EMAIL, Channel.SLACK),  # Email + Slack
    "P4": (Channel.EMAIL,),  # Email
}

# Spec "Internal Communication" > "Status Update Cadence": P1 every 30 minutes, P2 every hour,
# P3/P4 "at beginning, significant developments, and resolution" (no fixed cadence: None).
SPEC_CADENCE = {
    "P1": timedelta(minutes=30),
    "P2": timedelta(minutes=60),
    "P3": None,
    "P4": None,
}

# Spec "Post-Incident Activities" > "Post-Mortem Process": after all P1/P2 incidents (and
# "significant P3 incidents", which is a judgement, not a rule of the table).
SPEC_POSTMORTEM_REQUIRED = {"P1": True, "P2": True, "P3": False, "P4": False}


def test_severities_are_the_spec_four_in_order():
    # Spec "Severity Levels": "four severity levels", P1 to P4.
    assert tuple(SEVERITIES) == ("P1", "P2", "P3", "P4")
    assert {key: level.code for key, level in SEVERITIES.items()} == {
        "P1": "P1",
        "P2": "P2",
        "P3": "P3",
        "P4": "P4",
    }
    assert {code: severity(code) for code in SEVERITIES} == SEVERITIES


def test_severity_labels_descriptions_and_examples_match_spec():
    expected = {
        code: (label, description, _spec_list(examples))
        for code, (label, description, examples) in SPEC_SEVERITIES.items()
    }
    actual = {
        code: (level.label, level.description, level.examples) for code, level in SEVERITIES.items()
    }
    assert actual == expected


def test_severity_examples_as_the_code_holds_them():
    # Spec "Severity Levels" > "Examples", each item sentence-cased.
    assert {code: level.examples for code, level in SEVERITIES.items()} == {
        "P1": ("Complete platform unavailability", "Data breach", "Authentication system failure"),
        "P2": ("AI service unresponsive", "High error rates", "Significant feature unavailability"),
        "P3": (
            "Non-critical feature unavailable",
            "Intermittent errors affecting small subset of users",
        ),
        "P4": ("Cosmetic issues", "Minor performance anomalies", "Isolated errors"),
    }


def test_severity_response_times_match_spec():
    assert {code: level.response_time for code, level in SEVERITIES.items()} == (
        SPEC_RESPONSE_TIMES
    )


def test_severity_response_time_display():
    # Spec "Severity Levels" > "Response Time", as the portal shows it.
    assert {code: level.response_time_display for code, level in SEVERITIES.items()} == {
        "P1": "15 min",
        "P2": "30 min",
        "P3": "4 h",
        "P4": "24 h",
    }


def test_severity_channels_match_spec_in_order():
    assert {code: level.channels for code, level in SEVERITIES.items()} == SPEC_CHANNELS
    # The channel values themselves (what a page is sent through).
    assert {code: tuple(str(c) for c in level.channels) for code, level in SEVERITIES.items()} == {
        "P1": ("phone", "sms", "email", "slack"),
        "P2": ("sms", "email", "slack"),
        "P3": ("email", "slack"),
        "P4": ("email",),
    }


def test_severity_channels_display_is_the_spec_wording():
    # Spec "Severity Levels" > "Notification Channels", verbatim.
    assert {code: level.channels_display for code, level in SEVERITIES.items()} == {
        "P1": "Phone + SMS + Email + Slack",
        "P2": "SMS + Email + Slack",
        "P3": "Email + Slack",
        "P4": "Email",
    }


def test_severity_update_cadence_matches_spec():
    assert {code: level.update_cadence for code, level in SEVERITIES.items()} == SPEC_CADENCE


def test_severity_cadence_display():
    # Spec "Status Update Cadence": "every 30 minutes", "every hour", and for P3/P4 "at
    # beginning, significant developments, and resolution", as the portal words them.
    assert {code: level.cadence_display for code, level in SEVERITIES.items()} == {
        "P1": "Every 30 min",
        "P2": "Every 1 h",
        "P3": "At start, significant developments and resolution",
        "P4": "At start, significant developments and resolution",
    }


def test_severity_postmortem_required_for_p1_and_p2():
    assert {code: level.postmortem_required for code, level in SEVERITIES.items()} == (
        SPEC_POSTMORTEM_REQUIRED
    )
    # "... and significant P3 incidents".
    assert {c for c, level in SEVERITIES.items() if level.postmortem_if_significant} == {"P3"}


def test_severity_choices_show_code_and_spec_label():
    # Spec "Severity Levels": "P1: Critical" ... "P4: Low".
    assert SEVERITY_CHOICES == [
        ("P1", "P1 · Critical"),
        ("P2", "P2 · High"),
        ("P3", "P3 · Medium"),
        ("P4", "P4 · Low"),
    ]


def test_first_update_within_follows_cadence_for_p1_p2_and_setting_for_p3_p4(settings):
    # Spec "Status Update Cadence": P1/P2 by their cadence from the start; P3/P4 "at
    # beginning", which the portal holds to STATUS_FIRST_UPDATE_MINUTES.
    settings.STATUS_FIRST_UPDATE_MINUTES = 60
    assert {code: level.first_update_within for code, level in SEVERITIES.items()} == {
        "P1": timedelta(minutes=30),
        "P2": timedelta(minutes=60),
        "P3": timedelta(minutes=60),
        "P4": timedelta(minutes=60),
    }


def test_first_update_setting_moves_p3_p4_only(settings):
    settings.STATUS_FIRST_UPDATE_MINUTES = 15
    assert {code: level.first_update_within for code, level in SEVERITIES.items()} == {
        "P1": timedelta(minutes=30),
        "P2": timedelta(minutes=60),
        "P3": timedelta(minutes=15),
        "P4": timedelta(minutes=15),
    }
    settings.STATUS_FIRST_UPDATE_MINUTES = 240
    assert {code: level.first_update_within for code, level in SEVERITIES.items()} == {
        "P1": timedelta(minutes=30),
        "P2": timedelta(minutes=60),
        "P3": timedelta(minutes=240),
        "P4": timedelta(minutes=240),
    }


def test_first_update_setting_defaults_to_60_minutes():
    """The test settings leave STATUS_FIRST_UPDATE_MINUTES unset: the default holds."""
    from django.conf import settings as django_settings

    assert django_settings.STATUS_FIRST_UPDATE_MINUTES == 60
    assert severity("P3").first_update_within == timedelta(minutes=60)
    assert severity("P4").first_update_within == timedelta(minutes=60)


# --- Incident Types --------------------------------------------------------------------------

# Spec "Incident Classification" > "Incident Types": heading and examples, in the spec's order.
SPEC_TYPES = (
    (
        "Service Availability Incidents",
        (
            "Complete service outage",
            "Partial service degradation",
            "Slow response times",
            "Feature-specific unavailability",
        ),
    ),
    (
        "Performance Incidents",
        (
            "Resource exhaustion (CPU, memory, disk)",
            "Database performance issues",
            "Slow API responses",
            "Third-party service degradation",
        ),
    ),
    (
        "Data Incidents",
        (
            "Data corruption",
            "Unintended data exposure",
            "Data synchronization failures",
            "Backup or recovery failures",
        ),
    ),
    (
        "Security Incidents",
        (
            "Unauthorized access attempts",
            "Data exfiltration or breach",
            "Malicious code or injection attacks",
            "AI prompt injection attempts",
        ),
    ),
    (
        "External Dependency Incidents",
        (
            "OpenAI API service disruption",
            "AWS service outages",
            "Third-party authentication issues",
            "CDN or network provider issues",
        ),
    ),
)


def test_incident_types_and_subtypes_match_spec_in_order():
    # The code's type label is the spec heading without " Incidents", in sentence case.
    expected = tuple(
        (heading.removesuffix(" Incidents").capitalize(), examples)
        for heading, examples in SPEC_TYPES
    )
    actual = tuple(
        (label, tuple(sub_label for _, sub_label in subtypes)) for label, subtypes in TYPES.values()
    )
    assert actual == expected


def test_incident_type_labels():
    # Spec "Incident Types" headings, as the code labels them.
    assert tuple(label for label, _ in TYPES.values()) == (
        "Service availability",
        "Performance",
        "Data",
        "Security",
        "External dependency",
    )


# --- Checklists ------------------------------------------------------------------------------

# Spec "Incident Response Workflow" > "Detection and Triage" > "Initial Triage", steps 1-7.
SPEC_TRIAGE = (
    "Assess customer impact (number of users affected)",
    "Evaluate business impact (revenue, reputation)",
    "Determine technical impact (data loss, security)",
    "Classify incident type (service outage, performance degradation, security breach)",
    "Assign severity level (P1-P4) based on impact assessment",
    "Identify affected components and potential scope",
    "Document initial classification in incident management system",
)

# Spec "Appendices" > "Incident Response Checklists" > "Initial Response Checklist".
SPEC_INITIAL_RESPONSE = (
    "Acknowledge incident alert",
    "Verify incident is real (not false alarm)",
    "Classify severity (P1-P4)",
    "Notify appropriate team members",
    "Establish communication channels",
    "Begin incident documentation",
    "Assign initial roles (IC, Technical Lead, etc.)",
    "Communicate initial status",
)

# Spec "Incident Response Team" > "Incident Commander Role" > "When establishing command, the
# Incident Commander should:", steps 1-6.
SPEC_ESTABLISH_COMMAND = (
    "Acknowledge the incident alert and announce assumption of command",
    "Set up the appropriate communication channels",
    "Begin documenting the incident timeline",
    "Assign initial response team roles",
    "Establish regular status update cadence",
    "Set priorities for investigation and mitigation",
)

# Spec "Appendices" > "Incident Response Checklists" > "Resolution Checklist".
SPEC_RESOLUTION = (
    "Verify all affected systems are stable",
    "Confirm user impact is resolved",
    "Document resolution steps taken",
    "Update status page with resolution",
    "Send final notifications to stakeholders",
    "Schedule post-mortem if required",
    "Create tickets for follow-up work",
    "Complete incident documentation",
)
# The resolution checklist's verification items ("Verify ...", "Confirm ..."): resolving needs
# them done or waived with a reason.
SPEC_RESOLUTION_VERIFICATION = (
    "Verify all affected systems are stable",
    "Confirm user impact is resolved",
)


def _items(raw) -> tuple[tuple[str, bool], ...]:
    """A template's items as (text, is_verification), as `ensure_templates` reads them."""
    return tuple((i.text, i.verification) for i in raw)


def test_checklist_templates_match_spec_wording_in_order():
    expected = (
        ("triage", "Initial triage", tuple((t, False) for t in SPEC_TRIAGE)),
        ("initial_response", "Initial response", tuple((t, False) for t in SPEC_INITIAL_RESPONSE)),
        (
            "establish_command",
            "Establish command",
            tuple((t, False) for t in SPEC_ESTABLISH_COMMAND),
        ),
        (
            "resolution",
            "Resolution",
            tuple((t, t in SPEC_RESOLUTION_VERIFICATION) for t in SPEC_RESOLUTION),
        ),
    )
    actual = tuple((kind, title, _items(items)) for kind, title, items in DEFAULT_TEMPLATES)
    assert actual == expected


def test_checklist_item_texts_per_kind():
    texts = {kind: tuple(t for t, _ in _items(items)) for kind, _, items in DEFAULT_TEMPLATES}
    assert texts == {
        "triage": SPEC_TRIAGE,
        "initial_response": SPEC_INITIAL_RESPONSE,
        "establish_command": SPEC_ESTABLISH_COMMAND,
        "resolution": SPEC_RESOLUTION,
    }


def test_only_the_first_two_resolution_items_are_verification_items():
    flags = {
        kind: tuple(is_verification for _, is_verification in _items(items))
        for kind, _, items in DEFAULT_TEMPLATES
    }
    assert flags == {
        "triage": (False,) * 7,
        "initial_response": (False,) * 8,
        "establish_command": (False,) * 6,
        "resolution": (True, True, False, False, False, False, False, False),
    }


# --- Status transitions ----------------------------------------------------------------------


def test_update_statuses_are_the_spec_four():
    # Spec "Status Updates" > "Status Update Template": "Status: [Investigating/Identified/
    # Monitoring/Resolved]"; also "Internal Communication" > "Status Update Content".
    assert tuple(Status(s).label for s in UPDATABLE_STATUSES) == (
        "Investigating",
        "Identified",
        "Monitoring",
        "Resolved",
    )
    assert (
        Status.INVESTIGATING.label,
        Status.IDENTIFIED.label,
        Status.MONITORING.label,
        Status.RESOLVED.label,
    ) == ("Investigating", "Identified", "Monitoring", "Resolved")


def test_spec_transitions_record_and_stamp_the_right_milestone():
    # Spec "Status Updates" > "Status Transition Criteria":
    # - Investigating -> Identified: Root cause determined
    # - Identified -> Monitoring: Fix implemented, verifying resolution
    # - Monitoring -> Resolved: Normal operation confirmed for adequate period
    spec_edges = {
        (Status.INVESTIGATING, Status.IDENTIFIED): (
            "Root cause determined",
            "Root cause",
            "root_cause",
            "identified_at",
        ),
        (Status.IDENTIFIED, Status.MONITORING): (
            "Fix implemented, verifying resolution",
            "Mitigation applied",
            "mitigation",
            "mitigated_at",
        ),
        (Status.MONITORING, Status.RESOLVED): (
            "Normal operation confirmed for adequate period",
            "Resolution summary",
            "resolution_summary",
            "resolved_at",
        ),
    }
    actual = {
        (src, dst): (t.criterion, t.note_label, t.records, t.stamps)
        for (src, dst) in spec_edges
        for t in [TRANSITIONS[src][dst]]
    }
    assert actual == spec_edges


def test_transition_table_as_a_whole():
    # The three spec edges above, plus the portal's own (not in the spec, pinned as they are):
    # mitigating before the root cause is known, closing, and going back to Investigating.
    identified = (
        Status.IDENTIFIED,
        "Root cause",
        "root_cause",
        "identified_at",
        "Root cause determined",
        "change_status",
    )
    monitoring = (
        Status.MONITORING,
        "Mitigation applied",
        "mitigation",
        "mitigated_at",
        "Fix implemented, verifying resolution",
        "change_status",
    )
    resolved = (
        Status.RESOLVED,
        "Resolution summary",
        "resolution_summary",
        "resolved_at",
        "Normal operation confirmed for adequate period",
        "resolve",
    )
    closed = (Status.CLOSED, "Follow-up", "followup_note", "closed_at", "", "close")
    expected = {
        Status.INVESTIGATING: {
            Status.IDENTIFIED: identified,
            Status.MONITORING: monitoring,
        },
        Status.IDENTIFIED: {
            Status.MONITORING: monitoring,
            Status.INVESTIGATING: (
                Status.INVESTIGATING,
                "Why the root cause is in doubt again",
                None,
                None,
                "",
                "change_status",
            ),
        },
        Status.MONITORING: {
            Status.RESOLVED: resolved,
            Status.INVESTIGATING: (
                Status.INVESTIGATING,
                "Why the mitigation did not hold",
                None,
                None,
                "",
                "change_status",
            ),
        },
        Status.RESOLVED: {
            Status.CLOSED: closed,
            Status.INVESTIGATING: (
                Status.INVESTIGATING,
                "Reason for re-opening",
                None,
                None,
                "",
                "reopen",
            ),
        },
    }
    actual = {
        src: {dst: astuple(t) for dst, t in edges.items()} for src, edges in TRANSITIONS.items()
    }
    assert actual == expected
    assert all(
        isinstance(t, Transition) and t.to == dst
        for edges in TRANSITIONS.values()
        for dst, t in edges.items()
    )


# --- Escalation Triggers -----------------------------------------------------------------------


def test_escalation_triggers_are_the_spec_five_in_its_words():
    from incidents.escalation_trigger_rules import TRIGGERS

    # Spec "Response Activation" > "Escalation Triggers".
    assert [rule.label for rule in TRIGGERS.values()] == [
        "Incident unresolved after 30 minutes",
        "Multiple components affected",
        "Customer impact exceeding thresholds",
        "Unknown root cause after initial investigation",
        "Security or data privacy concerns",
    ]
