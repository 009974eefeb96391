"""The local lake store: files as readable as any ordinary file, and nothing left behind by a failed write."""

import os
import stat

import pytest

from binance_assets.resources.lake.stores import LocalStore


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_lake_files_get_the_mode_the_umask_gives_an_ordinary_file(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        LocalStore(str(tmp_path)).put("raw/x/hour=00/file.json", b"[]")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "raw/x/hour=00/file.json").stat().st_mode) == mode


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    store = LocalStore(str(tmp_path))
    store.put("raw/x/file.json", b"old")
    with pytest.raises(TypeError):
        store.put("raw/x/file.json", "not bytes")  # fails inside the write, after the temporary file exists
    assert store.get("raw/x/file.json") == b"old"
    assert [p.name for p in (tmp_path / "raw/x").iterdir()] == ["file.json"]


def test_paths_under_a_folder_are_lake_paths_without_temporary_files(tmp_path):
    store = LocalStore(str(tmp_path))
    store.put("clean/x/hour=00/file.parquet", b"PAR1")
    store.put("clean/x/hour=00/_SUCCESS", b"{}")
    store.put("raw/x/hour=00/file.json", b"[]")
    (tmp_path / "clean/x/hour=00/.tmp-0123-file.parquet").write_bytes(b"half")  # a writer killed mid-write

    assert sorted(store.paths_under("clean/x")) == ["clean/x/hour=00/_SUCCESS", "clean/x/hour=00/file.parquet"]
