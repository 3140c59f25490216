"""The shape of a pipeline step."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

from openfeeder.domain.drops import DropReason
from openfeeder.pipeline.model import Batch, Event


class Step(ABC):
    """One named stage. ``run`` returns the event it is given, or why it is dropped;
    ``prepare`` and ``finish`` do batch-wide work before and after the batch's runs."""

    name: ClassVar[str]
    # Every reason ``run`` may return; docs/pipeline.md lists the same per step (tested).
    drops: ClassVar[frozenset[DropReason]] = frozenset()

    def prepare(self, batch: Batch, events: Sequence[Event]) -> None:  # noqa: B027 - optional hook
        """Batch-wide work before ``run`` sees the events still alive at this step."""

    @abstractmethod
    def run(self, batch: Batch, event: Event) -> Event | DropReason:
        """The event, changed or not, to pass on; or the reason to drop it here."""

    def finish(self, batch: Batch) -> None:  # noqa: B027 - optional hook
        """Batch-wide work once every step has run (writes happen here)."""
