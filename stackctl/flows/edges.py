"""The seam between commands and what they reach outside the process. The CLI uses the real edges;
a test passes its own (named Fake... or Broken...) to produce a fault that cannot be made for real,
such as a CA handing out a certificate whose key does not match. Product code reads no switch for it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stackctl.certs.issuers import Issuer
    from stackctl.config.spec import StackSpec


def real_issuer_for(spec: StackSpec) -> Issuer:
    from stackctl.certs.issuers import issuer_for

    return issuer_for(spec)


@dataclass(frozen=True)
class Edges:
    issuer_for: Callable[[StackSpec], Issuer] = field(default=real_issuer_for)
