"""Input pieces shared by the batches API's requests, and DRF errors as dotted names."""

from __future__ import annotations

import json

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Account
from accounts.selectors import accounts_visible_to
from batches.excel_headers import FIELDS as MAPPABLE_FIELDS
from batches.excel_headers import MULTI_COLUMN_FIELDS

MAX_OPTION_JSON = 10_000  # characters of a settings object (call, voice, recurring, mapping)
MAX_OPTION_DEPTH = 10


@extend_schema_field(OpenApiTypes.STR)
class AccountIdField(serializers.Field):
    """An account's public id (``account_id``), limited to the accounts the user may use.

    Another tenant's account and an unknown one get the same answer, so nothing leaks. A
    client user may leave it out (their own account); operators must name one.
    """

    default_error_messages = {"unknown": gettext_lazy("Unknown account.")}

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text",
            "Public id of the account (operators: required; client users: their own "
            "account, may be left out).",
        )
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> Account:
        if not isinstance(data, str) or not data.strip() or len(data) > 64:
            self.fail("unknown")
        user = self.context["request"].user
        # An operator may name any account (the view checked its batch permission); a client
        # only its own.
        accounts = Account.objects.all() if user.is_staff else accounts_visible_to(user)
        account = accounts.filter(account_id=data.strip()).first()
        if account is None:
            self.fail("unknown")
        return account

    def to_representation(self, value):
        return value.account_id


def resolve_account(attrs: dict, user, *, require_active: bool = True) -> Account:
    """The validated account, or the client user's own when none was given."""
    account = attrs.get("account_id")
    if account is None:
        if user.is_staff or user.account_id is None:
            raise serializers.ValidationError({"account_id": [_("This field is required.")]})
        account = user.account
    if require_active and account.status != Account.Status.ACTIVE:
        raise serializers.ValidationError({"account_id": [_("The account is suspended.")]})
    return account


def check_option_json(value) -> None:
    """A settings object stays small and shallow: at most MAX_OPTION_DEPTH levels (walked
    without recursion, before anything recursive such as json.dumps sees it) and
    MAX_OPTION_JSON characters as JSON."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_OPTION_DEPTH:
                raise serializers.ValidationError(
                    _("Nested too deeply: at most %(max)s levels.") % {"max": MAX_OPTION_DEPTH}
                )
            stack.extend(
                (v, depth + 1) for v in (item.values() if isinstance(item, dict) else item)
            )
    if len(json.dumps(value, ensure_ascii=False, default=str)) > MAX_OPTION_JSON:
        raise serializers.ValidationError(
            _("At most %(max)s characters as JSON.") % {"max": MAX_OPTION_JSON}
        )


class OptionJSONField(serializers.JSONField):
    """A settings object of the JSON form (see ``check_option_json``)."""

    def to_internal_value(self, data):
        check_option_json(data)
        return super().to_internal_value(data)


class JSONTextField(serializers.CharField):
    """A JSON document sent as text (multipart forms): parsed, must hold ``kind``."""

    def __init__(self, *, kind: type = dict, **kwargs):
        self.kind = kind
        kwargs.setdefault("default", None)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("trim_whitespace", True)
        kwargs.setdefault("max_length", MAX_OPTION_JSON)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        if not text:
            return None
        try:
            value = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise serializers.ValidationError(_("Invalid JSON: %(error)s") % {"error": exc})
        except RecursionError:
            raise serializers.ValidationError(
                _("Nested too deeply: at most %(max)s levels.") % {"max": MAX_OPTION_DEPTH}
            ) from None
        if value is not None and not isinstance(value, self.kind):
            raise serializers.ValidationError(_("Must be a JSON object."))
        check_option_json(value)
        return value


def clean_column_mapping(value):
    """{field: header text | [texts] for phones | null}; fields from the Excel reader."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise serializers.ValidationError(_("Must be a JSON object."))
    errors = {}
    for key, header in value.items():
        if key not in MAPPABLE_FIELDS:
            errors[key] = [
                _("Unknown field. Known fields: %(known)s.") % {"known": ", ".join(MAPPABLE_FIELDS)}
            ]
        elif header is None or isinstance(header, str):
            continue
        elif (
            key in MULTI_COLUMN_FIELDS
            and isinstance(header, list)
            and all(isinstance(h, str) for h in header)
        ):
            continue
        else:
            errors[key] = [_("Must be a column header text (a list of texts for phone).")]
    if errors:
        raise serializers.ValidationError(errors)
    return value
