"""Two stacks on one engine never share a subnet: `init` pins a free /24 for each, so two stacks made by
`init` and then renamed (as the comment on `name:` invites) run side by side. A subnet the user pins
onto another stack's range is refused before anything changes, naming that stack and a free /24."""

from __future__ import annotations

from pathlib import Path

import docker
import yaml

from tests.docker.conftest import make_stack
from tests.helpers import hash_tree


def _subnet(root: Path) -> str:
    return str(yaml.safe_load((root / "stack.yaml").read_text())["network"]["subnet"])


def test_two_stacks_made_by_init_run_side_by_side_and_a_forced_overlap_is_refused(
    docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    with make_stack(docker_client, tmp_path / "a", sites_form=True, init_subnet=True) as first:
        first.up()
        with make_stack(docker_client, tmp_path / "b", sites_form=True, init_subnet=True) as second:
            # The second init saw the first stack's network and pinned another /24.
            assert _subnet(second.root) != _subnet(first.root)
            second.up()
            for stack in (first, second):
                code, out, err = stack.cli("verify")
                assert code == 0, err + out
        with make_stack(docker_client, tmp_path / "c", sites_form=True, init_subnet=True) as third:
            third.edit(f"subnet: {_subnet(third.root)}", f"subnet: {_subnet(first.root)}")
            before = hash_tree(third.root)
            code, out, err = third.cli("up", "--timeout", "60")
            assert code == 2, err + out
            assert f"overlaps Docker network {first.name}_photoprism (stack {first.name})" in err
            free = err.split("set network.subnet: ")[1].split()[0]
            assert free != _subnet(first.root)
            assert hash_tree(third.root) == before and third.containers() == {}
            third.edit(f"subnet: {_subnet(first.root)}", f"subnet: {free}")
            third.up()  # the subnet the error named works
