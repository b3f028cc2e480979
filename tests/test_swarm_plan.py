"""What a Swarm deploy sends, without a Swarm: the plan's secrets and configs (named by content, their
values never shown), and the service specs built from it: HAProxy global on the edge nodes with its
ports on the node itself, MariaDB pinned to the data node, secrets readable by the service's user only,
and a spec hash that changes with the image behind a tag."""

from __future__ import annotations

from pathlib import Path

from stackctl.config.layout import StackPaths
from stackctl.config.spec import load_spec
from stackctl.engines.swarm.plan import SwarmPlan, rendered_for_swarm, swarm_plan
from stackctl.engines.swarm.services import IMAGE_ID_LABEL, IMAGE_LABEL, SPEC_HASH_LABEL, Placed, service_kwargs
from tests.helpers import run_cli

DOMAIN = "photos.example.com"


def _plan(tmp_path: Path) -> tuple[StackPaths, SwarmPlan]:
    root = tmp_path / "stack"
    assert run_cli("--dir", str(root), "init", "--domain", DOMAIN).code == 0
    (root / "stack.yaml").write_text(f"name: live\ndomain: {DOMAIN}\nengine: swarm\n")
    assert run_cli("--dir", str(root), "certs", "create").code == 0
    paths = StackPaths(root)
    spec = load_spec(paths.spec)
    return paths, swarm_plan(paths, spec, rendered_for_swarm(paths, spec, None))


def test_the_plan_names_each_object_by_its_content_and_never_shows_a_value(tmp_path: Path) -> None:
    paths, plan = _plan(tmp_path)
    assert [s.name for s in plan.services] == ["mariadb", "photoprism", "haproxy"]
    kinds = {o.kind for o in plan.objects}
    assert kinds == {"secret", "config"}
    assert all(o.name.startswith("live_") for o in plan.objects)
    password = (paths.secrets / "mariadb.env").read_text().split("MARIADB_PASSWORD=")[1].split()[0]
    assert all(password not in repr(o) for o in plan.objects)
    again = swarm_plan(paths, load_spec(paths.spec), rendered_for_swarm(paths, load_spec(paths.spec), None))
    assert [o.name for o in again.objects] == [o.name for o in plan.objects]  # same content, same names


def test_service_specs_place_each_service_where_its_data_or_its_clients_are(tmp_path: Path) -> None:
    paths, plan = _plan(tmp_path)
    ids = {name: f"id-{name}" for name in plan.names.values()}
    placed = Placed("live", "net-1", paths.compose_dir, plan.names, ids)
    specs = {s.name: service_kwargs(s, placed) for s in plan.services}
    haproxy, mariadb = specs["haproxy"], specs["mariadb"]
    assert haproxy["name"] == "live_haproxy" and dict(haproxy["mode"]) == {"global": {}}
    assert "node.labels.stackctl.edge == true" in haproxy["constraints"]
    assert {(p["PublishedPort"], p["PublishMode"]) for p in haproxy["endpoint_spec"]["Ports"]} >= {
        (80, "host"),
        (443, "host"),
    }
    assert "node.labels.stackctl.data == true" in mariadb["constraints"]
    assert dict(mariadb["mode"]) == {"replicated": {"Replicas": 1}}
    for spec in specs.values():
        for secret in spec.get("secrets", []):  # 0400: readable by the service's user alone
            assert secret["File"]["Mode"] == 0o400 and secret["SecretID"].startswith("id-live_")
        assert not any(env.split("=", 1)[0].endswith("PASSWORD") for env in spec["env"])  # passwords are files
        assert spec["update_config"]["FailureAction"] == "rollback"
    assert haproxy["secrets"][0]["File"]["UID"] == "99"  # HAProxy's non-root user
    new_image = service_kwargs(plan.services[1], placed, image_id="sha256:" + "b" * 64)
    assert new_image["labels"][SPEC_HASH_LABEL] != specs["photoprism"]["labels"][SPEC_HASH_LABEL]
    # Deployed pinned to the registry digest (a Swarm rollback then returns to this very image), labeled with
    # the tag and the image's ID.
    pinned = f"{plan.services[1].model.image}@sha256:{'c' * 64}"
    deployed = service_kwargs(plan.services[1], placed, "sha256:" + "b" * 64, pinned)
    assert deployed["image"] == pinned and deployed["labels"][IMAGE_LABEL] == plan.services[1].model.image
    assert deployed["labels"][IMAGE_ID_LABEL] == "sha256:" + "b" * 64
