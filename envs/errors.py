"""The project's own error type: bad input or bad state on disk that the project recognised and names in
one line (the file, the key or the field, and the problem). Every kind of it (ConfigError, BVHError,
JointMapError, CheckpointError, MotionError, RunFolderError) is a ValueError, so older ``except
ValueError`` handlers keep catching them; anything else escaping a reader is a bug."""
from __future__ import annotations


class L2EMGError(ValueError):
    """Recognised bad input or state; ``str(error)`` is one line."""

    def __init__(self, *args) -> None:
        if args and isinstance(args[0], str):
            args = (one_line(args[0]), *args[1:])
        super().__init__(*args)


def one_line(text: str, limit: int = 600) -> str:
    """``text`` on one line (line breaks and other control characters shown escaped), at most ``limit`` characters."""
    flat = "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
