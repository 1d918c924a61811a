"""The one exception type the CLI turns into a one-line message and exit status 2."""


class UserError(Exception):
    """Bad input: the message names the culprit and says what to do next."""
