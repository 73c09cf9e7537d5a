from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from .views import web_app

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("accounts.urls")),
    path("api/v1/", include("accounts.auth_urls")),
    path("api/v1/", include("batches.urls")),
    path("api/v1/", include("batches.export_urls")),
    path("api/v1/", include("calls.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # A page for people: without a session it sends them to the admin's login and back.
    path(
        "api/docs/",
        login_required(SpectacularSwaggerView.as_view(url_name="schema"), login_url="admin:login"),
        name="swagger-ui",
    ),
    # The client web app (frontend/): its router owns every path under /app/.
    path("app/", web_app, name="web-app"),
    re_path(r"^app/(?P<path>.+)$", web_app),
    path("", RedirectView.as_view(url="/app/", permanent=False)),
]

handler404 = "callcenter.views.not_found"
