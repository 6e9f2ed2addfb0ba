"""On PostgreSQL: a trigger that refuses to change or delete a runbook version (the code has
no path to either; this holds against any other), and a generated full-text column over the
title and current text, GIN-indexed, for the library's search. Other databases get
neither: versions are guarded by the model, search is a simple match."""

from django.db import migrations

FORWARD = [
    """
    CREATE OR REPLACE FUNCTION runbooks_version_frozen() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'runbook versions never change (version %)', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER runbooks_version_frozen
    BEFORE UPDATE OR DELETE ON runbooks_version
    FOR EACH ROW EXECUTE FUNCTION runbooks_version_frozen()
    """,
    """
    ALTER TABLE runbooks_runbook ADD COLUMN search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', coalesce(title, '')), 'A') ||
        setweight(to_tsvector('english', coalesce(search_text, '')), 'B')
    ) STORED
    """,
    "CREATE INDEX runbooks_runbook_search_idx ON runbooks_runbook USING gin (search)",
]
BACKWARD = [
    "DROP INDEX IF EXISTS runbooks_runbook_search_idx",
    "ALTER TABLE runbooks_runbook DROP COLUMN IF EXISTS search",
    "DROP TRIGGER IF EXISTS runbooks_version_frozen ON runbooks_version",
    "DROP FUNCTION IF EXISTS runbooks_version_frozen()",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in statements:
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("runbooks", "0001_initial")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
