"""Identification: which company is behind an IP address, and why. The resolver chain
(traffic rules → company ranges → ASN → reverse DNS → enrichment), companies discovered
without an import and enriched from their websites, GeoIP location, the company import (and
Wikidata's), and the MMDB writer the tests and the demo build databases with."""

from openfeeder.domain.drops import DropReason
from openfeeder.identify.chain import Identifier, make_identifier
from openfeeder.identify.outcome import Identification, MatchSource

__all__ = ["DropReason", "Identification", "Identifier", "MatchSource", "make_identifier"]
