from tests.access_rules import rule

RULES = [
    rule("auth.sign_out", "POST", default=302),
    rule("auth.sign_in", "GET", default=200),
    rule("auth.sign_in", "POST", default=200),
    rule("auth.second_factor", "GET", default=200),
    rule("auth.second_factor", "POST", default=200),
]
