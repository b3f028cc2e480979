"""Test hosts on this machine: a network namespace with a veth pair to the host on a /30 the test owns,
and a second Docker engine inside one (its own data-root, exec-root and socket), which a test can kill
whole, as a power cut would, and start again. Traffic goes only to these addresses and to 127.0.0.1."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import docker
import docker.errors

ENGINE_START_S = 60.0
CGROUP_PATTERNS = (  # where a container's processes are listed
    "/sys/fs/cgroup/*/docker/{id}/cgroup.procs",  # v1, cgroupfs
    "/sys/fs/cgroup/docker/{id}/cgroup.procs",  # v2, cgroupfs
    "/sys/fs/cgroup/system.slice/docker-{id}.scope/cgroup.procs",  # v2, systemd
)


@dataclass(frozen=True)
class Namespace:
    name: str
    host_ip: str  # the host's end of the veth pair
    inner_ip: str  # the namespace's end

    @property
    def enter(self) -> tuple[str, ...]:
        """A command prefix that runs in the namespace's network only: `ip netns exec` also mounts a
        sysfs of its own, which hides the cgroups a Docker engine needs."""
        return ("nsenter", f"--net=/var/run/netns/{self.name}")


def until(what: str, done: Callable[[], bool], seconds: float) -> None:
    """Poll an event (a socket answers, a node changes state) until it happens."""
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


@contextlib.contextmanager
def network_namespace(name: str, host_ip: str, inner_ip: str) -> Iterator[Namespace]:
    """The pair of addresses is IPv4 (a /30) or IPv6 (a /126, usable at once: no duplicate detection)."""
    prefix, options = ("/126", ["nodad"]) if ":" in host_ip else ("/30", [])
    steps = [
        ["ip", "netns", "add", name],
        ["ip", "link", "add", f"{name}h", "type", "veth", "peer", "name", f"{name}c"],
        ["ip", "link", "set", f"{name}c", "netns", name],
        ["ip", "addr", "add", f"{host_ip}{prefix}", "dev", f"{name}h", *options],
        ["ip", "link", "set", f"{name}h", "up"],
        ["ip", "-n", name, "addr", "add", f"{inner_ip}{prefix}", "dev", f"{name}c", *options],
        ["ip", "-n", name, "link", "set", f"{name}c", "up"],
        ["ip", "-n", name, "link", "set", "lo", "up"],
    ]
    try:
        for step in steps:
            subprocess.run(step, check=True, capture_output=True, timeout=60)
        yield Namespace(name, host_ip, inner_ip)
    finally:
        subprocess.run(["ip", "link", "del", f"{name}h"], capture_output=True)
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def _answers(client: docker.DockerClient) -> bool:
    try:
        return bool(client.ping())
    except (docker.errors.DockerException, OSError):
        return False


@dataclass
class NamespacedEngine:
    """A dockerd in `namespace` whose state lives in `folder`."""

    namespace: Namespace
    folder: Path
    dockerd: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    @property
    def socket(self) -> str:
        return f"unix://{self.folder}/docker.sock"

    def client(self) -> docker.DockerClient:
        # An API version given: the client asks the engine nothing until it answers.
        return docker.DockerClient(base_url=self.socket, version="1.41", timeout=120)

    def start(self) -> docker.DockerClient:
        """Start dockerd (again, on the same data) and wait until it answers."""
        if self._log is None:
            self._log = open(self.folder / "dockerd.log", "ab")  # noqa: SIM115 (closed by remove)
        argv = ["dockerd", "--data-root", f"{self.folder}/data", "--exec-root", f"{self.folder}/exec"]
        argv += ["--pidfile", f"{self.folder}/dockerd.pid", "-H", self.socket]
        self.dockerd = subprocess.Popen([*self.namespace.enter, *argv], stdout=self._log, stderr=self._log)
        client = self.client()
        try:
            until("the engine in the namespace to answer", lambda: _answers(client), ENGINE_START_S)
        except AssertionError as e:
            raise AssertionError(f"{e}: {(self.folder / 'dockerd.log').read_text()[-2000:]}") from e
        return client

    def kill(self) -> None:
        """The whole engine at once, as a power cut: every process in its namespace (dockerd,
        containerd, the shims) and the processes of its containers, found by their cgroups (they run in
        namespaces of their own)."""
        pids = set(
            subprocess.run(["ip", "netns", "pids", self.namespace.name], capture_output=True, text=True).stdout.split()
        )
        containers = self.folder / "data" / "containers"
        for container_id in os.listdir(containers) if containers.is_dir() else []:
            for pattern in CGROUP_PATTERNS:
                for procs in glob.glob(pattern.format(id=container_id)):
                    with contextlib.suppress(OSError):
                        pids.update(Path(procs).read_text().split())
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        if self.dockerd is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.dockerd.wait(timeout=10)

    def power_cut(self) -> None:
        """kill(), then what a reboot clears: the mounts, and the exec-root (a tmpfs under /run on a
        real host), whose pid files would name processes that are gone."""
        self.kill()
        self._unmount()
        shutil.rmtree(self.folder / "exec", ignore_errors=True)

    def _unmount(self) -> None:
        mounts = subprocess.run(["findmnt", "-rn", "-o", "TARGET"], capture_output=True, text=True).stdout.split()
        for target in sorted((m for m in mounts if m.startswith(str(self.folder))), key=len, reverse=True):
            subprocess.run(["umount", "-l", target], capture_output=True)

    def remove(self) -> None:
        """Its processes, its mounts, its folder."""
        self.kill()
        self._unmount()
        if self._log is not None:
            self._log.close()
        shutil.rmtree(self.folder, ignore_errors=True)
