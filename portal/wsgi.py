import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
# Web requests get a database statement timeout; workers, beat and migrations do not.
os.environ.setdefault("PORTAL_PROCESS", "web")
application = get_wsgi_application()
