"""How to trust the local CA on each kind of system, and which kind this one is."""

from __future__ import annotations

import platform
from pathlib import Path

from stackctl.core.fsio import read_user_text

OS_RELEASE = Path("/etc/os-release")


def trust_commands(ca: Path) -> list[tuple[str, str]]:
    """(system, what to do), as `certs ca` prints them."""
    return [
        ("Debian/Ubuntu", f"sudo cp {ca} /usr/local/share/ca-certificates/stackctl.crt && sudo update-ca-certificates"),
        ("Fedora/RHEL", f"sudo cp {ca} /etc/pki/ca-trust/source/anchors/stackctl.crt && sudo update-ca-trust"),
        ("macOS", f"sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain {ca}"),
        ("Windows", f"certutil -addstore -f ROOT {ca.name}   (in an administrator prompt)"),
        ("Firefox", "Settings > Privacy & Security > Certificates > View Certificates > Authorities > Import"),
        ("Android/iOS", "copy the file to the device and install it as a CA certificate in the settings"),
    ]


def this_system() -> str | None:
    """The row of `trust_commands` for the machine stackctl runs on, when it is one of them."""
    if platform.system() == "Darwin":
        return "macOS"
    if platform.system() != "Linux" or not OS_RELEASE.is_file():
        return None
    try:
        text = read_user_text(OS_RELEASE, 64 * 1024, "")
    except Exception:
        return None
    fields = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    family = f"{fields.get('ID', '')} {fields.get('ID_LIKE', '')}".replace('"', "").split()
    if {"debian", "ubuntu"} & set(family):
        return "Debian/Ubuntu"
    if {"fedora", "rhel", "centos"} & set(family):
        return "Fedora/RHEL"
    return None


def trust_here(ca: Path) -> str | None:
    system = this_system()
    return next((command for name, command in trust_commands(ca) if name == system), None)
