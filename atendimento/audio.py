"""Voice notes: whatever a browser recorded, as the OGG/Opus mono file that WhatsApp and
Telegram play as a voice note; and the duration of an audio or video file.

PyAV (FFmpeg's libraries, shipped in its wheel) decodes and encodes in-process. FFmpeg
guesses a format from any bytes, including playlists that open other URLs, so only
the containers a recorder or a phone produces are opened (checked by their first bytes
and by the demuxer FFmpeg picked).

A leaf: it imports nothing of the app but its domain errors.
"""
from __future__ import annotations

import io
from os import PathLike

import av
from flask_babel import lazy_gettext as _l

from .errors import InvalidInput

RATE = 48000  # Opus's own rate: no resampling on the phone
BIT_RATE = 24000  # speech; keeps up to ~2.5 min under the 512 KB WhatsApp still shows a play button for
# Measured with bench/voice.py: "voip" (SILK) and the top complexity cost 1.5-2x the CPU of
# CELT at complexity 3 for no audible gain at 24 kbps; 60 ms packets (as Telegram's own
# clients record) are a third of the packets, and of PyAV's per-packet overhead.
ENCODER_OPTIONS = {"application": "audio", "frame_duration": "60", "compression_level": "3"}
# A mono Opus recording up to this rate is copied as it is (the composer records at 32 kbps).
COPY_MAX_BIT_RATE = 48000
MAX_SECONDS = 20 * 60
OGG_MIME, VOICE_NAME = "audio/ogg", "voice-note.ogg"

# FFmpeg demuxer names of the containers we open.
DEMUXERS = {"matroska,webm", "mov,mp4,m4a,3gp,3g2,mj2", "ogg", "wav", "mp3", "aac", "amr", "flac"}


class NotAudio(InvalidInput):
    """The file is not audio we can read."""

    def __init__(self, message=None):
        message = message or _l("This file is not an audio recording we can read.")
        super().__init__(message, fields={"file": message})


def _known_container(head: bytes) -> bool:
    return (head.startswith((b"\x1aE\xdf\xa3", b"OggS", b"ID3", b"#!AMR", b"fLaC"))
            or head[4:8] == b"ftyp"
            or (head[:4] == b"RIFF" and head[8:12] == b"WAVE")
            or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0))  # MPEG / ADTS frame


def _open(source):
    """The container of ``source`` (a path, bytes or a binary file) and its first audio stream."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        source = io.BytesIO(source)
    if isinstance(source, (str, PathLike)):
        with open(source, "rb") as handle:
            head = handle.read(16)
    else:
        head = source.read(16)
        source.seek(0)
    if not _known_container(head):
        raise NotAudio()
    try:
        container = av.open(source, mode="r")
    except (av.FFmpegError, ValueError, OSError):
        raise NotAudio() from None
    stream = next((s for s in container.streams if s.type == "audio"), None)
    if container.format.name not in DEMUXERS or stream is None:
        container.close()
        raise NotAudio()
    return container, stream


def to_voice_note(source) -> tuple[bytes, float]:
    """``source`` (path, bytes or binary file) as OGG/Opus mono 48 kHz: (the file, its seconds).
    Raise ``NotAudio`` when there is no audio to read in it.

    A recording that already is mono Opus at a voice note's bit rate (what the composer
    asks Chromium and Firefox for) is only moved from its WebM into OGG: no quality lost,
    a few milliseconds. Anything else is decoded and encoded again."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        source = io.BytesIO(source)
    container, stream = _open(source)
    try:
        if stream.codec_context.name == "opus" and stream.codec_context.channels == 1:
            copied = _copy_opus(container, stream)
            if copied is not None:
                return copied
            container.close()
            if hasattr(source, "seek"):
                source.seek(0)
            container, stream = _open(source)
        return _transcode(container, stream)
    finally:
        container.close()


def _copy_opus(container, stream) -> tuple[bytes, float] | None:
    """The Opus packets in OGG, or None when that would not make a good voice note."""
    out = io.BytesIO()
    try:
        with av.open(out, mode="w", format="ogg") as ogg:
            copy = ogg.add_stream_from_template(stream)
            for packet in container.demux(stream):
                if packet.dts is None:  # the demuxer's end-of-stream marker
                    continue
                packet.stream = copy
                ogg.mux(packet)
    except av.FFmpegError:
        return None
    data = out.getvalue()
    seconds = probe_duration(data)
    if not seconds or seconds > MAX_SECONDS or len(data) * 8 / seconds > COPY_MAX_BIT_RATE:
        return None
    return data, seconds


def _transcode(container, stream) -> tuple[bytes, float]:
    out = io.BytesIO()
    samples = 0
    try:
        with av.open(out, mode="w", format="ogg") as ogg:
            opus = ogg.add_stream("libopus", rate=RATE, layout="mono", options=ENCODER_OPTIONS)
            opus.codec_context.bit_rate = BIT_RATE
            resampler = av.AudioResampler(format=opus.codec_context.format.name, layout="mono", rate=RATE)
            for frame in container.decode(stream):
                for mono in resampler.resample(frame):
                    samples += mono.samples
                    ogg.mux(opus.encode(mono))
                if samples > MAX_SECONDS * RATE:
                    raise NotAudio(_l("The recording is too long (at most %(n)s minutes).", n=MAX_SECONDS // 60))
            for mono in resampler.resample(None):
                samples += mono.samples
                ogg.mux(opus.encode(mono))
            ogg.mux(opus.encode(None))
    except av.FFmpegError:
        raise NotAudio() from None
    if not samples:
        raise NotAudio()
    return out.getvalue(), round(samples / RATE, 2)


def probe_duration(source) -> float | None:
    """The seconds of an audio or video file, when its container says so cheaply (a
    browser's WebM often does not); None otherwise, never an error."""
    try:
        container, stream = _open(source)
    except Exception:  # noqa: BLE001 — a probe is a nicety, never a failure
        return None
    try:
        if stream.duration is not None and stream.time_base is not None:
            seconds = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            seconds = container.duration / av.time_base
        else:
            return None
        return round(seconds, 2) if seconds > 0 else None
    except Exception:  # noqa: BLE001
        return None
    finally:
        container.close()
