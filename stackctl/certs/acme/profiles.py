"""ACME profiles (draft-ietf-acme-profiles): which kinds of certificate a CA offers, from its directory's
meta.profiles, checked before an order asks for one."""

from __future__ import annotations

from acme import messages

from stackctl.core.errors import OperationFailed


def offered(directory: messages.Directory) -> dict[str, str]:
    """Each profile the CA offers, with its description."""
    meta = directory.meta
    return dict(meta.profiles or {}) if meta is not None else {}


def check_offered(directory: messages.Directory, wanted: str | None, host: str) -> None:
    """Refuse a profile the CA does not list (an order for it would be refused, one more failed order)."""
    if wanted is None:
        return
    profiles = offered(directory)
    if wanted in profiles:
        return
    if not profiles:
        raise OperationFailed(
            f"the CA at {host} offers no certificate profiles, so tls.acme.profile: {wanted} cannot be ordered",
            "remove tls.acme.profile to get the CA's default certificate",
        )
    listed = ", ".join(f"{name} ({text})" if text else name for name, text in sorted(profiles.items()))
    raise OperationFailed(
        f"the CA at {host} does not offer the profile {wanted}; it offers {listed}",
        "set tls.acme.profile to one of them, or remove it for the CA's default",
    )
