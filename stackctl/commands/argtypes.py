"""Argument types that validate the whole value, and the parser that reports usage errors our way."""

from __future__ import annotations

import argparse
import functools
import ipaddress
import math
import sys
from collections.abc import Callable
from typing import IO, Any, NoReturn

from stackctl.config.guard_spec import size
from stackctl.core.errors import InvalidInput, SpecError


class UsageError(InvalidInput):
    """A command line argparse rejected."""


def seconds(low: float, high: float) -> Callable[[str], float]:
    """A finite number of seconds in [low, high]; `nan`, `inf` and negatives are refused."""

    def convert(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text[:40]!r}") from None
        if not math.isfinite(value) or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be a number of seconds from {low:g} to {high:g}, got {text[:40]!r}")
        return value

    return convert


def ip_address(text: str) -> str:
    """An IPv4 or IPv6 address, the whole text (no port, no prefix, no spaces)."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"is not an IP address such as 203.0.113.7 or 2001:db8::7, got {text[:60]!r}"
        ) from None


def byte_size(low: int, high: int) -> Callable[[str], int]:
    """Bytes, as a whole number or with KiB, MiB or GiB (1GiB), within [low, high]."""
    convert = size(low, high)

    def parse(text: str) -> int:
        try:
            return convert("", text)
        except SpecError as e:
            raise argparse.ArgumentTypeError(f"{e.rule[:200]}") from None

    return parse


class StackctlParser(argparse.ArgumentParser):
    """argparse, but its errors raise UsageError (one line, exit 2) and its help goes to the streams
    the CLI was given, never to a swapped sys.stdout."""

    def __init__(self, *args: Any, out: IO[str], err: IO[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.out, self.err = out, err

    def add_subparsers(self, **kwargs: Any) -> argparse._SubParsersAction[argparse.ArgumentParser]:  # type: ignore[override]
        kwargs.setdefault("parser_class", functools.partial(StackctlParser, out=self.out, err=self.err))
        return super().add_subparsers(**kwargs)

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}", f'see "{self.prog} --help"')

    def _print_message(self, message: str, file: Any = None) -> None:
        if message:
            (self.err if file is sys.stderr else self.out).write(message)
