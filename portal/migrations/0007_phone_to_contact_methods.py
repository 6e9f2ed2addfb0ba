"""The profile's single phone number becomes unverified SMS and phone-call contact methods:
pages use a number only once its owner has answered a test message (issue 11)."""

from django.db import migrations


def move(apps, schema_editor):
    Profile = apps.get_model("portal", "Profile")
    ContactMethod = apps.get_model("portal", "ContactMethod")
    for profile in Profile.objects.exclude(phone=""):
        for kind in ("sms", "phone"):
            ContactMethod.objects.get_or_create(
                user_id=profile.user_id, kind=kind, address=profile.phone
            )


class Migration(migrations.Migration):
    dependencies = [("portal", "0006_paging_policies")]

    operations = [
        migrations.RunPython(move, migrations.RunPython.noop),
        migrations.RemoveField(model_name="profile", name="phone"),
    ]
