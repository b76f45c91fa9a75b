"""Reading the fields of a submitted HTML form: text cut to a length, photos with a limit."""

from __future__ import annotations

from starlette.datastructures import FormData, UploadFile

from hakama.core.errors import Invalid
from hakama.services import request_media

MAX_PHOTOS = 2  # the portal's forms offer a camera input and a file input


def form_text(form: FormData, name: str, limit: int = 5000) -> str:
    """A text field, at most `limit` characters; "" if absent or a file."""
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


async def form_photos(form: FormData) -> list[bytes]:
    """The photos sent (camera and file inputs); one byte over the limit is enough to refuse."""
    photos: list[bytes] = []
    for item in form.getlist("photo"):
        if not isinstance(item, UploadFile) or not item.filename:
            continue
        data = await item.read(request_media.MAX_BYTES + 1)
        if data:
            photos.append(data)
    if len(photos) > MAX_PHOTOS:
        raise Invalid(f"at most {MAX_PHOTOS} photos")
    return photos
