"""The directory's search: one interface, two engines.

    from portal.search import SearchParams, search
    result = search(SearchParams(text="neglect", regions=["london"]))

`search()` picks the engine from the session's database: PostgreSQL full-text search
(a TSVECTOR column with a GIN index) or SQLite FTS5. Both receive the same normalised
words (portal/search/tokens.py) and score them the same way, so they return the same
reviewers in the same order. Eligibility (consent, active membership, not removed) is a
join at query time.
"""

from portal.search.query import (
    FACET_DIMENSIONS,
    FacetValue,
    Hit,
    SearchParams,
    SearchResult,
    eligible_profile_ids,
    is_listed,
    search,
)
from portal.search.tokens import parse_query

__all__ = [
    "FACET_DIMENSIONS",
    "FacetValue",
    "Hit",
    "SearchParams",
    "SearchResult",
    "eligible_profile_ids",
    "is_listed",
    "parse_query",
    "search",
]
