"""The explorers of notebooks 02-05 in a real JupyterLab, driven in Debian's Chromium by Playwright.

For each notebook: open it, run all its cells, move the explorer's first slider with the mouse,
and check that the explorer's output changed and that every slider track is at least
``MIN_TRACK_PX`` wide. Notebook 01 runs first (through the report runner) to prepare the cleaned
tables the others read; the notebooks are copies whose parameters point at that run.

Needs ``/usr/bin/chromium`` (``apt-get install chromium``; Playwright never downloads a browser
here), the ``browser`` extra (playwright, jupyterlab). Marked ``browser``: ``make test`` leaves it
out, ``make test-browser`` runs it. CPU heavy (a lab server, a browser and four kernels).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.sync_api")

from portfolio_helpers.app.runner import DEFAULT_CONFIG, run_report  # noqa: E402
from portfolio_helpers.reporting.widgets import MIN_TRACK_PX  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("PORTFOLIO_CHROMIUM", "/usr/bin/chromium"))
NOTEBOOKS = ["02_pareto", "03_profitability", "04_segmentation", "05_scoring"]
RUN_TIMEOUT_S = 600  # all cells of one notebook, on a busy two-core machine
CHANGE_TIMEOUT_S = 180  # the explorer's output after a slider move

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} not found (apt-get install chromium)", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """Notebook 01's run and copies of 02-05 whose parameters point at it."""
    root = tmp_path_factory.mktemp("lab")
    result = run_report(config_path=DEFAULT_CONFIG, out_dir=root / "reports", only=["01"], progress=lambda line: None)
    assert result.status == "ok", [n.error for n in result.notebooks]
    for name in NOTEBOOKS:
        nb = json.loads((REPO / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))
        cell = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
        cell["source"] = "".join(cell["source"]) + (
            f"\nconfig_path = {str(DEFAULT_CONFIG)!r}\noutput_dir = {str(result.run_dir)!r}\ninteractive = True\n")
        (root / f"{name}.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def lab(workspace):
    """A JupyterLab server on a free port with a token; yields its base URL and the token."""
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    env.pop("MPLBACKEND", None)  # inline figures in the notebooks
    log = (workspace / "lab.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}", "--ip=127.0.0.1",
         f"--ServerApp.token={token}", f"--ServerApp.root_dir={workspace}", "--LabApp.expose_app_in_browser=True",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=workspace)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail("JupyterLab did not start:\n" + (workspace / "lab.log").read_text()[-3000:])
            time.sleep(1)
    yield base, token
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True)
        yield chromium
        chromium.close()


# every code cell ran: no "[*]" left and each prompt holds an execution count
_DONE = "() => { const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')];" \
        " return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent)); }"
_STARTED = "() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]" \
           ".some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))"
_IDLE = "() => /Idle/.test(document.body.innerText)"
_TRACKS = "() => [...document.querySelectorAll('.jp-OutputArea .widget-hslider .noUi-target')]" \
          ".map(e => e.getBoundingClientRect().width)"
# the text of the last Output widget: the explorer's findings and tables
_EXPLORER_TEXT = "(() => { const outs = document.querySelectorAll('.jp-OutputArea .widget-output');" \
                 " return outs.length ? outs[outs.length - 1].innerText : null; })()"


def _run_all(page, base, token, name):
    # a workspace of its own, reset: only this notebook is open, so run-all-cells runs it
    page.goto(f"{base}/lab/workspaces/{name}/tree/{name}.ipynb?token={token}&reset", wait_until="domcontentloaded")
    page.wait_for_function("() => window.jupyterapp && document.querySelector('.jp-Notebook .jp-Cell')",
                           timeout=120_000)
    page.wait_for_function(_IDLE, timeout=120_000, polling=500)  # the kernel is connected
    for _attempt in range(3):  # a command sent while the kernel connects can be lost: send it again
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        try:
            page.wait_for_function(_STARTED, timeout=30_000, polling=500)
            break
        except playwright_api.TimeoutError:
            continue
    page.wait_for_function(_DONE, timeout=RUN_TIMEOUT_S * 1000, polling=1000)
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    tracebacks = [t for t in errors.all_inner_texts() if "Traceback" in t or "Error" in t]
    assert not tracebacks, f"{name}: {tracebacks[:1]}"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_explorer_reacts_and_fits(name, lab, browser):
    base, token = lab
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        _run_all(page, base, token, name)
        page.wait_for_function(_TRACKS + ".length > 0", timeout=120_000)
        slider = page.locator(".jp-OutputArea .widget-hslider .noUi-target").first
        slider.scroll_into_view_if_needed()
        page.wait_for_function(f"() => {{ const text = {_EXPLORER_TEXT}; return text !== null && text.trim().length > 0; }}",
                               timeout=CHANGE_TIMEOUT_S * 1000)
        before = page.evaluate(f"() => {_EXPLORER_TEXT}")
        widths = page.evaluate(_TRACKS)
        assert min(widths) >= MIN_TRACK_PX, f"{name}: slider tracks {widths}"
        handle = slider.locator(".noUi-handle").first
        box, track = handle.bounding_box(), slider.bounding_box()
        start_x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        # towards the side with more room, by a fifth of the track
        step = track["width"] / 5 * (1 if start_x < track["x"] + track["width"] / 2 else -1)
        page.mouse.move(start_x, y)
        page.mouse.down()
        page.mouse.move(start_x + step / 2, y, steps=5)
        page.mouse.move(start_x + step, y, steps=5)
        page.mouse.up()
        page.wait_for_function(f"before => {{ const text = {_EXPLORER_TEXT}; "
                               "return text !== null && text !== before && text.trim().length > 0; }",
                               arg=before, timeout=CHANGE_TIMEOUT_S * 1000, polling=500)
        assert page.evaluate(f"() => {_EXPLORER_TEXT}") != before
        assert min(page.evaluate(_TRACKS)) >= MIN_TRACK_PX
    except Exception:
        page.screenshot(path=str(Path(os.environ.get("PORTFOLIO_BROWSER_SHOTS", "/tmp")) / f"browser-{name}.png"),
                        full_page=True)
        raise
    finally:
        page.close()


def test_chromium_is_not_downloaded():
    # the test drives the system browser: a Playwright download would be a second, unpinned one
    assert CHROMIUM.is_file() and shutil.which(str(CHROMIUM))
