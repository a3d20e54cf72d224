"""Staff posts with A/B cover, the on-duty resolver, reserve teams, the party overlay.
Rules and records in posts.py, reserve.py and party.py; these RPCs check scope and write
through them."""

from __future__ import annotations

from contracts.caller import Caller
from contracts.errors import NotFound, ValidationFailed
from contracts.grid_http import GridPostIn, PartyLinkIn, PartyUnitIn, ReserveMemberIn
from services.grid import audit, domain, party, posts, reserve, versions
from services.grid.base import GridBase, grid_rpc
from services.grid.versions import Stamp
from services.kit.inputs import load


class StaffRpc(GridBase):
    @grid_rpc
    def assign_post(self, data: dict, *, caller: Caller) -> dict:
        """Put a user in a post on a grid: {grid_code, user_id, post, ab?: 'A'|'B',
        display_name, phone?, username?}. Idempotent: the same assignment twice is one
        (`change`: created | updated | unchanged). A grid outside the caller's scopes is
        NotFound."""
        code = caller.require_visible(str((data or {}).get("grid_code") or ""), "grid_code")
        grid = self._grid_or_404(code)
        problems = posts.problems(data, grid["level"])
        if problems:
            raise ValidationFailed(details=problems)
        given = load(GridPostIn(), data)
        pid = posts.post_id(code, str(given["user_id"]), given["post"])

        def work(session):
            current = self.store.post(pid, session=session)
            new = posts.fields(given, current, self.vault)
            if current is not None and not versions.changed(current, new):
                return current, "unchanged"
            doc = posts.record(new, Stamp(self.clock.now(), caller.actor), current)
            posts.save(self.store, self.outbox, session, [(doc, "assigned")])
            return doc, "created" if current is None else "updated"

        doc, change = self.store.transaction(work)
        self.outbox.wake()
        return {**posts.view(doc, self.vault), "change": change}

    @grid_rpc
    def remove_post(self, grid_code: str, user_id: str, post: str, *, caller: Caller) -> dict:
        """End a user's post on a grid. NotFound when there is no such post or the grid lies
        outside the caller's scopes."""
        caller.require_visible(grid_code, "grid_code")
        doc = self.store.post(posts.post_id(grid_code, user_id, post))
        if doc is None:
            raise NotFound(details={"grid_code": grid_code, "user_id": user_id, "post": post})
        self.store.transaction(
            lambda session: posts.remove(self.store, self.outbox, session, doc, caller.actor)
        )
        self.outbox.wake()
        return {"removed": True}

    @grid_rpc
    def set_absent(
        self, grid_code: str, user_id: str, absent: bool, dry_run: bool = False, *, caller: Caller
    ) -> dict:
        """Mark a worker absent (B takes over) or back; answers who is on duty for the grid
        then ({grid_code, user_id: None, path: []} when nobody is left). With `dry_run`
        nothing is saved: the answer previews who would take over. A grid outside the
        caller's scopes is NotFound."""
        caller.require_visible(grid_code, "grid_code")
        mine = [p for p in self.store.posts_of_grid(grid_code) if p["user_id"] == user_id]
        if not mine:
            raise NotFound(details={"grid_code": grid_code, "user_id": user_id})
        absent = bool(absent)
        at = Stamp(self.clock.now(), caller.actor)
        change = "absent" if absent else "present"
        changes = [(posts.record({"absent": absent}, at, p), change) for p in mine]
        if not dry_run:
            self.store.transaction(
                lambda session: posts.save(self.store, self.outbox, session, changes)
            )
            self.outbox.wake()
        grouped = posts.by_grid(self.store.posts_of_grids(domain.grid_ancestors(grid_code)))
        if dry_run:  # the posts as they would be
            edited = {doc["_id"]: doc for doc, _ in changes}
            grouped = {g: [edited.get(p["_id"], p) for p in ps] for g, ps in grouped.items()}
        return posts.on_duty(grid_code, grouped, self.vault) or {
            "grid_code": grid_code,
            "user_id": None,
            "path": [],
        }

    @grid_rpc
    def list_posts(self, grid_code: str, subtree: bool = False, *, caller: Caller) -> list:
        """Posts on a grid (or, with subtree, on it and every grid under it). NotFound
        outside the caller's scopes (a trusted caller, e.g. notify, sees every grid). Staff
        and admins see posts in full; anyone else (a resident) what the public notice board
        shows: no user ids or user names."""
        caller.require_visible(grid_code, "grid_code")
        self._grid_or_404(grid_code)
        docs = self.store.posts_under(grid_code) if subtree else self.store.posts_of_grid(grid_code)
        return [posts.shown(p, caller, self.vault) for p in docs]

    @grid_rpc
    def posts_of_user(self, user_id: str, *, caller: Caller) -> list:
        """Every post a user holds in the caller's scopes: [{grid_code, post, ab, …}]."""
        found = self.store.posts_of_user(user_id)
        return [posts.shown(p, caller, self.vault) for p in found if caller.covers(p["grid_code"])]

    @grid_rpc
    def on_duty(self, grid_code: str, *, caller: Caller) -> dict:
        """Who handles grid X now (for dispatch): A, or B while A is absent, walking up to
        the level-1 leader when a level has nobody present.
        {grid_code, user_id, display_name, phone, post, ab, handled_at, path}; NotFound if
        nobody is on duty anywhere up the chain.

        Case dispatch calls it as `Caller.trusted("cases")` and reaches any grid; for a user
        or API key through the gateway, a grid outside their scopes is NotFound, and one
        who does not read staff records in full (a resident) gets no user id or name."""
        caller.require_visible(grid_code, "grid_code")
        self._grid_or_404(grid_code)
        grouped = posts.by_grid(self.store.posts_of_grids(domain.grid_ancestors(grid_code)))
        found = posts.on_duty(grid_code, grouped, self.vault)
        if found is None:
            raise NotFound(
                f"nobody is on duty for grid {grid_code}", details={"grid_code": grid_code}
            )
        return posts.duty_shown(found, caller)

    @grid_rpc
    def add_reserve_member(self, grid_code: str, data: dict, *, caller: Caller) -> dict:
        """Add someone to a level-1 grid's emergency reserve team (应急预备队):
        {name, phone?, kind: b_post|party_member|cadre|veteran|volunteer|doctor|police|other,
        user_id?}. The same name and kind twice is one member (`change`: added | updated |
        unchanged). NotFound outside the caller's scopes."""
        caller.require_visible(grid_code, "grid_code")
        problems = reserve.problems(self._grid_or_404(grid_code), data)
        if problems:
            raise ValidationFailed(details=problems)
        given = load(ReserveMemberIn(), data)
        at = Stamp(self.clock.now(), caller.actor)

        def work(session):
            current = self.store.reserve_member(reserve.member_id(grid_code, given), session)
            new = reserve.fields(grid_code, given, current, self.vault)
            if current is not None and not versions.changed(current, new):
                return current, "unchanged"
            doc = reserve.record(new, at, current)
            change = "added" if current is None else "updated"
            reserve.save(self.store, self.outbox, session, [(doc, change)])
            return doc, change

        doc, change = self.store.transaction(work)
        self.outbox.wake()
        shown = self._reserve_unmasked(grid_code, caller, doc["_id"])
        return {**reserve.view(doc, shown, self.vault), "change": change}

    @grid_rpc
    def remove_reserve_member(self, grid_code: str, member_id: str, *, caller: Caller) -> None:
        """Take someone off a level-1 grid's reserve team (its event names who did);
        NotFound if not on it or the grid lies outside the caller's scopes."""
        caller.require_visible(grid_code, "grid_code")
        doc = self.store.reserve_member(member_id) if member_id else None
        if doc is None or doc["grid_code"] != grid_code:
            raise NotFound(details={"grid_code": grid_code, "member_id": member_id})
        self.store.transaction(
            lambda session: reserve.remove(self.store, self.outbox, session, doc, caller.actor)
        )
        self.outbox.wake()

    @grid_rpc
    def list_reserve(self, grid_code: str, *, caller: Caller) -> list:
        """The reserve team of a level-1 grid: phones masked unless the caller's role needs
        them (every unmasked read is audited)."""
        caller.require_visible(grid_code, "grid_code")
        team = self.store.reserve_of(grid_code)
        shown = self._reserve_unmasked(grid_code, caller, None, members=len(team))
        return [reserve.view(d, shown, self.vault) for d in team]

    def _reserve_unmasked(self, grid_code: str, caller: Caller, record_id, **detail) -> bool:
        """May the caller see the team's phones? When yes, the read is audited."""
        if not domain.may_unmask(caller.roles):
            return False
        now = self.clock.now()
        audit.write(
            self.store,
            now,
            "reserve_unmasked",
            caller,
            record_id,
            grid_code,
            grid_code=grid_code,
            **detail,
        )
        return True

    @grid_rpc
    def set_party_unit(self, grid_code: str, data: dict, *, caller: Caller) -> dict:
        """Set the party branch or group on a grid (支部建在网格上):
        {kind: branch|group, name, secretary?: display name, secretary_user_id?}. NotFound
        outside the caller's scopes."""
        caller.require_visible(grid_code, "grid_code")
        self._grid_or_404(grid_code)
        new = party.unit_fields(load(PartyUnitIn(), data))
        at = Stamp(self.clock.now(), caller.actor)

        def work(session):
            current = self.store.party_unit(grid_code, session)
            if current is not None and not versions.changed(current, new):
                return current
            doc = party.unit_record(grid_code, new, at, current)
            party.save_units(self.store, self.outbox, session, [(doc, "set")])
            return doc

        doc = self.store.transaction(work)
        self.outbox.wake()
        return party.unit_view(doc)

    @grid_rpc
    def link_party_member(
        self, grid_code: str, member: dict, household_ids: list, *, caller: Caller
    ) -> dict:
        """Link a party member to the households they serve (党员联户):
        member {name, user_id?, phone?}; replaces that member's links in the grid."""
        caller.require_visible(grid_code, "grid_code")
        self._grid_or_404(grid_code)
        data = load(PartyLinkIn(), {"member": member, "household_ids": household_ids})
        found = self.store.households_by_ids(data["household_ids"])
        missing = [
            hid
            for hid in data["household_ids"]
            if hid not in found or not found[hid]["grid_code"].startswith(grid_code)
        ]
        if missing:
            raise ValidationFailed(
                details={"household_ids": f"not households of grid {grid_code}: {missing}"}
            )
        at = Stamp(self.clock.now(), caller.actor)
        key = party.link_id(grid_code, party.member_key(data["member"]))

        def work(session):
            current = self.store.party_link(key, session)
            new = party.link_fields(
                grid_code, data["member"], data["household_ids"], current, self.vault
            )
            if current is not None and not versions.changed(current, new):
                return current
            doc = party.link_record(new, at, current)
            party.save_links(self.store, self.outbox, session, [(doc, "linked")])
            return doc

        doc = self.store.transaction(work)
        self.outbox.wake()
        return {
            "grid_code": grid_code,
            "member": doc["member_name"],
            "households": len(doc["household_ids"]),
        }

    @grid_rpc
    def unlink_party_member(self, grid_code: str, member_key: str, *, caller: Caller) -> dict:
        """Remove a party member's household links in a grid (the inverse of
        link_party_member; its event names who did). `member_key` is the member's user id
        when they were linked with one, else their name (`member_key` in party_overlay's
        links). NotFound when there is no such link or the grid lies outside the caller's
        scopes."""
        caller.require_visible(grid_code, "grid_code")
        doc = self.store.party_link(party.link_id(grid_code, member_key)) if member_key else None
        if doc is None:
            raise NotFound(details={"grid_code": grid_code, "member_key": member_key})
        self.store.transaction(
            lambda session: party.remove_link(self.store, self.outbox, session, doc, caller.actor)
        )
        self.outbox.wake()
        return {"removed": True}

    @grid_rpc
    def party_overlay(self, code: str, *, caller: Caller) -> dict:
        """Party units on grids under `code` and the party members' household links:
        {units: [{grid_code, kind, name, secretary}], links: [{grid_code, member,
        member_key, households: [{id, label}]}]}."""
        caller.require_visible(code, "grid_code")
        return party.overlay(self.store, code)
