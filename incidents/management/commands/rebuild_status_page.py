from django.core.management.base import BaseCommand

from incidents.statuspage import snapshot


class Command(BaseCommand):
    help = (
        "Rebuild the public status page's snapshot now and publish it to the cache, file "
        "storage and this process (run after a deploy that changes its templates)."
    )

    def handle(self, *args, **options):
        snap = snapshot.rebuild()
        self.stdout.write(
            self.style.SUCCESS(
                f"Status page snapshot {snap.generation} published ({len(snap.entries)} pages)."
            )
        )
