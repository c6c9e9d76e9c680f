from tests.access_rules import rule

RULES = [
    rule("admin.audit_events", default=403, anonymous=302, admin=200),
    rule("admin.audit_events_csv", default=403, anonymous=302, admin=200),
]
