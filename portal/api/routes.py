"""JSON routes. Each returns exactly what the matching page shows."""

from __future__ import annotations

from functools import wraps

from flask import jsonify, request, url_for
from flask_login import current_user

from portal.access import second_factor_passed
from portal.api import bp
from portal.api.openapi import document
from portal.models.directory import can_search_directory, directory_staff
from portal.services import directory as service


def _error(status: int, message: str, **extra):
    response = jsonify({"error": message, **extra})
    response.status_code = status
    return response


def api_directory_required(view):
    """Signed-in approved partnership members, commissioners and admins (staff with
    their second factor). JSON errors instead of redirects."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return _error(401, "Sign in to use the directory API")
        if not can_search_directory(current_user):
            return _error(403, "The directory is for approved partnership members and "
                          "panel staff")
        if directory_staff(current_user) and not second_factor_passed(current_user):
            return _error(403, "Confirm your second factor in the portal first")
        return view(*args, **kwargs)

    return wrapped


@bp.after_request
def _no_store(response):
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _api_links(card: dict) -> dict:
    return {
        **card,
        "links": {
            "self": url_for("api.directory_reviewer", reviewer_id=card["id"]),
            "profile_page": url_for("directory.reviewer", reviewer_id=card["id"]),
        },
    }


@bp.get("/directory/reviewers")
@api_directory_required
def directory_reviewers():
    parsed = service.parse_search(request.args)
    if parsed.errors:
        return _error(400, "Some search parameters are not valid", errors=parsed.errors)
    result = service.search_reviewers(current_user, parsed.params)
    params = result.params

    def page_link(page: int) -> str:
        args = request.args.to_dict(flat=False)
        args["page"] = [str(page)]
        return url_for("api.directory_reviewers", **args)

    return jsonify({
        "total": result.total,
        "page": params.page,
        "per_page": params.per_page,
        "pages": result.pages,
        "query": {
            "words": [w.shown for w in result.query.words],
            "ignored_words": result.query.ignored,
        },
        "results": [_api_links(card) for card in service.search_page_data(result)],
        "facets": result.facets,
        "links": {
            "self": page_link(params.page),
            "next": page_link(params.page + 1) if params.page < result.pages else None,
            "prev": page_link(params.page - 1) if params.page > 1 else None,
        },
    })


@bp.get("/directory/reviewers/<int:reviewer_id>")
@api_directory_required
def directory_reviewer(reviewer_id: int):
    try:
        profile = service.listed_profile(current_user, reviewer_id)
    except service.NotFound:
        return _error(404, "No reviewer with that id is in the directory")
    return jsonify(_api_links(service.reviewer_detail(profile)))


@bp.get("/openapi.json")
def openapi():
    return jsonify(document())
