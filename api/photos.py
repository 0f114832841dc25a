"""Evidence photos: check an upload from its bytes, strip its metadata and re-encode it.

The bytes decide the type (JPEG, PNG or WebP), never the file name. Dimensions are checked from
the header before any pixel is decoded, against a limit per format that follows what decoding
it costs: a JPEG is decoded at reduced scale (its memory follows the decoded size, not the
declared one), except that a progressive JPEG holds every coefficient of the whole picture
while it decodes; PNG and WebP are decoded whole, at four bytes a pixel. The output is
re-encoded from pixels only: no EXIF, no GPS, no XMP, no comments, no ICC profile (colours are
converted to sRGB first, so dropping the profile does not shift them). The result is
deterministic, so the same upload always gets the same content hash and is stored once.

`process_photo` is synchronous and CPU-bound; `PhotoDecoder` runs it in a worker thread, a few at
a time per process.
"""

import ctypes
import hashlib
import io
import math
import sys
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import imagehash
from anyio import CapacityLimiter, to_thread
from PIL import Image, ImageCms, ImageFile, ImageOps, UnidentifiedImageError

from api.errors import AppError, PayloadTooLarge

MAX_UPLOAD_BYTES: Final = 10 * 1024 * 1024
# Pixels a photo may declare, each limit keeping the worst accepted photo under about 64 MB
# while it is processed (bench/hostile.py measures it). A sequential JPEG is decoded at reduced
# scale, so its limit bounds the decoder's work, not its memory; a progressive JPEG holds 3 to
# 8 bytes of coefficients per declared pixel while it decodes; a PNG is decoded whole at 4
# bytes per pixel; Pillow's WebP decoder keeps three full-size buffers, and encoding a WebP with
# alpha again takes some 20 bytes per pixel more.
MAX_PIXELS_JPEG: Final = 50_000_000
MAX_PIXELS_PROGRESSIVE_JPEG: Final = 4_000_000
MAX_PIXELS_PNG: Final = 8_000_000
MAX_PIXELS_WEBP: Final = 1_500_000
# Long side of a stored photo: sharp on any phone screen, a fraction of the original's bytes.
MAX_SIDE: Final = 2560
# A JPEG is decoded at the smallest of 1, 1/2, 1/4 and 1/8 scale that still gives MAX_SIDE,
# or smaller when that would hold more pixels than this (32 MB of decoded pixels).
MAX_DECODED_PIXELS: Final = 8_000_000


# glibc's mallopt parameter, and the size from which every allocation gets pages of its own.
_M_MMAP_THRESHOLD: Final = -3
_LARGE_BUFFER: Final = 1024 * 1024


@dataclass(frozen=True, slots=True)
class PhotoLimits:
    max_bytes: int = MAX_UPLOAD_BYTES
    max_pixels_jpeg: int = MAX_PIXELS_JPEG
    max_pixels_progressive_jpeg: int = MAX_PIXELS_PROGRESSIVE_JPEG
    max_pixels_png: int = MAX_PIXELS_PNG
    max_pixels_webp: int = MAX_PIXELS_WEBP


class PhotoTooLarge(PayloadTooLarge):
    code, message = "photo_too_large", "照片不能超过 {size}"


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


def process_photo(data: bytes, limits: PhotoLimits = PhotoLimits()) -> ProcessedPhoto:
    """Validate an uploaded photo and return it re-encoded without metadata.

    Raises `PhotoTooLarge`, `PhotoTypeNotAllowed`, `PhotoTooManyPixels` or `PhotoUnreadable`;
    no other exception escapes for bad input. Blocking: run it in a worker thread.
    """
    if len(data) > limits.max_bytes:
        size = f"{math.ceil(limits.max_bytes / (1024 * 1024))} MB"
        raise PhotoTooLarge(size=size, detail={"max_bytes": limits.max_bytes})
    kind = _sniff(data)
    try:
        # Each stage is handed the only reference to the last one's pixels, so that it can
        # free them as soon as it has made its own.
        picture = _finished(
            _shrunk(_resizable(_decoded(_open_header(data, kind), kind, limits))), kind
        )
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


class PhotoDecoder:
    """`process_photo` in worker threads, a few at a time in this process: each one holds tens
    of MB while it runs, and the thread pool alone would run forty at once."""

    def __init__(self, limits: PhotoLimits, concurrency: int) -> None:
        self.limits = limits
        self._slots = CapacityLimiter(concurrency)

    async def process(self, data: bytes) -> ProcessedPhoto:
        return await to_thread.run_sync(process_photo, data, self.limits, limiter=self._slots)


def return_large_buffers_to_the_system() -> None:
    """Make glibc give every buffer of 1 MB or more back to the system as soon as it is freed.

    By default glibc raises its threshold for that to the size of the last such buffer freed, so
    the next ones come from the heap of the thread that asks: a photo's pixels, decoded in
    worker threads, stay resident in one heap per thread (the review saw 2.2 GB held after six
    uploads). Elsewhere than glibc on Linux, nothing to do.
    """
    if sys.platform != "linux":
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    libc.mallopt(_M_MMAP_THRESHOLD, _LARGE_BUFFER)


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


def _decoded(source: ImageFile.ImageFile, kind: _Format, limits: PhotoLimits) -> Image.Image:
    _check_pixels(source, kind, limits)
    if kind is _JPEG:
        source.draft(None, _draft_request(source.size))
    source.load()
    return source


def _check_pixels(source: ImageFile.ImageFile, kind: _Format, limits: PhotoLimits) -> None:
    if kind is _JPEG:
        progressive = bool(source.info.get("progressive"))
        most = limits.max_pixels_progressive_jpeg if progressive else limits.max_pixels_jpeg
    else:
        most = limits.max_pixels_png if kind is _PNG else limits.max_pixels_webp
    width, height = source.size
    if width * height > most:
        raise PhotoTooManyPixels(detail={"width": width, "height": height, "max_pixels": most})


def _draft_request(size: tuple[int, int]) -> tuple[int, int]:
    """The size to ask a JPEG's `draft` for, so that it decodes at the smallest scale still
    giving MAX_SIDE, or smaller when that would exceed MAX_DECODED_PIXELS."""
    width, height = size
    scale = 1
    while scale < 8 and -(-max(width, height) // (scale * 2)) >= MAX_SIDE:
        scale *= 2
    while scale < 8 and -(-width // scale) * -(-height // scale) > MAX_DECODED_PIXELS:
        scale *= 2
    # `draft` picks the largest scale whose result is at least the size asked for.
    return max(1, width // scale), max(1, height // scale)


def _shrunk(image: Image.Image) -> Image.Image:
    """The picture fitted in MAX_SIDE: the same pixels as one LANCZOS `resize`, in less memory.

    One direction at a time, each result replacing the last, so the full-size pixels are freed
    before the second pass allocates; and alpha premultiplied once for both passes (`resize`
    copies the whole picture to premultiply it, and again to undo it, on every call).
    """
    size = _fitted(image.size)
    if size == image.size:
        return image
    mode = image.mode
    premultiplied = {"RGBA": "RGBa", "LA": "La"}.get(mode)
    if premultiplied:
        image = image.convert(premultiplied)
    image = image.resize((size[0], image.height), Image.Resampling.LANCZOS)
    image = image.resize(size, Image.Resampling.LANCZOS)
    return image.convert(mode) if premultiplied else image


def _finished(image: Image.Image, kind: _Format) -> Image.Image:
    if kind is _WEBP and isinstance(image, ImageFile.ImageFile):
        # Pillow's WebP file keeps its decoder's canvas and last frame, two more copies of the
        # picture, for as long as it lives: the pixels are copied out so that it can go.
        image = image.copy()
    # Turned upright only now: turning the full-size picture would copy it. The MAX_SIDE box
    # is square, so the size comes out the same.
    ImageOps.exif_transpose(image, in_place=True)
    return _without_metadata(_encodable(_to_srgb(_eight_bit(image)), kind))


def _fitted(size: tuple[int, int]) -> tuple[int, int]:
    width, height = size
    scale = min(1.0, MAX_SIDE / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _resizable(image: Image.Image) -> Image.Image:
    """A mode that resizes smoothly: palette and bilevel images only resize pixel by pixel."""
    if image.mode in {"L", "LA", "RGB", "RGBA", "CMYK"} or image.mode.startswith("I;16"):
        return image
    if image.mode == "1":
        return image.convert("L")
    has_alpha = "A" in image.mode or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


def _eight_bit(image: Image.Image) -> Image.Image:
    if image.mode.startswith("I;16"):
        # A plain conversion would clip every value above 255 to white.
        return image.convert("I").point(lambda value: value / 257).convert("L")
    return image


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
    # Encoders read comments, ICC profiles and transparency back from `info`, which every
    # Pillow operation copies along. The image is this call's own (decoded or made here), so
    # it is emptied in place rather than copied.
    image.info = {}
    return image


def _encode(image: Image.Image, kind: _Format) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=kind.pillow_name, **kind.save_options)
    return buffer.getvalue()
