"""Images per the pull policy: always | missing | never. Progress goes to a callback the CLI draws."""

from __future__ import annotations

import docker
import docker.errors
from docker.utils import parse_repository_tag

from stackctl.core.errors import OperationFailed
from stackctl.engines.base import ImageDetails, PullProgress
from stackctl.engines.docker.client import DOCKER_ERRORS, docker_call, translate


def image_present(client: docker.DockerClient, image: str) -> bool:
    try:
        client.images.get(image)
        return True
    except docker.errors.ImageNotFound:
        return False
    except DOCKER_ERRORS as e:
        raise translate(f"look up image {image}", e) from e


def pull(client: docker.DockerClient, image: str, progress: PullProgress) -> None:
    repository, tag = parse_repository_tag(image)
    try:
        for event in client.api.pull(repository, tag=tag or "latest", stream=True, decode=True):
            if "error" in event:
                raise OperationFailed(
                    f"failed to pull {image}: {event['error']}", "check the image name and your access to its registry"
                )
            detail = event.get("progressDetail") or {}
            if event.get("id") and detail.get("total"):
                progress(image, event["id"], int(detail.get("current", 0)), int(detail["total"]))
    except DOCKER_ERRORS as e:
        reason = str(getattr(e, "explanation", None) or e).lower()
        hint = "check the image name and that its registry is reachable"
        if "connection refused" in reason or "no such host" in reason:
            hint = "the registry is unreachable; use a local image and pull: never, or fix the network"
        raise translate(f"pull {image}", e, hint) from e


def ensure_images(client: docker.DockerClient, images: list[str], policy: str, progress: PullProgress) -> list[str]:
    """Pull what the policy asks for; returns the images pulled."""
    pulled = []
    for image in dict.fromkeys(images):
        present = image_present(client, image)
        if policy == "never":
            if not present:
                raise OperationFailed(
                    f"image {image} is not present and pull is never",
                    f"load it (docker load / docker pull {image}) or set pull: missing in stack.yaml",
                )
            continue
        if policy == "always" or not present:
            pull(client, image, progress)
            pulled.append(image)
    return pulled


def image_details(client: docker.DockerClient, image: str) -> ImageDetails | None:
    try:
        found = client.images.get(image)
    except docker.errors.ImageNotFound:
        return None
    except DOCKER_ERRORS as e:
        raise translate(f"look up image {image}", e) from e
    attrs = found.attrs
    digests = attrs.get("RepoDigests") or []
    labels = (attrs.get("Config") or {}).get("Labels") or {}
    return ImageDetails(
        id=str(found.id),
        digest=digests[0].rsplit("@", 1)[1] if digests else None,
        created=str(attrs.get("Created", ""))[:19] + "Z" if attrs.get("Created") else "",
        version=labels.get("org.opencontainers.image.version"),
    )


def tag_image(client: docker.DockerClient, image_id: str, reference: str) -> None:
    repository, tag = parse_repository_tag(reference)
    with docker_call(f"tag image {image_id[:19]} as {reference}"):
        client.api.tag(image_id, repository, tag or "latest", force=True)


def remove_image(client: docker.DockerClient, reference: str) -> bool:
    try:
        client.images.remove(reference, noprune=False)
        return True
    except docker.errors.ImageNotFound:
        return True
    except docker.errors.APIError as e:
        if e.status_code == 409:  # a container uses it
            return False
        raise translate(f"remove image {reference}", e) from e
    except DOCKER_ERRORS as e:
        raise translate(f"remove image {reference}", e) from e
