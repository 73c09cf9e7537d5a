"""Each entry point chooses its settings module when DJANGO_SETTINGS_MODULE is not set (issue 14
finding 6): the web server's (wsgi, asgi) production, never DEBUG with the development key;
the developer's (manage.py) local; Celery none, it refuses to start."""

import os
import subprocess
import sys

import pytest

from tests.settings_tests.test_env import GOOD_PRODUCTION, ROOT

SHOW = ("from django.conf import settings; from celery import current_app; "
        "print(settings.SETTINGS_MODULE, settings.DEBUG, current_app.conf.broker_url)")


def _run(args, **variables):
    """``args`` in a fresh interpreter whose environment has no project variable but these."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(
        ("DJANGO_", "CELERY_", "RETELL_", "DATABASE"))}
    environment.update(variables)
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=60)


PRODUCTION_SECRETS = {k: v for k, v in GOOD_PRODUCTION.items() if k != "DJANGO_SETTINGS_MODULE"}


@pytest.mark.parametrize("module", ["callcenter.wsgi", "callcenter.asgi"])
def test_the_web_server_defaults_to_production(module):
    result = _run(["-c", f"import {module}; {SHOW}"], **PRODUCTION_SECRETS)
    assert result.returncode == 0, result.stderr
    # The Celery app the web process publishes through is production's too.
    assert result.stdout.split() == ["callcenter.settings.production", "False",
                                     GOOD_PRODUCTION["CELERY_BROKER_URL"]]


@pytest.mark.parametrize("module", ["callcenter.wsgi", "callcenter.asgi"])
def test_the_web_server_without_production_secrets_refuses_to_start(module):
    result = _run(["-c", f"import {module}; {SHOW}"])
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr
    assert "True" not in result.stdout


def test_manage_py_defaults_to_local():
    result = _run(["manage.py", "shell", "-v", "0", "-c", SHOW],
                  CELERY_BROKER_URL="redis://127.0.0.1:6379/0")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:2] == ["callcenter.settings.local", "True"]


def test_celery_without_a_settings_module_refuses_to_start():
    result = _run(["-m", "celery", "-A", "callcenter", "report"], **PRODUCTION_SECRETS)
    assert result.returncode != 0
    assert "DJANGO_SETTINGS_MODULE is not set" in result.stderr
