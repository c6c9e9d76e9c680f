from tests.access_rules import rule

RULES = [
    rule("main.index", default=200),
    rule("main.accessibility", default=200),
    rule("main.privacy", default=200),
    rule("main.cookies", default=200),
    rule("main.healthz", default=200),
    rule("main.readyz", default=200),
    rule("main.dashboard", default=200, anonymous=302),
    rule("static", args=lambda w: {"filename": "portal.css"}, default=200),
    rule("assets", args=lambda w: {"filename": "images/favicon.svg"}, default=200),
    rule("admin.index", default=403, anonymous=302, admin=200),
]
