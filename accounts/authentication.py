"""``Authorization: Token <key>`` against accounts.ApiToken: looked up by the key's SHA-256
digest (the key is never stored), refused once expired."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from . import selectors, services


class ApiTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key):
        token = selectors.api_token_for_key(key=key)
        if token is None:
            raise AuthenticationFailed(_("Invalid token."))
        now = timezone.now()
        if token.expires_at <= now:
            raise AuthenticationFailed(_("Token expired: ask an operator for a new one."))
        if not token.user.is_active:
            raise AuthenticationFailed(_("User inactive or deleted."))
        services.api_token_touch(token=token, now=now)
        return token.user, token
