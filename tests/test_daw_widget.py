"""The chat widget in a real headless Chromium against the real server, worker and Redis.

Needs Debian's chromium (`apt-get install -y chromium`; .ci/run installs it). Each test saves
screenshots (desktop 1200 px and a 390 px phone) in its tmp dir and in test-artifacts/ for a
person to look at, and checks every WebSocket frame the page receives against
/api/asyncapi.json.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, Page, Request, async_playwright

from adapters.cli.runtime import stop_worker
from adapters.daw_server import create_app
from bot.config import Secrets, Settings, load_settings
from bot.connections import RedisHandle
from bot.services import Services
from bot.worker import build_worker
from tests.audio_fixtures import write_tone
from tests.daw_schemas import Documents, fetch_documents
from tests.net import free_port

TOKEN = "widget-test-token"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1200, "height": 800}
AUDIO_DURATION = """audio => new Promise(resolve => {
    if (audio.readyState >= 1) return resolve(audio.duration);
    audio.addEventListener("loadedmetadata", () => resolve(audio.duration));
    audio.addEventListener("error", () => resolve(-1));
})"""


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("The widget test needs Chromium: apt-get install -y chromium (see .ci/run).")


def keep(path: Path) -> Path:
    """A copy of a screenshot in test-artifacts/, where a person looks after a run."""
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(path, ARTIFACTS / path.name)
    return path


@dataclass
class Widget:
    """One page of the widget, with what it saw: page errors, WebSocket frames, requests."""

    page: Page
    errors: list[str] = field(default_factory=list)
    frames: list[dict[str, Any]] = field(default_factory=list)
    chats: list[Request] = field(default_factory=list)

    async def say(self, text: str) -> None:
        message = self.page.get_by_label("Message")
        await message.fill(text)
        await message.press("Enter")

    async def shot(self, tmp_path: Path, name: str) -> Path:
        path = tmp_path / name
        await self.page.screenshot(path=str(path), full_page=True)
        return keep(path)

    def check(self, documents: Documents) -> None:
        assert self.errors == [], self.errors
        assert self.frames, "the page received no WebSocket frames"
        for frame in self.frames:
            documents.check_frame(frame)


@dataclass
class Live:
    base: str
    browser: Browser
    documents: Documents

    async def open(self, user: str, viewport: dict[str, int] = DESKTOP) -> Widget:
        page = await self.browser.new_page(viewport=viewport, accept_downloads=True)
        widget = Widget(page)
        page.on("pageerror", lambda exc: widget.errors.append(str(exc)))
        page.on(
            "websocket",
            lambda ws: ws.on("framereceived", lambda data: widget.frames.append(json.loads(data))),
        )
        page.on(
            "request",
            lambda request: widget.chats.append(request) if "/api/chat" in request.url else None,
        )
        await page.goto(f"{self.base}/?token={TOKEN}&user={user}")
        await page.wait_for_selector("#connection.online", timeout=10_000)
        return widget


@pytest.fixture
async def live(
    settings: Settings, redis_handle: RedisHandle, aiohttp_server: Callable[..., Any]
) -> AsyncIterator[Live]:
    """The DAW server on a real port with a worker running, its links pointing at itself,
    and a headless Chromium."""
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
        async with aiohttp.ClientSession(base) as session:
            documents = await fetch_documents(session, TOKEN)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=chromium_path(),
                args=["--autoplay-policy=no-user-gesture-required", "--mute-audio"],
            )
            try:
                yield Live(base, browser, documents)
            finally:
                with contextlib.suppress(Exception):
                    await browser.close()
    finally:
        await server.close()
        await stop_worker(worker, task)
        await services.close()


async def at_newest(page: Page) -> None:
    """The log is scrolled to its end and its last message is fully in view."""
    await page.wait_for_function(
        """() => {
            const log = document.getElementById("log");
            const last = log.lastElementChild.getBoundingClientRect();
            const box = log.getBoundingClientRect();
            return log.scrollHeight - log.scrollTop - log.clientHeight < 2
                && last.bottom <= box.bottom + 1;
        }""",
        timeout=10_000,
    )


async def is_playing(page: Page, selector: str) -> None:
    await page.wait_for_function(
        f"""() => {{
            const audio = document.querySelector({json.dumps(selector)});
            return audio && !audio.paused && audio.currentTime > 0;
        }}""",
        timeout=10_000,
    )


async def test_daw_widget_makes_a_beat_in_chromium(live: Live, tmp_path: Path) -> None:
    widget = await live.open("ada")
    page = widget.page
    await widget.say("make a dark trap beat at 140 for 8 seconds")

    # The request is echoed, accepted, shows live progress, then lands as a player.
    await page.wait_for_selector(".log li.you", timeout=5_000)
    await page.wait_for_selector(".log progress", timeout=10_000)
    result = page.locator(".log li.result").first
    await result.wait_for(timeout=60_000)
    audio = result.locator(":scope > .player audio")
    assert await audio.evaluate(AUDIO_DURATION) == pytest.approx(8.57, abs=0.3)  # 5 bars

    # The page's own player: no browser controls, the beat's waveform picture to seek on.
    assert await audio.get_attribute("controls") is None
    waveform = result.locator(".wave img")
    await page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=await waveform.element_handle()
    )
    await at_newest(page)  # scrolled to the result after its picture loaded
    await result.get_by_role("button", name=re.compile("^Play Here")).click()
    await is_playing(page, ".log li.result > .player audio")
    assert await result.locator(".player").first.evaluate("p => p.classList.contains('playing')")
    wave = result.locator(".wave").first
    box = await wave.bounding_box()
    assert box is not None
    await page.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + box["height"] / 2)
    position = await audio.evaluate("a => a.currentTime / a.duration")
    assert position == pytest.approx(0.75, abs=0.08)

    await result.screenshot(path=str(tmp_path / "widget-result.png"))
    keep(tmp_path / "widget-result.png")

    # Downloads are named after the beat, by the link and by the server.
    link = result.locator("a.download", has_text="Download")
    name = await link.get_attribute("download")
    assert name is not None and re.fullmatch(r"trap_140_Cm_\d+\.mp3", name), name
    async with page.expect_download() as download_info:
        await link.click()
    download = await download_info.value
    assert download.suggested_filename == name

    # The DAW side: a clip on the timeline and the transport at the beat's tempo.
    clip = page.locator(".clips button").first
    await clip.wait_for(timeout=10_000)
    assert "trap - 140 BPM" in await clip.inner_text()
    assert await page.locator("#bpm").inner_text() == "140"
    labels = await result.locator(".actions > *").all_inner_texts()
    for label in ("Variation", "Faster", "Slower", "Stems", "Mute drums", "Mute melody", "Master",
                  "MIDI", "Download"):  # fmt: skip
        assert label in labels

    # A button works like typing: "Faster" queues a quicker take of the same beat.
    await result.get_by_role("button", name="Faster").click()
    await page.wait_for_function(
        "document.querySelectorAll('.clips li').length >= 2", timeout=60_000
    )
    faster = await page.locator(".clips button").nth(1).inner_text()
    match = re.search(r"trap - (\d+) BPM", faster)
    assert match and int(match.group(1)) > 140, faster

    # Clicking a timeline clip loads that clip into the deck and plays it.
    await page.locator(".clips button").first.click()
    await is_playing(page, "#deck audio")
    assert await page.locator("#deck .wave img").count() == 1  # the clip's waveform
    first_url = await page.locator("#deck audio").get_attribute("src")
    await page.locator(".clips button").nth(1).click()
    await is_playing(page, "#deck audio")
    assert await page.locator("#deck audio").get_attribute("src") != first_url
    assert await page.locator(".clips button").nth(1).get_attribute("aria-current") == "true"
    assert await page.locator("#bpm").inner_text() == match.group(1)

    # Stems play where they are listed.
    await result.get_by_role("button", name="Stems").click()
    stems = page.locator(".log > li").last.locator(".stems li")
    await page.wait_for_function(
        "document.querySelector('.log > li:last-child .stems li') !== null", timeout=30_000
    )
    assert await stems.count() >= 3  # drums, bass, melody at least
    assert await stems.locator(".player .play").count() == await stems.count()
    drums = stems.filter(has_text="Drums")
    drum_name = await drums.locator("a").get_attribute("download") or ""
    assert re.fullmatch(r"trap_140_Cm_\d+_drums\.wav", drum_name), drum_name
    await drums.get_by_role("button", name=re.compile("^Play ")).click()
    await is_playing(page, '.log > li:last-child .stems audio[aria-label="Drums stem"]')
    await at_newest(page)

    # Text from the server is text: help's words show as sent, nothing turned into markup.
    async with page.expect_response(lambda r: r.url.endswith("/api/chat")) as answer:
        await widget.say("help")
    reply = (await (await answer.value).json())["replies"][0]
    shown = page.locator(".log > li").last.locator(".text")
    await shown.wait_for()
    if reply.get("html"):
        assert await shown.evaluate("n => n.innerHTML") == reply["html"]
    else:
        assert await shown.text_content() == reply["text"]
        assert await shown.evaluate("n => n.children.length") == 0
    await at_newest(page)

    await widget.shot(tmp_path, "widget-desktop.png")
    widget.check(live.documents)


async def test_daw_widget_fits_a_390px_phone(live: Live, tmp_path: Path) -> None:
    widget = await live.open("phone", PHONE)
    page = widget.page
    await widget.say("make a chill lofi beat for 5 seconds")
    result = page.locator(".log li.result").first
    await result.wait_for(timeout=60_000)
    await result.get_by_role("button", name="Stems").click()
    await page.wait_for_function(
        "document.querySelector('.log > li:last-child .stems li') !== null", timeout=30_000
    )
    await page.set_input_files("#file", str(write_tone(tmp_path / "a-long-file-name-take-3.wav")))
    await page.wait_for_selector("#attachments .chip", timeout=10_000)
    await at_newest(page)

    # Nothing sticks out past the 390 px: no sideways scrolling, every box inside the screen.
    clipped = await page.evaluate(
        """() => {
            const width = window.innerWidth;
            const out = [];
            for (const node of document.body.querySelectorAll("*")) {
                const rect = node.getBoundingClientRect();
                const style = getComputedStyle(node);
                if (!rect.width || !rect.height || style.visibility === "hidden") continue;
                if (node.closest(".visually-hidden, [hidden]")) continue;
                if (rect.left < -0.5 || rect.right > width + 0.5)
                    out.push(`${node.tagName}.${node.className} ${rect.left}-${rect.right}`);
            }
            return {out, scroll: document.documentElement.scrollWidth, width};
        }"""
    )
    assert clipped["scroll"] <= clipped["width"], clipped
    assert clipped["out"] == [], clipped["out"][:10]
    # The controls a thumb needs are whole and at least 24 px tall.
    for name in ("^Send$", "^Play ", "^Remove "):
        target = page.get_by_role("button", name=re.compile(name)).first
        rect = await target.bounding_box()
        assert rect is not None and rect["height"] >= 24 and rect["x"] + rect["width"] <= 390
    await widget.shot(tmp_path, "widget-phone.png")
    widget.check(live.documents)


async def test_daw_widget_uploads_a_track_and_masters_it_with_ab(
    live: Live, tmp_path: Path
) -> None:
    song = write_tone(tmp_path / "my song.wav", seconds=5.0)
    other = write_tone(tmp_path / "other take.wav", seconds=5.0, level=0.05)
    widget = await live.open("bea")
    page = widget.page
    # The file picker is the keyboard-reachable twin of drag and drop.
    await page.set_input_files("#file", [str(song), str(other)])
    await page.wait_for_function(
        "document.querySelectorAll('#attachments .chip').length === 2", timeout=10_000
    )
    # An attachment can be taken off before sending.
    await page.get_by_role("button", name="Remove other take.wav").click()
    assert await page.locator("#attachments .chip-name").all_inner_texts() == ["my song.wav"]

    await widget.say("master this for club")
    result = page.locator(".log li.result").first
    await result.wait_for(timeout=60_000)
    sent = json.loads(widget.chats[-1].post_data or "{}")
    assert len(sent["fileIds"]) == 1  # only the one left attached
    assert "my song.wav" in await page.locator(".log > li").nth(2).inner_text()
    text = await result.inner_text()
    assert "-8" in text or "club" in text.lower(), text
    audio = result.locator(":scope > .player audio")
    assert await audio.evaluate(AUDIO_DURATION) == pytest.approx(5.0, abs=0.3)
    assert await page.locator("#attachments").inner_text() == ""  # sent, not kept

    # A/B: the master against the upload it came from, at the same place in the song.
    mastered_url = await audio.get_attribute("src")
    original = result.get_by_role("button", name=re.compile("^A"))
    mastered = result.get_by_role("button", name=re.compile("^B"))
    assert await mastered.get_attribute("aria-pressed") == "true"
    await result.get_by_role("button", name=re.compile("^Play Master")).click()
    await is_playing(page, ".log li.result > .player audio")
    await audio.evaluate("a => { a.currentTime = 2.5; }")
    await original.click()
    await page.wait_for_function(
        """() => { const a = document.querySelector(".log li.result > .player audio");
                   return a.src.includes("/files/uploads/") && a.readyState >= 1
                          && !a.paused && Math.abs(a.currentTime - 2.5) < 0.6; }""",
        timeout=10_000,
    )
    assert await original.get_attribute("aria-pressed") == "true"
    await mastered.click()
    main = ".log li.result > .player audio"
    await page.wait_for_function(
        f"document.querySelector('{main}').src === {json.dumps(mastered_url)}"
    )
    await at_newest(page)
    await widget.shot(tmp_path, "widget-master-ab.png")
    widget.check(live.documents)


async def test_daw_widget_says_so_when_every_upload_failed(live: Live, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not audio at all " * 100)
    widget = await live.open("cy")
    page = widget.page
    await widget.say("make a house beat for 4 seconds")  # a last beat that must stay alone
    await page.locator(".log li.result").first.wait_for(timeout=60_000)
    await page.set_input_files("#file", str(notes))
    await page.wait_for_selector(".log li.error", timeout=10_000)
    chats = len(widget.chats)
    await widget.say("master this for club")
    warning = page.locator(".log li.error").last
    await page.wait_for_function(
        "document.querySelector('.log > li:last-child').textContent.includes('didn')"
    )
    assert "notes.txt" in await warning.inner_text()
    assert "nothing attached" in await warning.inner_text()
    await asyncio.sleep(0.3)
    assert len(widget.chats) == chats  # the server was never asked to master the last beat
    assert await page.locator(".log li.result").count() == 1


async def test_daw_widget_renders_reply_html_and_never_markdown(live: Live) -> None:
    """Replies carry `html` (safe, rendered by the server) beside plain `text`. Until the
    server sends `html` for every reply, Playwright answers one chat with both kinds."""
    widget = await live.open("dee")
    page = widget.page
    replies = [
        {"type": "text", "text": "plain **not bold** <b>not markup</b>"},
        {"type": "text", "text": "Bold move", "html": "<strong>Bold</strong> move"},
        {"type": "error", "text": "bad <img src=x onerror=alert(1)>"},
    ]

    async def answer(route: Any) -> None:
        await route.fulfill(json={"success": True, "replies": replies})

    await page.route("**/api/chat", answer)
    await widget.say("hello")
    await page.wait_for_function("document.querySelectorAll('.log > li').length >= 5")
    texts = page.locator(".log > li > .text")
    plain, rich, error = (texts.nth(i) for i in range(2, 5))
    assert await plain.text_content() == replies[0]["text"]
    assert await plain.evaluate("n => n.children.length") == 0
    assert await rich.evaluate("n => n.querySelector('strong').textContent") == "Bold"
    assert await error.evaluate("n => n.querySelector('img')") is None
    assert widget.errors == []
