"""Routes of the accounts API, under /api/v1/ (see callcenter/urls.py).

The contract's paths have no trailing slash (``/api/v1/accounts/acct-a/topup``); one is
accepted too. ``(?:/)?`` rather than ``/?`` keeps the slash out of the OpenAPI paths.
"""

from rest_framework.routers import SimpleRouter

from .api import AccountViewSet


class OptionalSlashRouter(SimpleRouter):
    def __init__(self):
        super().__init__()
        self.trailing_slash = "(?:/)?"


router = OptionalSlashRouter()
router.register("accounts", AccountViewSet, basename="account")

urlpatterns = router.urls
