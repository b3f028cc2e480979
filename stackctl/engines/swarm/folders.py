"""Before deploying: the data node has every folder the pinned services mount, checked by a one-off
task on that node (Swarm would otherwise reject their tasks over and over)."""

from __future__ import annotations

import time
from pathlib import Path

import docker
from docker.types import Mount, RestartPolicy

from stackctl.core.clock import Deadline
from stackctl.core.errors import OperationFailed
from stackctl.engines.docker.client import docker_call
from stackctl.engines.model import absolute_under
from stackctl.engines.swarm.services import POLL_S
from stackctl.render.swarm import DATA_CONSTRAINT, STACK_NAMESPACE_LABEL, SwarmService, service_name

DONE_STATES = ("complete", "failed", "rejected", "shutdown", "orphaned")


def check_data_folders(
    client: docker.DockerClient, project: str, services: list[SwarmService], compose_dir: Path, deadline: Deadline
) -> None:
    """Raises OperationFailed naming the folder when the data node lacks one."""
    pinned = [s for s in services if s.on_data_node and s.model.mounts]
    if not pinned:
        return
    folders = sorted({str(absolute_under(compose_dir, m.source)) for s in pinned for m in s.model.mounts})
    name = service_name(project, "folder-check")
    with docker_call("start the one-off folder check on the data node"):
        for stale in client.services.list(filters={"name": name}):
            stale.remove()
        check = client.services.create(
            pinned[0].model.image,
            command=["true"],
            name=name,
            mounts=[Mount(f"/check/{i}", folder, type="bind", read_only=True) for i, folder in enumerate(folders)],
            constraints=[DATA_CONSTRAINT],
            restart_policy=RestartPolicy(condition="none"),
            labels={STACK_NAMESPACE_LABEL: project},
            container_labels={STACK_NAMESPACE_LABEL: project},
        )
    try:
        while True:
            with docker_call("follow the one-off folder check"):
                tasks = check.tasks()
            done = [t for t in tasks if t["Status"]["State"] in DONE_STATES]
            if done:
                status = done[0]["Status"]
                if status["State"] == "complete":
                    return
                raise OperationFailed(
                    f"the data node cannot mount the stack's folders: {status.get('Err') or status['State']}",
                    "create the folders on the node labeled stackctl.data=true (or move the label to the node "
                    "that has them)",
                )
            if deadline.expired():
                raise OperationFailed(
                    "the one-off folder check on the data node did not finish in time",
                    f"see: docker service ps --no-trunc {name}",
                )
            time.sleep(POLL_S)
    finally:
        with docker_call("remove the one-off folder check"):
            check.remove()
