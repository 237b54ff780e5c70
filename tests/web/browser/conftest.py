"""Browser tests: Debian's Chromium driven by Playwright against the app served by uvicorn on 127.0.0.1.

Without Chromium, Playwright or axe-core these tests are skipped, saying what is missing, except with CI=true,
where a missing piece fails the run instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("EVERYMETRE_CHROMIUM", "/usr/bin/chromium")
AXE = Path(__file__).resolve().parents[3] / "node_modules" / "axe-core" / "axe.min.js"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the Python package playwright is not installed (pip install -e '.[test]')"
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    if not AXE.exists():
        return f"axe-core is not installed at {AXE} (run `make test-browser-deps`)"
    return None


def pytest_collection_modifyitems(config: Any, items: list[pytest.Item]) -> None:
    reason = _missing()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        return  # never skipped in CI: the `browser` fixture fails, saying what is missing
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=f"browser test skipped: {reason}"))


@pytest.fixture(scope="session")
def _browser_prerequisites() -> None:
    reason = _missing()
    if reason:
        pytest.fail(f"CI=true and the browser tests cannot run: {reason}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server(engine, users) -> Iterator[str]:
    """The app (on the test database) served by uvicorn in a background thread; yields its base URL."""
    import uvicorn

    from everymetre.api.app import create_app
    from everymetre.config import get_settings

    port = _free_port()
    config = uvicorn.Config(create_app(get_settings()), host="127.0.0.1", port=port, log_level="warning",
                            lifespan="off", access_log=False)
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser(_browser_prerequisites) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    yield b
    b.close()
    pw.stop()


class Checked:
    """A page under real CSP at 360 px wide, plus the checks every page must pass."""

    def __init__(self, browser: Any, base: str) -> None:
        self.browser, self.base = browser, base
        self.context = browser.new_context(viewport={"width": 360, "height": 740}, base_url=base, locale="uk-UA")
        self.page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.console_errors: list[str] = []
        self.page.on("console", self._console)
        self.checked: set[str] = set()

    def _console(self, message: Any) -> None:
        if message.type != "error":
            return
        url = (message.location or {}).get("url", "")
        if message.text.startswith("Failed to load resource") and url.split("#")[0] == self.page.url.split("#")[0]:
            return  # the page itself answered 400 (a form shown again with its errors): expected
        self.console_errors.append(f"{message.text} ({url})")

    def goto(self, path: str) -> None:
        self.page.goto(self.base + path)

    def check(self, label: str = "") -> None:
        """No sideways scrolling at 360 px, no CSP or script errors, and axe finds nothing serious."""
        page = self.page
        width = page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= 360, f"{page.url}: {width}px wide at a 360px viewport"
        assert not self.console_errors, f"{page.url}: console errors {self.console_errors}"
        key = page.url.split("?")[0]
        if key in self.checked and not label:
            return
        self.checked.add(key)
        violations = axe(self.browser, self.context, page)
        assert not violations, f"{page.url} {label}: " + "; ".join(
            f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']][:3]}" for v in violations)

    def close(self) -> None:
        self.context.close()


def axe(browser: Any, context: Any, page: Any) -> list[dict[str, Any]]:
    """axe-core on the page as it is now: its HTML is reloaded in a CSP-bypassing context (same cookies) for
    the injection only, so the page under test keeps the real CSP."""
    state = context.storage_state()
    audit = browser.new_context(viewport={"width": 360, "height": 740}, bypass_csp=True, storage_state=state)
    try:
        p = audit.new_page()
        html = page.content()
        p.route("**/*", lambda route: route.fulfill(body=html, content_type="text/html; charset=utf-8")
                if route.request.url == page.url else route.continue_())
        p.goto(page.url)
        p.add_script_tag(path=str(AXE))
        result = p.evaluate("""async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                           nodes: v.nodes.map(n => ({target: n.target}))}));
        }""")
    finally:
        audit.close()
    return [v for v in result if v["impact"] in ("serious", "critical")]


@pytest.fixture()
def open_page(browser, server, db) -> Iterator[Any]:
    """open_page() -> a fresh Checked page (its own cookies) on the served app."""
    opened: list[Checked] = []

    def make() -> Checked:
        c = Checked(browser, server)
        opened.append(c)
        return c

    yield make
    for c in opened:
        c.close()
