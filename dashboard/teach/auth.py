"""Safe by default: loopback needs no token; any other address needs one, sent as a bearer token."""

from __future__ import annotations

import hmac
import ipaddress

from socksort.errors import UserError

TOKEN_ENV = "SOCKSORT_API_TOKEN"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False   # a name (or 0.0.0.0 / "") may reach other machines


def check_bind(host: str, token: str | None) -> None:
    """Refuse to serve the API beyond this machine without a token."""
    if not is_loopback(host) and not token:
        raise UserError(f"listening on {host} serves the teach API to other machines: give --api-token "
                        f"(or {TOKEN_ENV}), or listen on 127.0.0.1")


def authorized(header: str | None, token: str | None) -> bool:
    """Whether an Authorization header carries ``token`` (always, when there is no token)."""
    if not token:
        return True
    scheme, _, given = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
