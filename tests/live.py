"""A live server in a thread and a headless Chromium (Debian's package) driven by Playwright, for browser tests."""
import shutil
import threading

from werkzeug.serving import make_server

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    # this machine has no network beyond loopback: keep Chromium from trying to reach its services
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise RuntimeError("Chromium is not installed: run scripts/install.sh --test")
    return path


class LiveServer:
    """Serve a Flask app on 127.0.0.1 on a free port until stopped."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.thread.join(timeout=5)


def watch_problems(page) -> list[str]:
    """Collect what a page did wrong into a list (also set as page.problems): console errors (a CSP violation
    shows there) except the browser's note that a page answered 4xx, which a refused form does on purpose;
    uncaught page errors; and any sub-resource (stylesheet, image) that failed or answered 4xx/5xx."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and r.request.resource_type != "document" else None)
    page.on("requestfailed", lambda r: problems.append(f"failed {r.url}"))
    page.problems = problems
    return problems
