"""Importers stay inside the export: no symlink, `..` or absolute path reads a foreign file.

A Slack folder export is read only through regular files inside its own tree; a zip's
members are read from the archive (never extracted), and a member whose name leaves the
export or that is stored as a symlink is skipped with a warning naming it.
"""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from cockpit.errors import ImportRefused
from cockpit.importing import fingerprint
from cockpit.model import Activity, Record
from cockpit.plugin_api import ImportContext
from cockpit.plugins.slack import SlackExportImporter
from cockpit.plugins.whatsapp.export import WhatsAppImporter

FIXTURE = Path(__file__).parent / "fixtures" / "slack" / "workspace"
SECRET_TEXT = "text from outside the export"


def outside_day(tmp_path: Path) -> Path:
    """A day file outside the export, which must never be imported."""
    folder = tmp_path / "outside"
    folder.mkdir()
    day = folder / "2024-03-05.json"
    msg = {"type": "message", "user": "U01ALICE0", "ts": "1709640000.000100", "text": SECRET_TEXT}
    day.write_text(json.dumps([msg]))
    return day


def export(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURE, tmp_path / "export"))


def read(path: Path) -> tuple[list[Record], list[str]]:
    warnings: list[str] = []
    records = list(SlackExportImporter().read(path, ImportContext("acme", warn=warnings.append)))
    return records, warnings


def texts(records: list[Record]) -> list[str]:
    return [r.text for r in records if isinstance(r, Activity)]


def test_the_fixture_imports_without_warnings_about_paths(tmp_path: Path) -> None:
    records, warnings = read(export(tmp_path))
    assert texts(records)
    assert not [w for w in warnings if "skipped" in w]


def test_a_symlinked_day_file_is_skipped_with_a_line_naming_it(tmp_path: Path) -> None:
    root = export(tmp_path)
    day = outside_day(tmp_path)
    link = root / "general" / "2024-03-05.json"
    link.symlink_to(day)
    records, warnings = read(root)
    assert SECRET_TEXT not in texts(records)
    assert len(texts(records)) == len(texts(read(export(tmp_path / "clean"))[0]))
    (line,) = [w for w in warnings if "skipped" in w]
    assert str(link) in line and "symbolic link" in line


def test_a_symlinked_channel_folder_is_skipped(tmp_path: Path) -> None:
    root = export(tmp_path)
    day = outside_day(tmp_path)
    shutil.rmtree(root / "random")
    (root / "random").symlink_to(day.parent, target_is_directory=True)
    records, warnings = read(root)
    assert SECRET_TEXT not in texts(records)
    assert any(str(root / "random") in w and "symbolic link" in w for w in warnings)


@pytest.mark.parametrize("name", ["../outside", "ABSOLUTE"])
def test_a_channel_name_that_is_a_path_is_not_followed(tmp_path: Path, name: str) -> None:
    root = export(tmp_path)
    day = outside_day(tmp_path)
    if name == "ABSOLUTE":
        name = str(day.parent)
    channels = json.loads((root / "channels.json").read_text())
    channels.append({"id": "C09EVIL", "name": name})
    (root / "channels.json").write_text(json.dumps(channels))
    records, warnings = read(root)
    assert SECRET_TEXT not in texts(records)
    assert any("not a plain folder name" in w and name in w for w in warnings)


def test_a_symlinked_metadata_file_is_not_an_export(tmp_path: Path) -> None:
    root = export(tmp_path)
    elsewhere = tmp_path / "users.json"
    shutil.move(root / "users.json", elsewhere)
    (root / "users.json").symlink_to(elsewhere)
    with pytest.raises(ImportRefused, match="regular files"):
        read(root)


def test_the_fingerprint_does_not_read_through_symlinks(tmp_path: Path) -> None:
    root = export(tmp_path)
    before = fingerprint(root)
    (root / "general" / "2024-03-05.json").symlink_to(outside_day(tmp_path))
    assert fingerprint(root) == before


def test_cockpit_import_of_a_folder_with_a_link_out_says_so_and_imports_the_rest(
    tmp_path: Path,
) -> None:
    root = export(tmp_path)
    (root / "general" / "2024-03-05.json").symlink_to(outside_day(tmp_path))
    db = tmp_path / "store.db"
    run = subprocess.run(
        [sys.executable, "-m", "cockpit", "--db", str(db), "import", str(root)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    out = run.stdout + run.stderr
    assert "symbolic link" in out and "2024-03-05.json" in out
    feed = subprocess.run(
        [sys.executable, "-m", "cockpit", "--db", str(db), "feed", "--json", "--limit", "500"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert feed.returncode == 0, feed.stderr
    assert SECRET_TEXT not in feed.stdout
    assert "Welcome" in feed.stdout


# --- zips: members whose names leave the export --------------------------------------------


def zip_export(target: Path, extra: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for file in sorted(FIXTURE.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(FIXTURE).as_posix())
        for name, data in extra.items():
            archive.writestr(name, data)
        for name, dest in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, dest)
    return target


def evil_day() -> bytes:
    msg = {"type": "message", "user": "U01ALICE0", "ts": "1709640000.000100", "text": SECRET_TEXT}
    return json.dumps([msg]).encode()


@pytest.mark.parametrize("member", ["../2024-03-05.json", "general/../../x/2024-03-05.json"])
def test_a_slack_zip_member_with_dotdot_is_skipped_with_a_line(tmp_path: Path, member: str) -> None:
    path = zip_export(tmp_path / "export.zip", {member: evil_day()})
    # unchecked, "../2024-03-05.json" made a folder ".." that was imported as a conversation
    records, warnings = read(path)
    assert SECRET_TEXT not in texts(records)
    assert any(member in w and "leaves the export" in w for w in warnings)


def test_a_slack_zip_member_stored_as_a_symlink_is_skipped(tmp_path: Path) -> None:
    path = zip_export(tmp_path / "export.zip", {}, {"general/2024-03-05.json": "/etc/passwd"})
    records, warnings = read(path)
    assert any("general/2024-03-05.json" in w and "symbolic link" in w for w in warnings)
    assert texts(records)


def test_a_whatsapp_zip_never_picks_a_member_outside_the_export(tmp_path: Path) -> None:
    chat = b"12/03/2024, 09:15 - Alice: hello\n"
    path = tmp_path / "chat.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("../../_chat.txt", b"01/01/2024, 00:00 - Mallory: " + SECRET_TEXT.encode())
        archive.writestr("WhatsApp Chat with Alice.txt", chat)
    warnings: list[str] = []
    records = list(WhatsAppImporter().read(path, ImportContext("acme", warn=warnings.append)))
    assert [r.text for r in records if isinstance(r, Activity)] == ["hello"]
    assert any("../../_chat.txt" in w and "leaves the export" in w for w in warnings)
