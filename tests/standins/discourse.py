"""A loopback Discourse API for the moderation endpoints (Api-Key / Api-Username headers):
posts, silence/unsilence, suspend/unsuspend, topic status, replies. Refusals as Discourse
sends them: `{"errors": [...], "error_type": "invalid_access" | "not_found" | "rate_limit"}`,
a 429 carrying `extras.wait_seconds`."""

from __future__ import annotations

from typing import Any

from .server import Reply, Seen, StandIn

KEY = "discourse-SECRET-api-key"
USERNAME = "system"


def invalid_access() -> Reply:
    return Reply(
        403,
        {
            "errors": ["You are not permitted to view the requested resource."],
            "error_type": "invalid_access",
        },
    )


def not_found() -> Reply:
    return Reply(
        404,
        {
            "errors": ["The requested URL or resource could not be found."],
            "error_type": "not_found",
        },
    )


def rate_limited(seconds: int) -> Reply:
    return Reply(
        429,
        {
            "errors": [
                f"You’ve performed this action too many times. Please wait {seconds} seconds "
                "before trying again."
            ],
            "error_type": "rate_limit",
            "extras": {"wait_seconds": seconds, "time_left": f"{seconds} seconds"},
        },
    )


class DiscourseStandIn(StandIn):
    def __init__(self) -> None:
        super().__init__()
        self.staff = True
        self.users: dict[str, dict[str, Any]] = {}
        self.posts: dict[str, dict[str, Any]] = {}
        self.topics: dict[str, dict[str, Any]] = {}
        self.next_post = 500
        self.groups: dict[str, set[str]] = {"41": set()}  # group id -> member user ids
        r = self.route
        r("PUT", "/groups/{gid}/members.json", self._add_members)
        r("DELETE", "/groups/{gid}/members.json", self._remove_members)
        r("GET", "/posts/{pid}.json", self._get_post)
        r("DELETE", "/posts/{pid}.json", self._delete_post)
        r("POST", "/posts.json", self._create_post)
        r("GET", "/t/{tid}.json", self._get_topic)
        r("PUT", "/t/{tid}/status.json", self._topic_status)
        r("GET", "/admin/users/{uid}.json", self._get_user)
        for verb in ("silence", "unsilence", "suspend", "unsuspend"):
            r("PUT", f"/admin/users/{{uid}}/{verb}.json", self._user_verb(verb))

    def check_auth(self, request: Seen) -> Reply | None:
        if request.headers.get("api-key") != KEY or request.headers.get("api-username") != USERNAME:
            return invalid_access()
        return None

    def add_user(self, uid: str) -> None:
        self.users[uid] = {
            "id": int(uid),
            "username": f"user{uid}",
            "silenced_till": None,
            "suspended_till": None,
        }

    def add_topic(self, tid: str) -> None:
        self.topics[tid] = {"id": int(tid), "closed": False, "highest_post_number": 0}

    def add_post(self, pid: str, tid: str) -> None:
        topic = self.topics[tid]
        topic["highest_post_number"] += 1
        self.posts[pid] = {
            "id": int(pid),
            "topic_id": int(tid),
            "post_number": topic["highest_post_number"],
            "deleted_at": None,
        }

    def _get_post(self, q: Seen, a: dict[str, str]) -> Reply:
        post = self.posts.get(a["pid"])
        return Reply(200, post) if post else not_found()

    def _delete_post(self, q: Seen, a: dict[str, str]) -> Reply:
        if not self.staff:
            return invalid_access()
        if self.posts.pop(a["pid"], None) is None:
            return not_found()
        return Reply(200, {})

    def _create_post(self, q: Seen, a: dict[str, str]) -> Reply:
        body = q.json or {}
        topic = self.topics.get(str(body.get("topic_id")))
        if topic is None:
            return not_found()
        raw = str(body.get("raw", ""))
        if len(raw) < 20:
            return Reply(
                422,
                {
                    "action": "create_post",
                    "errors": ["Body is too short (minimum is 20 characters)"],
                },
            )
        self.next_post += 1
        pid = str(self.next_post)
        self.add_post(pid, str(topic["id"]))
        post = dict(self.posts[pid], raw=raw, reply_to_post_number=body.get("reply_to_post_number"))
        return Reply(200, post)

    def _get_topic(self, q: Seen, a: dict[str, str]) -> Reply:
        topic = self.topics.get(a["tid"])
        return Reply(200, topic) if topic else not_found()

    def _topic_status(self, q: Seen, a: dict[str, str]) -> Reply:
        topic = self.topics.get(a["tid"])
        if topic is None:
            return not_found()
        if not self.staff:
            return invalid_access()
        body = q.json or {}
        if body.get("status") == "closed":
            topic["closed"] = str(body.get("enabled")).lower() == "true"
        return Reply(200, {"success": "OK", "topic_status_update": None})

    def _get_user(self, q: Seen, a: dict[str, str]) -> Reply:
        if not self.staff:
            return invalid_access()
        user = self.users.get(a["uid"])
        if user is None:
            return not_found()
        groups = [
            {"id": int(g), "name": f"g{g}"} for g, ids in self.groups.items() if a["uid"] in ids
        ]
        return Reply(200, {**user, "groups": groups})

    def _members_call(self, q: Seen, a: dict[str, str]) -> tuple[set[str], list[str]] | Reply:
        if not self.staff:
            return invalid_access()
        group = self.groups.get(a["gid"])
        if group is None:
            return not_found()
        ids = [i.strip() for i in str((q.json or {}).get("user_ids", "")).split(",") if i.strip()]
        if not ids or any(i not in self.users for i in ids):
            return Reply(
                400, {"errors": ["You supplied invalid parameters to the request: usernames"]}
            )
        return group, ids

    def _add_members(self, q: Seen, a: dict[str, str]) -> Reply:
        got = self._members_call(q, a)
        if isinstance(got, Reply):
            return got
        group, ids = got
        already = [self.users[i]["username"] for i in ids if i in group]
        if already:
            return Reply(
                422, {"errors": [f"{', '.join(already)} is already a member of this group"]}
            )
        group.update(ids)
        return Reply(200, {"success": "OK", "usernames": [self.users[i]["username"] for i in ids]})

    def _remove_members(self, q: Seen, a: dict[str, str]) -> Reply:
        got = self._members_call(q, a)
        if isinstance(got, Reply):
            return got
        group, ids = got
        skipped = [self.users[i]["username"] for i in ids if i not in group]
        group.difference_update(ids)
        return Reply(200, {"success": "OK", "usernames": [], "skipped_usernames": skipped})

    def _user_verb(self, verb: str) -> Any:
        def handle(q: Seen, a: dict[str, str]) -> Reply:
            if not self.staff:
                return invalid_access()
            user = self.users.get(a["uid"])
            if user is None:
                return not_found()
            body = q.json or {}
            if verb == "silence":
                user["silenced_till"] = body.get("silenced_till")
                user["silence_reason"] = body.get("reason")
                return Reply(
                    200, {"silence": {"silenced": True, "silenced_till": user["silenced_till"]}}
                )
            if verb == "suspend":
                user["suspended_till"] = body.get("suspend_until")
                user["suspend_reason"] = body.get("reason")
                return Reply(200, {"suspension": {"suspended_till": user["suspended_till"]}})
            user["silenced_till" if verb == "unsilence" else "suspended_till"] = None
            return Reply(200, {"success": "OK"})

        return handle
