import pytest

from portal import roles


@pytest.fixture
def boss(make_user):
    """A Manager with an e-mail address: escalations and breaches reach them."""
    user = make_user("boss", roles.MANAGER)
    user.email = "boss@example.org"
    user.save()
    return user
