"""Label files in the common encodings read the same; undecodable ones name the file."""

import pytest

from curation.data.textfiles import TextDecodeError, read_text
from curation.errors import ConfigError

TEXT = "path,label\nclips/été_01.mp4,Happy\nclips/naïve.mp4,Surprise\n"


@pytest.mark.parametrize("encoding,expected", [
    ("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("utf-16", "utf-16"), ("utf-16-le", "utf-16-le"),
    ("utf-16-be", "utf-16-be"), ("latin-1", "cp1252"), ("cp1252", "cp1252"),
])
def test_common_encodings_are_detected(tmp_path, encoding, expected):
    f = tmp_path / "labels.csv"
    f.write_bytes(TEXT.encode(encoding))
    text, used = read_text(f)
    assert text.replace("\ufeff", "") == TEXT and used == expected


def test_a_given_encoding_wins_and_a_wrong_one_names_the_file(tmp_path):
    f = tmp_path / "labels.csv"
    f.write_bytes("path,label\nа.mp4,Счастье\n".encode("koi8_r"))
    assert read_text(f, "koi8_r")[0] == "path,label\nа.mp4,Счастье\n"
    with pytest.raises(TextDecodeError, match=r"labels.csv cannot be read as utf-8 .*--encoding"):
        read_text(f, "utf-8")
    with pytest.raises(ConfigError, match="not an encoding Python knows"):
        read_text(f, "klingon")


def test_binary_garbage_is_refused_with_the_file_name(tmp_path):
    f = tmp_path / "labels.csv"
    f.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(TextDecodeError, match=r"labels.csv is not text .*--encoding"):
        read_text(f)
