"""WhatsApp "Export chat" importer: formats, kinds, identity, zips, refusals, conformance."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import zipfile
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cockpit.errors import ImportRefused
from cockpit.model import Activity, Kind, Quarantined, Record
from cockpit.plugin_api import ImportContext
from cockpit.plugins.whatsapp import WhatsAppImporter, chat_name, plugin

FIXTURES = Path(__file__).parent / "fixtures" / "whatsapp"
FAMILY = FIXTURES / "WhatsApp Chat with Family.txt"
IOS = FIXTURES / "ios_chat.txt"
VEREIN = FIXTURES / "verein.txt"
BERLIN = ZoneInfo("Europe/Berlin")
IMPORTER = WhatsAppImporter()
NNBSP = "\u202f"


def read(
    path: Path, tz: tzinfo | None = BERLIN, warn: Callable[[str], None] | None = None
) -> list[Record]:
    ctx = ImportContext(community="acme", tz=tz, warn=warn or (lambda message: None))
    return list(IMPORTER.read(path, ctx))


def activities(records: list[Record]) -> list[Activity]:
    assert not [r for r in records if isinstance(r, Quarantined)]
    out = [r for r in records if isinstance(r, Activity)]
    for act in out:
        assert act.validate() is None
    return out


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def sniff(path: Path) -> bool:
    return bool(IMPORTER.sniff(path, path.read_bytes()[: 64 * 1024]))


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def table(acts: list[Activity]) -> list[tuple[object, ...]]:
    return [(a.kind, a.ts, a.author, a.author_id, a.text, a.attachments) for a in acts]


# --- the plugin ------------------------------------------------------------------------


def test_plugin_offers_the_importer() -> None:
    assert plugin.name == "whatsapp"
    assert plugin.platform == "whatsapp"
    [imp] = plugin.importers
    assert (imp.name, imp.platform) == ("whatsapp-txt", "whatsapp")
    assert imp.description == "WhatsApp chat export (.txt or .zip)"


# --- full exports ----------------------------------------------------------------------


def test_android_export_with_bom_crlf_and_system_lines() -> None:
    acts = activities(read(FAMILY))
    added = "Anna-Lena added \u202a+49 170 1234567\u202c, Tom & Jerry and Bob"
    assert table(acts) == [
        (
            Kind.SYSTEM,
            utc(2023, 12, 30, 8, 0),
            "system",
            "system",
            "Messages and calls are end-to-end encrypted. No one outside of this chat, "
            "not even WhatsApp, can read or listen to them. Tap to learn more.",
            0,
        ),
        (
            Kind.SYSTEM,
            utc(2023, 12, 30, 8, 1),
            "system",
            "system",
            'Anna-Lena created group "Family: the real one"',
            0,
        ),
        (Kind.JOIN, utc(2023, 12, 30, 8, 2), "+49 170 1234567", "+491701234567", added, 0),
        (Kind.JOIN, utc(2023, 12, 30, 8, 2), "Tom & Jerry", "Tom & Jerry", added, 0),
        (Kind.JOIN, utc(2023, 12, 30, 8, 2), "Bob", "Bob", added, 0),
        (
            Kind.JOIN,
            utc(2023, 12, 30, 8, 3),
            "Bob",
            "Bob",
            "Bob joined using this group's invite link",
            0,
        ),
        (
            Kind.MESSAGE,
            utc(2023, 12, 30, 8, 5),
            "+49 170 1234567",
            "+491701234567",
            "Hi all! Agenda : cake, then games",
            0,
        ),
        (
            Kind.MESSAGE,
            utc(2023, 12, 30, 8, 6),
            "Tom & Jerry",
            "Tom & Jerry",
            "First line\nsecond line\n\nfourth line after a blank one",
            0,
        ),
        (Kind.MESSAGE, utc(2023, 12, 30, 8, 7), "Dr. J. Smith 🤓", "Dr. J. Smith 🤓", "", 1),
        (
            Kind.MESSAGE,
            utc(2023, 12, 30, 8, 8),
            "Anna-Lena",
            "Anna-Lena",
            "Look at this [bold]cake[/bold] \x1b[31m!",
            1,
        ),
        (Kind.DELETE, utc(2023, 12, 30, 8, 9), "Bob", "Bob", "This message was deleted", 0),
        (Kind.MESSAGE, utc(2023, 12, 30, 8, 10), "Anna-Lena", "Anna-Lena", "See you at 8", 0),
        (Kind.MESSAGE, utc(2023, 12, 30, 22, 59), "Bob", "Bob", "ok", 0),
        (Kind.MESSAGE, utc(2023, 12, 30, 22, 59), "Bob", "Bob", "ok", 0),
        (Kind.MESSAGE, utc(2023, 12, 30, 23, 0), "Bob", "Bob", "Happy new year (almost)", 0),
        (Kind.LEAVE, utc(2023, 12, 31, 11, 30), "Bob", "Bob", "Anna-Lena removed Bob", 0),
        (
            Kind.LEAVE,
            utc(2023, 12, 31, 11, 31),
            "+49 170 1234567",
            "+491701234567",
            "\u202a+49 170 1234567\u202c left",
            0,
        ),
        (
            Kind.SYSTEM,
            utc(2023, 12, 31, 11, 32),
            "system",
            "system",
            "Anna-Lena changed this group's icon",
            0,
        ),
        (
            Kind.SYSTEM,
            utc(2023, 12, 31, 11, 33),
            "system",
            "system",
            'Anna-Lena changed the subject from "Family" to "Family: 2024"',
            0,
        ),
        (Kind.JOIN, utc(2023, 12, 31, 11, 34), "You", "You", "You were added", 0),
    ]
    assert {(a.platform, a.community, a.channel, a.channel_id) for a in acts} == {
        ("whatsapp", "acme", "Family", "chat:Family")
    }
    assert acts[2].extras == {"system": True, "by": "Anna-Lena"}
    assert acts[9].extras == {"media": "IMG-20231230-WA0001.jpg"}
    assert acts[11].extras == {"edited": True}
    assert acts[15].extras == {"system": True, "by": "Anna-Lena"}


def test_ios_export_with_lrm_marks_and_dst_edges() -> None:
    acts = activities(read(IOS))
    assert table(acts) == [
        (
            Kind.SYSTEM,
            utc(2024, 3, 31, 7, 15, 0),
            "system",
            "system",
            "Messages and calls are end-to-end encrypted. No one outside of this chat, "
            "not even WhatsApp, can read or listen to them.",
            0,
        ),
        (
            Kind.SYSTEM,
            utc(2024, 3, 31, 7, 15, 1),
            "system",
            "system",
            "Maria created group “Book Club”",
            0,
        ),
        (Kind.JOIN, utc(2024, 3, 31, 7, 15, 2), "Jo", "Jo", "Maria added Jo", 0),
        # Out of order lines are kept where they are.
        (Kind.MESSAGE, utc(2024, 3, 31, 0, 30), "Maria", "Maria", "Out of order, but fine", 0),
        # 02:30 on 2024-03-31 does not exist in Berlin: read with the offset before the gap.
        (Kind.MESSAGE, utc(2024, 3, 31, 1, 30), "Maria", "Maria", "", 1),
        (Kind.MESSAGE, utc(2024, 3, 31, 1, 31), "Jo", "Jo", "", 1),
        (Kind.DELETE, utc(2024, 3, 31, 1, 30), "Jo", "Jo", "This message was deleted.", 0),
        # 02:30 on 2024-10-27 happens twice in Berlin: the first (summer time) is meant.
        (Kind.MESSAGE, utc(2024, 10, 27, 0, 30), "Maria", "Maria", "Clocks go back tonight", 0),
        (
            Kind.MESSAGE,
            utc(2024, 10, 27, 0, 45, 10),
            "Jo",
            "Jo",
            "The plot: twisty\n\n<script>alert(1)</script>",
            0,
        ),
        (Kind.LEAVE, utc(2024, 10, 27, 2, 0), "Jo", "Jo", "Jo left", 0),
    ]
    assert acts[4].extras == {"media": "00000012-PHOTO-2024-03-31-02-30-00.jpg"}
    assert acts[7].extras == {"edited": True}
    assert {a.channel_id for a in acts} == {"chat:ios_chat"}


def test_german_day_first_export_without_trailing_newline() -> None:
    warnings: list[str] = []
    acts = activities(read(VEREIN, warn=warnings.append))
    assert table(acts) == [
        (
            Kind.SYSTEM,
            utc(2023, 12, 31, 20, 41),
            "system",
            "system",
            "Nachrichten und Anrufe sind Ende-zu-Ende-verschlüsselt.",
            0,
        ),
        (Kind.MESSAGE, utc(2023, 12, 31, 20, 42), "Jürgen", "Jürgen", "Frohes neues Jahr! 🎆", 0),
        (
            Kind.MESSAGE,
            utc(2023, 12, 31, 23, 0),
            "Ärzte-Team & Co.",
            "Ärzte-Team & Co.",
            "Prost",
            0,
        ),
    ]
    assert acts[0].channel_id == "chat:verein"
    assert warnings == []


# --- header variants -------------------------------------------------------------------

VARIANTS = [
    ("12/31/23, 9:41 PM - Ann: hi", datetime(2023, 12, 31, 21, 41)),
    (f"12/31/23, 9:41{NNBSP}PM - Ann: hi", datetime(2023, 12, 31, 21, 41)),
    ("12/31/23, 9:41\u00a0PM - Ann: hi", datetime(2023, 12, 31, 21, 41)),
    ("12/31/23, 9:41 am - Ann: hi", datetime(2023, 12, 31, 9, 41)),
    ("12/31/23, 12:00 PM - Ann: hi", datetime(2023, 12, 31, 12, 0)),
    ("12/31/23, 12:10 AM - Ann: hi", datetime(2023, 12, 31, 0, 10)),
    ("31.12.23, 21:41 - Ann: hi", datetime(2023, 12, 31, 21, 41)),
    ("2023-12-31, 21:41 - Ann: hi", datetime(2023, 12, 31, 21, 41)),
    ("2023/12/31, 21:41. - Ann: hi", datetime(2023, 12, 31, 21, 41)),
    ("31-12-2023 21:41:07 - Ann: hi", datetime(2023, 12, 31, 21, 41, 7)),
    ("12/31/2023 9:41 p.m. - Ann: hi", datetime(2023, 12, 31, 21, 41)),
    ("12/31/2023, 9:41 p. m. - Ann: hi", datetime(2023, 12, 31, 21, 41)),
    ("12/31/2023, 9:41 p.\u00a0m. - Ann: hi", datetime(2023, 12, 31, 21, 41)),
    ("31/12/2023, 12:05 a. m. - Ann: hi", datetime(2023, 12, 31, 0, 5)),
    ("31/12/2023, 00:08 a. m. - Ann: hi", datetime(2023, 12, 31, 0, 8)),
    ("31/12/2023, 13:37:00 p.m. - Ann: hi", datetime(2023, 12, 31, 13, 37)),
    ("[31/12/2023, 21:41:05] Ann: hi", datetime(2023, 12, 31, 21, 41, 5)),
    ("[12/31/23, 9:41:05 PM] Ann: hi", datetime(2023, 12, 31, 21, 41, 5)),
    ("[12/31/23 9:41:05 PM] Ann: hi", datetime(2023, 12, 31, 21, 41, 5)),
    ("\u200e[31.12.23, 21:41:05] Ann: hi", datetime(2023, 12, 31, 21, 41, 5)),
    ("[2023-12-31 21:41] Ann: hi", datetime(2023, 12, 31, 21, 41)),
]


@pytest.mark.parametrize(("line", "local"), VARIANTS, ids=[v[0] for v in VARIANTS])
def test_header_variants(tmp_path: Path, line: str, local: datetime) -> None:
    path = write(tmp_path, "chat.txt", line + "\n")
    assert sniff(path)
    warnings: list[str] = []
    [act] = activities(read(path, tz=ZoneInfo("America/New_York"), warn=warnings.append))
    assert act.ts == local.replace(tzinfo=ZoneInfo("America/New_York")).astimezone(UTC)
    assert (act.kind, act.author, act.text) == (Kind.MESSAGE, "Ann", "hi")
    assert warnings == []


@pytest.mark.parametrize(
    ("rest", "kind", "authors"),
    [
        ("Ann left", Kind.LEAVE, ["Ann"]),
        ("You left", Kind.LEAVE, ["You"]),
        ("Ann removed Bob", Kind.LEAVE, ["Bob"]),
        ("Ann removed you", Kind.LEAVE, ["You"]),
        ("Ann added you", Kind.JOIN, ["You"]),
        ("You added Bob and Cy", Kind.JOIN, ["Bob", "Cy"]),
        ("You were added", Kind.JOIN, ["You"]),
        ("~Zed joined using this group's invite link", Kind.JOIN, ["~Zed"]),
        ("You created group “Club”", Kind.SYSTEM, ["system"]),
        ("Your security code with Ann changed. Tap to learn more.", Kind.SYSTEM, ["system"]),
        ("Ann changed the group description", Kind.SYSTEM, ["system"]),
        ("Something WhatsApp will say one day", Kind.SYSTEM, ["system"]),
        ("Ann changed the time to 10:30", Kind.SYSTEM, ["system"]),
    ],
)
def test_system_lines(tmp_path: Path, rest: str, kind: Kind, authors: list[str]) -> None:
    path = write(tmp_path, "chat.txt", f"31/12/2023, 21:41 - {rest}\n")
    acts = activities(read(path))
    assert [(a.kind, a.author, a.text) for a in acts] == [(kind, who, rest) for who in authors]


def test_odd_message_bodies(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "chat.txt",
        "31/12/2023, 21:41 - Ann:.\n"
        "31/12/2023, 21:42 - Ann:\n"
        "second line of an empty-first-line message\n"
        "31/12/2023, 21:43 - Ann: You deleted this message\n"
        "31/12/2023, 21:44 - Ann: report.pdf • 3 pages \u200edocument omitted\n"
        "31/12/2023, 21:45 - Ann: Ann left\n",
    )
    acts = activities(read(path))
    assert [(a.kind, a.text, a.attachments) for a in acts] == [
        (Kind.MESSAGE, ".", 0),
        (Kind.MESSAGE, "\nsecond line of an empty-first-line message", 0),
        (Kind.DELETE, "You deleted this message", 0),
        (Kind.MESSAGE, "", 1),
        (Kind.MESSAGE, "Ann left", 0),
    ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("WhatsApp Chat with Family.txt", "Family"),
        ("WhatsApp Chat - Book Club.zip", "Book Club"),
        ("WhatsApp Chat with Family (1).txt", "Family"),
        ("WhatsApp-Chat mit Verein.zip", "Verein"),
        ("_chat.txt", None),
        ("family.txt", None),
    ],
)
def test_chat_name_from_file_name(name: str, expected: str | None) -> None:
    assert chat_name(name) == expected


# --- date order and time zone ----------------------------------------------------------


def test_date_order_from_a_late_disambiguating_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "chat.txt",
        "01/02/24, 10:00 - Ann: a\n05/02/24, 10:00 - Ann: b\n13/02/24, 10:00 - Ann: c\n",
    )
    warnings: list[str] = []
    acts = activities(read(path, tz=UTC, warn=warnings.append))
    assert [a.ts for a in acts] == [utc(2024, 2, 1, 10), utc(2024, 2, 5, 10), utc(2024, 2, 13, 10)]
    assert warnings == []


def test_ambiguous_dates_prefer_the_order_that_runs_forward(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "chat.txt",
        "01/02/24, 10:00 - Ann: a\n01/05/24, 10:00 - Ann: b\n02/03/24, 10:00 - Ann: c\n",
    )
    warnings: list[str] = []
    acts = activities(read(path, tz=UTC, warn=warnings.append))
    assert [a.ts for a in acts] == [utc(2024, 1, 2, 10), utc(2024, 1, 5, 10), utc(2024, 2, 3, 10)]
    assert len(warnings) == 1
    assert "assumed month/day/year" in warnings[0]


def test_ambiguous_dates_default_to_day_first_with_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path, "chat.txt", "01/02/24, 10:00 - Ann: a\n03/04/24, 10:00 - Ann: b\n")
    warnings: list[str] = []
    acts = activities(read(path, tz=UTC, warn=warnings.append))
    assert [a.ts for a in acts] == [utc(2024, 2, 1, 10), utc(2024, 4, 3, 10)]
    assert len(warnings) == 1
    assert "assumed day/month/year" in warnings[0]


def test_conflicting_date_orders_quarantine_the_minority(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "chat.txt",
        "13/01/24, 10:00 - Ann: a\n14/01/24, 10:00 - Ann: b\n01/15/24, 10:00 - Ann: c\nmore\n"
        "16/01/24, 10:00 - Ann: d\n",
    )
    warnings: list[str] = []
    records = read(path, tz=UTC, warn=warnings.append)
    assert [type(r).__name__ for r in records] == [
        "Activity",
        "Activity",
        "Quarantined",
        "Activity",
    ]
    bad = records[2]
    assert isinstance(bad, Quarantined)
    assert (bad.platform, bad.origin, bad.position) == ("whatsapp", "chat.txt", "line 3")
    assert bad.raw == "01/15/24, 10:00 - Ann: c\nmore"
    assert "day/month/year" in bad.reason
    assert len(warnings) == 1
    assert "both day-first and month-first" in warnings[0]


def test_no_time_zone_reads_utc_and_warns_once(tmp_path: Path) -> None:
    warnings: list[str] = []
    acts = activities(read(FAMILY, tz=None, warn=warnings.append))
    assert acts[0].ts == utc(2023, 12, 30, 9, 0)
    assert len(warnings) == 1
    assert "UTC" in warnings[0]
    assert "--tz" in warnings[0]


# --- identity --------------------------------------------------------------------------


def test_source_ids_are_stable_and_unique() -> None:
    first = activities(read(FAMILY))
    again = activities(read(FAMILY))
    other_tz = activities(read(FAMILY, tz=ZoneInfo("Asia/Tokyo")))
    ids = [a.source_id for a in first]
    assert ids == [a.source_id for a in again] == [a.source_id for a in other_tz]
    assert [a.ts for a in other_tz] == [a.ts - timedelta(hours=8) for a in first]
    assert len(set(ids)) == len(ids)  # the two identical "ok" lines differ by occurrence
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)


def test_source_id_formula_is_pinned() -> None:
    """Changing the formula would duplicate every WhatsApp message on re-import."""
    acts = activities(read(FAMILY))
    fields = ["chat:Family", f"12/30/23, 9:05{NNBSP}AM", "+49 170 1234567"]
    fields += ["Hi all! Agenda : cake, then games"]
    key = "".join(f"{len(f)}:{f}" for f in fields).encode()
    assert acts[6].source_id == hashlib.blake2b(key, digest_size=16).hexdigest()
    # The second of two identical lines gets the occurrence number appended.
    fields = ["chat:Family", f"12/30/23, 11:59{NNBSP}PM", "Bob", "ok"]
    key = "".join(f"{len(f)}:{f}" for f in fields).encode()
    assert acts[12].source_id == hashlib.blake2b(key, digest_size=16).hexdigest()
    assert acts[13].source_id == hashlib.blake2b(key + b"#1", digest_size=16).hexdigest()


def test_overlapping_exports_share_ids(tmp_path: Path) -> None:
    lines = FAMILY.read_bytes().split(b"\r\n")
    later = tmp_path / FAMILY.name
    later.write_bytes(b"\r\n".join(lines[5:]))  # a later export that starts mid-history
    full = {a.source_id for a in activities(read(FAMILY))}
    part = [a.source_id for a in activities(read(later))]
    assert len(part) == 13
    assert set(part) <= full


def test_ids_depend_on_the_chat(tmp_path: Path) -> None:
    renamed = write(tmp_path, "WhatsApp Chat with Neighbours.txt", FAMILY.read_bytes())
    acts = activities(read(renamed))
    assert {a.channel_id for a in acts} == {"chat:Neighbours"}
    assert not {a.source_id for a in acts} & {a.source_id for a in activities(read(FAMILY))}


# --- zip exports -----------------------------------------------------------------------


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_ios_zip_export(tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "WhatsApp Chat - Book Club.zip",
        {
            "_chat.txt": IOS.read_bytes(),
            "00000012-PHOTO-2024-03-31-02-30-00.jpg": b"\xff\xd8\xff\xe0 not really a jpeg",
        },
    )
    assert sniff(archive)
    acts = activities(read(archive))
    plain = activities(read(IOS))
    assert {a.channel for a in acts} == {"Book Club"}
    assert {a.channel_id for a in acts} == {"chat:Book Club"}
    assert table(acts) == table(plain)


def test_android_zip_gives_the_same_ids_as_its_text(tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "WhatsApp Chat with Family.zip",
        {
            "IMG-20231230-WA0001.jpg": b"\xff\xd8",
            "WhatsApp Chat with Family.txt": FAMILY.read_bytes(),
        },
    )
    assert sniff(archive)
    assert [a.source_id for a in activities(read(archive))] == [
        a.source_id for a in activities(read(FAMILY))
    ]


def test_zip_with_a_generic_name_takes_the_chat_name_from_its_member(tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "download.zip", {"WhatsApp Chat with Family.txt": VEREIN.read_bytes()}
    )
    assert {a.channel_id for a in activities(read(archive))} == {"chat:Family"}


def test_zip_without_a_chat_is_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "photos.zip", {"a.jpg": b"x", "b.txt": b"x", "c.txt": b"y"})
    assert not sniff(archive)
    with pytest.raises(ImportRefused, match="holds no WhatsApp chat"):
        read(archive)


def test_truncated_zip_is_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "WhatsApp Chat - X.zip", {"_chat.txt": IOS.read_bytes()})
    cut = write(tmp_path, "cut.zip", archive.read_bytes()[:300])
    assert not sniff(cut)
    with pytest.raises(ImportRefused, match="corrupt zip"):
        read(cut)


def test_zip_with_a_damaged_member_is_refused_before_any_record(tmp_path: Path) -> None:
    chat = FAMILY.read_bytes() * 20
    archive = tmp_path / "WhatsApp Chat - X.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("_chat.txt", chat)
    data = bytearray(archive.read_bytes())
    at = data.index(b"Tom & Jerry: First line", 5000)
    data[at : at + 3] = b"Tim"  # same length, wrong CRC
    archive.write_bytes(bytes(data))
    records = IMPORTER.read(archive, ImportContext(community="acme", tz=BERLIN))
    with pytest.raises(ImportRefused, match="corrupt zip") as refused:
        next(records)
    assert refused.value.position == "member _chat.txt"


# --- malformed input -------------------------------------------------------------------


def test_invalid_utf8_is_refused_with_its_position_before_any_record(tmp_path: Path) -> None:
    path = write(
        tmp_path, "chat.txt", b"31/12/23, 21:41 - Ann: ok\n31/12/23, 21:42 - Bo: caf\xe9\n"
    )
    assert sniff(path)
    records = IMPORTER.read(path, ImportContext(community="acme", tz=BERLIN))
    with pytest.raises(ImportRefused, match="not valid UTF-8") as refused:
        next(records)
    assert refused.value.position == "line 2 (byte 51)"


def test_invalid_utf8_far_into_the_file(tmp_path: Path) -> None:
    body = "".join(f"31/12/23, 21:41 - Ann: message number {i} ✓\n" for i in range(3000))
    data = body.encode() + b"31/12/23, 21:42 - Bo: \xc3\x28\n"
    path = write(tmp_path, "chat.txt", data)
    with pytest.raises(ImportRefused) as refused:
        read(path)
    assert refused.value.position == f"line 3001 (byte {len(body.encode()) + 22})"


def test_multibyte_characters_across_read_chunks(tmp_path: Path) -> None:
    head = "31/12/23, 21:41 - Ann: "
    filler = "x" * (64 * 1024 - len(head) - 2)
    path = write(tmp_path, "chat.txt", f"{head}{filler}🎆🎆 done\n31/12/23, 21:42 - Bo: ok\n")
    acts = activities(read(path))
    assert [a.text for a in acts] == [f"{filler}🎆🎆 done", "ok"]


def test_file_cut_in_the_middle_of_a_character_is_read(tmp_path: Path) -> None:
    data = "31/12/23, 21:41 - Ann: ok\n31/12/23, 21:42 - Bo: party 🎆".encode()
    path = write(tmp_path, "chat.txt", data[:-2])
    warnings: list[str] = []
    acts = activities(read(path, warn=warnings.append))
    assert [a.text for a in acts] == ["ok", "party "]
    assert any("middle of a character" in w for w in warnings)


def test_file_cut_in_the_middle_of_a_message_is_read(tmp_path: Path) -> None:
    data = FAMILY.read_bytes()
    cut = write(tmp_path, FAMILY.name, data[: data.index(b"second line") + 6])
    acts = activities(read(cut))
    assert acts[-1].text == "First line\nsecond"
    assert len(acts) == 8


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x00\x01\x02\xff\xfe binary \x89PNG\r\n\x1a\n",
        b'{"messages": [{"id": 1, "date": "2023-12-31T21:41:00"}]}',
        b"Sample User: This file has nothing to do with whatsapp\n",
    ],
)
def test_files_that_are_not_exports(tmp_path: Path, content: bytes) -> None:
    path = write(tmp_path, "other.txt", content)
    assert not sniff(path)
    with pytest.raises(ImportRefused):
        read(path)


def test_directory_is_not_sniffed(tmp_path: Path) -> None:
    assert not IMPORTER.sniff(tmp_path, b"")
    with pytest.raises(ImportRefused, match="a directory"):
        read(tmp_path)


def test_text_before_the_first_message_is_quarantined(tmp_path: Path) -> None:
    path = write(
        tmp_path, "chat.txt", "\n  \nstray start\nof a cut file\n31/12/23, 21:41 - Ann: ok\n"
    )
    records = read(path)
    assert len(records) == 2
    bad, good = records
    assert isinstance(bad, Quarantined)
    assert (bad.position, bad.raw) == ("line 3", "stray start\nof a cut file")
    assert isinstance(good, Activity)
    assert good.text == "ok"


def test_impossible_time_is_quarantined_and_reading_goes_on(tmp_path: Path) -> None:
    path = write(tmp_path, "chat.txt", "31/12/23, 25:61 - Ann: late\n31/12/23, 21:41 - Ann: ok\n")
    records = read(path)
    assert isinstance(records[0], Quarantined)
    assert records[0].position == "line 1"
    assert records[0].reason == "invalid date or time '31/12/23 25:61' (read as day/month/year)"
    assert isinstance(records[1], Activity)
    assert records[1].text == "ok"


def test_overlong_line_is_quarantined_with_a_short_raw(tmp_path: Path) -> None:
    huge = "y" * 300_000
    path = write(
        tmp_path,
        "chat.txt",
        f"31/12/23, 21:40 - Ann: a\n31/12/23, 21:41 - Bo: {huge}\n31/12/23, 21:42 - Ann: b\n",
    )
    records = read(path)
    assert [type(r).__name__ for r in records] == ["Activity", "Quarantined", "Activity"]
    bad = records[1]
    assert isinstance(bad, Quarantined)
    assert bad.position == "line 2"
    assert bad.reason == "line 2 is longer than 131072 characters"
    assert len(bad.raw) == 4096


def test_overlong_message_is_quarantined(tmp_path: Path) -> None:
    many = "\n".join(["z" * 1000] * 300)
    path = write(tmp_path, "chat.txt", f"31/12/23, 21:41 - Bo: {many}\n31/12/23, 21:42 - Ann: b\n")
    records = read(path)
    assert [type(r).__name__ for r in records] == ["Quarantined", "Activity"]
    assert isinstance(records[0], Quarantined)
    assert records[0].reason == "message longer than 262144 characters"


def check_only_records_or_refusal(path: Path) -> None:
    try:
        records = read(path, tz=BERLIN)
    except ImportRefused as exc:
        assert exc.reason
        return
    for record in records:
        if isinstance(record, Activity):
            assert record.validate() is None
            assert record.ts.utcoffset() == timedelta(0)
            assert record.source_id
        else:
            assert isinstance(record, Quarantined)
            assert record.position.startswith("line ")
            assert len(record.raw) <= 4096


FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(data=st.binary(max_size=600))
def test_fuzz_random_bytes(tmp_path: Path, data: bytes) -> None:
    path = write(tmp_path, "fuzz.txt", data)
    IMPORTER.sniff(path, data)
    check_only_records_or_refusal(path)


@FUZZ
@given(cut=st.integers(min_value=0, max_value=2000), flip=st.integers(0, 255))
def test_fuzz_truncated_and_damaged_exports(tmp_path: Path, cut: int, flip: int) -> None:
    data = bytearray(FAMILY.read_bytes() + IOS.read_bytes())
    cut %= len(data)
    damaged = bytes(data[:cut]) + bytes([flip]) + bytes(data[cut + 1 :])
    for content in (bytes(data[:cut]), damaged):
        path = write(tmp_path, "fuzz.txt", content)
        IMPORTER.sniff(path, content)
        check_only_records_or_refusal(path)


PIECES = [
    "12/31/23, 9:41 PM - ",
    "[31/12/2023, 21:41:05] ",
    "31.02.23, 25:99 - ",
    "2023-12-31, 00:00 - ",
    "Ann: ",
    "Ann",
    ": ",
    "\u200e",
    "\u202a+49 1\u202c",
    " added ",
    " left",
    " removed ",
    "<Media omitted>",
    "<This message was edited>",
    "This message was deleted",
    "\n",
    "\r\n",
    "\ufeff",
    "\u202f",
]


@FUZZ
@given(parts=st.lists(st.sampled_from(PIECES) | st.text(max_size=8), max_size=40))
def test_fuzz_header_like_text(tmp_path: Path, parts: list[str]) -> None:
    data = "".join(parts).encode("utf-8", "surrogatepass")
    path = write(tmp_path, "fuzz.txt", data)
    IMPORTER.sniff(path, data)
    check_only_records_or_refusal(path)


def test_zip_fuzz_does_not_crash(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "WhatsApp Chat - X.zip", {"_chat.txt": IOS.read_bytes()})
    data = archive.read_bytes()
    for cut in range(0, len(data), 7):
        path = write(tmp_path, "cut.zip", data[:cut])
        IMPORTER.sniff(path, data[:cut])
        check_only_records_or_refusal(path)


# --- conformance corpus ----------------------------------------------------------------


def conformance_dir() -> Path:
    root = os.environ.get("COCKPIT_CONFORMANCE_DIR")
    base = Path(root) if root else Path(__file__).resolve().parents[2] / "shared" / "conformance"
    folder = base / "whatsapp"
    if not folder.is_dir():
        pytest.skip(f"conformance corpus not found at {folder}")
    return folder


NOT_A_CHAT = "whatsapp-chat-parser_not-a-whatsapp-chat.txt"


def test_conformance_every_chat_parses_cleanly() -> None:
    files = sorted(conformance_dir().rglob("*.txt"))
    chats = [f for f in files if f.name != NOT_A_CHAT]
    assert len(chats) >= 20
    for path in chats:
        assert sniff(path), path.name
        records = read(path, tz=UTC)
        assert records, path.name
        assert not [r for r in records if isinstance(r, Quarantined)], path.name
        activities(records)


def test_conformance_negative_sample_is_not_sniffed() -> None:
    path = conformance_dir() / "whatsapp-chat-parser" / NOT_A_CHAT
    if not path.exists():
        pytest.skip("negative sample absent")
    assert not sniff(path)


def as_target(act: Activity) -> tuple[str, str]:
    """Our record in chat-miner's terms: system lines by "System", newlines as spaces."""
    text = act.text.replace("\n", " ").replace("\u00a0", " ")
    if act.kind not in (Kind.MESSAGE, Kind.DELETE):
        return "System", text
    return act.author, "<Disappearing Message>" if text == "." else text


def test_conformance_chat_miner_csv_targets() -> None:
    targets = sorted((conformance_dir() / "chat-miner").glob("*_target.csv"))
    if not targets:
        pytest.skip("no chat-miner targets")
    for target in targets:
        chat = target.with_name(target.name.replace("_target.csv", ".txt"))
        with target.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        expected = Counter(
            (r["timestamp"], r["author"], r["message"].replace("\u00a0", " ")) for r in rows
        )
        got = Counter(
            (f"{a.ts:%Y-%m-%d %H:%M:%S}", *as_target(a)) for a in activities(read(chat, tz=UTC))
        )
        assert got == expected, chat.name


def test_conformance_chat_miner_json_target() -> None:
    folder = conformance_dir() / "chat-miner"
    target = folder / "chat-miner_target.json"
    if not target.exists():
        pytest.skip("no chat-miner target.json")
    expected = {(t["timestamp"], t["author"], t["message"]) for t in json.loads(target.read_text())}
    chats = [p for p in folder.glob("chat-miner_test_*hrs.txt")]
    assert len(chats) == 5
    for chat in chats:
        got = {
            (f"{a.ts:%Y-%m-%dT%H:%M:%S}", a.author, a.text.replace("\n", " "))
            for a in activities(read(chat, tz=UTC))
            if a.kind is Kind.MESSAGE and a.text != "."
        }
        assert got == expected, chat.name


def test_conformance_chat_analytics_message_counts() -> None:
    samples = sorted(conformance_dir().glob("chat-analytics_*.txt"))
    if not samples:
        pytest.skip("no chat-analytics samples")
    for path in samples:
        match = re.search(r"_(\d+)M\.txt$", path.name)
        assert match
        acts = activities(read(path, tz=UTC))
        assert sum(a.kind is Kind.MESSAGE for a in acts) == int(match.group(1)), path.name


# --- issue 17: exports other parsers read -------------------------------------------------


def test_a_byte_order_mark_inside_the_opening_bracket(tmp_path: Path) -> None:
    """German iOS exports put U+FEFF after the `[` of some lines."""
    path = write(
        tmp_path,
        "_chat.txt",
        "[\ufeff29.01.18, 21:04:12] Jonas Weber: Hallo zusammen\n"
        "[\ufeff29.01.18, 21:05:40] Mia Koch: Servus!\n"
        "noch eine Zeile\n"
        "[29.01.18, 21:06:01] Jonas Weber: Bis morgen\n",
    )
    assert sniff(path)
    acts = activities(read(path))
    assert [(a.author, a.text) for a in acts] == [
        ("Jonas Weber", "Hallo zusammen"),
        ("Mia Koch", "Servus!\nnoch eine Zeile"),
        ("Jonas Weber", "Bis morgen"),
    ]
    assert acts[0].ts == utc(2018, 1, 29, 20, 4, 12)


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r\r\n"])
def test_the_older_layout_with_a_colon_after_the_time(tmp_path: Path, newline: str) -> None:
    """Exports of about 2012-2015: `09/12/2012 17:02:35: Name: text`, some with CR CR LF."""
    lines = [
        "09/12/2012 17:02:35: Ana Lima: Oi gente",
        "09/12/2012 17:03:10: Pedro: tudo bem?",
        "linha dois",
        "10/12/2012 08:00:00: Ana Lima: <Media omitted>",
    ]
    path = write(tmp_path, "WhatsApp Chat with Turma.txt", newline.join(lines) + newline)
    assert sniff(path)
    acts = activities(read(path))
    assert table(acts) == [
        (Kind.MESSAGE, utc(2012, 12, 9, 16, 2, 35), "Ana Lima", "Ana Lima", "Oi gente", 0),
        (Kind.MESSAGE, utc(2012, 12, 9, 16, 3, 10), "Pedro", "Pedro", "tudo bem?\nlinha dois", 0),
        (Kind.MESSAGE, utc(2012, 12, 10, 7, 0, 0), "Ana Lima", "Ana Lima", "", 1),
    ]


def test_an_iso_dated_log_with_a_colon_is_not_taken_for_a_chat(tmp_path: Path) -> None:
    path = write(tmp_path, "server.txt", "2024-01-01 10:00:00: service started\n")
    assert not sniff(path)


@pytest.mark.parametrize(
    "notice",
    [
        "This business uses a secure service from Meta to manage this chat. Tap to learn more.",
        "This chat is with a business account. Tap to learn more.",
    ],
)
def test_the_business_notice_under_the_chats_name_is_a_system_line(
    tmp_path: Path, notice: str
) -> None:
    path = write(
        tmp_path,
        "WhatsApp Chat with Acme Shop.txt",
        f"[12.03.23, 10:00:00] Acme Shop: \u200e{notice}\n"
        "[12.03.23, 10:01:00] Acme Shop: Hello! How can we help?\n",
    )
    notice_act, hello = activities(read(path))
    assert (notice_act.kind, notice_act.author_id, notice_act.text) == (
        Kind.SYSTEM,
        "system",
        notice,
    )
    assert (hello.kind, hello.author) == (Kind.MESSAGE, "Acme Shop")
