"""Discourse posts (as /posts.json lists them) as activities.

source_id is the post id; channel is the category; thread is the topic.
"""

from __future__ import annotations

from typing import Any

from cockpit.model import Activity, Kind, Quarantined, Record
from cockpit.plugin_kit import parse_iso, raw_json

PLATFORM = "discourse"


def post_record(post: Any, community: str, categories: dict[int, str], origin: str) -> Record:
    """One post from /posts.json as an activity, or a quarantine with the reason."""
    try:
        if not isinstance(post, dict):
            raise ValueError("post is not an object")
        pid = post["id"]
        if not isinstance(pid, int) or isinstance(pid, bool):
            raise ValueError("post id is not an integer")
        user_id = post.get("user_id")
        username = post.get("username")
        if not isinstance(username, str) or not username:
            raise ValueError("post has no username")
        created = parse_iso(str(post["created_at"]))
        category = post.get("category_id")
        topic = post.get("topic_id")
        text = post.get("raw") if isinstance(post.get("raw"), str) else post.get("cooked", "")
        if not isinstance(text, str):
            raise ValueError("post text is not a string")
        updated = post.get("updated_at")
        edited = (
            parse_iso(updated) if isinstance(updated, str) and post.get("version", 1) != 1 else None
        )
        extras = {k: post[k] for k in ("topic_title", "topic_slug", "post_number") if k in post}
        reply_no = post.get("reply_to_post_number")
        if isinstance(reply_no, int):
            extras["reply_to_post_number"] = reply_no
        name = (
            post.get("name") if isinstance(post.get("name"), str) and post.get("name") else username
        )
        return Activity(
            platform=PLATFORM,
            source_id=str(pid),
            kind=Kind.MESSAGE,
            ts=created,
            channel=categories.get(category, f"category {category}")
            if isinstance(category, int)
            else "uncategorized",
            channel_id=str(category) if category is not None else "uncategorized",
            author=str(name),
            author_id=str(user_id) if isinstance(user_id, int) else f"name:{username}",
            author_handle=username,
            text=text,
            community=community,
            thread=str(topic) if topic is not None else None,
            edited_ts=edited,
            is_bot=isinstance(user_id, int) and user_id < 0,  # system and bots have ids <= 0
            extras=extras,
        ).normalized()
    except (KeyError, ValueError, TypeError) as exc:
        pid_text = post.get("id") if isinstance(post, dict) else None
        reason = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
        return Quarantined(PLATFORM, origin, f"post {pid_text}", reason, raw_json(post))
