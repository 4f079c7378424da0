"""Ids as they arrive from URLs, forms and JSON bodies.

Anything that cannot name a row (text, zero, negative, beyond what an INTEGER
primary key holds) is refused here, so it reads as "not found" or "invalid" rather
than reaching the database as an out-of-range error.
"""

MAX_ID = 2**31 - 1  # an INTEGER primary key on PostgreSQL (and a sane bound on SQLite)


def as_id(value) -> int:
    """The id, or ValueError/TypeError when ``value`` cannot be one."""
    if isinstance(value, bool):
        raise TypeError(value)
    number = int(value)
    if not 0 < number <= MAX_ID:
        raise ValueError(value)
    return number


def parse_id(value) -> int | None:
    """The id, or None when ``value`` cannot be one."""
    try:
        return as_id(value)
    except (TypeError, ValueError):
        return None
