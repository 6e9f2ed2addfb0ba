"""/history.atom and /history.rss: the public incidents and maintenance windows, newest first,
each entry the public updates (as Statuspage's feeds carry them). Text is escaped by the feed
generator; the entry's HTML content is built with Django's escaping."""

from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed
from django.utils.html import format_html, format_html_join

from .public import LIST_LIMIT, PublicIncident, PublicState, zone


def _content(item: PublicIncident) -> str:
    z = zone()
    return format_html_join(
        "",
        "<p><small>{}</small><br><strong>{}</strong> - {}</p>",
        (
            (u.created_at.astimezone(z).strftime("%b %-d, %H:%M %Z"), u.status_label, u.body)
            for u in item.updates
        ),
    ) or format_html("<p><strong>{}</strong></p>", item.status_label)


def _feed(cls, state: PublicState) -> str:
    base = state.page.url
    feed = cls(
        title=f"{state.page.name} status - incident history",
        link=base,
        description=f"Incidents and maintenance on {state.page.name}.",
        language="en",
        feed_url=base.rstrip("/").removesuffix("/status")
        + ("/history.atom" if cls is Atom1Feed else "/history.rss"),
    )
    items = sorted(state.incidents + state.maintenances, key=lambda i: i.updated_at, reverse=True)[
        :LIST_LIMIT
    ]
    for item in items:
        feed.add_item(
            title=item.name,
            link=item.shortlink,
            description=_content(item),
            unique_id=item.shortlink,
            unique_id_is_permalink=True,
            pubdate=item.created_at,
            updateddate=item.updated_at,
        )
    return feed.writeString("utf-8")


def atom(state: PublicState) -> str:
    return _feed(Atom1Feed, state)


def rss(state: PublicState) -> str:
    return _feed(Rss201rev2Feed, state)
