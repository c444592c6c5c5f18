"""The chat widget in a real headless Chromium against the real server, worker and Redis.

Needs Debian's chromium (`apt-get install -y chromium`; .ci/run installs it). The screenshot
lands in test-artifacts/widget.png for a person to look at.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import async_playwright

from adapters.cli.runtime import stop_worker
from adapters.daw_server import create_app
from bot.config import Secrets, Settings, load_settings
from bot.connections import RedisHandle
from bot.services import Services
from bot.worker import build_worker
from tests.audio_fixtures import write_tone
from tests.net import free_port

TOKEN = "widget-test-token"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("The widget test needs Chromium: apt-get install -y chromium (see .ci/run).")


@pytest.fixture
async def live_server(
    settings: Settings, redis_handle: RedisHandle, aiohttp_server: Callable[..., Any]
) -> AsyncIterator[str]:
    """The DAW server on a real port with a worker running, its links pointing at itself."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "BEATBOT_QUEUE__KEY_PREFIX": settings.queue.key_prefix,
        "BEATBOT_STORAGE__PUBLIC_URL": base,
    }
    custom = load_settings(data_dir=settings.data_dir, env=env)
    secrets = Secrets.from_env({})
    services = await Services.open(custom, secrets, redis_handle, render_processes=1)
    worker = build_worker(custom, secrets, redis_handle, handle_signals=False, render_processes=1)
    task = asyncio.create_task(worker.async_run())
    server = await aiohttp_server(create_app(services, TOKEN), port=port)
    try:
        yield base
    finally:
        await server.close()
        await stop_worker(worker, task)
        await services.close()


async def test_daw_widget_makes_a_beat_in_chromium(live_server: str) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path())
        page = await browser.new_page(viewport={"width": 1200, "height": 800})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            await page.goto(f"{live_server}/?token={TOKEN}&user=ada")
            await page.wait_for_selector("#connection.online", timeout=10_000)
            message = page.get_by_label("Message")
            await message.fill("make a dark trap beat at 140 for 8 seconds")
            await message.press("Enter")

            # The request is echoed, accepted, shows live progress, then lands as a player.
            await page.wait_for_selector(".log li.you", timeout=5_000)
            await page.wait_for_selector(".log progress", timeout=10_000)
            await page.wait_for_selector(".log li.result audio", timeout=60_000)
            duration = await page.eval_on_selector(
                ".log li.result audio",
                """audio => new Promise(resolve => {
                    if (audio.readyState >= 1) return resolve(audio.duration);
                    audio.addEventListener("loadedmetadata", () => resolve(audio.duration));
                    audio.addEventListener("error", () => resolve(-1));
                })""",
            )
            assert duration == pytest.approx(8.2, abs=0.6)

            # The DAW side: a clip on the timeline and the transport at the beat's tempo.
            clip = page.locator(".clips li").first
            await clip.wait_for(timeout=10_000)
            assert "trap - 140 BPM" in await clip.inner_text()
            assert await page.locator("#bpm").inner_text() == "140"
            labels = await page.locator(".log li.result .actions > *").all_inner_texts()
            for label in ("Variation", "Faster", "Slower", "Stems", "Master", "MIDI", "Download"):
                assert label in labels

            # A button works like typing: "Faster" queues a quicker take of the same beat.
            await page.get_by_role("button", name="Faster").first.click()
            await page.wait_for_function(
                "document.querySelectorAll('.clips li').length >= 2", timeout=60_000
            )
            faster = await page.locator(".clips li").nth(1).inner_text()
            match = re.search(r"trap - (\d+) BPM", faster)
            assert match and int(match.group(1)) > 140, faster

            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "widget.png"), full_page=True)
            assert errors == []
        finally:
            with contextlib.suppress(Exception):
                await browser.close()


async def test_daw_widget_uploads_a_track_and_masters_it(live_server: str, tmp_path: Path) -> None:
    song = write_tone(tmp_path / "my song.wav", seconds=5.0)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path())
        page = await browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            await page.goto(f"{live_server}/?token={TOKEN}&user=bea")
            await page.wait_for_selector("#connection.online", timeout=10_000)
            # The file picker is the keyboard-reachable twin of drag and drop.
            await page.set_input_files("#file", str(song))
            await page.wait_for_function(
                "document.querySelector('#attachments').textContent.includes('my song.wav')",
                timeout=10_000,
            )
            message = page.get_by_label("Message")
            await message.fill("master this for club")
            await message.press("Enter")
            result = page.locator(".log li.result").first
            await result.wait_for(timeout=60_000)
            text = await result.inner_text()
            assert "-8" in text or "club" in text.lower(), text
            duration = await result.locator("audio").evaluate(
                """audio => new Promise(resolve => {
                    if (audio.readyState >= 1) return resolve(audio.duration);
                    audio.addEventListener("loadedmetadata", () => resolve(audio.duration));
                    audio.addEventListener("error", () => resolve(-1));
                })"""
            )
            assert duration == pytest.approx(5.0, abs=0.3)
            assert await page.locator("#attachments").inner_text() == ""  # sent, not kept
            assert errors == []
        finally:
            with contextlib.suppress(Exception):
                await browser.close()
