from django.urls import path, re_path

from calls import api, views

urlpatterns = [
    re_path(r"^dashboard(?:/)?$", api.DashboardView.as_view(), name="dashboard"),
    re_path(r"^options(?:/)?$", api.OptionsView.as_view(), name="options"),
    path("calls/retell/webhook", views.retell_webhook, name="retell-webhook"),
]
