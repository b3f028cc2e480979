"""Pull progress: a rich progress bar per image, bytes summed over its layers."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn


class PullProgressBar:
    """A rich progress bar per image, bytes summed over its layers; created on the first event."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.layers: dict[str, dict[str, tuple[int, int]]] = {}
        self.tasks: dict[str, object] = {}
        self.progress: object | None = None

    def __call__(self, image: str, layer: str, done: int, total: int) -> None:
        if self.progress is None:
            self.progress = Progress(TextColumn("pulling {task.description}"), BarColumn(), DownloadColumn(),
                                     console=self.console, transient=False)  # fmt: skip
            self.progress.start()
        assert isinstance(self.progress, Progress)
        if image not in self.tasks:
            self.tasks[image] = self.progress.add_task(image, total=None)
        self.layers.setdefault(image, {})[layer] = (done, total)
        layers = self.layers[image].values()
        self.progress.update(self.tasks[image], completed=sum(d for d, _ in layers), total=sum(t for _, t in layers))  # type: ignore[arg-type]

    def stop(self) -> None:
        if isinstance(self.progress, Progress):
            self.progress.stop()
