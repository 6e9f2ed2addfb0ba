"""The runbook text outside the database: the file format (parse and write back), the
checklist steps of sections 4 and 5, placeholders, the diff, and export/import."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from runbooks import content, diff, services
from runbooks.models import Draft, Runbook

from .conftest import text


def test_a_file_parses_and_writes_back_the_same():
    from runbooks.services.library import SHIPPED

    for path in sorted(SHIPPED.glob("*.md")):
        parsed = content.parse(path.read_text(), path.name)
        assert all(parsed.sections[k] for k in ("overview", "recovery", "verification"))
        again = content.parse(content.write(parsed), path.name)
        assert again == parsed


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("no front matter", "must start with a '---'"),
        ("---\ntitle: X\n", "no closing '---'"),
        ("---\ntitle: X\n---\n", "needs 'slug'"),
        ("---\ntitle: X\nslug: x\nteam: t\n---\n## Bogus\n", "is not one of the sections"),
        ("---\ntitle: X\nslug: x\nteam: t\n---\nstray\n", "text before the first"),
        ("---\ntitle: X\nslug: x\nteam: t\nreview_interval_days: soon\n---\n", "number of days"),
        ("---\ntitle: X\nslug: x\nteam: t\n---\n## Verification\n\n## Verification\n", "twice"),
    ],
)
def test_a_malformed_file_is_refused_saying_where(source, message):
    with pytest.raises(content.FormatError, match=message):
        content.parse(source, "bad.md")


def test_the_numbered_steps_of_recovery_and_verification_are_the_checklist():
    sections = text(
        recovery="Before anything:\n\n- read this\n\n1. Drain the queue\n2. Restart:\n"
        "   ```\n   ./restart.sh\n   ```\n   1. the workers\n3. Watch the backlog",
        verification="1. Backlog under 100",
    )
    assert content.checklist_steps(sections) == [
        ("recovery", "Drain the queue"),
        ("recovery", "Restart:"),
        ("recovery", "the workers"),
        ("recovery", "Watch the backlog"),
        ("verification", "Backlog under 100"),
    ]
    assert content.placeholders(text(contacts="Call [FILL IN: phone] or [FILL IN: email]")) == 2


def test_the_diff_marks_lines_and_then_words_and_escapes_everything():
    old = text(recovery="1. Drain the queue\n2. Restart the workers\n3. Watch <b>it</b>")
    new = text(recovery="1. Drain the queue\n2. Restart the web workers\n4. Page the lead")
    sections = {s.key: s for s in diff.compare(old, new)}
    assert not sections["overview"].changed and sections["recovery"].changed
    recovery = sections["recovery"]
    assert (recovery.added, recovery.removed) == (2, 2)
    kinds = [row.kind for row in recovery.rows]
    assert kinds == ["same", "changed", "changed"]
    assert "<ins>web </ins>" in recovery.rows[1].right
    assert "&lt;b&gt;it&lt;/b&gt;" in recovery.rows[2].left  # escaped, never markup
    inline = [(line.kind, str(line.html)) for line in recovery.inline]
    assert inline[0] == ("same", "1. Drain the queue")
    assert [k for k, _ in inline[1:]] == ["removed", "removed", "added", "added"]
    added_only = diff.compare(text(rollback=""), text(rollback="1. Roll back"))
    rollback = next(s for s in added_only if s.key == "rollback")
    assert [(r.kind, r.left_no, r.right_no) for r in rollback.rows] == [("changed", 1, 1)]


@pytest.mark.django_db
def test_export_and_import_round_trip(tmp_path, published, runbook, responder, capsys):
    call_command("export_runbooks", str(tmp_path))
    exported = {p.name for p in tmp_path.glob("*.md")}
    assert f"{runbook.slug}.md" in exported and "disaster-recovery.md" in exported
    back = content.parse((tmp_path / f"{runbook.slug}.md").read_text())
    assert back.sections == published.sections and back.team == "queues"
    # Read back: a draft of each runbook (published ones get a draft to review).
    edited = tmp_path / f"{runbook.slug}.md"
    edited.write_text(edited.read_text().replace("Drain the queue", "Drain the queue slowly"))
    (tmp_path / "broken.md").write_text("not a runbook")
    with pytest.raises(CommandError, match="1 of"):
        call_command("import_runbooks", str(tmp_path), "--as", responder.username)
    draft = Draft.objects.get(runbook=runbook)
    assert "Drain the queue slowly" in draft.sections["recovery"] and draft.based_on == published
    assert "broken.md: it must start" in capsys.readouterr().err
    # Again: every runbook already has a draft now, so nothing imports twice.
    with pytest.raises(CommandError):
        call_command("import_runbooks", str(tmp_path), "--as", responder.username)
    assert Draft.objects.filter(runbook=runbook).count() == 1
    assert Runbook.objects.filter(slug=runbook.slug).count() == 1


@pytest.mark.django_db
def test_importing_a_new_slug_makes_an_unpublished_runbook(tmp_path, responder):
    (tmp_path / "cache.md").write_text(
        "---\ntitle: Cache incidents\nslug: cache-incidents\nteam: nobody\n"
        "types: performance, bogus\n---\n\n## Step-by-step recovery\n\n1. Flush\n"
    )
    call_command("import_runbooks", str(tmp_path), "--as", responder.username)
    runbook = Runbook.objects.get(slug="cache-incidents")
    assert runbook.current is None and runbook.team is None
    assert runbook.incident_types == ["performance"]
    assert runbook.draft.sections["recovery"] == "1. Flush"
    with pytest.raises(CommandError, match="No active user"):
        call_command("import_runbooks", str(tmp_path), "--as", "ghost")
    services.load_shipped()  # a later migrate leaves an imported runbook alone
    assert Runbook.objects.get(slug="cache-incidents").current is None


def test_placeholders_are_highlighted_in_text_never_inside_a_tag():
    from runbooks.templatetags.runbook_tags import runbook_markdown

    html = runbook_markdown('Call [FILL IN: phone] or [x](https://a.example "[FILL IN: t]")')
    assert '<mark class="fill-in">[FILL IN: phone]</mark>' in html
    assert 'title="[FILL IN: t]"' in html  # the attribute is left as it was


def test_no_stored_text_makes_the_comparison_slow():
    import time

    one_line = " ".join(["word"] * 7_000)  # a 30,000-character section on one line
    same_lines = "\n".join(["- same"] * 4_000)
    started = time.monotonic()
    for old, new in (
        (one_line, one_line.replace("word", "ward", 1)),
        (same_lines, same_lines + "\n- other"),
        ("x\n" * 14_000, "y\n" * 14_000),
    ):
        sections = diff.compare(text(recovery=old), text(recovery=new))
        recovery = next(s for s in sections if s.key == "recovery")
        assert recovery.changed and recovery.rows
        assert not next(s for s in sections if s.key == "overview").rows  # unchanged: skipped
    assert time.monotonic() - started < 2.0


def test_the_file_format_keeps_code_blocks_whole_and_refuses_reserved_slugs():
    sections = text(
        recovery="1. Run:\n   ```bash\n   ## step 2: a shell comment\n   ./go.sh\n   ```"
    )
    parsed = content.parse(
        content.write(content.RunbookFile(title="T", slug="t", team="", sections=sections))
    )
    assert parsed.sections == sections
    assert content.parse("---\ntitle: T\nslug: Database Incidents\n---\n").slug == (
        "database-incidents"
    )
    with pytest.raises(content.FormatError, match="cannot name a runbook"):
        content.parse("---\ntitle: T\nslug: follow\n---\n")
