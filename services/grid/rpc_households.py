"""Household files (一户一档): scoped, masked, versioned. The rules, the record and its
views are in households.py; these RPCs load the input, check scope and write through it."""

from __future__ import annotations

from contracts.caller import Caller
from contracts.errors import Conflict, Forbidden, ValidationFailed
from contracts.grid_http import HouseholdCreateIn, HouseholdFields, HouseholdSearchQuery, RevealIn
from contracts.roles import ID_REVEALERS
from services.grid import audit, domain, grids, households, versions
from services.grid.base import GridBase, grid_rpc
from services.grid.storage import new_id
from services.grid.versions import Stamp
from services.kit.inputs import load

SEARCH = HouseholdSearchQuery(only=("name", "tag", "building", "grid_code"))


class HouseholdRpc(GridBase):
    @grid_rpc
    def create_household(self, data: dict, client_id: str, *, caller: Caller) -> dict:
        """Open a household file. data: {grid_code, address: {building, unit, room},
        members: [{name, relation, id_number?, phone?, birth_date?, gender?}],
        housing: {tenure: owned|rented|other, landlord?, landlord_phone?}, tags: [...],
        note?}. Exactly one member has relation 'head'. A grid outside the caller's scopes
        is NotFound."""
        data = load(HouseholdCreateIn(), data)
        caller.require_visible(data["grid_code"], "grid_code")
        now = self.clock.now()
        households.require_valid(data, now)

        def execute(session):
            grids.require_live(self.store, data["grid_code"], session)
            new = households.fields(data, None, self.vault, new_id)
            doc = households.record(new, Stamp(now, caller.actor), new_id)
            households.save(self.store, self.outbox, session, [(doc, "created")])
            return {"id": doc["_id"]}

        key = f"{caller.actor}:{client_id}"
        result = self.store.run_command("create_household", key, {"data": data}, execute)
        self.outbox.wake()
        return self._household_shown(households.visible(self.store, result["id"], caller), caller)

    @grid_rpc
    def update_household(
        self, household_id: str, changes: dict, version: int, *, caller: Caller
    ) -> dict:
        """Change a household file based on `version`. Fields as in create (members carry
        their `id`; a masked ID number or phone keeps the stored one). A stale version is
        Conflict with details {current: the file as stored now}."""
        changes = load(HouseholdFields(), changes)
        current = households.visible(self.store, household_id, caller)
        if current.get("version") != version:
            raise Conflict(details={"current": self._household_shown(current, caller)})
        merged = {**households.as_input(current), **changes}
        caller.require_visible(merged["grid_code"], "grid_code")
        now = self.clock.now()
        households.require_valid(merged, now)
        new = households.fields(merged, current, self.vault, new_id)
        if not households.changed(current, new):
            return self._household_shown(current, caller)
        doc = households.record(new, Stamp(now, caller.actor), new_id, current)

        def work(session):
            grids.require_live(self.store, doc["grid_code"], session)
            stored = lambda: self.store.household(household_id, session=session)  # noqa: E731
            with versions.conflict_shows(lambda: self._household_shown(stored(), caller)):
                households.save(self.store, self.outbox, session, [(doc, "updated")])

        self.store.transaction(work)
        self.outbox.wake()
        return self._household_shown(doc, caller)

    @grid_rpc
    def get_household(self, household_id: str, *, caller: Caller) -> dict:
        """One household file; phones unmasked only for roles that need them (each such
        read is audited). ID numbers are always masked and birth dates shown as the year
        (the full number: `reveal_id_number`)."""
        return self._household_shown(households.visible(self.store, household_id, caller), caller)

    @grid_rpc
    def search_households(
        self,
        name: str | None = None,
        tag: str | None = None,
        building: str | None = None,
        grid_code: str | None = None,
        limit: int = 50,
        skip: int = 0,
        *,
        caller: Caller,
    ) -> list:
        """Household lines in the caller's scopes, by member name prefix, tag, building or
        grid: [{id, grid_code, address, label, head, members, tags, tags_zh, version,
        last_visit_at}]."""
        wanted = {"name": name, "tag": tag, "building": building, "grid_code": grid_code}
        args = load(SEARCH, {k: v for k, v in wanted.items() if v})
        search = households.Search(args.get("name"), args.get("tag"), args.get("building"))
        page = max(1, min(int(limit), 200)), max(0, int(skip))
        docs = self.store.search_households(caller.prefixes(args.get("grid_code")), search, *page)
        return [households.line(d) for d in docs]

    @grid_rpc
    def find_by_id_number(self, id_number: str, *, caller: Caller) -> list:
        """Households in scope with a member of this ID number (looked up by keyed hash;
        every look-up is audited)."""
        problem = domain.id_number_problem(id_number)
        if problem:
            raise ValidationFailed(details={"id_number": problem})
        digest = self.vault.id_hash(id_number)
        docs = self.store.households_by_id_hash(digest, caller.prefixes())
        scope = audit.searched(caller)
        now = self.clock.now()
        audit.write(self.store, now, "id_lookup", caller, None, scope, count=len(docs))
        return [households.line(d) for d in docs]

    @grid_rpc
    def reveal_id_number(
        self, household_id: str, member_id: str, reason: str, *, caller: Caller
    ) -> dict:
        """One member's full ID number, for a role that needs it (checking a subsidy, say):
        {household_id, member_id, name, id_number}. The reason is required and the reveal
        audited (`id_revealed`, with the reason) before the number leaves. Forbidden for
        other roles; NotFound outside the caller's scopes, or when no full number is kept."""
        if not caller.has_role(*ID_REVEALERS):
            raise Forbidden(details={"roles": list(ID_REVEALERS)})
        asked = load(RevealIn(), {"member_id": member_id, "reason": reason})
        doc = households.visible(self.store, household_id, caller)
        shown = households.reveal(doc, asked["member_id"], self.vault)
        audit.write(
            self.store,
            self.clock.now(),
            "id_revealed",
            caller,
            doc["_id"],
            doc["grid_code"],
            grid_code=doc["grid_code"],
            member_id=asked["member_id"],
            reason=asked["reason"].strip(),
        )
        return shown

    def _household_shown(self, doc: dict, caller: Caller) -> dict:
        """The file as this caller may see it (an unmasked read is audited)."""
        now = self.clock.now()
        shown = audit.unmasked(self.store, now, caller, doc["grid_code"], "household", doc["_id"])
        return households.view(doc, shown, self.vault)
