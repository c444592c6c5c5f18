"""Pure audio: numbers in, numpy arrays and files out. No Redis, no asyncio, no chat.

Audio arrays are float32 with shape (frames, channels) — stereo is (n, 2) — at the engine
sample rate (44.1 kHz unless configured otherwise).
"""
