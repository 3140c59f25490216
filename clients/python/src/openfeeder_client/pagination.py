"""Lazy iteration over list endpoints: a ``Listing`` fetches one page at a time, as its
items are consumed, and follows ``links.next`` until the server leaves it out."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from openfeeder_client.errors import OpenfeederClientError

__all__ = ["Listing", "Page"]

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its items, the list's total (``meta.total_count``, an openfeeder
    extension; ``None`` from servers without it) and its ``links``."""

    items: list[T]
    total_count: int | None = None
    links: Mapping[str, Any] = field(default_factory=dict)

    @property
    def next(self) -> str | None:
        link = self.links.get("next")
        return str(link) if link else None


class Listing(Generic[T]):
    """Every item of a list endpoint, fetched page by page as the iteration goes.

    Iterate it for the items (each ``for`` starts again from the first page), or call
    ``pages()`` to see the pages themselves, with the list's ``total_count``.
    """

    def __init__(self, fetch: Callable[[str | None], Page[T]]) -> None:
        # fetch(None) is the first page; fetch(url) the page a ``next`` link names.
        self._fetch = fetch

    def pages(self) -> Iterator[Page[T]]:
        seen: set[str] = set()
        page = self._fetch(None)
        yield page
        while page.next is not None:
            if page.next in seen:
                raise OpenfeederClientError(f"the server's pagination loops at {page.next}")
            seen.add(page.next)
            page = self._fetch(page.next)
            yield page

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from page.items

    def first(self) -> T | None:
        """The first item, fetching only the first page; ``None`` for an empty list."""
        return next(iter(self), None)
