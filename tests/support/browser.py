"""Headless Chromium for page tests, shut off from every host but the loopback.

Plant networks are closed: a page that needed a CDN would fail there, so it fails here too.
Chromium and its driver are Debian packages that ``make test-tools`` installs.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
INSTALL = "make test-tools (apt-get install -y chromium chromium-driver)"


@contextmanager
def headless_chromium(profile: Path) -> Iterator[Any]:
    """A Selenium driver for headless Chromium with its browser console log kept."""
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.fail(f"Chromium and chromedriver are needed for this test: {INSTALL}")
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not look for drivers online
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        # Any host but the loopback fails to resolve: a CDN asset could not load.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--window-size=1280,2000",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
