"""Files go through Django's storage API: the filesystem under var/ by default, an S3-compatible
bucket when S3_BUCKET is set (DESIGN.md, "Files")."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, storages

BASE_DIR = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.configured_storage


def test_default_storage_is_the_filesystem_under_the_var_dir():
    storage = storages["default"]
    assert isinstance(storage, FileSystemStorage)
    assert Path(storage.location) == settings.VAR_DIR / "media" == settings.MEDIA_ROOT

    name = f"test-storage-{uuid.uuid4().hex}/report.pdf"
    body = b"%PDF-1.7 \x00\xff binary"
    saved = []
    try:
        saved.append(storage.save(name, ContentFile(body)))
        # A second file of the same name never overwrites the first (same as on S3).
        saved.append(storage.save(name, ContentFile(b"other")))

        assert saved[0] == name and saved[1] != name
        path = Path(storage.path(saved[0]))
        assert path.is_relative_to(settings.VAR_DIR / "media")
        assert path.read_bytes() == body
        with storage.open(saved[0], "rb") as f:
            assert f.read() == body
        with storage.open(saved[1], "rb") as f:
            assert f.read() == b"other"
    finally:
        for n in saved:
            storage.delete(n)
        folder = Path(storage.path(name)).parent
        if folder.exists():
            folder.rmdir()
    assert not (settings.MEDIA_ROOT / name).parent.exists()


def test_media_is_not_served(login, admin_user, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    name = storages["default"].save("secret.pdf", ContentFile(b"%PDF internal"))
    assert (tmp_path / name).exists()

    client = login(admin_user)
    assert client.get(f"/{settings.MEDIA_URL}{name}").status_code == 404


# Run in a fresh interpreter with production-style environment only: proves that the env
# variables alone switch the default storage to the bucket.
_SUBPROCESS = """
import json
import django
django.setup()
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage, storages

name = default_storage.save("reports/INC-2026-0001.pdf", ContentFile(b"%PDF-1.7 first"))
again = default_storage.save("reports/INC-2026-0001.pdf", ContentFile(b"%PDF-1.7 second"))
with default_storage.open(name, "rb") as f:
    read_back = f.read()
print(json.dumps({
    "backend": type(storages["default"]).__module__ + "." + type(storages["default"]).__name__,
    "name": name,
    "again": again,
    "read_back": read_back.decode(),
    "exists": default_storage.exists(name),
    "url": default_storage.url(name),
}))
"""


@pytest.mark.integration
def test_s3_bucket_from_environment():
    """A real S3-compatible server (moto's) stands in for the bucket."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id="portal-test",
            aws_secret_access_key="portal-test-secret",
            region_name="eu-west-1",
        )
        s3.create_bucket(
            Bucket="portal-files",
            CreateBucketConfiguration={"LocationConstraint": "eu-west-1"},
        )

        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3_", "MEDIA_"))}
        env.update(
            DJANGO_SETTINGS_MODULE="portal.settings",
            PORTAL_VAR_DIR=str(settings.VAR_DIR),
            S3_BUCKET="portal-files",
            S3_ENDPOINT_URL=endpoint,
            S3_ACCESS_KEY_ID="portal-test",
            S3_SECRET_ACCESS_KEY="portal-test-secret",
            S3_REGION="eu-west-1",
            S3_PREFIX="portal/",
            AWS_EC2_METADATA_DISABLED="true",
        )
        proc = subprocess.run(
            [sys.executable, "-c", _SUBPROCESS],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout.strip().splitlines()[-1])

        assert out["backend"] == "storages.backends.s3.S3Storage"
        assert out["name"] == "reports/INC-2026-0001.pdf"
        assert out["again"] != out["name"]
        assert out["read_back"] == "%PDF-1.7 first"
        assert out["exists"] is True

        obj = s3.get_object(Bucket="portal-files", Key="portal/reports/INC-2026-0001.pdf")
        assert obj["Body"].read() == b"%PDF-1.7 first"
        other = s3.get_object(Bucket="portal-files", Key=f"portal/{out['again']}")
        assert other["Body"].read() == b"%PDF-1.7 second"
        keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="portal-files")["Contents"])
        assert keys == sorted(["portal/reports/INC-2026-0001.pdf", f"portal/{out['again']}"])

        # Private: no public grant, and the URL is a signed, path-style link to the endpoint.
        grants = s3.get_object_acl(Bucket="portal-files", Key="portal/" + out["name"])["Grants"]
        assert all("AllUsers" not in str(g.get("Grantee", {})) for g in grants)
        assert out["url"].startswith(f"{endpoint}/portal-files/portal/reports/")
        assert "X-Amz-Signature=" in out["url"] and "X-Amz-Algorithm=AWS4-HMAC-SHA256" in out["url"]
    finally:
        server.stop()
