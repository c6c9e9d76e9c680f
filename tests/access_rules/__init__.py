"""The route-by-role access matrix, one module per area.

Every rule in `app.url_map` must have an entry here (tests/test_access_matrix.py fails
otherwise). Each area module defines `RULES = [rule(...), ...]`:

    rule("admin.index", "GET", default=403, anonymous=302, admin=200)
    rule("documents.download", "GET",
         args=lambda w: {"document_id": w.document_of_a.id},
         default=404, anonymous=302, supplier_owner_a=200)

- `default` is the status for every role not named; name a role to override it.
- `args(world)` builds the URL values from the `world` objects (see `World`).
- `data(world)` gives form data for POST rules (CSRF is off in that test).
- Expected statuses are what the first response says: 302 for a redirect (sign-in, or
  the page a form goes to next), 200, 400, 403, 404, 405 ...
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ROLES = (
    "anonymous",
    "supplier_owner_a",
    "supplier_member_b",
    "partnership_pending",
    "partnership_approved",
    "commissioner",
    "evaluator",
    "admin",
)


@dataclass
class Rule:
    endpoint: str
    method: str
    expected: dict[str, int]
    args: Callable[[Any], dict] | None = None
    data: Callable[[Any], dict] | None = None
    id: str = field(default="")

    def expectation(self, role: str) -> int:
        return self.expected[role]


def rule(endpoint: str, method: str = "GET", *, default: int, args=None, data=None,
         case: str = "", **per_role: int) -> Rule:
    unknown = set(per_role) - set(ROLES)
    if unknown:
        raise ValueError(f"{endpoint}: unknown roles {sorted(unknown)}")
    expected = {role: per_role.get(role, default) for role in ROLES}
    return Rule(endpoint, method.upper(), expected, args, data, id=case)


def all_rules() -> list[Rule]:
    rules: list[Rule] = []
    for module_info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        rules.extend(getattr(module, "RULES", []))
    return rules
