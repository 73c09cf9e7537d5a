from django.urls import path

from calls import views

urlpatterns = [
    path("calls/retell/webhook", views.retell_webhook, name="retell-webhook"),
]
