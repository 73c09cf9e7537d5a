"""Routes of the session login, under /api/v1/ (see callcenter/urls.py and accounts.auth_api).
No trailing slash, one accepted, like the other APIs."""

from django.urls import re_path

from . import auth_api

SLASH = r"(?:/)?$"

urlpatterns = [
    re_path(r"^auth/csrf" + SLASH, auth_api.CsrfView.as_view(), name="auth-csrf"),
    re_path(r"^auth/login" + SLASH, auth_api.LoginView.as_view(), name="auth-login"),
    re_path(r"^auth/logout" + SLASH, auth_api.LogoutView.as_view(), name="auth-logout"),
    re_path(r"^auth/me" + SLASH, auth_api.MeView.as_view(), name="auth-me"),
]
