"""Real recordings made with PyAV for the voice-note tests and bench/voice.py: a 440 Hz
sine wave, stereo 48 kHz like a browser's microphone, in the container and codec asked for
(``webm``/``libopus`` as Chromium and Firefox record, ``mp4``/``aac`` as Safari does; mono
at 32 kbps is what the composer asks a browser for)."""
from __future__ import annotations

import array
import io
import math

import av

RATE = 48000


def sine_recording(container_format: str, codec: str, seconds: float, *, layout: str = "stereo",
                   bit_rate: int | None = None) -> bytes:
    channels = 2 if layout == "stereo" else 1
    period = [int(9000 * math.sin(2 * math.pi * 440 * i / RATE)) for i in range(RATE // 440 * 10)]
    out = io.BytesIO()
    with av.open(out, mode="w", format=container_format) as container:
        # Constant bit rate when one is asked for: libopus's VBR spends twice as much on a pure tone.
        options = {"vbr": "off"} if bit_rate and codec == "libopus" else {}
        stream = container.add_stream(codec, rate=RATE, layout=layout, options=options)
        if bit_rate:
            stream.codec_context.bit_rate = bit_rate
        total, done, size = int(seconds * RATE), 0, 1024
        while done < total:
            n = min(size, total - done)
            samples = array.array("h", (period[(done + i // channels) % len(period)] for i in range(n * channels)))
            frame = av.AudioFrame(format="s16", layout=layout, samples=n)
            frame.planes[0].update(samples.tobytes())
            frame.rate, frame.pts = RATE, done
            for packet in stream.encode(frame):
                container.mux(packet)
            done += n
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def describe(data: bytes) -> tuple[str, str, int, int, float]:
    """(container, codec, channels, rate, seconds decoded) of an audio file."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        context = stream.codec_context
        return container.format.name, context.name, context.channels, context.sample_rate, samples / context.sample_rate
