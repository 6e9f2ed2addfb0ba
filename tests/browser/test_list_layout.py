"""The incident list's date filters fit their content at every width (issue 8): a date input
narrower than its own content cuts the year off."""

import pytest

from tests.browser.test_declare_flow import log_in

pytestmark = pytest.mark.django_db(transaction=True)

# The input's width next to the width it takes when left to size itself to its content.
MEASURE = """(sel) => {
  const input = document.querySelector(sel);
  const probe = input.cloneNode();
  probe.removeAttribute("id");
  probe.removeAttribute("name");
  probe.style.cssText = "width:auto;position:absolute;visibility:hidden;left:0;top:0";
  input.parentElement.appendChild(probe);
  const needed = probe.getBoundingClientRect().width;
  probe.remove();
  return [input.getBoundingClientRect().width, needed];
}"""


@pytest.mark.parametrize("width", [1300, 1024, 768, 390, 360])
def test_date_filters_fit_their_dates(live_server, page_factory, responder, width):
    page = page_factory(viewport={"width": width, "height": 900})
    log_in(page, live_server.url, "rita")
    page.goto(f"{live_server.url}/incidents/?date_from=2026-11-01&date_to=2026-11-29")
    for field in ("#id_date_from", "#id_date_to"):
        shown, needed = page.evaluate(MEASURE, field)
        assert shown >= needed, f"{field} at {width}px: {shown:.0f}px wide, needs {needed:.0f}px"
    assert page.locator("label[for=id_date_from]").inner_text() == "Declared from"
    assert page.console_errors == []
