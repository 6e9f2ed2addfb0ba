"""A page by email through a real local SMTP server (issue 11): the message carries the
person's acknowledgement link and a Message-ID from the outbox row's idempotency key."""

import re

import pytest

from incidents.models import Source
from portal import notifications
from portal.channels import email as email_channel
from portal.models import Escalation, Notification
from portal.oncall import tokens

from .oncall_fixtures import WORKING, on_call_team

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp(settings, smtp_server):
    inbox, port = smtp_server(0.0)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.SITE_URL = "https://portal.example.com"
    return inbox


def test_a_page_email_reaches_the_smtp_server_with_its_acknowledgement_link(
    smtp, declare, make_user
):
    team = on_call_team(make_user)
    team.primary.email = "pia@example.org"
    team.primary.save()
    incident = declare(
        actor=None, source=Source.ALERT, now=WORKING, severity="P1", severity_reason="outage"
    )
    escalation = Escalation.objects.get(topic=f"incident:{incident.pk}")
    row = Notification.objects.get(
        idempotency_key__startswith=f"page:{escalation.pk}:", channel="email"
    )
    assert notifications.deliver(row.pk) == "sent"
    (message,) = smtp.messages
    assert message["To"] == "pia@example.org"
    assert message["Subject"] == f"[P1] {incident.reference} {incident.title}"
    assert message["Message-ID"] == email_channel.message_id(row.idempotency_key)
    body = message.get_payload(decode=True).decode()
    link = re.search(r"https://portal\.example\.com/oncall/ack/([^/\s]+)/", body)
    assert link, body
    assert tokens.read(link.group(1)) == (escalation.pk, team.primary.pk)
