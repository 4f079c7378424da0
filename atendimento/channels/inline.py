"""Large inline files (Evolution's ``"base64": "…"``) taken out of a webhook body before
its JSON is parsed, so a 17 MB document is held once, as the raw body, not again as the
parsed text (json.loads of bytes decodes the whole body first, then copies each string).

``split`` answers the body with each large ``"base64"`` value replaced by a placeholder,
and the values as views into the raw body (no copy); ``media.store_base64`` decodes a
view into the media folder a chunk at a time. A value with an escape in it (base64 has
none) or any doubt is left where it is: the body is then parsed as a whole, as before.
A leaf: it imports nothing of the app.
"""
from __future__ import annotations

import re

PLACEHOLDER = "atendimento-inline:{}"
_KEY = re.compile(rb'"base64"\s*:\s*"')
MIN_SIZE = 64 * 1024  # smaller values are cheaper parsed along


def split(raw: bytes, min_size: int = MIN_SIZE) -> tuple[bytes, dict[str, memoryview]]:
    view, pieces, parts, position = memoryview(raw), [], {}, 0
    for match in _KEY.finditer(raw):
        start = match.end()
        if start < position or (match.start() and raw[match.start() - 1:match.start()] == b"\\"):
            continue  # inside a value already taken, or an escaped quote of a text
        end = raw.find(b'"', start)
        if end < 0 or end - start < min_size or raw.find(b"\\", start, end) >= 0:
            continue
        name = PLACEHOLDER.format(len(parts))
        pieces += [view[position:start], name.encode()]
        parts[name] = view[start:end]
        position = end
    if not parts:
        return raw, {}
    pieces.append(view[position:])
    return b"".join(pieces), parts
