"""The campaign page's buttons and its title both readable, on a laptop and on a phone
(issue 14 finding 7: at 1400 px the buttons sat on top of the "Campaña … (batch-…)" heading).

Measured in Chromium with the shipped Spanish labels, the longest; a screenshot per width is
saved under ``artifacts/screenshots/``."""

from batches.models import Job
from tests.browser.test_operator_journey import (  # noqa: F401 - pytest fixtures
    PASSWORD,
    _isolated,
    pytestmark,
)
from tests.browser.webapp import SCREENSHOTS
from tests.factories import BatchFactory, JobFactory, UserFactory

# Two laptops and a phone (its viewport's height too: the screenshot shows what it shows).
VIEWPORTS = ({"width": 1400, "height": 900}, {"width": 1280, "height": 800},
             {"width": 390, "height": 844})


def boxes(page, selector: str) -> list[dict]:
    return [page.locator(selector).nth(i).bounding_box()
            for i in range(page.locator(selector).count())]


def overlap(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


def test_the_campaign_buttons_never_cover_its_title(live_server, chromium):  # noqa: F811
    operator = UserFactory(username="operadora-layout", is_staff=True, is_superuser=True)
    operator.set_password(PASSWORD)
    operator.save()
    # Running, with a failed job: every button shows (pause, retry, cancel, both downloads).
    batch = BatchFactory(name="Cartera castigada octubre 2025 Región Metropolitana",
                         batch_id="batch-20251001-3f9a27c4")
    JobFactory(batch=batch, status=Job.Status.FAILED)
    context = chromium.new_context(locale="es-CL", viewport=VIEWPORTS[0])
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(f"{live_server.url}/admin/login/?next=/admin/batches/batch/{batch.pk}/change/")
        page.fill("#id_username", operator.username)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_selector("ul.object-tools")
        assert batch.batch_id in page.inner_text("#content h2")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for viewport in VIEWPORTS:
            width = viewport["width"]
            page.set_viewport_size(viewport)
            page.screenshot(path=str(SCREENSHOTS / f"30-campaign-buttons-{width}px.png"))
            headings = boxes(page, "#content > h1, #content > h2")
            tools = boxes(page, "ul.object-tools > li")
            assert len(headings) == 2 and len(tools) == 6, (headings, tools)
            for tool in tools:
                assert not any(overlap(tool, heading) for heading in headings), (width, tool)
                assert tool["x"] >= 0 and tool["x"] + tool["width"] <= width, (width, tool)
            for i, tool in enumerate(tools):
                assert not any(overlap(tool, other) for other in tools[i + 1:]), (width, tool)
    finally:
        context.close()
