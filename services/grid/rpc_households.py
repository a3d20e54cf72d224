"""Household files (一户一档): scoped, masked, versioned."""

from __future__ import annotations

from contracts import grid_vocabulary as vocabulary
from contracts.caller import Caller
from contracts.errors import Conflict, ValidationFailed
from services.grid import domain
from services.grid.base import GridBase, grid_rpc
from services.grid.storage import new_id


class HouseholdRpc(GridBase):
    @grid_rpc
    def create_household(self, data: dict, client_id: str, *, caller: Caller) -> dict:
        """Open a household file. data: {grid_code, address: {building, unit, room},
        members: [{name, relation, id_number?, phone?, birth_date?, gender?}],
        housing: {tenure: owned|rented|other, landlord?, landlord_phone?}, tags: [...],
        note?}. Exactly one member has relation 'head'."""
        actor, roles, scopes = caller.actor, list(caller.roles), list(caller.scopes)
        self._require_scope(str(data.get("grid_code") or ""), scopes)
        now = self.clock.now()
        self._check_household(data, now)
        body = {"data": data}

        def execute(session):
            self._require_live_grid(data["grid_code"], session)
            fields = domain.household_fields(data, None, self._key(), new_id)
            doc = {
                "_id": new_id(),
                **fields,
                "version": 1,
                "created_at": now,
                "updated_at": now,
                "created_by": actor,
                "last_visit_at": None,
                "last_care_at": None,
            }
            self.store.insert_household(doc, session=session)
            self._household_event(session, doc, "created")
            return {"id": doc["_id"]}

        result = self.store.run_command("create_household", f"{actor}:{client_id}", body, execute)
        self.outbox.wake()
        return self._household_for(result["id"], actor, roles, scopes)

    @grid_rpc
    def update_household(
        self,
        household_id: str,
        changes: dict,
        version: int,
        *,
        caller: Caller,
    ) -> dict:
        """Change a household file based on `version`. Fields as in create (members carry
        their `id`; a masked ID number or phone keeps the stored one). A stale version is
        Conflict with details {current: the file as stored now}."""
        actor, roles, scopes = caller.actor, list(caller.roles), list(caller.scopes)
        current = self._household_in_scope(household_id, scopes)
        if current.get("version") != version:
            raise Conflict(details={"current": self._view(current, actor, roles)})
        merged = self._household_input(current)
        merged.update({k: v for k, v in changes.items() if k in merged})
        self._require_scope(merged["grid_code"], scopes)
        now = self.clock.now()
        self._check_household(merged, now)
        fields = domain.household_fields(merged, current, self._key(), new_id)
        if not domain.household_changed(current, fields):
            return self._view(current, actor, roles)

        def work(session):
            self._require_live_grid(fields["grid_code"], session)
            updated = self.store.update_household(
                household_id, version, {**fields, "updated_at": now}, session=session
            )
            if updated is None:
                raise Conflict(
                    details={
                        "current": self._view(self.store.household(household_id), actor, roles)
                    }
                )
            self._household_event(session, updated, "updated")
            return updated

        updated = self.store.transaction(work)
        self.outbox.wake()
        return self._view(updated, actor, roles)

    @grid_rpc
    def get_household(self, household_id: str, *, caller: Caller) -> dict:
        """One household file; phones unmasked only for roles that need them (each such
        read is audited). ID numbers are always masked (only a keyed hash is stored)."""
        doc = self._household_in_scope(household_id, list(caller.scopes))
        return self._view(doc, caller.actor, list(caller.roles))

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
        """Household lines in scope, by member name prefix, tag, building or grid:
        [{id, grid_code, address, label, head, members, tags, version, last_visit_at}]."""
        if tag and tag not in vocabulary.HOUSEHOLD_TAGS:
            raise ValidationFailed(details={"tag": f"one of {list(vocabulary.HOUSEHOLD_TAGS)}"})
        docs = self.store.search_households(
            list(caller.scopes),
            name or None,
            tag,
            building or None,
            grid_code,
            min(int(limit), 200),
            int(skip),
        )
        return [domain.household_line(d) for d in docs]

    @grid_rpc
    def find_by_id_number(self, id_number: str, *, caller: Caller) -> list:
        """Households in scope with a member of this ID number (looked up by keyed hash)."""
        problem = domain.id_number_problem(id_number)
        if problem:
            raise ValidationFailed(details={"id_number": problem})
        digest = domain.id_lookup_hash(id_number, self._key())
        docs = self.store.households_by_id_hash(digest, list(caller.scopes))
        self._audit("id_lookup", caller.actor, list(caller.roles), None, count=len(docs))
        return [domain.household_line(d) for d in docs]
