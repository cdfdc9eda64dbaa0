"""Headless Chromium for the browser tests (Debian's chromium and
chromium-driver, python3-selenium; scripts/install-deps installs them).

start() returns a WebDriver, or skips the test when a part is missing."""

import os

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def start():
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.skip("Debian's chromium and chromium-driver are not installed (scripts/install-deps installs them)")
    pytest.importorskip("selenium", reason="python3-selenium is not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    opts = Options()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--no-first-run", "--disable-extensions", "--disable-background-networking",
                "--hide-scrollbars", "--force-device-scale-factor=1"):
        opts.add_argument(arg)
    drv = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    drv.set_page_load_timeout(60)
    return drv


def screenshot_dir():
    """Where browser tests save their screenshots: the folder named by
    KP_SCREENSHOTS (set it to the repository's docs/screenshots to refresh the
    README's pictures), else screenshots/ in the working directory (the build
    tree), so a test run leaves the checkout unchanged."""
    d = os.environ.get("KP_SCREENSHOTS") or os.path.join(os.getcwd(), "screenshots")
    os.makedirs(d, exist_ok=True)
    return d


def wait_for_id(browser, element_id, timeout=30):
    """The element with id `element_id`, once the page has it."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(browser, timeout).until(lambda d: d.find_element(By.ID, element_id))


def save_screenshot(browser, name):
    """Saves what the browser shows as `name` in screenshot_dir()."""
    browser.save_screenshot(os.path.join(screenshot_dir(), name))
