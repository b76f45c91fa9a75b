"""Photos attached to service requests: checked by content, stripped of metadata, stored under
random names in `settings.uploads_dir/requests/`.

Only JPEG, PNG and WebP images up to 5 MB are accepted, whatever the file name or declared type
says. Every image is decoded and re-encoded, which drops EXIF (GPS position, camera serial,
time), XMP and ICC comments; the orientation EXIF carried is applied to the pixels first so the
photo still stands upright.
"""

from __future__ import annotations

import io
import re
import secrets
import warnings
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from hakama.core.errors import Invalid, NotFound
from hakama.services.platform import Platform

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000  # decompression bombs: a 5 MB PNG can claim gigapixels
FORMATS = {
    "JPEG": ("jpg", "image/jpeg"),
    "PNG": ("png", "image/png"),
    "WEBP": ("webp", "image/webp"),
}
NAME = re.compile(r"[0-9a-f]{32}\.(jpg|png|webp)")
CONTENT_TYPES = {ext: mime for ext, mime in FORMATS.values()}


def media_dir(platform: Platform) -> Path:
    return platform.settings.uploads_dir / "requests"


def clean_image(data: bytes) -> tuple[bytes, str]:
    """The image re-encoded without any metadata, and its file extension; Invalid otherwise."""
    if not data:
        raise Invalid("the photo is empty")
    if len(data) > MAX_BYTES:
        raise Invalid(
            f"the photo is {len(data) // 1024} KB; at most {MAX_BYTES // (1024 * 1024)} MB"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                kind = probe.format or ""
                if kind not in FORMATS:
                    raise Invalid("the photo must be a JPEG, PNG or WebP image")
                if probe.width * probe.height > MAX_PIXELS:
                    raise Invalid("the photo has too many pixels")
                probe.load()
                image = ImageOps.exif_transpose(probe)
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ):
        raise Invalid("the file is not a readable JPEG, PNG or WebP image") from None
    ext, _mime = FORMATS[kind]
    keep = ("RGB", "L") if kind == "JPEG" else ("RGB", "RGBA", "L", "LA")
    if image.mode not in keep:
        image = image.convert("RGB" if kind == "JPEG" else "RGBA")
    # A new image from the raw pixels only: no EXIF, XMP, text chunks or ICC profile can follow.
    bare = Image.frombytes(image.mode, image.size, image.tobytes())
    out = io.BytesIO()
    if kind == "JPEG":
        bare.save(out, "JPEG", quality=88, optimize=True)
    elif kind == "PNG":
        bare.save(out, "PNG", optimize=True)
    else:
        bare.save(out, "WEBP", quality=85)
    return out.getvalue(), ext


def store_image(platform: Platform, data: bytes) -> str:
    """Check, clean and store one photo; returns its random file name."""
    cleaned, ext = clean_image(data)
    folder = media_dir(platform)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.{ext}"
    tmp = folder / f".{name}.tmp"
    tmp.write_bytes(cleaned)
    tmp.replace(folder / name)
    return name


def media_path(platform: Platform, name: str) -> tuple[Path, str]:
    """The file of a stored photo and its content type; NotFound for anything else."""
    if not NAME.fullmatch(name):
        raise NotFound("no such media")
    path = media_dir(platform) / name
    if not path.is_file():
        raise NotFound("no such media")
    return path, CONTENT_TYPES[name.rsplit(".", 1)[1]]


def remove(platform: Platform, names: list[str]) -> None:
    """Delete stored photos (a request that failed to save must not leave files behind)."""
    for name in names:
        if NAME.fullmatch(name):
            (media_dir(platform) / name).unlink(missing_ok=True)


def is_stored_name(value: str) -> bool:
    return bool(NAME.fullmatch(value))
