"""API tokens (issue 13, finding 9b): stored as SHA-256 digests, expiring, DRF's clear-text
tokens carried over by the migration."""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import io

import pytest
import time_machine
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.services import api_token_create

LIST = "/api/v1/accounts"
START = dt.datetime(2025, 11, 3, 12, 0, tzinfo=dt.UTC)


def token_api(key: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api


def issue(username: str, *args: str) -> str:
    out = io.StringIO()
    call_command("drf_create_token", username, *args, stdout=out)
    return out.getvalue().split()[2]


def test_the_database_never_holds_the_key(client_a):
    key = issue(client_a.username)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiToken._meta.db_table}")
        rows = cursor.fetchall()
    assert len(rows) == 1
    assert not any(key in str(value) for value in rows[0])
    assert ApiToken.objects.get().digest == hashlib.sha256(key.encode()).hexdigest()
    assert "authtoken_token" not in connection.introspection.table_names()
    assert token_api(key).get(LIST).status_code == 200


def test_an_expired_token_answers_401(client_a, settings):
    settings.API_TOKEN_TTL_DAYS = 90
    with time_machine.travel(START, tick=False) as clock:
        key = api_token_create(user=client_a)
        clock.shift(dt.timedelta(days=90) - dt.timedelta(seconds=1))
        assert token_api(key).get(LIST).status_code == 200
        clock.shift(dt.timedelta(seconds=1))
        response = token_api(key).get(LIST)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert "expired" in response.json()["detail"]


def test_last_used_at_is_written_at_most_once_a_minute(client_a):
    with time_machine.travel(START, tick=False) as clock:
        key = api_token_create(user=client_a)
        api = token_api(key)
        api.get(LIST)
        assert ApiToken.objects.get().last_used_at == START
        clock.shift(dt.timedelta(seconds=30))
        api.get(LIST)
        assert ApiToken.objects.get().last_used_at == START
        clock.shift(dt.timedelta(seconds=31))
        api.get(LIST)
        assert ApiToken.objects.get().last_used_at == START + dt.timedelta(seconds=61)


def test_drf_create_token_issues_a_new_key_each_time_and_reset_revokes(client_a):
    first = issue(client_a.username)
    second = issue(client_a.username)
    assert first != second and len(second) == 40
    assert token_api(first).get(LIST).status_code == 200
    third = issue(client_a.username, "-r")
    assert token_api(first).get(LIST).status_code == 401
    assert token_api(second).get(LIST).status_code == 401
    assert token_api(third).get(LIST).status_code == 200


def test_migration_hashes_drf_tokens_and_drops_their_table(client_a, settings):
    """An existing database: DRF's authtoken_token with a key in clear. The key keeps working,
    hashed; the table and authtoken's migration records are gone."""
    settings.API_TOKEN_TTL_DAYS = 90
    key = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"
    created = timezone.now() - dt.timedelta(days=400)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, "
                       "created timestamptz NOT NULL, user_id bigint NOT NULL)")
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, %s, %s)",
                       [key, created, client_a.pk])
        cursor.execute("INSERT INTO django_migrations (app, name, applied) "
                       "VALUES ('authtoken', '0001_initial', now())")
    migration = importlib.import_module("accounts.migrations.0004_apitoken")
    with connection.schema_editor() as editor:
        migration.hash_legacy_tokens(apps, editor)

    assert "authtoken_token" not in connection.introspection.table_names()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM django_migrations WHERE app = 'authtoken'")
        assert cursor.fetchone() == (0,)
    token = ApiToken.objects.get()
    assert token.user == client_a and token.created_at == created
    assert token.expires_at > timezone.now() + dt.timedelta(days=89)
    assert token_api(key).get(LIST).status_code == 200


@pytest.mark.parametrize("header", ["Token not-a-token", "Token " + "0" * 40])
def test_unknown_keys_answer_401(db, header):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=header)
    assert api.get(LIST).status_code == 401
