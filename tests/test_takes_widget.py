"""Several takes in the chat widget: a real headless Chromium against the real server, worker
and Redis (the `live` fixture of tests/test_daw_widget.py). Screenshots go to test-artifacts/."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp

from tests.takes_measure import assert_takes_differ
from tests.test_daw_widget import AUDIO_DURATION, PHONE, Live, live  # noqa: F401


async def test_widget_shows_a_card_per_take_and_pick_2_carries_on(
    live: Live,  # noqa: F811
    tmp_path: Path,
) -> None:
    widget = await live.open("ada")
    page = widget.page
    await widget.say("3 takes of a trap beat for 8 seconds")
    await page.wait_for_selector(".log progress", timeout=10_000)
    result = page.locator(".log li.result.takes").first
    await result.wait_for(timeout=90_000)
    cards = result.locator(".take")
    assert await cards.count() == 3
    assert await page.locator(".log li.result").count() == 1  # one message, not one per take
    assert await page.locator(".log progress").count() == 0  # the group's progress ended
    titles = await result.locator(".take-title").all_inner_texts()
    seeds = [int(re.search(r"seed (\d+)", t).group(1)) for t in titles]  # type: ignore[union-attr]
    assert [t.split(" · ")[0] for t in titles] == ["Take 1", "Take 2", "Take 3"]
    picks = [
        await cards.nth(i).get_by_role("button", name=f"Pick {i + 1}").count() for i in range(3)
    ]
    assert picks == [1, 1, 1]
    sources = [await cards.nth(i).locator("audio").get_attribute("src") for i in range(3)]
    durations = [await cards.nth(i).locator("audio").evaluate(AUDIO_DURATION) for i in range(3)]
    assert len(set(sources)) == 3 and all(d > 6 for d in durations), durations
    clips = []
    async with aiohttp.ClientSession() as session:
        for source in sources:
            async with session.get(str(source)) as response:
                assert response.status == 200
                clips.append(await response.read())
    assert_takes_differ(clips, seconds=durations[0])
    await widget.shot(tmp_path, "widget-takes-desktop.png")
    await page.set_viewport_size(PHONE)
    width = await result.evaluate("r => r.scrollWidth <= r.clientWidth + 1")
    assert width, "a take card is wider than a phone"
    await widget.shot(tmp_path, "widget-takes-phone.png")

    await cards.nth(1).get_by_role("button", name="Pick 2").click()
    picked = page.locator(".log li", has_text="Take 2 is now the clip")
    await picked.wait_for(timeout=10_000)
    assert f"seed {seeds[1]}" in await picked.inner_text()
    await page.wait_for_selector(".clips button", timeout=10_000)  # on the timeline now
    assert await page.locator(".clips button").count() == 1
    await widget.say("make it faster")
    faster = page.locator(".log li.result").nth(1)
    await faster.wait_for(timeout=60_000)
    summary = await faster.inner_text()
    assert f"seed {seeds[1]}" in summary
    bpm = int(re.search(r"(\d+) BPM", summary).group(1))  # type: ignore[union-attr]
    first_bpm = int(re.search(r"\((\d+) BPM", await result.inner_text()).group(1))  # type: ignore[union-attr]
    assert bpm > first_bpm
    widget.check(live.documents)
