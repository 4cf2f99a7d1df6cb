"""`socksort synth sheet`: every design of a dataset in one picture, with its name."""

from __future__ import annotations

import cv2

from socksort.im2rec import sheet


def test_sheet_has_one_captioned_card_per_design(cli, socks, tmp_path):
    _, out, _ = cli("synth", "sheet", "--classes-from", socks, "--out", tmp_path / "sheet.png")
    image = cv2.imread(str(tmp_path / "sheet.png"))
    assert "drew 3 designs" in out
    assert image.shape == (sheet.TILE + sheet.CAPTION, 3 * sheet.TILE, 3)


def test_cards_wrap_into_rows_of_four(make_socks, tmp_path):
    folder = make_socks(tmp_path / "six", classes=6, per_class=2)
    image = sheet.sheet(folder)
    assert image.shape == (2 * (sheet.TILE + sheet.CAPTION), 4 * sheet.TILE, 3)


def test_an_unknown_picture_type_is_refused(cli, socks, tmp_path):
    status, _, err = cli("synth", "sheet", "--classes-from", socks, "--out", tmp_path / "sheet.gif", check=False)
    assert status == 2 and ".png" in err
    assert not (tmp_path / "sheet.gif").exists()
