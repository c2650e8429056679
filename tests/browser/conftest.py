"""The studio in a real browser: Debian's Chromium driven by Playwright, against a real `pdp serve`.

No browser is downloaded (`playwright install` is never run): Playwright drives `/usr/bin/chromium`, which
`.ci/run` installs. Without it the tests fail, saying how to install it. Every wait is bounded (Playwright's
timeout); nothing is measured.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.serve import own_environment, served

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
POLICIES = Path(__file__).parents[2] / "policies"
SCREENSHOTS = Path(__file__).parents[2] / "docs" / "screenshots"
WAIT_MS = 30_000  # the longest any step waits (a hang guard on a loaded machine, never a measure of speed)


class Studio:
    """A running `pdp serve` with the studio on: its base URL, its token, and the set's directory on disk."""

    def __init__(self, base: str, token: str, directory: Path):
        self.base, self.token, self.directory = base, token, directory

    @property
    def url(self) -> str:
        return f"{self.base}/studio/#token={self.token}"


@contextlib.contextmanager
def studio_over(directory: Path) -> Iterator[Studio]:
    """`pdp serve DIRECTORY` with a new studio token (the server reloads the set when it changes on disk)."""
    token = secrets.token_hex(24)
    with own_environment("PDP_ADMIN_TOKEN", "PDP_BUNDLE_URL"):
        os.environ["PDP_STUDIO_TOKEN"] = token
        with served(directory) as base:
            yield Studio(base, token, directory)


def copy_of_policies(folder: Path) -> Path:
    target = folder / "policies"
    shutil.copytree(POLICIES, target)
    return target


@pytest.fixture(scope="module")
def studio(tmp_path_factory) -> Iterator[Studio]:
    """A studio shared by a module's tests that never save (each edits only in its own page)."""
    with studio_over(copy_of_policies(tmp_path_factory.mktemp("studio"))) as running:
        yield running


@pytest.fixture
def own_studio(tmp_path) -> Iterator[Studio]:
    """A studio of the test's own, over its own copy of the set (for a test that saves)."""
    with studio_over(copy_of_policies(tmp_path)) as running:
        yield running


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Debian's Chromium, headless, with a fresh profile."""
    if not CHROMIUM.exists():
        pytest.fail(f"the browser tests need Debian's Chromium at {CHROMIUM}: `apt-get install chromium` "
                    "(.ci/run installs it)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)  # `expect` waits as long as any step may (its own default is 5 s)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
            headless=True, viewport={"width": 1440, "height": 900})
        context.set_default_timeout(WAIT_MS)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser):
    """A new tab (its own sessionStorage: no access key kept from another test); errors on the page fail the test."""
    tab = browser.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    tab.on("console", lambda message: problems.append(message.text) if message.type == "error"
           and "favicon" not in message.text and "status of 4" not in message.text else None)
    yield tab
    tab.close()
    assert not problems, f"the page reported errors: {problems}"


def screenshot(page, name: str) -> None:
    """docs/screenshots/NAME.png, only when PDP_SCREENSHOTS=1 (they are kept in the repository for the README)."""
    if os.environ.get("PDP_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
