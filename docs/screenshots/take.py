"""Take the README's screenshots of the home page (Arabic and French, desktop and phone).

Usage: `python docs/screenshots/take.py [--url http://127.0.0.1:PORT]`. Without `--url` it
serves the demo territory itself, over a temporary data folder, on a free port.
Needs Playwright and Chromium (`/usr/bin/chromium` by default, `--chromium PATH` otherwise).
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).parent
SHOTS = (
    # file, language, viewport, full page
    ("home-ar.png", "ar", (1280, 800), False),
    ("home-fr.png", "fr", (1280, 800), False),
    ("home-ar-phone.png", "ar", (360, 740), False),
)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@contextmanager
def demo_server() -> Iterator[str]:
    """Serve the demo territory on a free local port; yields the base URL."""
    import uvicorn

    from hakama.core.access import system_actor
    from hakama.demo.territory import demo_areas
    from hakama.http.app import create_app
    from hakama.services.platform import Platform
    from hakama.services.territory import save_areas
    from hakama.settings import Settings

    with tempfile.TemporaryDirectory() as folder:
        platform = Platform.open(Settings(data_dir=Path(folder), environment="test"))
        save_areas(platform, demo_areas(), actor=system_actor("screenshots"))
        app = create_app(platform.settings, platform=platform, background=False)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            platform.close()


def take(base_url: str, chromium: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            for name, lang, (width, height), full in SHOTS:
                page = browser.new_page(viewport={"width": width, "height": height})
                page.goto(f"{base_url}/?lang={lang}")
                page.wait_for_selector("#territory-map path.leaflet-interactive")
                # Open one commune's card so the screenshot shows what a tap gives.
                page.locator("#territory-map path.leaflet-interactive").nth(8).click(force=True)
                page.wait_for_selector(".leaflet-popup")
                page.mouse.move(0, 0)  # no hover tooltip over the card
                page.wait_for_timeout(600)  # the popup's fade-in
                # On a phone, show the map (the header and figures are the desktop shots' job).
                anchor = ".map-section" if width < 600 else "body"
                page.evaluate(f"document.querySelector('{anchor}').scrollIntoView()")
                path = HERE / name
                page.screenshot(path=str(path), full_page=full)
                page.close()
                print(f"{path} {path.stat().st_size // 1024} KB")
        finally:
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="base URL of a running hakama with a territory loaded")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    if args.url:
        take(args.url.rstrip("/"), args.chromium)
        return
    with demo_server() as url:
        take(url, args.chromium)


if __name__ == "__main__":
    main()
