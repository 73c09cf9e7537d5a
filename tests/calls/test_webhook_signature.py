"""The webhook's signature check: Retell's scheme, without importing Retell's SDK."""

import os
import subprocess
import sys
import time

from django.conf import settings
from retell.lib.webhook_auth import symmetric

from calls.retell import verify_signature
from tests.queue_support import ROOT

BODY = '{"event":"call_ended","call":{"call_id":"c1","transcript":"Sí, señora, ñandú 🙂"}}'


def test_accepts_what_retell_signs_and_nothing_else():
    key = settings.RETELL_API_KEY
    signature = symmetric["sign"](BODY, key)
    assert verify_signature(BODY, signature)
    assert not verify_signature(BODY, symmetric["sign"](BODY, "another-key"))
    assert not verify_signature(BODY.replace("c1", "c2"), signature)
    assert not verify_signature(BODY, signature.upper())
    for header in ("", "v=1,d=abc", "🙂" * 500, signature + " ", f"d=x,{signature}"):
        assert not verify_signature(BODY, header)


def test_refuses_a_signature_older_or_newer_than_five_minutes():
    now = int(time.time() * 1000)
    key = settings.RETELL_API_KEY
    assert verify_signature(BODY, symmetric["sign"](BODY, key, now - 4 * 60 * 1000))
    assert not verify_signature(BODY, symmetric["sign"](BODY, key, now - 6 * 60 * 1000))
    assert not verify_signature(BODY, symmetric["sign"](BODY, key, now + 6 * 60 * 1000))


def test_the_web_process_never_imports_the_sdk_to_check_a_webhook():
    """Issue 14.3: importing the SDK (over a second of CPU) made the first webhook of every
    web process, and the refill of the slot its call freed, that much late."""
    signature = symmetric["sign"](BODY, settings.RETELL_API_KEY)
    script = (
        "import sys, django; django.setup()\n"
        "import calls.views\n"
        "from calls.retell import verify_signature\n"
        f"assert verify_signature({BODY!r}, {signature!r})\n"
        "assert 'retell' not in sys.modules, 'the SDK was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True, timeout=60,
                            env={**os.environ,
                                 "DJANGO_SETTINGS_MODULE": "callcenter.settings.test",
                                 "RETELL_API_KEY": settings.RETELL_API_KEY})
    assert result.returncode == 0, result.stderr[-2000:]
