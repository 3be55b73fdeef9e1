"""Masking golden cases and the household key."""

import pytest

from redservice import privacy


@pytest.mark.parametrize("name, masked", [
    ("张三", "张*"), ("张三明", "张*明"), ("王", "*"), ("欧阳娜娜", "欧阳*娜"), ("欧阳娜", "欧阳*"),
    ("司马相如", "司马*如"), ("阿依古丽·买买提", "阿******提"), ("李小龙龙", "李**龙"),
    ("Zhang San", "Z*******n"), ("  张三明 ", "张*明"), ("", ""), (None, None),
])
def test_mask_name(name, masked):
    assert privacy.mask_name(name) == masked


@pytest.mark.parametrize("phone, masked", [
    ("13812341234", "138****1234"), ("0359-1234567", "035*****4567"), ("12345", "*****"), (None, None),
])
def test_mask_phone(phone, masked):
    assert privacy.mask_phone(phone) == masked


def test_household_key_is_created_once_and_kept_private(tmp_path, monkeypatch):
    monkeypatch.delenv(privacy.KEY_ENV, raising=False)
    key = privacy.household_key(tmp_path)
    assert key == privacy.household_key(tmp_path) and len(key) == 64
    assert (tmp_path / privacy.KEY_FILE).stat().st_mode & 0o077 == 0
    monkeypatch.setenv(privacy.KEY_ENV, "from-env")
    assert privacy.household_key(tmp_path) == b"from-env"
    a = privacy.household_hash("北城社区3号楼2单元501", key)
    assert a != privacy.household_hash("北城社区3号楼2单元501", b"other") and "北城" not in a
