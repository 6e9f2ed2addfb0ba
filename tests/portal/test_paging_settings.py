"""Paging settings are bounded (issue 11): the sweep runs at least every 5 s and at most
every second, and a provider body template that is not JSON stops the portal at start-up."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def settings_value(name: str, **env) -> subprocess.CompletedProcess:
    code = (
        f"import django; django.setup(); from django.conf import settings; print(settings.{name})"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(("given", "used"), [("30", "5.0"), ("0.2", "1.0"), ("2", "2.0")])
def test_the_sweep_interval_is_held_between_1_and_5_seconds(given, used):
    result = settings_value("TIMER_SWEEP_SECONDS", TIMER_SWEEP_SECONDS=given)
    assert result.stdout.strip().splitlines()[-1] == used, result.stderr[-2000:]


def test_a_provider_body_that_is_not_json_stops_the_start():
    result = settings_value(
        "PAGING_PROVIDERS", SMS_PROVIDER_URL="http://sms.example", SMS_PROVIDER_BODY="{to}"
    )
    assert result.returncode != 0
    assert "SMS_PROVIDER_BODY is not JSON" in result.stderr


def test_a_configured_provider_is_read():
    result = settings_value(
        "PAGING_PROVIDERS['phone']['url']", PHONE_PROVIDER_URL="http://voice.example/call"
    )
    assert result.stdout.strip().splitlines()[-1] == "http://voice.example/call"
