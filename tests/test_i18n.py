"""Spanish is shipped: operators get the admin and the API's messages in Spanish."""

import pytest
from django.utils import translation
from django.utils.translation import gettext


@pytest.mark.parametrize("source", ["Pending", "Accounts", "Campaigns", "Top-up"])
def test_catalog_translates_to_spanish(source):
    with translation.override("es-cl"):
        assert gettext(source) != source


def test_admin_login_page_is_in_spanish(client, settings):
    settings.LANGUAGE_CODE = "es-cl"
    response = client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE="es-CL")
    assert response.status_code == 200
    assert "Contraseña" in response.content.decode()
