"""A person logs in with a real browser: headless Chromium, driven by Selenium, through the
stack's own pages.

`sandbox demo` makes the person and the client; `sandbox login` runs as a subprocess and
prints its authorization URL; Chromium opens it and goes Hydra -> the UI's login page (the
form Kratos's flow describes) -> Kratos -> Hydra -> the UI's consent page -> the sandbox's
callback page, whose claims must name the demo person. Real Hydra, Kratos and PostgreSQL
(tests/support/pg_stack.py); the UI is whatever image the stack runs (the stand-in of
tests/login_ui_standin where Ory's cannot be pulled), named in the output and as a junit
property. The selectors are the ones both UIs share: inputs by name, and the buttons'
name/value pairs.

Debian's chromium and chromedriver (scripts/prepare-browser.sh); Selenium is given the
driver's path, so Selenium Manager never downloads one. Skips with the reason when the stack's
images, Docker or the browser are missing.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import yaml

from tests.support.cli import start_sandbox
from tests.support.pg_stack import postgres_stack, stack_problem
from tests.support.ports import free_port

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

    from tests.support.cockroach import SandboxHome

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
STANDIN_LABEL = "io.iam-sandbox.test.standin"
OFFICIAL_UI = "oryd/kratos-selfservice-ui-node"
WAIT = 30  # seconds for each page of the flow


def browser_problem() -> str | None:
    """Why Chromium cannot be driven here, or None."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        return f"no {' or '.join(missing)} (run scripts/prepare-browser.sh as root)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


PROBLEM = stack_problem() or browser_problem()
pytestmark = [pytest.mark.docker, pytest.mark.skipif(PROBLEM is not None, reason=str(PROBLEM))]


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHome]:
    with postgres_stack(tmp_path_factory.mktemp("browser") / "home", "browser") as up:
        yield up


def run_json(box: SandboxHome, *args: str) -> dict[str, Any]:
    done = box.run(*args, "--output", "json", timeout=120)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


@pytest.fixture(scope="module")
def person(box: SandboxHome) -> dict[str, Any]:
    """The first `sandbox demo`: it creates the person and prints the password."""
    first = run_json(box, "demo")
    assert first["identity_created"] is True
    assert isinstance(first["password"], str)
    return first


@pytest.fixture(scope="module")
def env(box: SandboxHome) -> dict[str, str]:
    done = box.run("env", "--format", "json")
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def ui_image(box: SandboxHome) -> tuple[str, str]:
    """(which UI, image): the running container's image, told apart by the stand-in's label
    (the settings' `images.ui` when the container cannot be inspected)."""
    settings = yaml.safe_load((box.home / "sandbox.yaml").read_text())
    image = str(settings.get("images", {}).get("ui") or OFFICIAL_UI)
    inspect = subprocess.run(
        ["docker", "inspect", "-f", "{{ .Config.Image }}", f"{box.project}-ui"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if inspect.returncode == 0 and inspect.stdout.strip():
        image = inspect.stdout.strip()
    labels = subprocess.run(
        ["docker", "image", "inspect", "-f", "{{ json .Config.Labels }}", image],
        capture_output=True,
        text=True,
        timeout=30,
    )
    found = (json.loads(labels.stdout or "null") or {}) if labels.returncode == 0 else {}
    if found.get(STANDIN_LABEL) == "login-ui" or "login-ui-standin" in image:
        return "stand-in", image
    if image.startswith(OFFICIAL_UI):
        return "official", image
    return "unknown", image


@pytest.fixture
def chromium() -> Iterator[WebDriver]:
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    try:
        driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    except WebDriverException as exc:
        pytest.skip(f"Chromium did not start: {exc.msg}")
    try:
        yield driver
    finally:
        driver.quit()


def start_login(box: SandboxHome) -> tuple[subprocess.Popen[str], str, int]:
    """`sandbox login` on a free port, and the authorization URL it printed."""
    port = free_port()
    proc = start_sandbox(
        box.home,
        "login",
        "--port",
        str(port),
        "--timeout",
        "180",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("http"):
            return proc, line.strip(), port
    proc.wait(timeout=60)
    pytest.fail(f"sandbox login printed no URL: {proc.stderr.read() if proc.stderr else ''}")


def sign_in(driver: WebDriver, url: str, email: str, password: str) -> None:
    """The UI's login page, as a person fills it; then wait for the consent page."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    wait = WebDriverWait(driver, WAIT)
    wait.until(ec.element_to_be_clickable((By.NAME, "identifier"))).send_keys(email)
    driver.find_element(By.CSS_SELECTOR, "input[name=password]").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "button[name=method][value=password]").click()


def consent(driver: WebDriver, action: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    button = (By.CSS_SELECTOR, f"button[name=consent_action][value={action}]")
    WebDriverWait(driver, WAIT).until(ec.element_to_be_clickable(button)).click()


def callback_page(driver: WebDriver, port: int) -> str:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, WAIT).until(
        lambda d: d.current_url.startswith(f"http://127.0.0.1:{port}/callback")
    )
    WebDriverWait(driver, WAIT).until(ec.presence_of_element_located((By.ID, "title")))
    return str(driver.page_source)


def claims_on(driver: WebDriver) -> dict[str, str]:
    from selenium.webdriver.common.by import By

    rows = driver.find_elements(By.CSS_SELECTOR, "#claims tr")
    return {
        r.find_element(By.TAG_NAME, "th").text: r.find_element(By.TAG_NAME, "td").text for r in rows
    }


def test_demo_again_finds_the_same_person_and_keeps_no_password(
    box: SandboxHome, person: dict[str, Any], env: dict[str, str]
) -> None:
    again = run_json(box, "demo")
    assert again["identity_id"] == person["identity_id"]
    assert again["identity_created"] is False
    assert again["password"] is None
    assert again["client_id"] == "sandbox-demo"
    assert again["client_created"] is False
    identity = httpx.get(f"{env['KRATOS_ADMIN_URL']}/admin/identities/{person['identity_id']}")
    assert identity.json()["traits"] == {
        "email": "demo@example.com",
        "name": {"first": "Demo", "last": "Person"},
    }
    for path in Path(box.home).rglob("*"):  # printed once, kept in no file
        if path.is_file():
            assert person["password"].encode() not in path.read_bytes(), path


def test_a_person_logs_in_with_chromium(
    box: SandboxHome,
    person: dict[str, Any],
    env: dict[str, str],
    chromium: WebDriver,
    record_testsuite_property: Any,
) -> None:
    which, image = ui_image(box)
    print(f"login UI: {which} ({image})")
    # The suite's property, not the testcase's: xunit2 (pytest's default) has no testcase
    # properties, and record_property would warn and write XML its schema refuses.
    record_testsuite_property("login_ui", which)
    record_testsuite_property("login_ui_image", image)
    proc, url, port = start_login(box)
    try:
        assert url.startswith(f"{env['HYDRA_PUBLIC_URL']}/oauth2/auth?")
        assert "code_challenge_method=S256" in url
        sign_in(chromium, url, person["email"], person["password"])
        consent(chromium, "accept")
        page = callback_page(chromium, port)
        claims = claims_on(chromium)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    found = httpx.get(
        f"{env['KRATOS_ADMIN_URL']}/admin/identities",
        params={"credentials_identifier": "demo@example.com"},
    ).json()
    assert [i["id"] for i in found] == [person["identity_id"]]
    assert claims["sub"] == person["identity_id"]
    assert claims["email"] == "demo@example.com"
    assert claims["iss"] == f"{env['HYDRA_PUBLIC_URL']}/"
    assert claims["aud"] == '["sandbox-demo"]'
    assert "the ID token's signature was checked against Hydra's JWKS" in page
    for token_prefix in ("eyJ", "ory_at_", "ory_rt_"):  # a JWT, an access or refresh token
        assert token_prefix not in page
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert "Signed in: the ID token's signature verified against Hydra's JWKS." in lines
    assert f"sub    {person['identity_id']}" in lines
    assert "email  demo@example.com" in lines
    assert f"iss    {env['HYDRA_PUBLIC_URL']}/" in lines
    assert "aud    sandbox-demo" in lines


def test_deny_on_the_consent_page_ends_the_login_with_access_denied(
    box: SandboxHome, person: dict[str, Any], chromium: WebDriver
) -> None:
    proc, url, port = start_login(box)
    try:
        sign_in(chromium, url, person["email"], person["password"])
        consent(chromium, "reject")
        page = callback_page(chromium, port)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert '<h1 id="title">Login refused</h1>' in page
    assert "error: access_denied" in page
    assert 'id="claims"' not in page
    assert proc.returncode == 1
    assert err.splitlines()[-1].startswith("error: the login was refused: access_denied")
    assert "sub " not in out
