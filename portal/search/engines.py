"""The two full-text engines behind the directory search.

Each engine answers two questions about the normalised query words (tokens), as SQL
expressions over the index table, with the words passed as bound parameters:

- `matches(tokens)`: the profile has every word (each as a prefix) somewhere;
- `field_weight(token, i)`: where one word matches best: 3 in the name, 2 in the
  expertise or published review titles, 1 elsewhere in the profile text.

Relevance is the sum of the field weights, computed the same way on both engines, so the
two rank identically. Tokens are ASCII letters and digits only (portal/search/tokens.py),
so the engine query syntax built around them (`"word"*`, `word:*A`) cannot be broken.
"""

from __future__ import annotations

from sqlalchemy import bindparam, case, column, func, literal, literal_column, select, table

from portal.models.directory import FTS_TABLE, DirectorySearchDocument

NAME, EXPERTISE, TEXT = 3, 2, 1
FIELD_LABELS = {NAME: "name", EXPERTISE: "expertise or published reviews", TEXT: "profile"}


class SqliteEngine:
    name = "sqlite-fts5"

    def __init__(self) -> None:
        self.doc = DirectorySearchDocument.__table__
        self.fts = table(FTS_TABLE, column("rowid"), column(FTS_TABLE))

    def _ids_matching(self, expression: str, key: str):
        return (
            select(self.fts.c.rowid)
            .where(self.fts.c[FTS_TABLE].op("MATCH")(bindparam(key, expression)))
            .scalar_subquery()
        )

    def matches(self, tokens: list[str]):
        expression = " AND ".join(f'"{t}"*' for t in tokens)
        return self.doc.c.reviewer_id.in_(self._ids_matching(expression, "fts_all"))

    def field_weight(self, token: str, index: int):
        in_name = self.doc.c.reviewer_id.in_(
            self._ids_matching(f'name_text : "{token}"*', f"fts_name_{index}")
        )
        in_expertise = self.doc.c.reviewer_id.in_(
            self._ids_matching(f'expertise_text : "{token}"*', f"fts_exp_{index}")
        )
        return case((in_name, literal(NAME)), (in_expertise, literal(EXPERTISE)),
                    else_=literal(TEXT))


class PostgresEngine:
    name = "postgresql-tsvector"

    def __init__(self) -> None:
        self.doc = DirectorySearchDocument.__table__

    def _query(self, expression: str, key: str):
        return func.to_tsquery(literal_column("'simple'"), bindparam(key, expression))

    def matches(self, tokens: list[str]):
        expression = " & ".join(f"{t}:*" for t in tokens)
        return self.doc.c.search_vector.op("@@")(self._query(expression, "ts_all"))

    def field_weight(self, token: str, index: int):
        vector = self.doc.c.search_vector
        in_name = vector.op("@@")(self._query(f"{token}:*A", f"ts_name_{index}"))
        in_expertise = vector.op("@@")(self._query(f"{token}:*B", f"ts_exp_{index}"))
        return case((in_name, literal(NAME)), (in_expertise, literal(EXPERTISE)),
                    else_=literal(TEXT))


def engine_for(dialect_name: str):
    if dialect_name == "postgresql":
        return PostgresEngine()
    if dialect_name == "sqlite":
        return SqliteEngine()
    raise RuntimeError(f"No directory search engine for {dialect_name!r}")
