"""The dashboard in a real browser (Debian's Chromium through Playwright) against a real
``dunes serve``: submit a job and watch it succeed, open its lineage, cancel a running job, and
the other pages; screenshots go to ``DUNES_TEST_SCREENSHOTS`` (default: the test's directory)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interfaces.api.conftest import serve
from tests.orchestration.helpers import poll, slow_circuit

pytestmark = [pytest.mark.integration, pytest.mark.slow]

playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright")


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("Chromium is not installed: scripts/services.sh installs Debian's chromium")
    return found


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(tmp_path_factory.mktemp("dashboard")) as url:
        yield url


@pytest.fixture
def page(base_url: str) -> Iterator[object]:
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=base_url)
        tab = context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        yield tab
        browser.close()
        assert not errors, errors


def shot(page: object, name: str, tmp_path: Path) -> Path:
    folder = Path(os.environ.get("DUNES_TEST_SCREENSHOTS", str(tmp_path)))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


def test_submit_a_task_watch_it_succeed_and_open_its_lineage(page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page.goto("/#/submit")
    page.get_by_label("Task", exact=True).fill("Design a 4-qubit GHZ state")
    page.get_by_role("button", name="Run task").click()
    page.wait_for_url("**/#/jobs/*")
    page.locator("#main .status-succeeded").first.wait_for(timeout=120_000)
    page.get_by_text("Top amplitudes").wait_for()
    page.get_by_role("img", name="Histogram of the outcomes").wait_for()
    page.get_by_role("img", name="The circuit, drawn").wait_for()
    assert "|1111⟩" in page.locator("#main").inner_text()
    shot(page, "job-succeeded", tmp_path)
    page.get_by_role("link", name="Open its lineage").click()
    # Polled from here: the page's CSP forbids the eval wait_for_function would use in it.
    poll(
        lambda: page.evaluate("() => window.dunesGraph ? window.dunesGraph.nodes().length : 0") > 3,
        timeout=30,
        what="the lineage to be drawn",
    )
    page.evaluate("window.dunesGraph.nodes('[root = 1]').emit('tap')")
    page.locator("#node-info h2").get_by_text("job").wait_for()
    shot(page, "lineage", tmp_path)
    page.goto("/#/jobs")
    page.locator("#jobs table").wait_for()
    assert "succeeded" in page.locator("#jobs").inner_text()
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "jobs-phone", tmp_path)


def test_a_running_job_is_cancelled_from_its_page(page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page.goto("/#/submit")
    circuit = page.get_by_label("Seed notation, OpenQASM or JSON")
    circuit.fill("h(0)\ncx(0,")
    page.locator("#circuit-check.error").get_by_text("line 2").wait_for()
    circuit.fill(slow_circuit(24, 400))
    page.get_by_label("Shots (0: the state)").fill("0")
    page.locator("#circuit-check.ok").wait_for()
    page.get_by_role("button", name="Simulate as a job").click()
    page.wait_for_url("**/#/jobs/*")
    page.locator("#main .status-running").first.wait_for(timeout=60_000)
    page.get_by_role("button", name="Cancel job").click()
    page.locator("#main .status-cancelled").first.wait_for(timeout=30_000)
    shot(page, "job-cancelled", tmp_path)


def test_devices_maml_and_sweep_pages(page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page.goto("/#/devices")
    page.get_by_role("cell", name="cpu", exact=True).wait_for()
    shot(page, "devices", tmp_path)
    page.goto("/#/maml")
    page.get_by_role("button", name="Validate").click()
    page.locator("#maml-out .ok").get_by_text("valid").wait_for()
    page.get_by_role("button", name="Run under the execution policy").click()
    page.locator("#maml-out").get_by_text("bell").wait_for()
    shot(page, "maml", tmp_path)
    page.goto("/#/submit")
    page.get_by_role("button", name="Sweep").click()
    page.get_by_text("circuits/s").wait_for(timeout=60_000)
    shot(page, "sweep", tmp_path)
