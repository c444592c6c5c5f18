"""Pure audio: numbers in, numpy arrays and files out. No Redis, no asyncio, no chat.

Audio arrays are float32 with shape (frames, channels) — stereo is (n, 2) — at the engine
sample rate (44.1 kHz unless configured otherwise).
"""

import os

# One render is one core's work, and a worker runs one render process per core. BLAS's own
# threads then only fight those processes for the CPU: on a busy 2-core machine a render
# took 3-5x longer with them. Set before numpy loads (importing the engine first does it;
# a render process imports it first), and only where nobody chose otherwise.
SINGLE_THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def single_threaded() -> None:
    """One BLAS/OpenMP thread for this process and the ones it starts from now on."""
    for name in SINGLE_THREAD_ENV:
        os.environ.setdefault(name, "1")


single_threaded()
