"""Full-page screenshots of staff pages, for the README: `make screenshots`.

Starts `manage.py runserver` on a free port against the configured database (the demo book by
default), logs in as the demo analyst made by `manage.py bootstrap`, and saves one PNG per page:

    python scripts/screenshots.py --out docs/screenshots overview=/ queue=/queue/ customer=customer

A page is NAME=PATH; the path `customer` means "the profile of a customer with an open alert in
this book" (any customer if none), `subject-report` that customer's data-subject report. With
`--lang zh-hans --suffix=-zh` the same pages are taken in Chinese, into NAME-zh.png. A page that is not built yet (404, or a URL that cannot be
resolved) is skipped with a message; the others are still taken.
"""

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("RISKOPS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]


# Paths that stand for a page of the customer `customer_path` picks.
CUSTOMER_PAGES = {"customer": "decisions:customer", "subject-report": "compliance:subject-report"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def customer_path(url_name: str = "decisions:customer") -> str | None:
    """A page of a customer worth showing: one with an open alert, else the first one. Read through the ORM."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "riskops.settings")
    import django

    django.setup()
    from django.urls import NoReverseMatch, reverse

    from accounts.models import Customer

    customer = (
        Customer.objects.filter(alerts__status__in=["open", "in_review"]).order_by("pk").first()
        or Customer.objects.order_by("pk").first()
    )
    if customer is None:
        return None
    try:
        return reverse(url_name, kwargs={"external_id": customer.external_id})
    except NoReverseMatch:
        return None


def wait_until_up(url: str, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"runserver exited with code {server.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 (our own server on loopback)
            return
        except urllib.error.HTTPError:
            return  # it answers: good enough
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"runserver did not answer at {url} within {timeout:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pages", nargs="+", metavar="NAME=PATH")
    parser.add_argument("--out", default="docs/screenshots", type=Path)
    parser.add_argument("--username", default="analyst")
    parser.add_argument("--password", default="analyst-demo")
    parser.add_argument("--lang", default="en", help="Accept-Language for the pages (en or zh-hans)")
    parser.add_argument("--width", type=int, default=1440)
    parser.add_argument("--suffix", default="", help="added to each file name (e.g. -zh for the Chinese set)")
    parser.add_argument("--max-height", type=int, default=4000, help="a longer page is cut here (a report runs to metres)")
    args = parser.parse_args()

    if not os.path.exists(CHROMIUM):
        raise SystemExit(f"needs Chromium at {CHROMIUM} (apt-get install chromium)")
    fonts = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=False).stdout
    if not fonts.strip():
        print("note: no Chinese font installed, so 简体中文 shows as boxes (apt-get install fonts-wqy-microhei)")
    pages = []
    for spec in args.pages:
        name, sep, path = spec.partition("=")
        if not sep or not name:
            raise SystemExit(f"page {spec!r}: expected NAME=PATH")
        if path in CUSTOMER_PAGES:
            path = customer_path(CUSTOMER_PAGES[path])
            if path is None:
                print(f"skip {name}: no customer profile page yet (no customer, or no URL decisions:customer)")
                continue
        pages.append((name, path))

    from playwright.sync_api import sync_playwright

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    taken = 0
    try:
        wait_until_up(base + "/login/", server)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": args.width, "height": 900}, locale=args.lang)
            page = context.new_page()
            page.goto(base + "/login/")
            page.fill("#id_username", args.username)
            page.fill("#id_password", args.password)
            with page.expect_navigation():
                page.click("#login-form button[type=submit]")
            if "/login/" in page.url:
                raise SystemExit(f"could not log in as {args.username!r}: run `make bootstrap` first")
            for name, path in pages:
                response = page.goto(base + path)
                status = response.status if response else 0
                if status != 200:
                    print(f"skip {name}: {path} answers {status} (not built yet?)")
                    continue
                page.wait_for_load_state("networkidle")
                if page.locator("[data-chart]").count():
                    # Charts draw after load; give Plotly a moment to put its SVG in.
                    try:
                        page.wait_for_selector("[data-chart] .main-svg", timeout=10_000)
                    except Exception:  # noqa: BLE001 (a chart that does not draw is still worth a picture)
                        print(f"note {name}: charts did not draw within 10 s")
                target = args.out / f"{name}{args.suffix}.png"
                height = page.evaluate("document.documentElement.scrollHeight")
                clip = {"x": 0, "y": 0, "width": args.width, "height": min(height, args.max_height)}
                page.screenshot(path=str(target), full_page=True, clip=clip)
                taken += 1
                print(f"wrote {target} ({path})")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"{taken} of {len(args.pages)} screenshots written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
