"""One error tree. Each class carries the exit code the CLI maps it to."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0
    FAILED = 1  # the operation failed, or a check found something not as it should be
    INVALID = 2
    UPDATES_WAITING = 100  # upgrade --check, like `yum check-update`: an update is waiting
    INTERRUPTED = 130


class StackctlError(Exception):
    """Base of every error a user may see. The message is one line; `hint` says what to do next."""

    exit_status = ExitStatus.FAILED

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def line(self) -> str:
        """The one line a user sees: `error: <what is wrong> — <what to do>`."""
        return f"error: {' '.join(self.message.split())} — {' '.join(self.hint.split())}"


class InvalidInput(StackctlError):
    """Bad input: a malformed stack.yaml, a bad argument, an unusable certificate file."""

    exit_status = ExitStatus.INVALID


SPEC_HINT = "fix it in stack.yaml (the README's stack.yaml table lists every key and its rule)"


class SpecError(InvalidInput):
    """A stack.yaml value breaks a rule. `path` is the dotted key, e.g. `ports.https`."""

    def __init__(self, path: str, rule: str, hint: str = SPEC_HINT) -> None:
        super().__init__(f"{path}: {rule}" if path else rule, hint)
        self.path = path
        self.rule = rule


class OperationFailed(StackctlError):
    """The input was fine but the operation could not be completed."""

    exit_status = ExitStatus.FAILED
