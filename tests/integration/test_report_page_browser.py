"""The day's report page in headless Chromium: it renders from the file alone, with no console
error and no request to anywhere (every host but the loopback is unresolvable)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from predmaint.monitoring.page import write_page
from predmaint.settings import Settings
from tests.support.browser import headless_chromium
from tests.support.loop_days import play

pytestmark = pytest.mark.slow


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    with headless_chromium(tmp_path / "chromium-profile") as driver:
        yield driver


@pytest.mark.parametrize("language", ["pt", "en"])
def test_report_page_renders_offline_without_console_errors(
    browser: object, settings_factory: Callable[..., Settings], tmp_path: Path, language: str
) -> None:
    from selenium.webdriver.chrome.webdriver import WebDriver
    from selenium.webdriver.common.by import By

    driver: WebDriver = browser  # type: ignore[assignment]
    # given four monitored days, the last one running hot
    settings = settings_factory(language=language)
    path = write_page(settings, play(settings, 4, scenarios={3: "cooling_loss"}))
    # when the page is opened from the disk
    driver.get(path.as_uri())
    # then it renders its title, sections and four drawn plots
    heading = driver.find_element(By.TAG_NAME, "h1").text
    assert heading.startswith("predmaint — " + ("relatório" if language == "pt" else "daily")), (
        heading
    )
    assert len(driver.find_elements(By.CSS_SELECTOR, "h2")) >= 8
    plots = driver.find_elements(By.CSS_SELECTOR, "figure svg")
    assert len(plots) == 4
    assert all(p.size["width"] > 300 and p.size["height"] > 100 for p in plots), [
        p.size for p in plots
    ]
    warning = driver.find_element(By.CSS_SELECTOR, "p.warn").text
    assert "process_temperature" in warning
    # with nothing fetched and nothing logged as an error
    resources = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert resources == [], f"the page fetched {resources}"
    errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == [], errors
    driver.save_screenshot(str(tmp_path / f"report-{language}.png"))
