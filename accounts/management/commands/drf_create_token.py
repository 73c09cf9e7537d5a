"""``manage.py drf_create_token USERNAME [-r]``: issue an API key (accounts.ApiToken).

Replaces Django REST framework's command of the same name: the key is printed once and only
its SHA-256 digest is stored, so an existing key cannot be shown again; every run issues a new
one (valid API_TOKEN_TTL_DAYS). ``-r`` revokes the user's earlier keys (rotation: issue a new
key, move the integration to it, then run with ``-r`` or delete the old one in the admin).
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.services import api_token_create


class Command(BaseCommand):
    help = "Issue an API token for a user (printed once; stored hashed)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "-r", "--reset", action="store_true", help="Revoke the user's earlier tokens."
        )

    def handle(self, *args, username, reset, **options):
        users = get_user_model()
        try:
            user = users._default_manager.get_by_natural_key(username)
        except users.DoesNotExist:
            raise CommandError(f"Cannot create the token: user {username} does not exist")
        key = api_token_create(user=user, revoke_others=reset)
        self.stdout.write(f"Generated token {key} for user {username}")
