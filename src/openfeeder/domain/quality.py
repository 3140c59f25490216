"""Lead quality, 0–10: half activity in the interval, half how much we know about the company.

The score is built from integer points out of 100 and rounded half up to tens, so the same
formula runs in Python (single leads, exports) and in SQL (ordering lead lists) and both give
the same integer. Every term is non-decreasing in its input, so more activity or more known
firmographics never lowers a lead's quality (property-tested in tests/domain/test_quality.py).

Activity, 50 points:
  visits        4 per visit, at most 5 visits        → 20
  pageviews     1 per pageview, at most 15           → 15
  time on site  1 per full minute, at most 10        → 10
  recency       last visit ≤ 7 days before the interval's end → 5; ≤ 30 days → 2
Knowledge, 50 points: 5 for each of the ten COMPANY_FIELDS that is known.
"""

from __future__ import annotations

from dataclasses import dataclass

VISIT_POINTS, VISIT_CAP = 4, 5
PAGEVIEW_POINTS, PAGEVIEW_CAP = 1, 15
MINUTE_POINTS, MINUTE_CAP = 1, 10
RECENT_DAYS, RECENT_POINTS = 7, 5
MONTH_DAYS, MONTH_POINTS = 30, 2
FIELD_POINTS = 5
COMPANY_FIELDS = (
    "website_url",
    "industry",
    "employee_count",
    "phone",
    "linkedin_url",
    "twitter_handle",
    "facebook_url",
    "logo_url",
    "revenue",
    "business_id",
)


@dataclass(frozen=True)
class Activity:
    visits: int
    pageviews: int
    seconds: int
    days_since_last_visit: int


def activity_points(activity: Activity) -> int:
    points = VISIT_POINTS * min(activity.visits, VISIT_CAP)
    points += PAGEVIEW_POINTS * min(activity.pageviews, PAGEVIEW_CAP)
    points += MINUTE_POINTS * min(activity.seconds // 60, MINUTE_CAP)
    if activity.days_since_last_visit <= RECENT_DAYS:
        points += RECENT_POINTS
    elif activity.days_since_last_visit <= MONTH_DAYS:
        points += MONTH_POINTS
    return points


def knowledge_points(known_fields: int) -> int:
    return FIELD_POINTS * max(0, min(known_fields, len(COMPANY_FIELDS)))


def quality(activity: Activity, known_fields: int) -> int:
    return round_points(activity_points(activity) + knowledge_points(known_fields))


def round_points(points: int) -> int:
    """Points out of 100 → 0..10, half up (integer division, as the SQL form does)."""
    return (points + 5) // 10
