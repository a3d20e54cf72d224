"""The loop: one `transition` RPC for every step a person takes, and the reads of cases."""

from __future__ import annotations

from typing import Any

from contracts.caller import Caller
from contracts.cases_http import CaseListQuery, TransitionIn
from contracts.errors import Conflict, Forbidden, NotFound, ValidationFailed
from contracts.roles import CASE_STAFF
from services.cases import case as rules_of
from services.cases import views, writes
from services.cases.base import TRUSTED, CasesBase, cases_rpc, page_skip
from services.cases.case import OPEN, NotAllowed, NotYours, Step, WindowPassed
from services.kit.inputs import load


class LoopRpc(CasesBase):
    @cases_rpc
    def transition(
        self,
        case_id: str,
        action: str,
        version: int,
        data: dict | None = None,
        client_id: str | None = None,
        *,
        caller: Caller,
    ) -> dict:
        """Take one step of the loop: `action` (register, cancel, dispatch, accept, decline,
        reassign, whistle, escalate, acknowledge, handle, close, return, reopen, evaluate,
        merge, link) on the case at `version`, with data {note?, reason?, photos?, rating?,
        to?: {level, user_id?, name?, code?}, target?}. A stale version is Conflict with the
        case as it is now; a step the state table has no row for is InvalidTransition; the
        same client_id answers the first result."""
        data = load(TransitionIn(), {**(data or {}), "action": action, "version": version})
        data.pop("client_id", None)
        current = self._visible(case_id, caller)
        body = {"case_id": current["_id"], **data}

        def execute(session):
            # judged here, after a replay was answered: a replay's version is stale by now
            if current["version"] != data["version"]:
                raise self._stale(current["_id"], caller)
            return self._step(current, data, caller, session)

        if client_id:
            key = f"{caller.actor}:{client_id}"
            result = self.store.run_command("transition", key, body, execute)
        else:
            result = self.store.transaction(execute)
        self.outbox.wake()
        return result

    def _step(self, current: dict, data: dict, caller: Caller, session) -> dict:
        action = data["action"]
        rules = self._rules(current["category"])
        now = self._now()
        step = Step(
            note=data.get("note"),
            reason=data.get("reason"),
            photos=tuple(dict.fromkeys(data.get("photos") or ())),
            rating=data.get("rating"),
            to=self._target(current, data, action),
            target=data.get("target"),
        )
        other = self._other(current, step, action, caller, session)
        try:
            after, events = rules_of.apply(current, action, caller, now, step, rules)
        except (NotAllowed, NotYours, WindowPassed) as exc:
            raise self._refused(exc, current, caller, action) from None
        self._attach(list(step.photos), caller, current["_id"], session)
        entry = rules_of.entry(current, after, action, caller, now, step)
        try:
            writes.move(
                self.store, self.outbox, session, current, after, [entry], events, rules.calendar
            )
        except Conflict:
            raise self._stale(current["_id"], caller) from None
        if other is not None:
            for follower in [after.get("reporter_id"), *after.get("followers", [])]:
                if follower:
                    self.store.add_follower(other["_id"], follower, session)
        return views.view(after, caller, now, rules, timeline=None) | {
            "timeline": [views.timeline_view(e) for e in self.store.timeline(after["_id"])]
            + [views.timeline_view(entry)]
        }

    def _target(self, current: dict, data: dict, action: str) -> dict[str, Any] | None:
        """Where a dispatch or reassignment goes: a person named, a unit, or the grid's
        on-duty worker (the grid service's A/B resolver) when only the grid level is asked."""
        if action not in ("dispatch", "reassign"):
            return None
        to = dict(data.get("to") or {"level": "grid"})
        if to["level"] == "grid" and not to.get("user_id"):
            duty = self._on_duty(current["grid_code"])
            if duty is None:
                raise ValidationFailed(details={"to": "nobody is on duty for this grid"})
            return duty
        if to["level"] == "department" and to.get("code"):
            to["name"] = to.get("name") or to["code"]
        return to

    def _on_duty(self, grid_code: str) -> dict | None:
        try:
            duty = self.grid.on_duty(grid_code, caller=TRUSTED)
        except NotFound:
            return None
        return {"level": "grid", "user_id": duty["user_id"], "name": duty.get("display_name")}

    def _other(self, current: dict, step: Step, action: str, caller: Caller, session):
        """The case a merge joins (or a link names): visible, open, and not this one."""
        if action not in ("merge", "link"):
            return None
        if step.target == current["_id"]:
            raise ValidationFailed(details={"target": "a case cannot join itself"})
        other = self._visible(step.target or "", caller, session=session)
        if action == "merge" and other["state"] not in OPEN + rules_of.DONE:
            raise ValidationFailed(details={"target": "that case was cancelled or merged"})
        return other if action == "merge" else None

    # --- reads ---------------------------------------------------------------------------
    @cases_rpc
    def get_case(self, case_id: str, *, caller: Caller) -> dict:
        """The case with its timeline and the actions the caller may take now; NotFound for
        anyone who may not see it."""
        return self._view(self._visible(case_id, caller), caller)

    @cases_rpc
    def list_cases(self, query: dict | None = None, *, caller: Caller) -> dict:
        """{items: [line], next}: `view` scope (staff: every case under their scopes),
        assigned (mine or my unit's to handle), reported (mine as reporter or follower),
        overdue (near or past a limit, 督办), verify (handled, waiting to be checked)."""
        q = load(CaseListQuery(), query or {})
        skip = page_skip(q.get("before"))
        limit = q["limit"]
        view = q["view"]
        if view == "reported":
            found = self.store.cases_followed(caller.actor, skip, limit + 1)
        elif view == "assigned":
            found = self.store.cases_held_by(held_keys(caller), skip, limit + 1)
        else:
            if not (caller.is_trusted or caller.has_role(*CASE_STAFF)):
                raise Forbidden(details={"required_roles": list(CASE_STAFF)})
            if q.get("grid_code"):
                caller.require_visible(q["grid_code"], "grid_code")
            found = []
            for prefix in caller.prefixes(q.get("grid_code")):
                if view == "overdue":
                    found += self.store.cases_alerting(prefix, 0, skip + limit + 1)
                else:
                    state = "handled" if view == "verify" else q.get("state")
                    found += self.store.cases_under(
                        prefix,
                        state=state,
                        category=q.get("category"),
                        skip=0,
                        limit=skip + limit + 1,
                    )
            found.sort(key=lambda d: d["created_at"], reverse=True)
            found = found[skip : skip + limit + 1]
        more = len(found) > limit
        return {
            "items": [views.line(d) for d in found[:limit] if views.may_see(d, caller)],
            "next": str(skip + limit) if more else None,
        }


def held_keys(caller: Caller) -> list[str]:
    """What a caller holds: cases given to them, and to the units they answer for."""
    keys = [f"person:{caller.actor}"]
    for level, roles in rules_of.UNIT_ROLES.items():
        if caller.has_role(*roles):
            keys += [f"unit:{level}:{scope}" for scope in caller.scopes]
    return keys
