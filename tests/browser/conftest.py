"""Browser fixtures shared by the web app's tests (tests/browser/webapp.py); the admin's
older tests define their own ``chromium`` and ``page``, which take precedence there."""

from tests.browser.webapp import chromium, page  # noqa: F401
