"""Evidence photos: check an upload from its bytes, strip its metadata and re-encode it.

The bytes decide the type (JPEG, PNG or WebP), never the file name. Dimensions are checked from
the header before any pixel is decoded, so a small file cannot expand into gigabytes of memory.
The output is re-encoded from pixels only: no EXIF, no GPS, no XMP, no comments, no ICC profile
(colours are converted to sRGB first, so dropping the profile does not shift them). The result
is deterministic, so the same upload always gets the same content hash and is stored once.

Everything here is synchronous and CPU-bound. Callers on the event loop must run it in a worker
thread: `photo = await anyio.to_thread.run_sync(process_photo, data)`.
"""

import hashlib
import io
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import imagehash
from PIL import Image, ImageCms, ImageFile, ImageOps, UnidentifiedImageError

from api.errors import AppError, PayloadTooLarge

MAX_UPLOAD_BYTES: Final = 10 * 1024 * 1024
# A 40 MP photo already takes about 160 MB once decoded to RGBA.
MAX_PIXELS: Final = 40_000_000
# Long side of a stored photo: sharp on any phone screen, a fraction of the original's bytes.
MAX_SIDE: Final = 2560


class PhotoTooLarge(PayloadTooLarge):
    code, message = "photo_too_large", "照片不能超过 10 MB"


class PhotoTypeNotAllowed(AppError):
    code, status, message = (
        "photo_type_not_allowed",
        415,
        "只能上传 JPEG、PNG 或 WebP 格式的照片",
    )


class PhotoTooManyPixels(AppError):
    code, status, message = "photo_too_many_pixels", 422, "照片尺寸过大"


class PhotoUnreadable(AppError):
    code, status, message = "photo_unreadable", 422, "照片已损坏，无法读取"


@dataclass(frozen=True, slots=True)
class ProcessedPhoto:
    content: bytes
    content_type: str
    extension: str
    sha256: str
    width: int
    height: int
    phash: int  # the perceptual hash of the stored picture, 64 bits unsigned


@dataclass(frozen=True, slots=True)
class _Format:
    pillow_name: str
    content_type: str
    extension: str
    save_options: Mapping[str, object]


# Progressive JPEG shows a coarse preview early on a slow mobile connection.
_JPEG: Final = _Format(
    "JPEG", "image/jpeg", "jpg", {"quality": 85, "optimize": True, "progressive": True}
)
_PNG: Final = _Format("PNG", "image/png", "png", {})
_WEBP: Final = _Format("WEBP", "image/webp", "webp", {"quality": 85})

# Modes each encoder takes as they are; anything else is converted first.
_KEPT_MODES: Final = {"JPEG": {"L", "RGB"}, "PNG": {"L", "LA", "RGB", "RGBA"}}
_DEFAULT_KEPT_MODES: Final = {"RGB", "RGBA"}

# `warnings.catch_warnings` swaps process-wide state (until Python 3.14), and this module runs
# in several worker threads at once; only the cheap header parsing happens under the lock.
_open_lock: Final = threading.Lock()


def process_photo(data: bytes) -> ProcessedPhoto:
    """Validate an uploaded photo and return it re-encoded without metadata.

    Raises `PhotoTooLarge`, `PhotoTypeNotAllowed`, `PhotoTooManyPixels` or `PhotoUnreadable`;
    no other exception escapes for bad input. Blocking: run it in a worker thread.
    """
    if len(data) > MAX_UPLOAD_BYTES:
        raise PhotoTooLarge(detail={"max_bytes": MAX_UPLOAD_BYTES})
    kind = _sniff(data)
    try:
        with _open_header(data, kind) as source:
            _check_pixels(source.size)
            picture = _prepare(source, kind)
        content = _encode(picture, kind)
        phash = int(str(imagehash.phash(picture)), 16)
    except AppError:
        raise
    except Exception as exc:
        # Pillow reports damaged input through many exception types (OSError, SyntaxError,
        # struct.error, ValueError...); for the member they all mean the same thing.
        raise PhotoUnreadable() from exc
    return ProcessedPhoto(
        content=content,
        content_type=kind.content_type,
        extension=kind.extension,
        sha256=hashlib.sha256(content).hexdigest(),
        width=picture.width,
        height=picture.height,
        phash=phash,
    )


def _sniff(data: bytes) -> _Format:
    if data.startswith(b"\xff\xd8\xff"):
        return _JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return _PNG
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return _WEBP
    raise PhotoTypeNotAllowed()


def _open_header(data: bytes, kind: _Format) -> ImageFile.ImageFile:
    """Parse the header only; pixels are decoded later by `load()`."""
    with _open_lock, warnings.catch_warnings():
        # Pillow warns (rather than fails) between its own limit and twice that limit.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            # Only the plugin of the sniffed format may parse the bytes.
            return Image.open(io.BytesIO(data), formats=[kind.pillow_name])
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            raise PhotoTooManyPixels() from exc
        except UnidentifiedImageError as exc:
            raise PhotoUnreadable() from exc


def _check_pixels(size: tuple[int, int]) -> None:
    width, height = size
    if width * height > MAX_PIXELS:
        detail = {"width": width, "height": height, "max_pixels": MAX_PIXELS}
        raise PhotoTooManyPixels(detail=detail)


def _prepare(source: ImageFile.ImageFile, kind: _Format) -> Image.Image:
    # JPEG can decode at 1/2, 1/4 or 1/8 scale almost for free; a photo headed for MAX_SIDE
    # then never occupies its full-size memory. A no-op for PNG and WebP.
    source.draft(None, _fitted(source.size))
    source.load()
    upright = ImageOps.exif_transpose(_workable(source))
    upright.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return _without_metadata(_encodable(_to_srgb(upright), kind))


def _fitted(size: tuple[int, int]) -> tuple[int, int]:
    width, height = size
    scale = min(1.0, MAX_SIDE / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _workable(image: Image.Image) -> Image.Image:
    """A mode that resizes smoothly: palette and bilevel images only resize pixel by pixel."""
    if image.mode in {"L", "LA", "RGB", "RGBA", "CMYK"}:
        return image
    if image.mode.startswith("I;16"):
        # A plain conversion would clip every value above 255 to white.
        return image.convert("I").point(lambda value: value / 257).convert("L")
    if image.mode == "1":
        return image.convert("L")
    has_alpha = "A" in image.mode or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


def _to_srgb(image: Image.Image) -> Image.Image:
    """Bake the embedded colour profile into the pixels, so the profile can be dropped."""
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in {"RGB", "RGBA", "CMYK"}:
        return image
    output_mode = "RGBA" if image.mode == "RGBA" else "RGB"
    try:
        converted = ImageCms.profileToProfile(
            image,
            ImageCms.ImageCmsProfile(io.BytesIO(icc)),
            ImageCms.createProfile("sRGB"),
            outputMode=output_mode,
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        # A broken profile must not cost the member the photo: the pixels are still good.
        return image
    return converted if converted is not None else image


def _encodable(image: Image.Image, kind: _Format) -> Image.Image:
    kept = _KEPT_MODES.get(kind.pillow_name, _DEFAULT_KEPT_MODES)
    if image.mode in kept:
        return image
    if image.mode == "LA" and "RGBA" in kept:
        return image.convert("RGBA")
    # JPEG has no alpha channel; source JPEGs never carry one, so nothing is lost here.
    return image.convert("RGB")


def _without_metadata(image: Image.Image) -> Image.Image:
    # A fresh image carries pixels only; encoders read comments, ICC profiles and transparency
    # back from `info`, which every Pillow operation copies along.
    bare = Image.new(image.mode, image.size)
    bare.paste(image)
    return bare


def _encode(image: Image.Image, kind: _Format) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=kind.pillow_name, **kind.save_options)
    return buffer.getvalue()
