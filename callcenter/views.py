"""Project-level views: the API's 404 and the client web app's page."""

from functools import lru_cache

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.defaults import page_not_found


def not_found(request, exception=None):
    """A JSON 404 under /api/ (what API clients parse), Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": _("Not found.")}, status=404)
    return page_not_found(request, exception)


# --- The client web app (frontend/, built into frontend/dist) ------------------------------

WEB_APP_DIST = settings.BASE_DIR / "frontend" / "dist"


@lru_cache(maxsize=1)
def _web_app_index(mtime: float) -> bytes:
    return (WEB_APP_DIST / "index.html").read_bytes()


@ensure_csrf_cookie
def web_app(request, path: str = ""):
    """The app's index.html for /app/ and every path under it: the app's router picks the
    screen (a client's link to /app/campaigns/42 works on reload). Its scripts and styles are
    static files under /static/app/ (hashed names, cached for good); this page is never cached,
    so a deploy reaches every browser on its next load. The CSRF cookie is set here so the
    app's first POST (the login) has it."""
    index = WEB_APP_DIST / "index.html"
    try:
        body = _web_app_index(index.stat().st_mtime)
    except FileNotFoundError:
        return HttpResponse(
            _("The web app is not built: run `python3 dev.py build-web`."),
            status=503,
            content_type="text/plain; charset=utf-8",
        )
    response = HttpResponse(body, content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response
