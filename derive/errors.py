"""The one exception type the CLI turns into a one-line message and exit status 2."""

#: The most characters of a user's input an error message echoes.
ECHO = 80


class UserError(Exception):
    """Bad input: the message names the culprit and says what to do next."""


def shown(value, quote: bool = True, limit: int = ECHO) -> str:
    """A user's input for an error message: quoted (``repr``) unless ``quote`` is false, on one
    line and cut to ``limit`` characters, ``…`` marking the cut (a 1 MB input is echoed as its
    first few words)."""
    text = repr(str(value)) if quote else " ".join(str(value).split())
    if len(text) <= limit:
        return text
    return text[: limit - 2] + "…" + text[0] if quote else text[: limit - 1] + "…"
