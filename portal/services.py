from django.db import transaction

from .models import Profile


@transaction.atomic
def profile_update(*, user, display_name: str, time_zone: str) -> Profile:
    profile, _ = Profile.objects.select_for_update().get_or_create(user=user)
    profile.display_name = display_name
    profile.time_zone = time_zone
    profile.full_clean()
    profile.save()
    return profile


def profile_for(user) -> Profile:
    """The user's profile, or an unsaved default one; saving goes through profile_update."""
    return Profile.objects.filter(user=user).first() or Profile(user=user)
