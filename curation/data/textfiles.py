"""Label files in the encodings people save them in: UTF-8 with or without a BOM, UTF-16
(Excel's "Unicode text"), Windows-1252/Latin-1; detected, or named with ``--encoding``.

Detection order: a BOM; UTF-16 without BOM (many NUL bytes); strict UTF-8; Windows-1252
(which reads Latin-1 text the same way). What cannot be read raises
:class:`TextDecodeError`, naming the file and the ``--encoding`` option."""

from __future__ import annotations

import codecs
from pathlib import Path

from curation.errors import ConfigError, ManifestError

FALLBACK = "cp1252"  # Windows-1252: Latin-1's letters, plus the quotes and dashes of Excel files


class TextDecodeError(ManifestError):
    """A label file cannot be decoded as text."""


def read_text(path, encoding: str | None = None) -> tuple[str, str]:
    """(text, encoding used) of a label file; ``encoding`` None = detect."""
    path = Path(path)
    return decode(path.read_bytes(), path, encoding)


def decode(data: bytes, path, encoding: str | None = None) -> tuple[str, str]:
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError as exc:
            raise ConfigError(f"--encoding {encoding!r} is not an encoding Python knows; "
                              "use e.g. utf-8, utf-16, latin-1, cp1252, gbk") from exc
        name = "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding
        try:
            return data.decode(name), encoding
        except UnicodeDecodeError as exc:
            raise TextDecodeError(
                f"{path} cannot be read as {encoding} (byte {exc.start}: {exc.reason}); "
                "pass the file's real --encoding, or leave it out to detect it"
            ) from exc
    if data.startswith(codecs.BOM_UTF8):
        return _strict(data, "utf-8-sig", path)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _strict(data, "utf-16", path)
    guess = _utf16_without_bom(data)
    if guess:
        return _strict(data, guess, path)
    for name in ("utf-8", FALLBACK):
        try:
            return data.decode(name), name
        except UnicodeDecodeError:
            continue
    raise TextDecodeError(
        f"{path} is not text in UTF-8, UTF-16 or Windows-1252/Latin-1 (is it a label file?); "
        "if it is, pass its --encoding (e.g. gbk, shift_jis)"
    )


def _utf16_without_bom(data: bytes) -> str | None:
    """utf-16-le/-be when NUL bytes fill one byte of most ASCII characters, else None."""
    if len(data) < 4 or len(data) % 2:
        return None
    even, odd = data[0::2].count(0), data[1::2].count(0)
    half = len(data) // 2
    if odd > 0.3 * half and even < 0.05 * half:
        return "utf-16-le"
    if even > 0.3 * half and odd < 0.05 * half:
        return "utf-16-be"
    return None


def _strict(data: bytes, name: str, path) -> tuple[str, str]:
    try:
        return data.decode(name), name
    except UnicodeDecodeError as exc:
        raise TextDecodeError(
            f"{path} looks like {name} but byte {exc.start} is not valid ({exc.reason}); "
            "save it again as UTF-8, or pass its --encoding"
        ) from exc
