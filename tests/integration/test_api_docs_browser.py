"""Swagger UI at /docs in headless Chromium, with every non-loopback host unresolvable.

Plant networks are closed: the page must render from the package's own assets, and "Try it
out" on POST /predict must return a prediction. Chromium and its driver are Debian packages
(``apt-get install -y chromium chromium-driver``), installed by the test setup.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from bench.common import predmaint_server

from predmaint.settings import Settings
from tests.support.browser import headless_chromium

pytestmark = pytest.mark.slow


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    with headless_chromium(tmp_path / "chromium-profile") as driver:
        yield driver


def test_swagger_ui_renders_offline_and_try_it_out_predicts(
    browser: object, trained_home: Settings, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver: WebDriver = browser  # type: ignore[assignment]
    with predmaint_server(trained_home.home, log=tmp_path / "server.log") as url:
        # when the docs page is opened
        driver.get(f"{url}/docs")
        wait = WebDriverWait(driver, 30)
        title = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, ".info .title")))
        assert "predmaint" in title.text, title.text
        # then every resource it loaded came from the API itself
        resources = driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)"
        )
        assert resources, "the page loaded its assets"
        outside = [r for r in resources if not r.startswith(url)]
        assert not outside, f"fetched from outside the plant network: {outside}"

        # when "Try it out" is used on POST /predict with the prefilled spec example
        summary = wait.until(
            ec.element_to_be_clickable(
                (By.CSS_SELECTOR, ".opblock-post .opblock-summary-path[data-path='/predict']")
            )
        )
        summary.click()
        block = summary.find_element(By.XPATH, "./ancestor::div[contains(@class,'opblock-post')]")
        wait.until(lambda _: block.find_element(By.CSS_SELECTOR, ".try-out__btn")).click()
        body = wait.until(
            lambda _: block.find_element(By.CSS_SELECTOR, "textarea.body-param__text")
        )
        assert json.loads(body.get_attribute("value") or "{}")["rotational_speed"] == 1551
        block.find_element(By.CSS_SELECTOR, "button.execute").click()
        status = wait.until(
            lambda _: block.find_element(
                By.CSS_SELECTOR, ".live-responses-table tr.response td.response-col_status"
            )
        )
        wait.until(lambda _: status.text.strip() != "")
        answer = block.find_element(
            By.CSS_SELECTOR, ".live-responses-table tr.response td.response-col_description pre"
        )
        # then the page shows the API's prediction
        assert status.text.strip().startswith("200"), status.text
        prediction = json.loads(answer.text)
        assert prediction["prediction"] in (0, 1) and prediction["risk_level"], prediction
