"""What a warm run does in bulk gives what doing it one by one gives: module naming, records
of files without a hint, records decoded by decoders made when first needed."""

from __future__ import annotations

import os
from dataclasses import fields
from pathlib import Path

import pytest

from codemods.model import Concat, FileScan, ModuleFacts, Ref
from codemods.modname import ModuleNamer
from codemods.run import plain_scans
from codemods.serial import Codec, DecodeError


@pytest.mark.parametrize("physical", [True, False])
def test_real_paths_match_real_path_one_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, physical: bool
) -> None:
    (tmp_path / "work" / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "other").mkdir()
    if not physical:
        (tmp_path / "work" / "linked").symlink_to(tmp_path / "other")
    monkeypatch.chdir(tmp_path / "work")
    paths = [
        "top.py",
        "pkg/__init__.py",
        "pkg/a.py",
        "pkg/sub/b.py",
        "pkg/c.py",  # a folder seen before, after another one
        "../other/d.py",
        *([] if physical else ["linked/e.py"]),
    ]
    expected = [ModuleNamer(physical=physical).real_path(path) for path in paths]
    assert ModuleNamer(physical=physical).real_paths(paths) == expected
    assert expected[0] == os.path.join(os.path.realpath(tmp_path / "work"), "top.py")
    if not physical:
        assert expected[-1] == os.path.join(os.path.realpath(tmp_path / "other"), "e.py")


def test_plain_scans_are_the_records_the_constructor_makes() -> None:
    plain = plain_scans()("pkg/m.py", b"\1" * 20)
    made = FileScan("pkg/m.py", digest=b"\1" * 20)
    assert plain == made and hash(plain) == hash(made) and repr(plain) == repr(made)
    assert [getattr(plain, f.name) for f in fields(FileScan)] == [
        getattr(made, f.name) for f in fields(FileScan)
    ]
    assert plain != FileScan("pkg/m.py", digest=b"\2" * 20)


def test_a_record_first_decoded_from_bad_data_is_refused_then_read() -> None:
    """A record's decoder is made when first needed; bad data then is refused as ever."""
    codec = Codec(FileScan)
    scan = FileScan(
        "m.py",
        ModuleFacts("m", "m.py", constants={"Q": Concat(("a", Ref("B")))}),
        digest=b"\1" * 20,
    )
    data = codec.encode(scan, own_path="m.py")
    with pytest.raises(DecodeError):
        codec.decode(data.replace(b'"m"', b"1"), own_path="m.py")
    assert codec.decode(data, own_path="m.py") == scan
    assert Codec(FileScan).decode(data, own_path="m.py") == scan
    assert Codec(FileScan).fingerprint == codec.fingerprint
