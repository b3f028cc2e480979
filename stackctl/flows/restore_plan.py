"""Where a restore writes, decided before it writes anything: the stack files into the target folder,
the photos and sidecar files where the archive's stack.yaml puts them (or where --originals-to and
--storage-to send them). A folder outside the target is named first, and one that already holds a file
of the same name is refused: a restore never replaces a photo."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackctl.config.host_paths import site_keys, stack_path
from stackctl.config.spec import StackSpec, spec_from_data
from stackctl.core.errors import InvalidInput, StackctlError
from stackctl.core.yamlload import parse_yaml
from stackctl.flows.archive import damaged
from stackctl.flows.dumps import dumped_site

SPEC_MEMBER = "stack/stack.yaml"
# The archive's folders of the PhotoPrism site: name -> the option that sends them elsewhere (the name
# is also the key under photoprism: in stack.yaml)
FOLDERS = {"originals": "--originals-to", "storage": "--storage-to"}
SAFE_MODE_BITS = 0o775  # never setuid, setgid, sticky or world-writable, whatever the archive says


def safe_mode(mode: Any) -> int:
    return int(mode) & SAFE_MODE_BITS


@dataclass
class RestorePlan:
    root: Path
    spec: StackSpec
    destinations: dict[str, Path]  # archive folder -> where its files go
    moved: dict[str, Path] = field(default_factory=dict)  # the folders an option sent elsewhere
    counts: dict[str, int] = field(default_factory=dict)  # archive folder -> files in it

    def outside(self) -> list[tuple[str, Path, int]]:
        """(archive folder, destination, files) for each destination outside the target folder."""
        return [
            (name, path, self.counts[name])
            for name, path in self.destinations.items()
            if self.counts.get(name) and not _inside(self.root, path)
        ]

    def target(self, name: str) -> Path:
        top, rest = name.split("/", 1)
        return self.destinations[top] / rest

    def spec_edits(self) -> list[tuple[tuple[str | int, ...], str]]:
        """stack.yaml's keys to point at the folders an option moved."""
        site = dumped_site(self.spec, "stackctl restore")
        return [((*site_keys(self.spec, site), "photoprism", name), str(p)) for name, p in self.moved.items()]


def _inside(root: Path, path: Path) -> bool:
    return path == root or root in path.parents


def _archived_spec(text: bytes | None) -> StackSpec:
    if text is None:
        raise damaged("the archive holds no stack.yaml")
    try:
        return spec_from_data(parse_yaml(text.decode("utf-8", errors="strict"), "stack.yaml"))
    except (StackctlError, UnicodeDecodeError) as e:
        why = e.message if isinstance(e, StackctlError) else "not UTF-8"
        raise damaged(f"the archive's stack.yaml is not valid ({why})") from None


def plan_restore(root: Path, manifest: dict[str, Any], spec_text: bytes | None, moved: dict[str, Path]) -> RestorePlan:
    """Raises InvalidInput (exit 2) when a destination already holds a file the archive would write."""
    spec = _archived_spec(spec_text)
    photoprism = dumped_site(spec, "stackctl restore").photoprism
    assert photoprism is not None
    destinations = {
        "originals": stack_path(root, photoprism.originals),
        "storage": stack_path(root, photoprism.storage),
    }
    destinations.update({name: path.absolute() for name, path in moved.items()})
    plan = RestorePlan(root, spec, destinations, {n: p.absolute() for n, p in moved.items()})
    names = [str(f["path"]) for f in manifest["files"]]
    for name in FOLDERS:
        plan.counts[name] = sum(1 for n in names if n.startswith(f"{name}/"))
    for name in names:
        top = name.split("/", 1)[0]
        if top in FOLDERS and not _inside(root, destinations[top]):
            _refuse_existing(plan, top, name)
    return plan


def _refuse_existing(plan: RestorePlan, top: str, name: str) -> None:
    path = plan.target(name)
    if path.exists() or path.is_symlink():
        option = FOLDERS[top]
        raise InvalidInput(
            f"{plan.destinations[top]} already holds {name.split('/', 1)[1]}, which the archive's {top} would replace",
            f"restore them into another folder with {option} DIR, or move the existing files away first",
        )
