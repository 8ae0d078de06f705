"""The paper-clip: files are judged by their content, limited in count and size, and keep
a safe name with the extension of what they really are."""
import base64
import io

import pytest
from PIL import Image
from pypdf import PdfWriter

from services.requests.domain.attachments import read_uploads
from shared.uploads import clean_filename, content_type
from shared.errors import ValidationFailed


def sample_image(kind: str = "PNG", size: tuple[int, int] = (40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, kind)
    return out.getvalue()


def sample_pdf(password: str | None = None) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    if password:
        writer.encrypt(password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def upload(data: bytes, filename: str = "file") -> dict[str, str]:
    return {"filename": filename, "content_base64": base64.b64encode(data).decode()}


@pytest.mark.parametrize("data,expected", [
    (sample_image("PNG"), "image/png"),
    (sample_image("JPEG"), "image/jpeg"),
    (sample_pdf(), "application/pdf"),
])
def test_images_and_pdf_are_recognised_by_content(data, expected):
    assert content_type(data) == expected
    [checked] = read_uploads([upload(data, "whatever.txt")], max_count=5, max_bytes=10**6)
    assert checked.content_type == expected and checked.data == data
    assert checked.filename.startswith("whatever.txt.")  # the real extension is added


@pytest.mark.parametrize("data,reason", [
    (b"%PDF-1.4 not really", "damaged PDF"),
    (sample_pdf(password="secret"), "PDF is password-protected"),
    (sample_image("GIF"), "GIF is not JPEG, PNG or PDF"),
    (sample_image("PNG")[:60], "not JPEG, PNG or PDF"),  # cut short
    (b"MZ\x90\x00 an executable", "not JPEG, PNG or PDF"),
])
def test_anything_else_is_refused_naming_the_file(data, reason):
    with pytest.raises(ValidationFailed) as refused:
        read_uploads([upload(sample_image()), upload(data, "bad.pdf")], 5, 10**6)
    assert refused.value.fields == {"attachments[1]": reason}
    assert "bad.pdf" in refused.value.message


def test_count_and_size_limits():
    with pytest.raises(ValidationFailed) as too_many:
        read_uploads([upload(sample_image())] * 3, max_count=2, max_bytes=10**6)
    assert too_many.value.fields == {"attachments": "at most 2 files"}
    big = sample_image(size=(400, 400))
    with pytest.raises(ValidationFailed) as too_big:
        read_uploads([upload(big)], max_count=2, max_bytes=len(big) - 1)
    assert too_big.value.fields == {"attachments[0]": f"larger than {len(big) - 1} bytes"}


def test_malformed_items_name_the_field():
    with pytest.raises(ValidationFailed) as not_base64:
        read_uploads([{"filename": "a.png", "content_base64": "***"}], 5, 10**6)
    assert not_base64.value.fields == {"attachments[0].content_base64": "not base64"}
    with pytest.raises(ValidationFailed) as missing:
        read_uploads([{"filename": "a.png"}], 5, 10**6)
    assert missing.value.fields == {"attachments[0].content_base64": "required"}
    with pytest.raises(ValidationFailed) as not_a_list:
        read_uploads("a.png", 5, 10**6)
    assert not_a_list.value.fields == {"attachments": "a list of files"}
    assert read_uploads(None, 5, 10**6) == []


@pytest.mark.parametrize("name,kind,expected", [
    ("../../etc/passwd", "application/pdf", "passwd.pdf"),
    ("C:\\Users\\Иван\\фото.JPG", "image/jpeg", "фото.JPG"),
    ("скан.jpeg", "image/jpeg", "скан.jpeg"),
    ("photo.png", "image/jpeg", "photo.png.jpg"),
    ("a\x00b\n.png", "image/png", "ab.png"),
    ("", "image/png", "file.png"),
    (None, "application/pdf", "file.pdf"),
])
def test_file_names_are_made_safe(name, kind, expected):
    assert clean_filename(name, kind) == expected


def test_a_long_name_is_cut_from_the_front_keeping_the_extension():
    name = clean_filename("я" * 300 + ".pdf", "application/pdf")
    assert len(name) == 120 and name.endswith(".pdf")
