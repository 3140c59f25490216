"""Custom feeds: criterion types, validation, and the four built-in feeds.

A feed is a list of criteria ``{criterion_type, search_value, excluded, display_value}``.
Criteria of the same type are OR-ed, different types AND-ed, and ``excluded`` negates one
criterion: per type, (any included criterion matches) AND (no excluded criterion matches).
``search_value`` 0 on ``industry_code`` or ``assignee`` means "any".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from openfeeder.domain.errors import BadRequest
from openfeeder.domain.ids import whole_number


class Criterion(StrEnum):
    # About the company or the lead itself.
    COUNTRY_CODE = "country_code"  # ISO code of the lead's location
    REGION = "region"  # region name, case-insensitive
    CITY = "city"  # city name, case-insensitive
    INDUSTRY_CODE = "industry_code"  # legacy industry code; 0 = any industry known
    EMPLOYEE_COUNT = "employee_count"  # "min-max", "min-" or "-max"
    COMPANY_NAME = "company_name"  # substring of the company name
    TAG = "tag"  # the lead carries this tag
    ASSIGNEE = "assignee"  # assignee email; 0 = any assignee
    FOLLOWED = "followed"  # user id that follows the lead
    # About activity inside the interval.
    VISITS = "visits"  # at least N visits
    PAGEVIEWS = "pageviews"  # at least N pageviews
    PAGE_URL = "page_url"  # visited a page whose URL contains the value
    SOURCE = "source"  # a visit came from this source (e.g. "Google")
    MEDIUM = "medium"  # a visit came through this medium (e.g. "cpc")
    CAMPAIGN = "campaign"  # a visit belonged to this campaign
    DEVICE_TYPE = "device_type"  # a visit from this device type


NUMERIC = {Criterion.VISITS, Criterion.PAGEVIEWS, Criterion.INDUSTRY_CODE}
ANY_VALUE = {Criterion.INDUSTRY_CODE, Criterion.ASSIGNEE}

# Legacy industry classification (the seed's recommended feed excludes 8, Telecommunications).
INDUSTRIES: dict[int, str] = {
    1: "Accounting",
    2: "Advertising & Marketing",
    3: "Computers & Internet",
    4: "Construction",
    5: "Education",
    6: "Financial Services",
    7: "Healthcare",
    8: "Telecommunications",
    9: "Manufacturing",
    10: "Media & Publishing",
    11: "Retail",
    12: "Transportation & Logistics",
    13: "Energy & Utilities",
    14: "Legal",
    15: "Real Estate",
    16: "Consulting",
    17: "Government",
    18: "Hospitality",
    19: "Non-profit",
    20: "Software",
}


@dataclass(frozen=True)
class FeedCriterion:
    criterion_type: Criterion
    search_value: Any
    excluded: bool
    display_value: Any

    @property
    def is_any(self) -> bool:
        return self.criterion_type in ANY_VALUE and str(self.search_value) == "0"

    def as_json(self) -> dict[str, Any]:
        return {
            "search_value": self.search_value,
            "excluded": self.excluded,
            "criterion_type": self.criterion_type.value,
            "display_value": self.display_value,
        }


def parse_criteria(raw: Any) -> list[FeedCriterion]:
    """Validate criteria given by a user (CLI, import, demo) and return them typed."""
    if not isinstance(raw, list):
        raise BadRequest("criteria must be a list of objects", parameter="criteria")
    out = []
    for index, item in enumerate(raw):
        where = f"criteria[{index}]"
        if not isinstance(item, dict):
            raise BadRequest(f"{where} must be an object", parameter="criteria")
        try:
            kind = Criterion(str(item.get("criterion_type")))
        except ValueError:
            valid = ", ".join(c.value for c in Criterion)
            raise BadRequest(
                f"{where}.criterion_type must be one of: {valid}", parameter="criteria"
            ) from None
        value = item.get("search_value")
        if value is None or value == "":
            raise BadRequest(f"{where}.search_value is required", parameter="criteria")
        if kind in NUMERIC and whole_number(str(value)) is None:
            raise BadRequest(
                f"{where}.search_value must be a whole number for {kind.value}",
                parameter="criteria",
            )
        if kind is Criterion.EMPLOYEE_COUNT:
            employee_range(str(value))
        excluded = item.get("excluded", False)
        if not isinstance(excluded, bool):
            raise BadRequest(f"{where}.excluded must be true or false", parameter="criteria")
        display = item.get("display_value", value)
        out.append(FeedCriterion(kind, value, excluded, display))
    return out


def employee_range(value: str) -> tuple[int | None, int | None]:
    low, sep, high = value.partition("-")
    try:
        if not sep:
            raise ValueError
        return (int(low) if low else None, int(high) if high else None)
    except ValueError:
        raise BadRequest(
            f"employee_count search_value {value!r} must look like 50-200, 50- or -200",
            parameter="criteria",
        ) from None


@dataclass(frozen=True)
class Feed:
    id: str
    name: str
    criteria: list[FeedCriterion]


def builtin_feeds(user_id: int, user_name: str) -> list[Feed]:
    """The four feeds every account has; ``followed_companies`` belongs to the asking user."""
    any_assignee = FeedCriterion(Criterion.ASSIGNEE, 0, True, "Any assignee")
    return [
        Feed("all_leads", "All leads", []),
        Feed("new_leads", "New leads", [any_assignee]),
        Feed(
            "recommended_leads",
            "Top leads",
            [
                FeedCriterion(Criterion.PAGEVIEWS, 3, False, 3),
                FeedCriterion(Criterion.INDUSTRY_CODE, 0, False, "Any industry"),
                FeedCriterion(Criterion.INDUSTRY_CODE, 8, True, INDUSTRIES[8]),
                any_assignee,
            ],
        ),
        Feed(
            "followed_companies",
            "Followed companies",
            [FeedCriterion(Criterion.FOLLOWED, str(user_id), False, user_name)],
        ),
    ]
