"""The dispatcher console in a real browser against a real uvicorn server: two consoles open,
a change made on one shows on the other within a second (Server-Sent Events through the
shared poller), the keyboard drives it, an emergency flashes on every console, and axe finds
nothing at desktop width or on a phone.

Why a server of its own: the console's feed is an ASGI stream that stays open; the test
suite's live server is WSGI and shares one in-memory SQLite connection between all its
threads, which open streams and concurrent writes cannot share safely. Here uvicorn serves a
SQLite file in a temporary folder, loaded the way an operator would (`despp migrate`,
`load-reference`, `load-demo`), and people sign in through the real form with the demo
password and second factor.
"""

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from django_otp.oath import TOTP
from playwright.sync_api import Browser, Page

from despp.core.management.commands.load_demo import DEMO_PASSWORD, DEMO_TOTP_KEY

pytestmark = pytest.mark.browser

BIN = Path(sys.executable).parent
SEED = """
import json
from despp.core.models import Agency, User
from despp.dispatch.models import Unit, UnitKind
from despp.dispatch.services import assignments, incidents

dispatcher = User.objects.get(username="dispatcher")
troop = Agency.objects.get(code="csp-troop-c")
units = [
    Unit.objects.create(call_sign=sign, kind=UnitKind.TROOP_CAR, agency=troop, lat=lat, lon=lon)
    for sign, lat, lon in (("T-901", 41.88, -72.36), ("T-902", 41.80, -72.25))
]
incident = incidents.create_incident(
    nature="MVA", user=dispatcher, lat=41.8786, lon=-72.3648, location_text="Rt 195 at the green"
)
assignments.dispatch_units(incident, units[:1], dispatcher)
print(json.dumps({"incident": incident.pk, "number": incident.display_number}))
"""


@dataclass(frozen=True)
class Server:
    url: str
    env: dict[str, str]
    incident: int
    number: str

    def shell(self, code: str) -> str:
        return despp(self.env, "shell", "-c", code)


def despp(env: dict[str, str], *args: str) -> str:
    """Run the CLI against the test server's folder; its own error if it fails."""
    done = subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        [str(BIN / "despp"), *args], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"despp {args[0]} failed:\n{done.stderr[-3000:]}"
    return done.stdout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    var = tmp_path_factory.mktemp("dispatch-console")
    env = {**os.environ, "DESPP_VAR_DIR": str(var), "DJANGO_SETTINGS_MODULE": "despp.settings"}
    env.pop("DATABASE_URL", None)  # SQLite in the temporary folder, whatever the suite uses
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    for command in (["migrate", "-v0"], ["load-reference"], ["load-demo"]):
        despp(env, *command)
    seeded = despp(env, "shell", "-c", SEED)
    ids = json.loads(seeded.strip().splitlines()[-1])
    port = _free_port()
    log = (var / "uvicorn.log").open("w")
    process = subprocess.Popen(  # noqa: S603 - our own server, fixed arguments
        [str(BIN / "uvicorn"), "despp.asgi:application", "--host", "127.0.0.1", "--port",
         str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, (var / "uvicorn.log").read_text()
            assert time.monotonic() < deadline, "uvicorn did not start in 60 s"
            time.sleep(0.3)
        yield Server(url, env, ids["incident"], ids["number"])
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


@pytest.fixture(scope="module")
def sessions(server: Server, browser: Browser) -> dict[str, Any]:
    """One signed-in browser state per person (an account holds one session at a time)."""
    states: dict[str, Any] = {}
    for username in ("dispatcher", "supervisor", "calltaker"):
        context = browser.new_context()
        page = context.new_page()
        page.goto(server.url + "/staff/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", DEMO_PASSWORD)
        page.check("#id_acknowledge")
        page.click("button[type=submit]")
        page.fill("#id_code", str(TOTP(DEMO_TOTP_KEY).token()).zfill(6))
        page.click("button[type=submit]")
        page.wait_for_url(server.url + "/staff/**")
        states[username] = context.storage_state()
        context.close()
    return states


@pytest.fixture
def console(
    server: Server, browser: Browser, sessions: dict[str, Any]
) -> Iterator[Callable[..., Page]]:
    """`console(username, width)`: a console page, signed in, with its live feed connected."""
    contexts = []

    def open_console(username: str, width: int = 1280, path: str = "/staff/dispatch/") -> Page:
        context = browser.new_context(
            viewport={"width": width, "height": 900}, storage_state=sessions[username]
        )
        contexts.append(context)
        page = context.new_page()
        page.goto(server.url + path)
        if path.startswith("/staff/dispatch/") and "intake" not in path:
            page.locator("#live-status[data-state=live]").wait_for(timeout=5000)
        return page

    yield open_console
    for context in contexts:
        context.close()


def assert_no_axe_violations(page: Page) -> None:
    results = Axe().run(page)
    violations = results.response["violations"]
    if violations:
        print(results.generate_report())
    assert violations == [], results.generate_snapshot()


def run_command(page: Page, line: str) -> int:
    command = page.locator("#command-line")
    command.fill(line)
    with page.expect_response(lambda response: "/command/" in response.url) as answer:
        command.press("Enter")
    return answer.value.status


def unit_row(page: Page, call_sign: str) -> Any:
    return page.locator(f"#panel-units li[data-unit='{call_sign}']")


def test_a_status_change_typed_on_one_console_shows_on_the_other_within_a_second(
    console: Callable[..., Page], server: Server
) -> None:
    first = console("dispatcher")
    second = console("supervisor")
    assert "dispatched on" in unit_row(second, "T-901").inner_text()
    assert run_command(first, "S T-901 ER") == 200
    changed_at = time.monotonic()
    second.wait_for_function(
        "document.querySelector(\"#panel-units li[data-unit='T-901']\")"
        ".innerText.includes('en route on')",
        timeout=1000,
    )
    assert time.monotonic() - changed_at < 1.0
    # The console that typed it says so, and its command line is ready for the next one.
    assert "T-901 en route" in first.locator("#command-result").inner_text()
    assert first.evaluate("document.activeElement.id") == "command-line"


def test_a_button_runs_its_command_and_a_refusal_is_shown_in_words(
    console: Callable[..., Page],
) -> None:
    page = console("dispatcher")
    unit_row(page, "T-901").get_by_role("button", name="On scene").click()
    page.locator("#command-result", has_text="T-901 on scene").wait_for(timeout=3000)
    assert run_command(page, "S T-901 AH") == 409
    refusal = page.locator("#command-result [role=alert]")
    assert "cannot go to at hospital" in refusal.inner_text()


def test_an_emergency_flashes_on_every_console_until_acknowledged(
    console: Callable[..., Page], server: Server
) -> None:
    first = console("dispatcher")
    second = console("supervisor")
    server.shell(
        "from despp.core.models import User; from despp.dispatch.models import Unit; "
        "from despp.dispatch.services.units import raise_emergency; "
        "raise_emergency(Unit.objects.get(call_sign='T-902'), "
        "User.objects.get(username='supervisor'))"
    )
    for page in (first, second):
        page.locator("#panel-alerts .alarm", has_text="EMERGENCY — T-902").wait_for(timeout=2000)
        assert page.evaluate("document.getElementById('console').classList.contains('has-alarm')")
    # Keyboard: "a" reaches the acknowledge button, Enter presses it.
    first.evaluate("document.activeElement.blur()")
    first.keyboard.press("a")
    assert "Acknowledge T-902" in first.evaluate("document.activeElement.textContent")
    first.keyboard.press("Enter")
    for page in (first, second):
        page.locator("#panel-alerts .alarm").wait_for(state="detached", timeout=2000)
        assert not page.evaluate(
            "document.getElementById('console').classList.contains('has-alarm')"
        )


def test_keys_reach_each_panel_and_recommend_answers(
    console: Callable[..., Page], server: Server
) -> None:
    page = console("dispatcher")
    page.evaluate("document.activeElement.blur()")
    for key, panel in (("i", "panel-incidents"), ("u", "panel-units"), ("c", "panel-calls")):
        page.keyboard.press(key)
        assert page.evaluate("document.activeElement.id") == panel
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "command-line"
    assert run_command(page, f"R {server.number}") == 200
    assert "Recommendation for" in page.locator("#command-result").inner_text()


def test_selecting_an_incident_shows_its_units_and_cautions(
    console: Callable[..., Page], server: Server
) -> None:
    page = console("dispatcher")
    page.get_by_role("link", name=server.number).first.click()
    panel = page.locator("#panel-incident")
    panel.locator("h2", has_text=f"Incident {server.number}").wait_for(timeout=3000)
    assert "T-901" in panel.inner_text()
    assert f"?incident={server.incident}" in page.url


@pytest.mark.parametrize("width", [1280, 390])
def test_the_console_has_no_axe_violations_and_reflows(
    console: Callable[..., Page], server: Server, width: int
) -> None:
    page = console("dispatcher", width, f"/staff/dispatch/?incident={server.incident}")
    page.locator("#map .leaflet-interactive").first.wait_for(timeout=5000)
    assert_no_axe_violations(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_the_intake_screen_shows_the_answer_for_a_picked_place_and_has_no_axe_violations(
    console: Callable[..., Page],
) -> None:
    page = console("calltaker", 1280, "/staff/dispatch/intake/")
    page.locator("#id_location_text").press_sequentially("Tollan", delay=30)
    page.locator("#location-list [role=option]").first.wait_for(timeout=3000)
    assert_no_axe_violations(page)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.locator("#intake-answer .answer").wait_for(timeout=3000)
    assert "CSP Eastern District" in page.locator("#intake-answer").inner_text()
    assert page.input_value("#id_location_text") == "Tollan"  # kept as typed
    assert page.input_value("[name=town]") == "Tolland"
    assert_no_axe_violations(page)
