"""Writes a deterministic, realistic DiscordChatExporter JSON export of a requested size.

Used to prove the Discord importer streams big files in bounded memory and to measure its
speed. The output is laid out like DCE writes it (two-space indent, one key per line) and is
built from pre-rendered string templates so that 1 GB takes well under a minute.

    python bench/gen_dce.py OUT.json --size 1GB
    python bench/gen_dce.py OUT.json --messages 100000 --seed 7
"""

from __future__ import annotations

import argparse
import random
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import orjson

_DISCORD_EPOCH_MS = 1_420_070_400_000
_START = datetime(2023, 1, 2, 9, 0, tzinfo=UTC)
_ZONE = timezone(timedelta(hours=2))  # DCE writes the exporting machine's offset
_UNITS = {"": 1, "B": 1, "K": 1024, "KB": 1024, "M": 1024**2, "MB": 1024**2}
_UNITS |= {"G": 1024**3, "GB": 1024**3}
_BATCH = 500

_TEXT = (
    "hello gm gn wen moon ser anyone tried the new build? lol lmao +1 agreed thanks "
    "docs link here https://example.org/docs/start broken again :( works for me "
    "can a mod help? ban this spammer pls AMA tomorrow at 18:00 UTC see you there "
    "café naïve straße Ελληνικά русский 日本語 中文 한국어 עברית العربية 🙂 🎉 🚀 👍🏽 "
    "👨‍👩‍👧 <@123456789012345678> **bold** __underline__ `code` [link](https://x.y) "
    '"quoted" \\back\\slash\\ tab\there new\nline'
)
_WORDS = _TEXT.split(" ")
_EMOJIS = (
    ("👍", None),
    ("❤️", None),
    ("😂", None),
    ("🎉", None),
    ("pepe_hype", "740201534321999882"),
)
_ROLE = '{"id": "%s", "name": "%s", "color": "#1F8B4C", "position": %d}'


def _snowflake(ts_ms: int, seq: int) -> str:
    return str(((ts_ms - _DISCORD_EPOCH_MS) << 22) | (1 << 17) | (seq & 0xFFF))


def _q(value: str) -> str:
    """A JSON string literal, escaped exactly as a JSON writer would."""
    return orjson.dumps(value).decode()


def _user_fields(uid: str, name: str, disc: str, nick: str | None, bot: bool) -> list[str]:
    return [
        f'"id": "{uid}"',
        f'"name": {_q(name)}',
        f'"discriminator": "{disc}"',
        f'"nickname": {_q(nick) if nick else _q(name)}',
        '"color": "#E67E22"' if bot else '"color": null',
        f'"isBot": {"true" if bot else "false"}',
    ]


class _Author:
    """One member, pre-rendered: its author block and its block inside reaction users."""

    __slots__ = ("block", "id", "name", "user")

    def __init__(self, rng: random.Random, index: int) -> None:
        self.id = str(300_000_000_000_000_000 + index * 7919 + rng.randrange(1000))
        base = rng.choice(
            ["alice", "bob", "chen", "dmitri", "eve", "fatima", "gus", "hana", "ülrich"]
        )
        self.name = f"{base}{index}"
        disc = "0" if index % 3 else f"{rng.randrange(1, 10000):04d}"
        nick = rng.choice([None, None, f"{base.title()} ✨{index}", f"[mod] {base}"])
        bot = index % 97 == 0
        fields = _user_fields(self.id, self.name, disc, nick, bot)
        avatar = (
            f'"avatarUrl": "https://cdn.discordapp.com/avatars/{self.id}/{index:032x}.png?size=512"'
        )
        roles = [_ROLE % (str(900 + r), f"role {r}", r) for r in range(index % 3)]
        pad = "\n" + " " * 8
        role_block = (
            "[]" if not roles else "[" + pad + "  " + ("," + pad + "  ").join(roles) + pad + "]"
        )
        self.block = (
            "{" + pad + ("," + pad).join([*fields, f'"roles": {role_block}', avatar]) + "\n      }"
        )
        upad = "\n" + " " * 14
        self.user = "{" + upad + ("," + upad).join([*fields, avatar]) + "\n            }"


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.authors = [_Author(self.rng, i) for i in range(2000)]
        self.texts = [self._sentence() for _ in range(4000)]
        self.channel_id = _snowflake(int(_START.timestamp() * 1000) - 10**9, 1)
        self.guild_id = _snowflake(int(_START.timestamp() * 1000) - 10**10, 2)
        self.ms = int(_START.timestamp() * 1000)
        self.seq = 0
        self.recent: list[str] = []

    def _sentence(self) -> str:
        words = [self.rng.choice(_WORDS) for _ in range(self.rng.randint(1, 40))]
        return _q(" ".join(words))

    def head(self) -> str:
        return (
            "{\n"
            '  "guild": {\n'
            f'    "id": "{self.guild_id}",\n'
            '    "name": "Cockpit Bench 🚀",\n'
            f'    "iconUrl": "https://cdn.discordapp.com/icons/{self.guild_id}/a.png"\n'
            "  },\n"
            '  "channel": {\n'
            f'    "id": "{self.channel_id}",\n'
            '    "type": "GuildTextChat",\n'
            '    "categoryId": "1000000000000000001",\n'
            '    "category": "Community",\n'
            '    "name": "general",\n'
            '    "topic": "Say hi \\ud83d\\udc4b — be kind"\n'
            "  },\n"
            '  "dateRange": {\n    "after": null,\n    "before": null\n  },\n'
            '  "exportedAt": "2024-01-01T00:00:00.000+02:00",\n'
            '  "messages": ['
        )

    @staticmethod
    def tail(count: int) -> str:
        return f'\n  ],\n  "messageCount": {count}\n}}\n'

    def message(self) -> str:
        rng = self.rng
        self.ms += rng.randint(50, 90_000)
        self.seq += 1
        mid = _snowflake(self.ms, self.seq)
        ts = datetime.fromtimestamp(self.ms / 1000, _ZONE).isoformat(timespec="milliseconds")
        author = rng.choice(self.authors)
        roll = rng.random()
        kind, content, extra = "Default", rng.choice(self.texts), ""
        if roll < 0.02:
            kind, content = "GuildMemberJoin", '""'
        elif roll < 0.025:
            kind, content = "ChannelPinnedMessage", '"Pinned a message."'
        elif roll < 0.2 and self.recent:
            kind = "Reply"
            extra = (
                ',\n      "reference": {\n'
                f'        "messageId": "{rng.choice(self.recent)}",\n'
                f'        "channelId": "{self.channel_id}",\n'
                f'        "guildId": "{self.guild_id}"\n      }}'
            )
        edited = "null"
        if rng.random() < 0.05:
            edited = (
                '"'
                + datetime.fromtimestamp(
                    (self.ms + rng.randint(1000, 600_000)) / 1000, _ZONE
                ).isoformat(timespec="milliseconds")
                + '"'
            )
        mentions = "[]"
        if rng.random() < 0.05:
            mentioned = rng.choice(self.authors)
            mentions = (
                "[\n        {\n"
                f'          "id": "{mentioned.id}",\n'
                f'          "name": {_q(mentioned.name)}\n        }}\n      ]'
            )
        self.recent.append(mid)
        if len(self.recent) > 50:
            del self.recent[:25]
        return (
            "\n    {\n"
            f'      "id": "{mid}",\n'
            f'      "type": "{kind}",\n'
            f'      "timestamp": "{ts}",\n'
            f'      "timestampEdited": {edited},\n'
            '      "callEndedTimestamp": null,\n'
            f'      "isPinned": {"true" if roll < 0.003 else "false"},\n'
            f'      "content": {content},\n'
            f'      "author": {author.block},\n'
            f'      "attachments": {self._attachments()},\n'
            '      "embeds": [],\n'
            '      "stickers": [],\n'
            f'      "reactions": {self._reactions()},\n'
            f'      "mentions": {mentions},\n'
            '      "inlineEmojis": []'
            f"{extra}\n    }}"
        )

    def _attachments(self) -> str:
        if self.rng.random() >= 0.04:
            return "[]"
        aid = _snowflake(self.ms, self.seq + 7)
        return (
            "[\n        {\n"
            f'          "id": "{aid}",\n'
            f'          "url": "https://cdn.discordapp.com/attachments/{self.channel_id}/{aid}/image.png",\n'
            '          "fileName": "image.png",\n'
            f'          "fileSizeBytes": {self.rng.randint(1000, 8_000_000)}\n'
            "        }\n      ]"
        )

    def _reactions(self) -> str:
        rng = self.rng
        if rng.random() >= 0.15:
            return "[]"
        parts = []
        for name, eid in rng.sample(_EMOJIS, rng.randint(1, 3)):
            users = rng.sample(self.authors, rng.randint(1, 4))
            user_block = ""
            if rng.random() < 0.5:  # newer DCE versions list who reacted
                user_block = (
                    ',\n          "users": [\n            '
                    + ",\n            ".join(u.user for u in users)
                    + "\n          ]"
                )
            image = f"https://cdn.discordapp.com/emojis/{eid}.png" if eid else "https://x/e.svg"
            parts.append(
                '{\n          "emoji": {\n'
                f'            "id": {_q(eid) if eid else "null"},\n'
                f'            "name": {_q(name)},\n'
                f'            "code": {_q(name)},\n'
                '            "isAnimated": false,\n'
                f'            "imageUrl": "{image}"\n'
                "          },\n"
                f'          "count": {len(users)}{user_block}\n'
                "        }"
            )
        return "[\n        " + ",\n        ".join(parts) + "\n      ]"


def write_dce(
    path: Path, *, size: int | None = None, messages: int | None = None, seed: int = 1
) -> int:
    """Write the export and return the number of messages; stops at `messages` or `size` bytes."""
    if size is None and messages is None:
        raise ValueError("give a size or a message count")
    gen = _Generator(seed)
    written = count = 0
    with path.open("wb", buffering=1 << 20) as out:
        chunk = gen.head().encode()
        out.write(chunk)
        written += len(chunk)
        while True:
            batch: list[str] = []
            pending = 0  # characters, a slight underestimate of bytes
            for _ in range(_BATCH):
                if messages is not None and count >= messages:
                    break
                if size is not None and written + pending >= size:
                    break
                piece = ("," if count else "") + gen.message()
                batch.append(piece)
                pending += len(piece)
                count += 1
            if not batch:
                break
            data = "".join(batch).encode()
            out.write(data)
            written += len(data)
        out.write(gen.tail(count).encode())
    return count


def parse_size(text: str) -> int:
    """'1GB', '500MB', '20M', '1048576' (binary units)."""
    raw = text.strip().upper()
    digits = raw.rstrip("KMGB")
    unit = raw[len(digits) :]
    try:
        value = float(digits)
    except ValueError:
        value = -1.0
    if unit not in _UNITS or value <= 0:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (expected e.g. 20MB, 1GB)")
    return int(value * _UNITS[unit])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("out", type=Path)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--size", type=parse_size, help="approximate file size, e.g. 1GB")
    group.add_argument("--messages", type=int, help="exact number of messages")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    count = write_dce(args.out, size=args.size, messages=args.messages, seed=args.seed)
    print(f"{args.out}: {count} messages, {args.out.stat().st_size} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
