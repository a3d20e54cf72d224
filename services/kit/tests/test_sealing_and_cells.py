"""Sealing personal data (AES-GCM with key ids) and spreadsheet cells that stay text."""

from __future__ import annotations

import io
import os
import stat

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.kit import cells
from services.kit.sealing import KeyConfigError, Keyring, KeySource, Unreadable, is_sealed


# --- sealing ---------------------------------------------------------------------------------
@given(st.text(max_size=40))
def test_a_sealed_value_opens_to_its_text_and_never_shows_it(text):
    ring = Keyring.generate("k1")
    sealed = ring.seal(text, "phone")
    assert is_sealed(sealed) and sealed["kid"] == "k1"
    assert ring.open(sealed, "phone") == text
    if len(text) > 3:
        assert text not in str(sealed)


def test_the_same_text_seals_differently_and_only_its_purpose_opens_it():
    ring = Keyring.generate("k1")
    a, b = ring.seal("13912345678", "phone"), ring.seal("13912345678", "phone")
    assert a != b  # a fresh nonce each time
    with pytest.raises(Unreadable):
        ring.open(a, "id_number")  # moved into another field: does not open
    tampered = {**a, "ct": a["ct"][:-4] + ("AAAA" if not a["ct"].endswith("AAAA") else "BBBB")}
    with pytest.raises(Unreadable):
        ring.open(tampered, "phone")
    with pytest.raises(Unreadable):
        Keyring.generate("k2").open(a, "phone")  # a key it does not have


def test_a_new_key_seals_and_the_old_ones_still_open():
    old = Keyring.generate("k1")
    sealed = old.seal("330424198001010012", "id_number")
    ring = old.with_new_key("k2")
    assert ring.current == "k2" and ring.is_current(ring.seal("x", "p"))
    assert ring.open(sealed, "id_number") == "330424198001010012"
    again = Keyring.parse(ring.spec())
    assert again.current == "k2" and set(again.keys) == {"k1", "k2"}
    for bad in ("", "k1", "k1:!!", "k1:" + "QUFB", "k1:a,k1:a"):
        with pytest.raises(KeyConfigError):
            Keyring.parse(bad)


def test_keys_come_from_the_environment_else_a_private_file_made_once(tmp_path, monkeypatch):
    monkeypatch.setenv("LIANXIN_DATA", str(tmp_path))
    monkeypatch.delenv("TEST_KEYS", raising=False)
    source = KeySource("TEST_KEYS", "test-keys")
    ring = source.keyring()
    path = tmp_path / "test-keys"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert KeySource("TEST_KEYS", "test-keys").keyring().current == ring.current  # kept
    added = KeySource("TEST_KEYS", "test-keys").add_key()
    assert source.keyring().current == added.current != ring.current  # read again on change
    assert source.keyring().open(ring.seal("x", "p"), "p") == "x"
    spec = Keyring.generate("env-key").spec()
    from_env = KeySource("TEST_KEYS", "test-keys", {"TEST_KEYS": spec})
    assert from_env.keyring().current == "env-key"
    with pytest.raises(KeyConfigError):
        from_env.add_key()  # the environment's keys change where they are set


# --- spreadsheet cells -------------------------------------------------------------------------
FORMULAS = ['=HYPERLINK("http://x","点我")', "+1", "-1+2", "@SUM(A1)", "\tx", "\rx", "＝1"]


def test_formula_like_text_is_neutralised_for_csv_and_read_back_as_it_was():
    for text in FORMULAS:
        cell = cells.neutralise(text)
        assert cell == "'" + text
        assert cells.restored(cell) == text
    assert cells.neutralise(-5) == -5 and cells.neutralise("超市") == "超市"
    assert cells.restored("'abc") == "'abc"  # an apostrophe of the cell's own stays


def test_xlsx_text_cells_are_never_formulas():
    texts = [t for t in FORMULAS if "\r" not in t]  # XML reads a CR back as LF
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("data")
    sheet.append(cells.xlsx_row(sheet, [*texts, 7]))
    out = io.BytesIO()
    book.save(out)
    row = next(openpyxl.load_workbook(io.BytesIO(out.getvalue())).worksheets[0].iter_rows())
    assert [c.value for c in row] == [*texts, 7]
    assert [c.data_type for c in row] == ["s"] * len(texts) + ["n"]
