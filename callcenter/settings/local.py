"""Local development and the embedded demo: SQLite, filesystem broker, Retell simulator."""

from .base import *  # noqa: F403
from .base import env_bool

DEBUG = env_bool("DJANGO_DEBUG", True)
