"""Who may do what: Django's model permissions, checked the same way by the API and the admin.

A staff user (an operator) acts on every account, each operation needing its permission, as
in the admin: ``view_<model>`` for reads (``change_<model>`` implies it, as in the admin),
``change_<model>`` for changes, ``add_<model>`` for creations, and two of their own:
``accounts.topup_account`` (money: top-ups and an initial balance) and
``accounts.change_compliance_profile`` (the legal calling rules). A superuser has them all.
Without one, the API answers 403 before anything is looked up. A client user (not staff,
one account) is not judged here: its querysets hold its own account only, and each view
says what a client may do there.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import permissions
from rest_framework.exceptions import PermissionDenied

TOPUP = "accounts.topup_account"
CHANGE_COMPLIANCE_PROFILE = "accounts.change_compliance_profile"
# The Retell agent is an account setting that operators choose (the account's admin form).
SET_AGENT = "accounts.change_account"


def model_permission(model, action: str) -> str:
    """``"<app>.<action>_<model>"``, e.g. ``accounts.view_account``."""
    opts = model._meta
    return f"{opts.app_label}.{action}_{opts.model_name}"


def has(user, perm: str) -> bool:
    """``user.has_perm``, where ``change_<model>`` implies ``view_<model>`` (as in the admin)."""
    if user.has_perm(perm):
        return True
    app, _dot, codename = perm.partition(".")
    return codename.startswith("view_") and user.has_perm(f"{app}.change_{codename[5:]}")


def can_view(user, model) -> bool:
    """Whether a staff user may read every account's ``model`` rows."""
    return user.is_staff and has(user, model_permission(model, "view"))


def require(user, *perms: str, field: str | tuple[str, ...] | None = None) -> None:
    """PermissionDenied (403) naming the permissions missing, under ``field`` when a field
    asked for them: a dotted name as one key, or a tuple path as nested objects."""
    absent = [perm for perm in perms if not has(user, perm)]
    if absent:
        message = _("You need the permission %(perms)s to do this.") % {"perms": ", ".join(absent)}
        raise PermissionDenied(_field_detail(field, message))


def _field_detail(field, message):
    if field is None:
        return message
    detail = [message]
    for name in reversed(field if isinstance(field, tuple) else (field,)):
        detail = {name: detail}
    return detail


def operator_field(user, perm: str, *, field: str | tuple[str, ...]) -> None:
    """A field only operators holding ``perm`` may set: a 403 naming it for anyone else."""
    if not user.is_staff:
        raise PermissionDenied(_field_detail(field, _("Only operators may set this field.")))
    require(user, perm, field=field)


def username_shown_to(viewer, user) -> str:
    """Who did something, as ``viewer`` may see it: staff see usernames; a client sees its own
    account's users by name and every operator as "operator" (never their usernames)."""
    if viewer.is_staff or (
        not user.is_staff and user.account_id is not None and user.account_id == viewer.account_id
    ):
        return user.username
    return _("operator")


class ModelPermissions(permissions.BasePermission):
    """DRF: a staff user needs ``view.operator_permissions[key]`` (key: the viewset action, or
    the HTTP method); a client user may use the keys in ``view.client_actions``. A detail
    action is judged for a client after the lookup (``has_object_permission``), so another
    tenant's object is a 404 before it is ever a 403."""

    message = gettext_lazy("Only operators can do this.")

    @staticmethod
    def _key(request, view) -> str:
        method = "GET" if request.method == "HEAD" else request.method
        return getattr(view, "action", None) or method

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        key = self._key(request, view)
        if user.is_staff:
            # A key without an entry has no handler (DRF answers 405 next) or is OPTIONS.
            require(user, *view.operator_permissions.get(key, ()))
            return True
        return key in view.client_actions or getattr(view, "detail", False)

    def has_object_permission(self, request, view, obj):
        return request.user.is_staff or self._key(request, view) in view.client_actions
