"""One real BeatBot worker for benchmarks and the soak: `python3 -m benchmarks.worker_proc`.

It is `bot.worker.build_worker` with a fixed number of render processes (so "one worker" means
one core of rendering), configured from the environment like `beatbot worker`
(REDIS_URL, BEATBOT_* overrides) plus `--data-dir`. Before it takes jobs it starts its render
pool and renders one beat in each render process, so measurements exclude start-up; then it
prints `ready`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from benchmarks.common import single_threaded

READY = "ready"


def warm(progress: Callable[[str, float], None]) -> str:
    """Runs in a render process: one 30 s trap beat with every output a chat job writes (the
    MP3 and its waveform, as the ideal's warm-up is), so imports, the instrument and mix
    caches, the heap and ffmpeg are warm before the clock starts."""
    import tempfile

    from engine.compose import BeatSpec
    from engine.pipeline import make_beat

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_beat(BeatSpec("trap", 140, "Cm", "dark", 30.0), 1, out_path=folder / "warm.mp3",
                  waveform_path=folder / "warm.png")  # fmt: skip
    progress("warm", 1.0)
    return "warm"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--render-processes", type=int, default=1)
    args = parser.parse_args(argv)
    single_threaded()

    from bot.config import Secrets, load_settings
    from bot.connections import connect
    from bot.worker import build_worker

    settings = load_settings(data_dir=args.data_dir)
    secrets = Secrets.from_env(os.environ)
    handle = connect(secrets.redis_url, settings.data_dir)
    worker = build_worker(
        settings, secrets, handle, render_processes=args.render_processes, handle_signals=True
    )
    product_startup = worker.on_startup

    async def startup(ctx: Mapping[str, Any]) -> None:
        assert product_startup is not None
        await product_startup(ctx)  # type: ignore[arg-type]
        pool = ctx["services"].pool
        for _ in range(args.render_processes):
            await pool.run(warm)
        print(READY, flush=True)

    worker.on_startup = startup
    worker.run()


if __name__ == "__main__":
    sys.exit(main())
