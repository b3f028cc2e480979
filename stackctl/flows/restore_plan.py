"""Where a restore writes, decided before it writes anything: the stack files into the target folder,
each PhotoPrism site's photos and sidecar files where the archive's stack.yaml puts them (or where
--originals-to and --storage-to send them). A folder outside the target is named first, and one that
already holds a file of the same name is refused: a restore never replaces a photo."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackctl.config.host_paths import site_keys, stack_path
from stackctl.config.sites import Site
from stackctl.config.spec import StackSpec, spec_from_data
from stackctl.core.errors import InvalidInput, StackctlError
from stackctl.core.yamlload import parse_yaml
from stackctl.flows.archive import SiteMember, damaged, site_member
from stackctl.flows.dumps import photoprism_sites

SPEC_MEMBER = "stack/stack.yaml"
# A PhotoPrism site's folders: name -> the option that sends them elsewhere (the name is also the key
# under photoprism: in stack.yaml)
FOLDERS = {"originals": "--originals-to", "storage": "--storage-to"}
SAFE_MODE_BITS = 0o775  # never setuid, setgid, sticky or world-writable, whatever the archive says

Place = tuple[str, str]  # (site domain, folder)


def safe_mode(mode: Any) -> int:
    return int(mode) & SAFE_MODE_BITS


@dataclass
class RestorePlan:
    root: Path
    spec: StackSpec  # the archive's stack.yaml
    members: dict[str, SiteMember]  # each site file of the archive
    destinations: dict[Place, Path]  # where each site's folder goes
    moved: dict[Place, Path] = field(default_factory=dict)  # the folders an option sent elsewhere

    def counts(self) -> dict[Place, int]:
        found: dict[Place, int] = {}
        for member in self.members.values():
            found[(member.domain, member.folder)] = found.get((member.domain, member.folder), 0) + 1
        return found

    def outside(self) -> list[tuple[str, Path, int]]:
        """(what, destination, files) for each destination outside the target folder."""
        counts = self.counts()
        return [
            (f"{folder} files of {domain}", path, counts[(domain, folder)])
            for (domain, folder), path in self.destinations.items()
            if counts.get((domain, folder)) and not inside(self.root, path)
        ]

    def target(self, name: str) -> Path:
        member = self.members[name]
        return self.destinations[(member.domain, member.folder)] / member.rest

    def spec_edits(self) -> list[tuple[tuple[str | int, ...], str]]:
        """stack.yaml's keys to point at the folders an option moved."""
        return [
            ((*site_keys(self.spec, self.spec.site(domain)), "photoprism", folder), str(path))
            for (domain, folder), path in self.moved.items()
        ]


def inside(root: Path, path: Path) -> bool:
    return path == root or root in path.parents


def archived_spec(text: bytes | None) -> StackSpec:
    if text is None:
        raise damaged("the archive holds no stack.yaml")
    try:
        return spec_from_data(parse_yaml(text.decode("utf-8", errors="strict"), "stack.yaml"))
    except (StackctlError, UnicodeDecodeError) as e:
        why = e.message if isinstance(e, StackctlError) else "not UTF-8"
        raise damaged(f"the archive's stack.yaml is not valid ({why})") from None


def site_members(manifest: dict[str, Any], spec: StackSpec) -> dict[str, SiteMember]:
    """Each site file of the archive by name; a file of a site its stack.yaml lacks is damage."""
    sites = photoprism_sites(spec)
    single = sites[0].domain if len(sites) == 1 else None
    known = {s.domain for s in sites}
    found: dict[str, SiteMember] = {}
    for entry in manifest["files"]:
        name = str(entry["path"])
        member = site_member(name, int(manifest["version"]), single)
        if member is None:
            continue
        if member.domain not in known:
            raise damaged(f"the archive holds {name[:80]!r} of a site its stack.yaml lacks")
        found[name] = member
    return found


def site_folder(root: Path, site: Site, folder: str) -> Path:
    assert site.photoprism is not None
    return stack_path(root, site.photoprism.originals if folder == "originals" else site.photoprism.storage)


def plan_restore(root: Path, manifest: dict[str, Any], spec_text: bytes | None, moved: dict[str, Path]) -> RestorePlan:
    """The whole stack. `moved`: folder name -> DIR, which takes that folder of the one PhotoPrism site,
    or DIR/<domain> of each of several. Raises InvalidInput (exit 2) when a destination already holds a
    file the archive would write."""
    spec = archived_spec(spec_text)
    only = manifest.get("only_site")
    if only is not None:
        raise InvalidInput(
            f"the archive holds only the site {str(only)[:80]}, not the whole stack",
            f"restore it into the running stack with --site {str(only)[:80]}, or restore a backup of the whole stack",
        )
    sites = photoprism_sites(spec)
    plan = RestorePlan(root, spec, site_members(manifest, spec), {})
    for site in sites:
        for folder in FOLDERS:
            place = (site.domain, folder)
            plan.destinations[place] = site_folder(root, site, folder)
            if folder in moved:
                path = moved[folder].absolute()
                plan.moved[place] = plan.destinations[place] = path if len(sites) == 1 else path / site.domain
    for name in plan.members:
        if plan.members[name].folder in FOLDERS:
            refuse_existing(plan, name)
    return plan


def refuse_existing(plan: RestorePlan, name: str) -> None:
    """A file outside the target folder that the archive would replace is refused."""
    member = plan.members[name]
    if inside(plan.root, plan.destinations[(member.domain, member.folder)]):
        return
    path = plan.target(name)
    if path.exists() or path.is_symlink():
        raise InvalidInput(
            f"{plan.destinations[(member.domain, member.folder)]} already holds {member.rest[:80]}, which the "
            f"archive's {member.folder} of {member.domain} would replace",
            f"restore them into another folder with {FOLDERS[member.folder]} DIR, or move the existing files away "
            "first",
        )
