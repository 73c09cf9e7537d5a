"""The session login of the web frontend: /api/v1/auth/csrf, login, me, logout."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

PASSWORD = "pass-12345-segura"


@pytest.fixture
def browser():
    """A client that enforces CSRF, like a browser against Django."""
    return APIClient(enforce_csrf_checks=True)


def csrf(api: APIClient) -> str:
    response = api.get("/api/v1/auth/csrf")
    assert response.status_code == 200
    token = response.json()["csrf_token"]
    assert api.cookies["csrftoken"].value
    return token


def with_password(user):
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    return user


def test_login_me_logout(browser, client_a):
    with_password(client_a)
    token = csrf(browser)
    response = browser.post("/api/v1/auth/login", {"username": "client-a", "password": PASSWORD},
                            format="json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200
    me = {"username": "client-a", "is_staff": False, "account_id": "acct-a",
          "account_name": "Cobranzas A"}
    assert response.json() == me
    assert browser.get("/api/v1/auth/me").json() == me
    # The session authenticates the API; its unsafe requests need the (rotated) CSRF token.
    assert browser.get("/api/v1/batches").status_code == 200
    assert browser.post("/api/v1/auth/logout").status_code == 403
    token = browser.cookies["csrftoken"].value
    assert browser.post("/api/v1/auth/logout", HTTP_X_CSRFTOKEN=token).status_code == 204
    assert browser.get("/api/v1/auth/me").status_code == 401


def test_me_of_an_operator_has_no_account(browser, operator):
    with_password(operator)
    token = csrf(browser)
    response = browser.post("/api/v1/auth/login", {"username": "operator", "password": PASSWORD},
                            format="json", HTTP_X_CSRFTOKEN=token)
    assert response.json() == {"username": "operator", "is_staff": True, "account_id": None,
                               "account_name": None}


def test_login_without_csrf_token_is_refused(browser, client_a):
    with_password(client_a)
    response = browser.post("/api/v1/auth/login", {"username": "client-a", "password": PASSWORD},
                            format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_wrong_credentials_and_missing_fields(browser, client_a):
    with_password(client_a)
    token = csrf(browser)
    wrong = browser.post("/api/v1/auth/login", {"username": "client-a", "password": "nope"},
                         format="json", HTTP_X_CSRFTOKEN=token)
    assert wrong.status_code == 400
    assert wrong.json() == {"detail": "Wrong username or password."}
    missing = browser.post("/api/v1/auth/login", {"username": "client-a"}, format="json",
                           HTTP_X_CSRFTOKEN=token)
    assert missing.status_code == 400 and "password" in missing.json()


def test_inactive_user_cannot_log_in(browser, client_a):
    with_password(client_a)
    client_a.is_active = False
    client_a.save(update_fields=["is_active"])
    token = csrf(browser)
    response = browser.post("/api/v1/auth/login", {"username": "client-a", "password": PASSWORD},
                            format="json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 400
