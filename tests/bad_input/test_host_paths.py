"""A host path that stackctl would not create itself must exist before anything changes: a typo in
`originals` is refused by render, plan and up instead of becoming an empty photo library."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.bad_input.conftest import DOMAIN, Folder


def _sites_form(folder: Folder, photoprism: dict[str, str], **top: object) -> None:
    data = yaml.safe_load((folder.root / "stack.yaml").read_text())
    data["sites"][0]["photoprism"].update(photoprism)
    data.update(top)
    (folder.root / "stack.yaml").write_text(yaml.safe_dump(data))


def _single_site_form(folder: Folder, photoprism: dict[str, str], **top: object) -> None:
    data: dict[str, object] = {"domain": DOMAIN, "photoprism": photoprism, **top}
    (folder.root / "stack.yaml").write_text(yaml.safe_dump(data))


FORMS = {"sites": (_sites_form, "sites[0]."), "single-site": (_single_site_form, "")}


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("command", ["render", "plan", "up"])
@pytest.mark.parametrize("key", ["originals", "storage", "import"])
def test_a_missing_absolute_folder_is_refused_naming_key_and_path(
    folder: Folder, tmp_path: Path, form: str, command: str, key: str
) -> None:
    write, prefix = FORMS[form]
    typo = tmp_path / "mnt" / "phtos"
    write(folder, {key: str(typo)})
    line = folder.refuses(command, fragment=f"stack.yaml: {prefix}photoprism.{key}: {typo} does not exist")
    assert f"mkdir -p {typo}" in line
    assert not typo.exists()


@pytest.mark.parametrize("form", FORMS)
def test_a_missing_database_folder_is_refused(folder: Folder, tmp_path: Path, form: str) -> None:
    write, _ = FORMS[form]
    write(folder, {}, database={"path": str(tmp_path / "dbase")})
    folder.refuses("render", fragment=f"stack.yaml: database.path: {tmp_path / 'dbase'} does not exist")


def test_a_folder_outside_the_stack_given_relatively_must_exist_too(folder: Folder) -> None:
    _sites_form(folder, {"originals": "../elsewhere/photos"})
    folder.refuses("plan", fragment="photoprism.originals: ../elsewhere/photos does not exist")


def test_a_file_where_a_folder_belongs_is_refused(folder: Folder, tmp_path: Path) -> None:
    (tmp_path / "photos.txt").write_text("not a folder")
    _sites_form(folder, {"originals": str(tmp_path / "photos.txt")})
    folder.refuses("render", fragment="is not a folder — fix the path")


def test_existing_absolute_folders_and_relative_defaults_render(folder: Folder, tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    _sites_form(folder, {"originals": str(tmp_path / "photos")})
    result = folder.cli("render")
    assert result.code == 0, result.err
    assert not (folder.root / "sites").exists()  # the defaults are made by up, not by render


def test_a_missing_upstream_env_file_is_refused(folder: Folder) -> None:
    data = yaml.safe_load((folder.root / "stack.yaml").read_text())
    upstream = {"image": "jellyfin/jellyfin:10", "port": 8096, "env_file": "./jellyfin.env"}
    data["sites"].append({"domain": "media.example.com", "upstream": upstream})
    (folder.root / "stack.yaml").write_text(yaml.safe_dump(data))
    folder.refuses("render", fragment="stack.yaml: sites[1].upstream.env_file: ./jellyfin.env does not exist")


def test_a_missing_acme_ca_bundle_is_refused(folder: Folder) -> None:
    data = yaml.safe_load((folder.root / "stack.yaml").read_text())
    data["tls"] = {"source": "acme", "acme": {"email": "me@example.com", "ca_bundle": "/nonexistent/ca.pem"}}
    (folder.root / "stack.yaml").write_text(yaml.safe_dump(data))
    folder.refuses("up", fragment="stack.yaml: tls.acme.ca_bundle: /nonexistent/ca.pem does not exist")


def test_a_missing_ca_file_option_is_refused(folder: Folder, tmp_path: Path) -> None:
    folder.refuses("up", "--ca-file", str(tmp_path / "nope.pem"), fragment="--ca-file")
