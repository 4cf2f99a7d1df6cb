"""The teach API's multipart/form-data parser (the cgi module is gone from Python)."""

import pytest
from teach_api import form

from socksort.dashboard.teach import multipart


def test_a_form_with_a_file_and_a_field_gives_both_parts():
    body, kind = form({"label": "red"}, b"\xff\xd8binary\r\n--not-a-boundary\xff\xd9", "sock.jpg")
    parts = multipart.parse(body, kind)
    assert parts["label"].text() == "red"
    assert parts["file"].data == b"\xff\xd8binary\r\n--not-a-boundary\xff\xd9"
    assert parts["file"].filename == "sock.jpg"


def test_a_quoted_boundary_with_other_parameters_is_understood():
    body = (b'--b "x"\r\nContent-Disposition: form-data; name="label"\r\n\r\nblue\r\n--b "x"--\r\n')
    parts = multipart.parse(body, 'multipart/form-data; charset=utf-8; boundary="b \\"x\\""')
    assert parts["label"].text() == "blue"


def test_the_declared_content_type_of_a_part_is_kept_but_not_trusted():
    body, kind = form({}, b"plain text", "sock.jpg", content_type="image/jpeg")
    part = multipart.parse(body, kind)["file"]
    assert part.content_type == "image/jpeg" and part.data == b"plain text"


def test_an_empty_file_part_is_an_empty_part():
    body, kind = form({}, b"")
    assert multipart.parse(body, kind)["file"].data == b""


def test_a_body_cut_before_its_closing_boundary_is_refused():
    body, kind = form({"label": "red"}, b"data")
    with pytest.raises(multipart.BadMultipart, match="closing boundary"):
        multipart.parse(body[:-30], kind)


def test_a_content_type_without_a_boundary_is_refused():
    with pytest.raises(multipart.BadMultipart, match="no boundary"):
        multipart.parse(b"", "multipart/form-data")


def test_a_body_of_another_type_is_refused_naming_it():
    with pytest.raises(multipart.BadMultipart, match="application/json"):
        multipart.parse(b"{}", "application/json")


def test_a_part_without_a_field_name_is_refused():
    body = b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--\r\n"
    with pytest.raises(multipart.BadMultipart, match="names no field"):
        multipart.parse(body, "multipart/form-data; boundary=b")


def test_text_that_is_not_utf8_is_named():
    body = b'--b\r\nContent-Disposition: form-data; name="label"\r\n\r\n\xff\xfe\r\n--b--\r\n'
    with pytest.raises(multipart.BadMultipart, match="'label'"):
        multipart.parse(body, "multipart/form-data; boundary=b")["label"].text()
