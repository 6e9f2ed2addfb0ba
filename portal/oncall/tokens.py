"""Acknowledgement links (issue 11): a signed, expiring token naming one escalation and the
person it was sent to. The link opens a confirmation page whose button POSTs: mail scanners
follow links, and a GET must never acknowledge a P1."""

from datetime import timedelta

from django.conf import settings
from django.core import signing

SALT = "portal.oncall.acknowledge"


class InvalidToken(Exception):
    pass


def make(escalation_id: int, user_id: int) -> str:
    return signing.dumps([escalation_id, user_id], salt=SALT)


def read(token: str) -> tuple[int, int]:
    """(escalation id, user id); InvalidToken, with a message for the person, otherwise."""
    try:
        escalation_id, user_id = signing.loads(
            token, salt=SALT, max_age=timedelta(hours=settings.PAGE_ACK_LINK_HOURS)
        )
    except signing.SignatureExpired:
        raise InvalidToken(
            "This acknowledgement link has expired. Open the incident in the portal to "
            "acknowledge it."
        ) from None
    except (signing.BadSignature, ValueError, TypeError):
        raise InvalidToken("This acknowledgement link is not valid.") from None
    return int(escalation_id), int(user_id)
