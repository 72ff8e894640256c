"""Headless Chromium driven over the DevTools protocol (aiohttp's WebSocket client), for checks that need a real
browser: the TensorBoard dashboards render their data, and screenshots of them.

Chromium runs with a fresh profile, no network beyond what the page asks for (loopback here), no GPU and no
sandbox (containers), and is killed when the context ends.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--mute-audio",
)
BROWSERS = ("chromium", "chromium-browser", "google-chrome")

# Every element in the document, through shadow roots and same-origin iframes: Polymer and Angular dashboards
# keep their content in shadow DOM, where document.querySelectorAll does not look.
DEEP_SCAN = """
(() => {
  const found = {text: [], clipped: [], images: 0, canvases: 0, paths: 0, lines: 0};
  const seen = new Set();
  function visit(root) {
    if (!root || seen.has(root)) return;
    seen.add(root);
    const walker = (root.ownerDocument || root).createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
    for (let node = walker.currentNode; node; node = walker.nextNode()) {
      if (node.nodeType === Node.TEXT_NODE) {
        const parent = node.parentNode && node.parentNode.tagName;
        if (parent === 'STYLE' || parent === 'SCRIPT') continue;
        const t = node.textContent.trim();
        if (t) found.text.push(t);
        continue;
      }
      if (node.shadowRoot) visit(node.shadowRoot);
      // text the page cuts with an ellipsis (a column too narrow for it)
      if (node.scrollWidth > node.clientWidth + 1 && getComputedStyle(node).textOverflow === 'ellipsis') {
        found.clipped.push(node.textContent.trim());
      }
      if (node.tagName === 'IFRAME') { try { visit(node.contentDocument); } catch (e) {} }
      if (node.tagName === 'IMG' && node.complete && node.naturalWidth > 0 && (node.src || '').includes('/data/plugin/images/')) found.images++;
      if (node.tagName === 'CANVAS' && node.width > 0 && node.height > 0) found.canvases++;
      if (node.tagName && node.tagName.toLowerCase() === 'path' && (node.getAttribute('d') || '').length > 40) {
        found.paths++;
        // a plotted series (Plottable's line renderer), not an icon
        if (node.classList.contains('line')) found.lines++;
      }
    }
  }
  visit(document);
  return JSON.stringify(found);
})()
"""


def find_browser() -> str | None:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, timeout: float) -> bytes:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read()
        except OSError as error:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no answer from {url} in {timeout:.0f} s") from error
            time.sleep(0.5)


class Page:
    """One browser tab: navigate, evaluate JavaScript, take a screenshot."""

    def __init__(self, ws, loop) -> None:
        self.ws, self.loop, self.ids = ws, loop, itertools.count(1)

    def _send(self, method: str, **params):
        return self.loop.run_until_complete(self._call(method, params))

    async def _call(self, method: str, params: dict):
        message_id = next(self.ids)
        await self.ws.send_str(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            reply = json.loads((await self.ws.receive()).data)
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def goto(self, url: str, width: int = 1920, height: int = 1080) -> None:  # a common desktop screen
        self._send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)
        self._send("Page.navigate", url=url)

    def evaluate(self, expression: str):
        result = self._send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return result["result"].get("value")

    def scan(self) -> dict:
        return json.loads(self.evaluate(DEEP_SCAN))

    def wait_for(self, ready, timeout: float = 60.0, every: float = 1.0) -> dict:
        """Scan the page until `ready(scan)` is true; the last scan either way."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.scan()
            if ready(found) or time.monotonic() > deadline:
                return found
            time.sleep(every)

    def screenshot(self, path: Path) -> Path:
        data = self._send("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        return path


async def _session(aiohttp):
    return aiohttp.ClientSession()


@contextmanager
def headless_page(browser: str):
    """A fresh headless Chromium and one page of it."""
    import aiohttp

    port = free_port()
    profile = tempfile.mkdtemp(prefix="rnnlab-chromium-")
    process = subprocess.Popen(
        [
            browser,
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--remote-debugging-port={port}",
            "--remote-debugging-address=127.0.0.1",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    loop = asyncio.new_event_loop()
    session = ws = None
    try:
        wait_for_http(f"http://127.0.0.1:{port}/json/version", 60)
        targets = json.loads(wait_for_http(f"http://127.0.0.1:{port}/json/list", 10))
        url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        session = loop.run_until_complete(_session(aiohttp))
        ws = loop.run_until_complete(session.ws_connect(url, max_msg_size=0))
        page = Page(ws, loop)
        page._send("Page.enable")
        page._send("Runtime.enable")
        yield page
    finally:
        if ws is not None:
            loop.run_until_complete(ws.close())
        if session is not None:
            loop.run_until_complete(session.close())
        loop.close()
        process.kill()
        process.wait()
        shutil.rmtree(profile, ignore_errors=True)
