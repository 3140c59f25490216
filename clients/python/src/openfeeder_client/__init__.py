"""A typed Python client for the openfeeder API (and any Leadfeeder-compatible API).

    from openfeeder_client import Client

    with Client("<token>", base_url="http://127.0.0.1:8000") as client:
        for lead in client.leads("2", "2026-01-01", "2026-01-31"):
            print(lead.name, lead.quality, lead.location and lead.location.country)

This module is the public surface; everything it exports is listed in ``__all__``.
"""

from openfeeder_client._version import __version__
from openfeeder_client.client import DEFAULT_BASE_URL, DEFAULT_USER_AGENT, Client
from openfeeder_client.errors import (
    APIError,
    AuthenticationError,
    ErrorObject,
    ExportError,
    ExportFailed,
    ExportTimeout,
    Forbidden,
    NotFound,
    OpenfeederClientError,
    PremiumRequired,
    RateLimited,
    ServerError,
    ValidationError,
)
from openfeeder_client.models import (
    Account,
    Criterion,
    CustomFeed,
    EmployeesRange,
    ExportRequest,
    ExportRow,
    ExportStats,
    Lead,
    Location,
    RouteStep,
    TrackingScript,
    Visit,
)
from openfeeder_client.pagination import Listing, Page
from openfeeder_client.rows import (
    Row,
    account_row,
    export_row,
    feed_row,
    lead_row,
    to_row,
    to_rows,
    visit_row,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_USER_AGENT",
    "APIError",
    "Account",
    "AuthenticationError",
    "Client",
    "Criterion",
    "CustomFeed",
    "EmployeesRange",
    "ErrorObject",
    "ExportError",
    "ExportFailed",
    "ExportRequest",
    "ExportRow",
    "ExportStats",
    "ExportTimeout",
    "Forbidden",
    "Lead",
    "Listing",
    "Location",
    "NotFound",
    "OpenfeederClientError",
    "Page",
    "PremiumRequired",
    "RateLimited",
    "RouteStep",
    "Row",
    "ServerError",
    "TrackingScript",
    "ValidationError",
    "Visit",
    "__version__",
    "account_row",
    "export_row",
    "feed_row",
    "lead_row",
    "to_row",
    "to_rows",
    "visit_row",
]
