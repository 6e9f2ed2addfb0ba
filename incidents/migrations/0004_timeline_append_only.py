"""The timeline is append-only in the database too (DESIGN.md decision 2).

Incidents PROTECT their events instead of cascading them away, and on PostgreSQL a row trigger
refuses every UPDATE and DELETE of a timeline row, whoever sends it (a raw queryset, SQL in a
shell, a future bug). TRUNCATE fires no row trigger, so test database flushes still work.
SQLite gets no trigger: its flush deletes rows one statement at a time."""

import django.db.models.deletion
from django.db import migrations, models

FUNCTION = "incidents_timelineevent_append_only"
TRIGGER = "incidents_timelineevent_append_only"


def _table(apps, schema_editor) -> str:
    model = apps.get_model("incidents", "TimelineEvent")
    return schema_editor.quote_name(model._meta.db_table)


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"""
        CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'timeline events are append-only; write a new event instead'
                USING DETAIL = TG_OP || ' of timeline event ' || OLD.id || ' refused.';
        END;
        $$
        """
    )
    schema_editor.execute(
        f"CREATE TRIGGER {TRIGGER} BEFORE UPDATE OR DELETE ON {_table(apps, schema_editor)} "
        f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()"
    )


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {_table(apps, schema_editor)}")
    schema_editor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0003_command"),
    ]

    operations = [
        migrations.AlterField(
            model_name="timelineevent",
            name="incident",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="events",
                to="incidents.incident",
            ),
        ),
        migrations.RunPython(create_trigger, drop_trigger),
    ]
