"""`make run`: the web server, a Celery worker and Celery beat in one terminal. Ctrl-C (or
SIGTERM) stops all three cleanly; if one of them dies, the others are stopped too."""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from portal.celery import app as celery_app


class Command(BaseCommand):
    help = "Serve the portal with its Celery worker and beat (development)."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default=os.environ.get("PORTAL_ADDR", "127.0.0.1:8000"))

    def handle(self, *args, addr: str, **options):
        python = sys.executable
        var = str(settings.VAR_DIR)
        commands = {
            "web": [python, "manage.py", "runserver", addr, "--noreload"],
            "worker": [
                python, "-m", "celery", "-A", "portal", "worker",
                "--loglevel=INFO",
                "--queues=" + ",".join([
                    settings.CELERY_PAGES_QUEUE, settings.CELERY_TIMERS_QUEUE,
                    celery_app.conf.task_default_queue, settings.CELERY_BULK_QUEUE,
                    settings.CELERY_REPORTS_QUEUE,
                ]),
                "--concurrency=2",
                "--hostname=worker@%h",
            ],
            "beat": [
                python, "-m", "celery", "-A", "portal", "beat", "--loglevel=INFO",
                f"--schedule={var}/celerybeat-schedule",
            ],
        }  # fmt: skip
        procs: dict[str, subprocess.Popen] = {}
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        for name, cmd in commands.items():
            # Own process groups: the terminal's Ctrl-C reaches only us, and we stop each
            # child in order rather than all at once mid-write.
            procs[name] = subprocess.Popen(cmd, start_new_session=True)

        host = addr if ":" in addr else f"127.0.0.1:{addr}"
        self.stdout.write(
            self.style.SUCCESS(f"\n  Incident portal: http://{host}/\n")
            + "  Demo logins (password demo-portal-2026):\n"
            "    alice, bob, dana  Responder\n"
            "    carol             Manager\n"
            "    admin             Admin (also /admin/)\n"
            "  Press Ctrl-C to stop web, worker and beat.\n"
        )
        exit_code = 0
        try:
            while not stopping:
                for name, proc in procs.items():
                    if proc.poll() is not None:
                        self.stderr.write(f"{name} exited with {proc.returncode}; stopping.")
                        exit_code = 1
                        stopping = True
                        break
                time.sleep(0.5)
        finally:
            self.stdout.write("Stopping web, worker and beat...")
            for proc in procs.values():
                if proc.poll() is None:
                    # The main process only: Celery's warm shutdown stops its own pool.
                    proc.terminate()
            deadline = time.monotonic() + 15
            for name, proc in procs.items():
                try:
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    self.stderr.write(f"{name} did not stop in time; killing it.")
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            self.stdout.write("Stopped.")
        sys.exit(exit_code)
