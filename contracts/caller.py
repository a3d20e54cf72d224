"""Who a call acts for: one `Caller`, passed to every RPC that acts for a person as the
keyword `caller=` (DESIGN §8).

The gateway builds it from the access token (or API key); a service acting on its own
account uses `Caller.trusted("points")`. It crosses the broker as itself: the type is
registered with kombu's JSON codec, so a service receives a `Caller`, not a dict.

    caller.covers("330424001001-001")    # the scope rule (contracts.scope), once
    caller.require_visible(code)         # NotFound outside the scopes (reads)
    caller.require_writable(code)        # Forbidden outside the scopes (creating)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from kombu.utils.json import register_type

from contracts.errors import Forbidden, NotFound
from contracts.scope import in_scope, narrowest

SERVICE_ROLE = "service"


@dataclass(frozen=True)
class Caller:
    actor: str  # user id, api-key id, or "service:<name>"
    roles: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    is_trusted: bool = field(default=False)  # a service acting on its own; sees every grid

    def __post_init__(self) -> None:
        # tuples whatever was passed, so a Caller compares and hashes by value
        object.__setattr__(self, "roles", tuple(self.roles))
        object.__setattr__(self, "scopes", tuple(s for s in self.scopes if s))

    @classmethod
    def trusted(cls, service: str) -> Caller:
        """A service acting on its own account (dispatch, awards, the demo loader)."""
        return cls(actor=f"service:{service}", roles=(SERVICE_ROLE,), is_trusted=True)

    def has_role(self, *roles: str) -> bool:
        return any(r in self.roles for r in roles)

    def covers(self, code: str | None) -> bool:
        """May this caller see a record filed under `code`? (a code-prefix rule)"""
        if self.is_trusted:
            return True
        return bool(code) and in_scope(str(code), self.scopes)

    def require_visible(self, code: str | None, what: str = "code") -> str:
        """`code`, or NotFound as if nothing were there (nobody learns what exists outside)."""
        if not self.covers(code):
            raise NotFound(details={what: code})
        return str(code)

    def require_writable(self, code: str | None, what: str = "code") -> str:
        """`code`, or Forbidden: creating outside one's scopes is refused outright."""
        if not self.covers(code):
            raise Forbidden(details={what: code})
        return str(code)

    def prefixes(self, wanted: str | None = None) -> list[str]:
        """The code prefixes a listing covers: `wanted` narrowed to the caller's scopes.

        A wanted prefix above a scope (county asked, town held) lists the scope; one inside
        a scope lists itself; one beside every scope lists nothing.
        """
        if self.is_trusted:
            return [wanted or ""]
        held = narrowest(self.scopes)
        if not wanted:
            return held
        if self.covers(wanted):
            return [wanted]
        return [s for s in held if s.startswith(wanted)]

    def wire(self) -> dict:
        return {
            "actor": self.actor,
            "roles": list(self.roles),
            "scopes": list(self.scopes),
            "is_trusted": self.is_trusted,
        }

    @classmethod
    def from_wire(cls, data: dict) -> Caller:
        if not isinstance(data, dict) or not isinstance(data.get("actor"), str):
            raise ValueError("not a caller")
        return cls(
            actor=data["actor"],
            roles=tuple(_strings(data.get("roles"))),
            scopes=tuple(_strings(data.get("scopes"))),
            is_trusted=data.get("is_trusted") is True,
        )


def _strings(values: Iterable | None) -> list[str]:
    return [v for v in (values or []) if isinstance(v, str)]


register_type(Caller, "lianxin.caller", Caller.wire, Caller.from_wire)
