"""Staff posts with A/B cover, the on-duty resolver, reserve teams, the party overlay."""

from __future__ import annotations

from collections import defaultdict

from contracts import grid_vocabulary as vocabulary
from contracts.caller import Caller
from contracts.errors import NotFound, ValidationFailed
from services.grid import domain, households
from services.grid.base import GridBase, grid_rpc
from services.grid.posts import view as post_out


class StaffRpc(GridBase):
    @grid_rpc
    def assign_post(self, data: dict, *, caller: Caller) -> dict:
        """Put a user in a post on a grid: {grid_code, user_id, post, ab?: 'A'|'B',
        display_name, phone?, username?}. Idempotent: the same assignment twice is one.
        A grid outside `scopes` is NotFound."""
        caller.require_visible(str(data.get("grid_code") or ""), "grid_code")
        grid = self._grid_or_404(str(data.get("grid_code") or ""))
        problems = domain.check_post(data, grid["level"])
        if problems:
            raise ValidationFailed(details=problems)
        doc = self._post_doc(data)

        def work(session):
            change = self.store.put_post(doc, session=session)
            if change != "unchanged":
                self._staff_event(session, doc, "assigned")
            return change

        change = self.store.transaction(work)
        self.outbox.wake()
        return {**post_out(self.store.post(doc["_id"])), "change": change}

    @grid_rpc
    def remove_post(self, grid_code: str, user_id: str, post: str, *, caller: Caller):
        """End a user's post on a grid. NotFound when there is no such post or the grid lies
        outside `scopes`."""
        caller.require_visible(grid_code, "grid_code")
        doc = self.store.post(f"{grid_code}|{user_id}|{post}")
        if doc is None:
            raise NotFound(details={"grid_code": grid_code, "user_id": user_id, "post": post})

        def work(session):
            self.store.delete_post(doc["_id"], session=session)
            self._staff_event(session, doc, "removed")

        self.store.transaction(work)
        self.outbox.wake()
        return {"removed": True}

    @grid_rpc
    def set_absent(self, grid_code: str, user_id: str, absent: bool, *, caller: Caller):
        """Mark a worker absent (B takes over) or back; answers the grid's on-duty worker.
        A grid outside `scopes` is NotFound."""
        caller.require_visible(grid_code, "grid_code")
        posts = [p for p in self.store.posts_of_grid(grid_code) if p["user_id"] == user_id]
        if not posts:
            raise NotFound(details={"grid_code": grid_code, "user_id": user_id})

        def work(session):
            self.store.set_absent(grid_code, user_id, bool(absent), session=session)
            for p in posts:
                self._staff_event(session, p, "absent" if absent else "present")

        self.store.transaction(work)
        self.outbox.wake()
        try:
            return self.on_duty(grid_code, caller=caller)
        except NotFound:  # the absence is saved; nobody is left to take over
            return {"grid_code": grid_code, "user_id": None, "path": []}

    @grid_rpc
    def list_posts(self, grid_code: str, subtree: bool = False, *, caller: Caller) -> list:
        """Posts on a grid (or, with subtree, on it and every grid under it). NotFound
        outside the caller's scopes (a trusted caller, e.g. notify, sees every grid)."""
        caller.require_visible(grid_code, "grid_code")
        self._grid_or_404(grid_code)
        docs = self.store.posts_under(grid_code) if subtree else self.store.posts_of_grid(grid_code)
        return [post_out(p) for p in docs]

    @grid_rpc
    def posts_of_user(self, user_id: str, *, caller: Caller) -> list:
        """Every post a user holds in the caller's scopes: [{grid_code, post, ab, …}]."""
        return [
            post_out(p) for p in self.store.posts_of_user(user_id) if caller.covers(p["grid_code"])
        ]

    @grid_rpc
    def on_duty(self, grid_code: str, *, caller: Caller) -> dict:
        """Who handles grid X now (for dispatch): A, or B while A is absent, walking up to
        the level-1 leader when a level has nobody present.
        {grid_code, user_id, display_name, phone, post, ab, handled_at, path}; NotFound if
        nobody is on duty anywhere up the chain.

        Case dispatch calls it as `Caller.trusted("cases")` and reaches any grid; for a user
        or API key through the gateway, a grid outside their scopes is NotFound."""
        caller.require_visible(grid_code, "grid_code")
        self._grid_or_404(grid_code)
        chain = domain.grid_ancestors(grid_code)
        posts = self.store.posts_of_grids(chain)
        by_grid: dict[str, list] = defaultdict(list)
        for p in posts:
            by_grid[p["grid_code"]].append(p)
        found = domain.resolve_on_duty(grid_code, by_grid)
        if found is None:
            raise NotFound(
                f"nobody is on duty for grid {grid_code}", details={"grid_code": grid_code}
            )
        post = next(
            p
            for p in by_grid[found.grid_code]
            if p["user_id"] == found.user_id and p["post"] == found.post
        )
        return {
            "grid_code": grid_code,
            "user_id": found.user_id,
            "display_name": post.get("display_name"),
            "phone": post.get("phone"),
            "post": found.post,
            "ab": found.ab,
            "handled_at": found.grid_code,
            "path": list(found.path),
        }

    @grid_rpc
    def add_reserve_member(self, grid_code: str, data: dict, *, caller: Caller) -> dict:
        """Add someone to a level-1 grid's emergency reserve team (应急预备队):
        {name, phone?, kind: b_post|party_member|cadre|veteran|volunteer|doctor|police|other,
        user_id?}. The same name and kind twice is one member. NotFound outside `scopes`."""
        caller.require_visible(grid_code, "grid_code")
        grid = self._grid_or_404(grid_code)
        problems = {}
        if grid["level"] != 1:
            problems["grid_code"] = "the reserve team belongs to a level-1 grid"
        if data.get("kind") not in vocabulary.RESERVE_KINDS:
            problems["kind"] = f"one of {list(vocabulary.RESERVE_KINDS)}"
        if not str(data.get("name") or "").strip():
            problems["name"] = "required"
        if data.get("phone") and not domain.PHONE.match(str(data["phone"])):
            problems["phone"] = "a mobile (11 digits) or landline number"
        if problems:
            raise ValidationFailed(details=problems)
        doc = {
            "_id": f"{grid_code}|{data['kind']}|{data['name'].strip()}",
            "grid_code": grid_code,
            "name": data["name"].strip(),
            "kind": data["kind"],
            "phone": data.get("phone"),
            "user_id": data.get("user_id"),
        }
        change = self.store.put_reserve(doc)
        return {**self._reserve_out(doc), "change": change}

    @grid_rpc
    def remove_reserve_member(self, grid_code: str, member_id: str, *, caller: Caller):
        """Take someone off a level-1 grid's reserve team; NotFound if not on it or the grid
        lies outside `scopes`."""
        caller.require_visible(grid_code, "grid_code")
        if not member_id.startswith(grid_code + "|") or not self.store.delete_reserve(member_id):
            raise NotFound(details={"grid_code": grid_code, "member_id": member_id})

    @grid_rpc
    def list_reserve(self, grid_code: str, *, caller: Caller) -> list:
        """The reserve team of a level-1 grid."""
        caller.require_visible(grid_code, "grid_code")
        return [self._reserve_out(d) for d in self.store.reserve_of(grid_code)]

    @grid_rpc
    def set_party_unit(self, grid_code: str, data: dict, *, caller: Caller) -> dict:
        """Set the party branch or group on a grid (支部建在网格上):
        {kind: branch|group, name, secretary?: display name, secretary_user_id?}. NotFound
        outside `scopes`."""
        caller.require_visible(grid_code, "grid_code")
        self._grid_or_404(grid_code)
        if data.get("kind") not in ("branch", "group") or not str(data.get("name") or "").strip():
            raise ValidationFailed(details={"kind": "branch or group", "name": "required"})
        doc = {
            "_id": grid_code,
            "kind": data["kind"],
            "name": data["name"].strip(),
            "secretary": data.get("secretary"),
            "secretary_user_id": data.get("secretary_user_id"),
        }
        self.store.put_party_unit(doc)
        return {"grid_code": grid_code, **{k: v for k, v in doc.items() if k != "_id"}}

    @grid_rpc
    def link_party_member(
        self, grid_code: str, member: dict, household_ids: list, *, caller: Caller
    ) -> dict:
        """Link a party member to the households they serve (党员联户):
        member {name, user_id?, phone?}; replaces that member's links in the grid."""
        caller.require_visible(grid_code, "grid_code")
        self._grid_or_404(grid_code)
        name = str(member.get("name") or "").strip()
        if not name:
            raise ValidationFailed(details={"member.name": "required"})
        missing = []
        for hid in household_ids:
            doc = self.store.household(hid)
            if doc is None or not doc["grid_code"].startswith(grid_code):
                missing.append(hid)
        if missing:
            raise ValidationFailed(
                details={"household_ids": f"not households of grid {grid_code}: {missing}"}
            )
        key = member.get("user_id") or name
        doc = {
            "_id": f"{grid_code}|{key}",
            "grid_code": grid_code,
            "member_name": name,
            "member_user_id": member.get("user_id"),
            "member_phone": member.get("phone"),
            "household_ids": sorted(set(household_ids)),
        }
        self.store.put_party_link(doc)
        return {"grid_code": grid_code, "member": name, "households": len(doc["household_ids"])}

    @grid_rpc
    def unlink_party_member(self, grid_code: str, member_key: str, *, caller: Caller) -> dict:
        """Remove a party member's household links in a grid (the inverse of
        link_party_member). `member_key` is the member's user id when they were linked with
        one, else their name (`member_key` in party_overlay's links). NotFound when there is
        no such link or the grid lies outside `scopes`."""
        caller.require_visible(grid_code, "grid_code")
        link_id = f"{grid_code}|{member_key}"
        if not member_key or not self.store.delete_party_link(link_id):
            raise NotFound(details={"grid_code": grid_code, "member_key": member_key})
        return {"removed": True}

    @grid_rpc
    def party_overlay(self, code: str, *, caller: Caller) -> dict:
        """Party units on grids under `code` and the party members' household links:
        {units: [{grid_code, kind, name, secretary}], links: [{grid_code, member, households:
        [{id, label}]}]}."""
        caller.require_visible(code, "grid_code")
        units = [
            {
                "grid_code": u["_id"],
                "kind": u["kind"],
                "name": u["name"],
                "secretary": u.get("secretary"),
            }
            for u in self.store.party_units_under(code)
        ]
        links = []
        for link in self.store.party_links_under(code):
            found = self.store.households_by_ids(link["household_ids"])
            links.append(
                {
                    "grid_code": link["grid_code"],
                    "member": link["member_name"],
                    "member_key": link.get("member_user_id") or link["member_name"],
                    "households": [
                        {"id": hid, "label": households.address_label(found[hid]["address"])}
                        for hid in link["household_ids"]
                        if hid in found
                    ],
                }
            )
        return {"units": units, "links": links}
