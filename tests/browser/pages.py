"""Every public page of the services hub, as (name, path) pairs for the browser tests."""

from despp.portal.content import DIVISIONS

PUBLIC_PAGES: list[tuple[str, str]] = [
    ("home", "/"),
    *((f"division-{division.slug}", f"/divisions/{division.slug}/") for division in DIVISIONS),
    ("search-form", "/search/"),
    ("search-with-results", "/search/?q=training"),
    ("search-without-results", "/search/?q=zebra+crossing"),
    ("search-error", "/search/?q="),
    ("accessibility-statement", "/accessibility/"),
    ("privacy", "/privacy/"),
    ("not-found", "/no-such-page/"),
    # Staff pages are the identity part's, but anyone can reach the sign-in page from the footer.
    ("staff-sign-in", "/staff/login/"),
]

# Pages that read the reference geography (tests load it first).
LOOKUP_PAGES: list[tuple[str, str]] = [
    ("find-form", "/find/"),
    ("find-answer", "/find/?town=Norfolk"),
    ("find-suggestions", "/find/?town=new"),
    ("find-error", "/find/?town="),
]
