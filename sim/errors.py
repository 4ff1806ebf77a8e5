"""User mistakes: raised as UserError, printed by the CLI as one clear message and exit code 2."""


class UserError(Exception):
    """An input problem the user can fix; the message says where, what and what is allowed."""

    exit_code = 2
