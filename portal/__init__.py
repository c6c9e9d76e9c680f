"""The Reviewer Pool Portal application factory."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask, send_from_directory
from govuk_frontend_wtf.main import WTFormsHelpers
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import crypto
from portal.config import CONFIGS, INSTANCE_PATH, PROJECT_ROOT, Config, development_secret_key
from portal.extensions import csrf, db, limiter, login_manager, migrate
from portal.extensions import mail as mail_extension  # `mail` is also the portal.mail module


def _load_config(app: Flask, config: type[Config] | str | None, overrides: Mapping | None):
    if config is None:
        config = os.environ.get("PORTAL_ENV", "development")
    if isinstance(config, str):
        try:
            config = CONFIGS[config]
        except KeyError:
            raise RuntimeError(f"Unknown PORTAL_ENV {config!r}") from None
    app.config.from_object(config)
    if overrides:
        app.config.update(overrides)

    if not app.config.get("SECRET_KEY"):
        if app.config["ENV_NAME"] == "production":
            raise RuntimeError("SECRET_KEY must be set in production; refusing to start.")
        app.config["SECRET_KEY"] = development_secret_key(INSTANCE_PATH)
    crypto.init_app(app, INSTANCE_PATH)
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if app.config["ENV_NAME"] == "production" and uri.startswith("sqlite"):
        logging.getLogger(__name__).warning("Production on embedded SQLite: set DATABASE_URL")


def _register_blueprints(app: Flask) -> None:
    # Each area is a blueprint package with thin routes; add new areas to this list.
    from portal.admin import bp as admin_bp
    from portal.admin.users import staff_invite_bp
    from portal.api import bp as api_bp
    from portal.auth.routes import bp as auth_bp
    from portal.award import bp as award_bp
    from portal.bids import bp as bids_bp
    from portal.commissions import bp as commissions_bp
    from portal.directory import bp as directory_bp
    from portal.documents.routes import bp as documents_bp
    from portal.evaluation import bp as evaluation_bp
    from portal.main.routes import bp as main_bp
    from portal.pool import bp as pool_bp
    from portal.profiles import bp as profiles_bp
    from portal.teams import bp as teams_bp

    for blueprint in (
        main_bp,
        auth_bp,
        admin_bp,
        staff_invite_bp,
        teams_bp,
        documents_bp,
        profiles_bp,
        pool_bp,
        commissions_bp,
        bids_bp,
        evaluation_bp,
        award_bp,
        directory_bp,
        api_bp,
    ):
        app.register_blueprint(blueprint)


def create_app(
    config: type[Config] | str | None = None, overrides: Mapping[str, Any] | None = None
) -> Flask:
    app = Flask(
        __name__,
        instance_path=str(INSTANCE_PATH),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    _load_config(app, config, overrides)
    os.makedirs(app.instance_path, exist_ok=True)

    if app.config.get("PROXY_FIX_COUNT"):
        n = app.config["PROXY_FIX_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    app.jinja_loader = ChoiceLoader(
        [
            FileSystemLoader(str(PROJECT_ROOT / "templates")),
            PrefixLoader(
                {
                    "govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja"),
                    "govuk_frontend_wtf": PackageLoader("govuk_frontend_wtf"),
                }
            ),
        ]
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    WTFormsHelpers(app)

    from portal import database

    db.init_app(app)
    database.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    mail_extension.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)

    # GOV.UK Frontend's stylesheet asks for fonts and images under /assets.
    assets_dir = PROJECT_ROOT / "static" / "govuk" / "assets"
    app.add_url_rule(
        "/assets/<path:filename>",
        endpoint="assets",
        view_func=lambda filename: send_from_directory(assets_dir, filename, max_age=86400),
    )

    from portal import errors, passwords, security, templating

    passwords.init_app(app)  # the dummy hash for unknown addresses, made now, not on first use
    security.init_app(app)
    templating.init_app(app)
    errors.init_app(app)

    from portal import outbox

    outbox.init_app(app)  # development: deliver mail right after the commit

    _register_blueprints(app)

    from portal import cli

    cli.init_app(app)
    return app
