"""The spec's incident types ("Incident Types") with its examples as subtypes."""

TYPES: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "availability": (
        "Service availability",
        (
            ("complete_outage", "Complete service outage"),
            ("partial_degradation", "Partial service degradation"),
            ("slow_responses", "Slow response times"),
            ("feature_unavailable", "Feature-specific unavailability"),
        ),
    ),
    "performance": (
        "Performance",
        (
            ("resource_exhaustion", "Resource exhaustion (CPU, memory, disk)"),
            ("database_performance", "Database performance issues"),
            ("slow_api", "Slow API responses"),
            ("third_party_degradation", "Third-party service degradation"),
        ),
    ),
    "data": (
        "Data",
        (
            ("data_corruption", "Data corruption"),
            ("data_exposure", "Unintended data exposure"),
            ("sync_failure", "Data synchronization failures"),
            ("backup_failure", "Backup or recovery failures"),
        ),
    ),
    "security": (
        "Security",
        (
            ("unauthorized_access", "Unauthorized access attempts"),
            ("exfiltration", "Data exfiltration or breach"),
            ("malicious_code", "Malicious code or injection attacks"),
            ("prompt_injection", "AI prompt injection attempts"),
        ),
    ),
    "external": (
        "External dependency",
        (
            ("ai_provider", "OpenAI API service disruption"),
            ("cloud_outage", "AWS service outages"),
            ("third_party_auth", "Third-party authentication issues"),
            ("cdn_network", "CDN or network provider issues"),
        ),
    ),
}

TYPE_CHOICES = [(key, label) for key, (label, _) in TYPES.items()]
SUBTYPE_CHOICES = [
    (label, [(f"{key}.{sub}", sub_label) for sub, sub_label in subs])
    for key, (label, subs) in TYPES.items()
]
SUBTYPE_LABELS = {
    f"{key}.{sub}": sub_label for key, (_, subs) in TYPES.items() for sub, sub_label in subs
}


def subtype_belongs(type_key: str, subtype: str) -> bool:
    return subtype == "" or subtype.startswith(f"{type_key}.") and subtype in SUBTYPE_LABELS
