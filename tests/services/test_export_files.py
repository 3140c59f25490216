"""``LocalExportFiles`` on a real directory: a draft is invisible until it is published whole,
an unpublished draft leaves nothing behind, downloads reach published files only, and purge
keeps live files and young orphans while removing expired files and old orphans."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from openfeeder.config import Settings
from openfeeder.services.exports import ORPHAN_AFTER, LocalExportFiles, make_export_files
from openfeeder.services.exports.files import FILE_NAME, PURGE_BATCH, new_file_name


@pytest.fixture
def files(tmp_path: Path) -> LocalExportFiles:
    return LocalExportFiles(tmp_path / "exports")


def names(directory: Path) -> set[str]:
    return {path.name for path in directory.iterdir()}


def test_the_settings_files_are_the_exports_directory_of_the_data_dir(tmp_path: Path) -> None:
    files = make_export_files(Settings(data_dir=tmp_path / "data"))
    assert isinstance(files, LocalExportFiles)
    assert files.directory == tmp_path / "data" / "exports"


def test_a_draft_is_a_part_file_until_published_under_its_name(files: LocalExportFiles) -> None:
    name = new_file_name()
    assert FILE_NAME.fullmatch(name)
    with files.draft("3f2c5a7e-0000-4000-8000-000000000001") as draft:
        draft.out.write(b'{"data":[')
        draft.out.flush()
        (temporary,) = names(files.directory)
        assert temporary.startswith(".3f2c5a7e-0000-4000-8000-000000000001.")
        assert temporary.endswith(".part")
        assert files.path(name) is None
        draft.out.write(b'],"included":[]}')
        draft.publish(name)
        assert names(files.directory) == {name}
    path = files.path(name)
    assert path == files.directory / name
    assert path.read_bytes() == b'{"data":[],"included":[]}'


def test_a_reader_never_sees_a_partial_file(files: LocalExportFiles) -> None:
    name = new_file_name()
    chunks = [bytes([65 + i % 26]) * 4096 for i in range(200)]
    whole = b"".join(chunks)
    seen: list[bytes] = []
    written = threading.Event()

    def reader() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            path = files.path(name)
            if path is not None:
                seen.append(path.read_bytes())
                if written.is_set():
                    return

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        with files.draft("export") as draft:
            for chunk in chunks:
                draft.out.write(chunk)
                draft.out.flush()  # on disk in pieces, as a long export is
            draft.publish(name)
    finally:
        written.set()
        thread.join()
    assert seen
    assert all(content == whole for content in seen)


def test_a_draft_not_published_leaves_nothing_behind(files: LocalExportFiles) -> None:
    def fail_mid_file() -> None:
        with files.draft("export") as draft:
            draft.out.write(b'{"data":[')
            raise RuntimeError("the job failed mid-file")

    with pytest.raises(RuntimeError, match="mid-file"):
        fail_mid_file()
    with files.draft("export") as draft:
        draft.out.write(b"{}")
    assert names(files.directory) == set()


def test_only_published_files_are_reachable(files: LocalExportFiles) -> None:
    name = new_file_name()
    with files.draft("export") as draft:
        draft.publish(name)
    (files.directory / "README").write_text("not an export")
    (files.directory.parent / "jobs.db").write_text("")
    assert files.path(name) is not None
    for other in (new_file_name(), "README", "../jobs.db", name.upper(), name[:-5], ""):
        assert files.path(other) is None
    files.delete("README")
    files.delete(name)
    assert files.path(name) is None
    assert names(files.directory) == {"README"}


def aged(path: Path, text: str, when: datetime) -> Path:
    path.write_text(text)
    os.utime(path, (when.timestamp(), when.timestamp()))
    return path


def test_purge_keeps_live_files_and_young_orphans_removes_expired_files_and_old_orphans(
    files: LocalExportFiles,
) -> None:
    files.directory.mkdir()
    now = datetime.now(UTC)
    old = now - ORPHAN_AFTER - timedelta(minutes=1)
    young = now - ORPHAN_AFTER + timedelta(minutes=1)
    live = aged(files.directory / new_file_name(), "{}", old)
    expired = aged(files.directory / new_file_name(), "{}", old)
    # Published, but its job has not committed yet (or died just before): kept for now.
    young_orphan = aged(files.directory / new_file_name(), "{}", young)
    dead_draft = aged(files.directory / ".export.0000.part", "{", old)
    live_draft = aged(files.directory / ".export.0001.part", "{", young)
    unrelated = [aged(files.directory / n, "kept", old) for n in ("README", "notes.json")]
    asked: list[list[str]] = []

    def is_live(file_names: list[str]) -> set[str]:
        asked.append(file_names)
        return {live.name} & set(file_names)

    assert files.purge(is_live, now) == 2
    assert asked == [sorted([live.name, expired.name, young_orphan.name])]
    kept = {live.name, young_orphan.name, live_draft.name, *(p.name for p in unrelated)}
    assert names(files.directory) == kept
    assert not expired.exists()
    assert not dead_draft.exists()

    later = now + ORPHAN_AFTER
    assert files.purge(is_live, later) == 2  # the orphan and the draft have grown old
    assert names(files.directory) == {live.name, *(p.name for p in unrelated)}


def test_purge_asks_about_a_bounded_number_of_names_at_a_time(files: LocalExportFiles) -> None:
    files.directory.mkdir()
    old = datetime.now(UTC) - ORPHAN_AFTER * 2
    count = PURGE_BATCH * 2 + 1
    for _ in range(count):
        aged(files.directory / new_file_name(), "{}", old)
    sizes: list[int] = []

    def nothing_live(file_names: list[str]) -> set[str]:
        sizes.append(len(file_names))
        return set()

    assert files.purge(nothing_live, datetime.now(UTC)) == count
    assert max(sizes) <= PURGE_BATCH
    assert sum(sizes) == count
    assert names(files.directory) == set()


def test_purge_without_a_directory_removes_nothing(files: LocalExportFiles) -> None:
    assert files.purge(lambda _names: set(), datetime.now(UTC)) == 0
    assert not files.directory.exists()
