import secrets
import string

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import incidents.models.component

STATUSES = [
    ("operational", "Operational"),
    ("degraded_performance", "Degraded performance"),
    ("partial_outage", "Partial outage"),
    ("major_outage", "Major outage"),
    ("under_maintenance", "Under maintenance"),
]


def give_public_ids(apps, schema_editor):
    alphabet = string.ascii_lowercase + string.digits
    for model in ("Component", "ComponentGroup"):
        Model = apps.get_model("incidents", model)
        for row in Model.objects.filter(public_id__isnull=True):
            row.public_id = "".join(secrets.choice(alphabet) for _ in range(12))
            row.save(update_fields=["public_id"])


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0007_checklist_item_keys"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="component",
            name="status",
            field=models.CharField(choices=STATUSES, default="operational", max_length=24),
        ),
        migrations.AddField(
            model_name="component",
            name="status_changed_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AddField(
            model_name="component",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now, editable=False),
        ),
        migrations.AddField(
            model_name="componentgroup",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now, editable=False),
        ),
        migrations.AddField(
            model_name="component",
            name="public_id",
            field=models.CharField(max_length=16, null=True, editable=False),
        ),
        migrations.AddField(
            model_name="componentgroup",
            name="public_id",
            field=models.CharField(max_length=16, null=True, editable=False),
        ),
        migrations.RunPython(give_public_ids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="component",
            name="public_id",
            field=models.CharField(
                default=incidents.models.component.public_id,
                editable=False,
                max_length=16,
                unique=True,
            ),
        ),
        migrations.AlterField(
            model_name="componentgroup",
            name="public_id",
            field=models.CharField(
                default=incidents.models.component.public_id,
                editable=False,
                max_length=16,
                unique=True,
            ),
        ),
        migrations.CreateModel(
            name="ComponentStatusChange",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("old", models.CharField(choices=STATUSES, max_length=24)),
                ("new", models.CharField(choices=STATUSES, max_length=24)),
                ("changed_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "changed_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "component",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="status_changes",
                        to="incidents.component",
                    ),
                ),
                (
                    "incident",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="component_changes",
                        to="incidents.incident",
                    ),
                ),
            ],
            options={
                "ordering": ["component", "changed_at", "id"],
                "indexes": [
                    models.Index(fields=["component", "changed_at"], name="component_change_at_idx")
                ],
            },
        ),
    ]
