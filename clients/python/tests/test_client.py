"""Every endpoint through the client, in-process and over HTTP, on the shared dataset: what
each returns, typed; pagination across pages with every lead once; sparse fieldsets; and
what goes on the wire (token, User-Agent, the capability download without a token)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import httpx
from harness import FIRST, LAST, App, Dataset, Recording
from tests.support.factories import Builder

from openfeeder_client import (
    DEFAULT_USER_AGENT,
    Account,
    Client,
    Criterion,
    CustomFeed,
    Lead,
    Location,
    RouteStep,
    Visit,
    __version__,
)


def test_accounts_are_the_users_with_their_attributes(client: Client, dataset: Dataset) -> None:
    accounts = {account.id: account for account in client.accounts()}
    assert set(accounts) == {str(dataset.premium.id), str(dataset.lite.id)}
    premium = accounts[str(dataset.premium.id)]
    assert premium == Account(
        id=str(dataset.premium.id),
        name=dataset.premium.name,
        subscription="premium",
        timezone="UTC",
        website_tracking_status="ok",
        on_trial=False,
        subscription_addons=[],
    )
    assert accounts[str(dataset.lite.id)].subscription == "lite"
    assert accounts[str(dataset.lite.id)].website_tracking_status == "not_installed"


def test_one_account_by_id_or_by_the_model(client: Client, dataset: Dataset) -> None:
    by_id = client.account(dataset.premium.id)
    assert by_id.name == dataset.premium.name
    assert client.account(by_id) == by_id


def test_custom_feeds_are_the_built_in_ones_then_the_accounts(
    client: Client, dataset: Dataset
) -> None:
    feeds = list(client.custom_feeds(dataset.premium.id))
    assert [f.id for f in feeds] == [
        "all_leads",
        "new_leads",
        "recommended_leads",
        "followed_companies",
        dataset.finland,
    ]
    assert feeds[-1] == CustomFeed(
        id=dataset.finland,
        name="Finland",
        criteria=[
            Criterion(
                criterion_type="country_code",
                search_value="FI",
                excluded=False,
                display_value="Finland",
            )
        ],
    )
    assert str(feeds[1].criteria[0]) == "not assignee: Any assignee"


def test_one_custom_feed(client: Client, dataset: Dataset) -> None:
    feed = client.custom_feed(dataset.premium.id, dataset.finland)
    assert feed.name == "Finland"
    assert client.custom_feed(dataset.premium.id, "recommended_leads").name == "Top leads"


def test_leads_come_once_each_across_six_pages(client: Client, dataset: Dataset) -> None:
    listing = client.leads(dataset.premium.id, FIRST, LAST, page_size=10)
    pages = list(listing.pages())
    assert [len(page.items) for page in pages] == [10, 10, 10, 10, 10, 7]
    assert {page.total_count for page in pages} == {57}
    ids = [lead.id for page in pages for lead in page.items]
    assert len(ids) == len(set(ids)) == 57
    assert set(ids) == set(dataset.leads)
    assert [lead.id for lead in listing] == ids  # iterating the listing walks the same pages


def test_leads_are_typed_with_their_location(client: Client, dataset: Dataset) -> None:
    for lead in client.leads(dataset.premium.id, "2026-01-01", "2026-01-31", page_size=100):
        assert lead.name == dataset.leads[lead.id]
        assert lead.visits == 2
        assert lead.quality is not None
        assert 0 <= lead.quality <= 10
        assert isinstance(lead.last_visit_date, date)
        assert lead.industries == ["Software Development"]
        assert lead.status == "new"
        assert lead.extra == {}
        assert isinstance(lead.location, Location)
        helsinki = lead.id in dataset.helsinki
        assert lead.location.city == ("Helsinki" if helsinki else "Boston")
        assert lead.location.country_code == ("FI" if helsinki else "US")
        assert lead.id.endswith("_" + lead.location.id)
        if helsinki:
            assert lead.website_url == "https://example.fi"
            assert lead.employee_count == 40


def test_leads_of_a_custom_feed(client: Client, dataset: Dataset) -> None:
    finland = client.custom_feed(dataset.premium.id, dataset.finland)
    by_model = {lead.id for lead in client.leads(dataset.premium.id, FIRST, LAST, feed=finland)}
    assert by_model == dataset.helsinki
    by_id = client.leads(dataset.premium.id, FIRST, LAST, feed=dataset.finland, page_size=7)
    assert {lead.id for lead in by_id} == dataset.helsinki


def test_one_lead_has_its_lifetime_visits_and_no_quality(client: Client, dataset: Dataset) -> None:
    lead_id = next(iter(dataset.helsinki))
    lead = client.lead(dataset.premium.id, lead_id)
    assert lead.name == dataset.leads[lead_id]
    assert (lead.visits, lead.quality) == (2, None)
    assert lead.location is not None
    assert lead.location.country == "Finland"


def test_sparse_fieldsets_ask_for_just_some_attributes(client: Client, dataset: Dataset) -> None:
    fields = {"leads": ["name", "employee_count"], "locations": "country"}
    lead = client.leads(dataset.premium.id, FIRST, LAST, fields=fields).first()
    assert lead is not None
    assert lead.name in dataset.leads.values()
    assert lead.website_url is None
    assert lead.visits is None
    assert lead.location is not None
    assert lead.location.country in ("Finland", "United States")
    assert lead.location.city is None
    single = client.lead(dataset.premium.id, lead.id, fields={"leads": ["name"]})
    assert (single.name, single.visits) == (lead.name, None)
    account = client.account(dataset.premium.id, fields={"accounts": ["subscription"]})
    assert (account.subscription, account.name) == ("premium", None)


def test_visits_come_once_each_across_five_pages(client: Client, dataset: Dataset) -> None:
    pages = list(client.visits(dataset.premium.id, FIRST, LAST, page_size=25).pages())
    assert [len(page.items) for page in pages] == [25, 25, 25, 25, 14]
    visits = [visit for page in pages for visit in page.items]
    assert len({visit.id for visit in visits}) == dataset.visits == 114
    started = [visit.started_at for visit in visits]
    assert started == sorted(started, reverse=True)  # newest first, across pages
    for visit in visits:
        assert isinstance(visit, Visit)
        assert visit.lead_id in dataset.leads
        assert visit.started_at is not None
        assert visit.started_at.tzinfo is not None
        assert (
            datetime(2026, 1, 1, tzinfo=UTC) <= visit.started_at < datetime(2026, 2, 1, tzinfo=UTC)
        )
        assert visit.page_depth == len(visit.visit_route) >= 1
        assert all(isinstance(step, RouteStep) for step in visit.visit_route)
        assert visit.visit_route[0].previous_page_path == "(entrance)"
        assert visit.visit_length == sum(step.time_on_page or 0 for step in visit.visit_route)
        assert visit.location is not None
        assert visit.lead_id.endswith("_" + visit.location.id)


def test_visits_of_one_lead(client: Client, dataset: Dataset) -> None:
    lead = client.lead(dataset.premium.id, next(iter(dataset.helsinki)))
    visits = list(client.visits(dataset.premium.id, FIRST, LAST, lead=lead))
    assert len(visits) == 2
    assert {visit.lead_id for visit in visits} == {lead.id}
    assert visits[0].location == lead.location


def test_tracking_script(client: Client, dataset: Dataset) -> None:
    script = client.tracking_script(dataset.premium.id)
    assert script.script_hash == dataset.premium.script_hash
    assert script.script_html is not None
    assert script.script_hash in script.script_html
    assert script.timezone == "UTC"


def test_openapi_document(client: Client) -> None:
    document = client.openapi()
    assert document["openapi"].startswith("3.1")
    assert "/accounts/{account_id}/leads" in document["paths"]


def test_every_request_carries_the_token_and_the_user_agent(
    recorded: tuple[Client, list[httpx.Request]], dataset: Dataset
) -> None:
    client, requests = recorded
    list(client.accounts())
    (request,) = requests
    assert request.headers["authorization"] == f"Token token={dataset.token}"
    assert request.headers["user-agent"] == DEFAULT_USER_AGENT == f"openfeeder-client/{__version__}"
    assert request.headers["accept"] == "application/vnd.api+json"


def test_the_download_goes_without_the_token(
    recorded: tuple[Client, list[httpx.Request]], dataset: Dataset
) -> None:
    """The download URL is a capability: the token is not sent with it."""
    client, requests = recorded
    assert len(list(client.export_leads(dataset.premium.id, "all_leads", FIRST, LAST))) == 57
    paths = [request.url.path.split("/")[1] for request in requests]
    assert paths[0] == "export-requests"
    assert paths[-1] == "download"
    assert "authorization" not in requests[-1].headers
    assert all("authorization" in request.headers for request in requests[:-1])


def test_the_user_agent_names_the_integration(shared_app: App, dataset: Dataset) -> None:
    recording = Recording(shared_app.transport)
    with Client(dataset.token, shared_app.base_url, transport=recording, user_agent="MyCRM") as c:
        c.account(dataset.premium.id)
    assert recording.requests[0].headers["user-agent"] == "MyCRM"


def test_a_listing_is_lazy(recorded: tuple[Client, list[httpx.Request]], dataset: Dataset) -> None:
    client, requests = recorded
    listing = client.leads(dataset.premium.id, FIRST, LAST, page_size=10)
    assert requests == []  # nothing is fetched until the listing is iterated
    taken = []
    for lead in listing:
        taken.append(lead)
        if len(taken) == 15:
            break
    assert len(requests) == 2
    assert requests[1].url.params["page[number]"] == "2"
    assert listing.first() == taken[0]  # a new iteration starts from the first page again
    assert len(requests) == 3


def test_next_links_are_followed_on_the_clients_base_url(
    make_app: Callable[..., App], builder: Builder
) -> None:
    """A server behind a proxy may write its links for another host; the client keeps the
    link's query and sends it to its own base URL, so the token goes nowhere else."""
    member = builder.user()
    account = builder.account(member)
    builder.visits(account, builder.companies(5))
    app = make_app(public_url="https://elsewhere.example")
    recording = Recording(app.transport)
    with Client(member.token, app.base_url, transport=recording) as client:
        first_page = next(client.leads(account.id, FIRST, LAST, page_size=2).pages())
        assert first_page.next is not None
        assert first_page.next.startswith("https://elsewhere")
        assert len(list(client.leads(account.id, FIRST, LAST, page_size=2))) == 5
    assert {request.url.host for request in recording.requests} == {"openfeeder.test"}


def test_models_compare_by_value(client: Client, dataset: Dataset) -> None:
    lead_id = next(iter(dataset.helsinki))
    assert client.lead(dataset.premium.id, lead_id) == client.lead(dataset.premium.id, lead_id)
    assert isinstance(client.lead(dataset.premium.id, lead_id), Lead)
