"""Evidence photos: type from the bytes, size and pixel limits, metadata stripped, stored by hash.

Every test image is generated in memory; no binary fixtures live in the repository.
"""

import hashlib
import io
import math
import os
import struct
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NoReturn

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import ExifTags, Image, ImageCms, ImageFile, JpegImagePlugin, PngImagePlugin

from api.errors import AppError
from api.photos import (
    MAX_PIXELS_JPEG,
    MAX_PIXELS_PNG,
    MAX_SIDE,
    MAX_UPLOAD_BYTES,
    PhotoLimits,
    PhotoTooLarge,
    PhotoTooManyPixels,
    PhotoTypeNotAllowed,
    PhotoUnreadable,
    ProcessedPhoto,
    process_photo,
)
from api.storage import LocalPhotoStore, PhotoStore, photo_key

FORMATS = ["JPEG", "PNG", "WEBP"]
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>secret-xmp</rdf:RDF></x:xmpmeta>'


# --- helpers -------------------------------------------------------------------------------


def _encoded(image: Image.Image, fmt: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _scene(size: tuple[int, int] = (64, 48)) -> Image.Image:
    """A smooth colour picture, so lossy codecs keep it recognisable."""
    gradient = Image.linear_gradient("L").resize(size)
    return Image.merge("RGB", (gradient, gradient.transpose(Image.Transpose.ROTATE_180), gradient))


def _opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestPhone"
    exif[ExifTags.Base.Model] = "Model X"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (30.0, 15.0, 0.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (120.0, 10.0, 0.0)
    return exif


def _png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width` x `height`; its pixel data is for 1x1."""
    small = _encoded(Image.new("1", (1, 1)), "PNG")
    # Signature (8), IHDR length (4), then b"IHDR", width, height, 5 more bytes and the CRC.
    ihdr = b"IHDR" + struct.pack(">II", width, height) + small[24:29]
    return small[:12] + ihdr + struct.pack(">I", zlib.crc32(ihdr)) + small[33:]


def _must_not_run(*args: object, **kwargs: object) -> NoReturn:
    raise AssertionError("the photo was decoded although it should have been refused first")


def _pixel(image: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    value = image.getpixel(xy)
    assert isinstance(value, tuple)
    return value


def _close(a: tuple[int, ...], b: tuple[int, ...], tolerance: int = 12) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


# --- metadata ------------------------------------------------------------------------------


def test_jpeg_loses_exif_gps_xmp_and_comment() -> None:
    original = _encoded(_scene(), "JPEG", exif=_gps_exif(), xmp=XMP, comment=b"taken at home")
    before = _opened(original)
    assert before.getexif().get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitudeRef] == "N"

    photo = process_photo(original)

    for marker in (b"Exif", b"GPS", b"TestPhone", b"secret-xmp", b"taken at home"):
        assert marker not in photo.content
    after = _opened(photo.content)
    assert after.format == "JPEG"
    assert not after.getexif()
    assert not {"exif", "xmp", "comment", "icc_profile"} & after.info.keys()


def test_png_loses_text_chunks_and_exif_but_keeps_alpha() -> None:
    image = _scene().convert("RGBA")
    image.putpixel((0, 0), (10, 20, 30, 0))
    text = PngImagePlugin.PngInfo()
    text.add_text("Location", "Room 301")
    original = _encoded(image, "PNG", pnginfo=text, exif=_gps_exif())
    assert _opened(original).getexif().get_ifd(ExifTags.IFD.GPSInfo)

    photo = process_photo(original)

    for marker in (b"eXIf", b"tEXt", b"Room 301", b"TestPhone"):
        assert marker not in photo.content
    after = _opened(photo.content)
    assert (after.format, after.mode) == ("PNG", "RGBA")
    assert not after.getexif()
    assert after.tobytes() == image.tobytes()  # lossless: every pixel and its alpha survive


def test_webp_loses_exif_and_xmp() -> None:
    original = _encoded(_scene().convert("RGBA"), "WEBP", exif=_gps_exif(), xmp=XMP)
    assert _opened(original).getexif().get_ifd(ExifTags.IFD.GPSInfo)

    photo = process_photo(original)

    for marker in (b"EXIF", b"XMP ", b"secret-xmp", b"TestPhone"):
        assert marker not in photo.content
    after = _opened(photo.content)
    assert after.format == "WEBP"
    assert not after.getexif()
    assert not {"exif", "xmp", "icc_profile"} & after.info.keys()


def _red_blue_swapped_profile() -> bytes:
    """sRGB, except that the red and blue primaries trade places in the tag table."""
    icc = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    (count,) = struct.unpack_from(">I", icc, 128)
    entries = {bytes(icc[at : at + 4]): at for at in range(132, 132 + 12 * count, 12)}
    red, blue = entries[b"rXYZ"], entries[b"bXYZ"]
    icc[red + 4 : red + 12], icc[blue + 4 : blue + 12] = (
        icc[blue + 4 : blue + 12],
        icc[red + 4 : red + 12],
    )
    return bytes(icc)


def test_colour_profile_is_baked_into_the_pixels_then_dropped() -> None:
    image = Image.new("RGB", (16, 16), (255, 0, 0))
    photo = process_photo(_encoded(image, "JPEG", icc_profile=_red_blue_swapped_profile()))

    after = _opened(photo.content)
    assert "icc_profile" not in after.info
    # Stored as "red" in a space whose red is sRGB blue: without the profile it must be blue.
    assert _close(_pixel(after, (8, 8)), (0, 0, 255), tolerance=40)


def test_broken_colour_profile_does_not_lose_the_photo() -> None:
    image = Image.new("RGB", (16, 16), (200, 120, 40))
    photo = process_photo(_encoded(image, "JPEG", icc_profile=b"not a real profile"))
    assert _close(_pixel(_opened(photo.content), (8, 8)), (200, 120, 40))


# --- formats and modes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "content_type", "extension"),
    [("JPEG", "image/jpeg", "jpg"), ("PNG", "image/png", "png"), ("WEBP", "image/webp", "webp")],
)
def test_each_format_stays_in_its_format(fmt: str, content_type: str, extension: str) -> None:
    photo = process_photo(_encoded(_scene((64, 48)), fmt))

    assert (photo.content_type, photo.extension) == (content_type, extension)
    assert (photo.width, photo.height) == (64, 48)
    assert photo.sha256 == hashlib.sha256(photo.content).hexdigest()
    after = _opened(photo.content)
    assert (after.format, after.size) == (fmt, (64, 48))
    assert _close(_pixel(after, (32, 24)), _pixel(_scene((64, 48)), (32, 24)))


@pytest.mark.parametrize("fmt", FORMATS)
def test_same_upload_gives_the_same_bytes_and_hash(fmt: str) -> None:
    original = _encoded(_scene((300, 200)), fmt, exif=_gps_exif())
    first, second = process_photo(original), process_photo(original)
    assert first == second
    assert first.sha256 == second.sha256


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_large_photo_is_downscaled_keeping_its_aspect(fmt: str) -> None:
    photo = process_photo(_encoded(_scene((MAX_SIDE + 200, MAX_SIDE // 2 + 100)), fmt))
    assert (photo.width, photo.height) == (MAX_SIDE, MAX_SIDE // 2)
    assert _opened(photo.content).size == (MAX_SIDE, MAX_SIDE // 2)


def test_big_jpeg_is_decoded_at_reduced_scale(monkeypatch: pytest.MonkeyPatch) -> None:
    decoded_sizes: list[tuple[int, int]] = []
    load = JpegImagePlugin.JpegImageFile.load

    def recording_load(self: JpegImagePlugin.JpegImageFile) -> object:
        decoded_sizes.append(self.size)
        return load(self)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load", recording_load)
    photo = process_photo(_encoded(_scene((MAX_SIDE * 2 + 800, MAX_SIDE + 400)), "JPEG"))

    # Half scale straight out of the decoder, never the full 5920 x 2960 pixels.
    assert decoded_sizes[0] == (MAX_SIDE + 400, MAX_SIDE // 2 + 200)
    assert (photo.width, photo.height) == (MAX_SIDE, MAX_SIDE // 2)


def test_small_photo_is_not_enlarged() -> None:
    photo = process_photo(_encoded(_scene((20, 10)), "JPEG"))
    assert (photo.width, photo.height) == (20, 10)


def test_exif_orientation_is_applied_to_the_pixels() -> None:
    image = Image.new("RGB", (40, 20), (255, 0, 0))
    image.paste((0, 0, 255), (20, 0, 40, 20))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # camera held upright: turn 90° clockwise to view

    photo = process_photo(_encoded(image, "JPEG", exif=exif))

    after = _opened(photo.content)
    assert after.size == (20, 40)
    assert _close(_pixel(after, (10, 5)), (255, 0, 0), tolerance=40)  # left half now on top
    assert _close(_pixel(after, (10, 35)), (0, 0, 255), tolerance=40)
    assert not after.getexif()  # no Orientation left to make a viewer rotate it again


def test_cmyk_jpeg_becomes_rgb() -> None:
    photo = process_photo(_encoded(Image.new("CMYK", (16, 16), (0, 255, 255, 0)), "JPEG"))
    after = _opened(photo.content)
    assert after.mode == "RGB"
    assert _close(_pixel(after, (8, 8)), (255, 0, 0), tolerance=40)


def test_palette_png_with_transparency_keeps_it() -> None:
    image = Image.new("P", (8, 8), 1)
    image.putpalette([0, 0, 0, 255, 0, 0])
    image.putpixel((0, 0), 0)

    photo = process_photo(_encoded(image, "PNG", transparency=0))

    after = _opened(photo.content)
    assert after.mode == "RGBA"
    assert _pixel(after, (0, 0))[3] == 0
    assert _pixel(after, (4, 4)) == (255, 0, 0, 255)


def test_sixteen_bit_png_is_scaled_not_clipped() -> None:
    photo = process_photo(_encoded(Image.new("I;16", (8, 8), 40_000), "PNG"))
    after = _opened(photo.content)
    assert after.mode == "L"
    grey = after.getpixel((4, 4))
    assert isinstance(grey, int)
    assert abs(grey - 40_000 / 257) <= 1  # clipping would give 255


# --- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(_encoded(_scene(), "GIF"), id="gif"),
        pytest.param(_encoded(_scene(), "BMP"), id="bmp"),
        pytest.param(_encoded(_scene(), "TIFF"), id="tiff"),
        pytest.param("我的照片\n".encode(), id="text"),
        pytest.param(b"\x00\x00\x00\x18ftypheic" + bytes(64), id="heic"),
        pytest.param(b"", id="empty"),
    ],
)
def test_type_comes_from_the_bytes_not_the_name(data: bytes) -> None:
    # The upload may be called "evidence.jpg"; process_photo never sees the name at all.
    with pytest.raises(PhotoTypeNotAllowed) as refused:
        process_photo(data)
    assert (refused.value.code, refused.value.status) == ("photo_type_not_allowed", 415)


def test_oversized_upload_is_refused_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "open", _must_not_run)
    with pytest.raises(PhotoTooLarge) as refused:
        process_photo(_encoded(_scene(), "JPEG") + bytes(MAX_UPLOAD_BYTES))
    assert (refused.value.code, refused.value.status) == ("photo_too_large", 413)


def test_upload_of_exactly_the_limit_passes_the_size_check() -> None:
    with pytest.raises(PhotoTypeNotAllowed):
        process_photo(b"GIF89a" + bytes(MAX_UPLOAD_BYTES - 6))


def _bomb_side(label: str) -> int:
    pillow_limit = Image.MAX_IMAGE_PIXELS
    assert pillow_limit is not None and pillow_limit > MAX_PIXELS_JPEG
    pixels = {
        "ours": MAX_PIXELS_PNG,
        "pillow_warns": pillow_limit,
        "pillow_fails": 2 * pillow_limit,
    }
    return math.isqrt(pixels[label]) + 1


@pytest.mark.parametrize("label", ["ours", "pillow_warns", "pillow_fails"])
def test_decompression_bomb_is_refused_without_decoding(
    label: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    side = _bomb_side(label)
    monkeypatch.setattr(ImageFile.ImageFile, "load", _must_not_run)

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with pytest.raises(PhotoTooManyPixels) as refused:
            process_photo(_png_declaring(side, side))

    assert (refused.value.code, refused.value.status) == ("photo_too_many_pixels", 422)
    assert not [w for w in seen if issubclass(w.category, Image.DecompressionBombWarning)]


def test_genuine_bomb_is_refused() -> None:
    # A valid 64 MP bilevel PNG: a few kilobytes on the wire, hundreds of MB once decoded.
    data = _encoded(Image.new("1", (8_000, 8_000)), "PNG")
    assert len(data) < 100_000
    with pytest.raises(PhotoTooManyPixels):
        process_photo(data)


def test_a_lossless_picture_is_refused_far_below_the_jpeg_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The review's bomb: a PNG of 6324 x 6324 (165 KB as RGBA zeros, 535 MB once decoded).
    monkeypatch.setattr(ImageFile.ImageFile, "load", _must_not_run)
    with pytest.raises(PhotoTooManyPixels) as refused:
        process_photo(_png_declaring(6_324, 6_324))
    assert refused.value.detail == {"width": 6_324, "height": 6_324, "max_pixels": MAX_PIXELS_PNG}


# Each just over its format's limit, but a sequential JPEG (decoded at half scale), far under its
# own; and the width it is stored at.
PER_FORMAT = {
    "jpeg": ("JPEG", {}, (4_000, 3_000), True, 2_000),
    "progressive_jpeg": ("JPEG", {"progressive": True}, (2_100, 2_000), False, 2_100),
    "png": ("PNG", {}, (3_000, 2_700), False, MAX_SIDE),
    "webp": ("WEBP", {}, (1_300, 1_200), False, 1_300),
}


@pytest.mark.parametrize("name", PER_FORMAT)
def test_each_format_has_its_own_pixel_limit(name: str) -> None:
    fmt, options, size, accepted, width = PER_FORMAT[name]
    data = _encoded(_scene(size), fmt, **options)
    if not accepted:
        with pytest.raises(PhotoTooManyPixels):
            process_photo(data)
    # Each limit is a setting.
    roomy = PhotoLimits(**{f"max_pixels_{name}": size[0] * size[1]})
    assert process_photo(data, roomy).width == width


def test_a_jpeg_is_never_decoded_beyond_the_pixel_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    decoded_sizes: list[tuple[int, int]] = []
    load = JpegImagePlugin.JpegImageFile.load

    def recording_load(self: JpegImagePlugin.JpegImageFile) -> object:
        decoded_sizes.append(self.size)
        return load(self)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load", recording_load)
    # Full scale is the smallest that gives MAX_SIDE, but holds 26 MP: half scale instead.
    photo = process_photo(_encoded(_scene((5_100, 5_100)), "JPEG"))
    assert set(decoded_sizes) == {(2_550, 2_550)}
    assert (photo.width, photo.height) == (2_550, 2_550)


def _translucent(size: tuple[int, int], mode: str) -> Image.Image:
    colour = _scene(size)
    alpha = Image.linear_gradient("L").transpose(Image.Transpose.ROTATE_90).resize(size)
    if mode == "P":
        return colour.convert("P")
    if mode == "LA":
        return Image.merge("LA", (colour.convert("L"), alpha))
    return Image.merge("RGBA", (*colour.split(), alpha))


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P"])
def test_shrinking_in_steps_gives_the_pixels_of_one_resize(mode: str) -> None:
    picture = _translucent((MAX_SIDE + 300, 600), mode)
    photo = process_photo(_encoded(picture, "PNG"))
    expected = picture.convert("RGB") if mode == "P" else picture
    expected = expected.resize((photo.width, photo.height), Image.Resampling.LANCZOS)
    assert _opened(photo.content).tobytes() == expected.tobytes()


@pytest.mark.parametrize("fmt", FORMATS)
def test_truncated_photo_is_unreadable(fmt: str) -> None:
    data = _encoded(Image.effect_noise((200, 200), 80).convert("RGB"), fmt)
    with pytest.raises(PhotoUnreadable) as refused:
        process_photo(data[: len(data) // 2])
    assert (refused.value.code, refused.value.status) == ("photo_unreadable", 422)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"\xff\xd8\xff\xe0" + bytes(100), id="jpeg"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10, id="png"),
        pytest.param(b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"garbage" * 10, id="webp"),
    ],
)
def test_right_signature_with_garbage_is_unreadable(data: bytes) -> None:
    with pytest.raises(PhotoUnreadable):
        process_photo(data)


def _outcome(data: bytes) -> str:
    try:
        process_photo(data)
    except PhotoTooManyPixels:
        return "refused"
    return "stored"


def test_worker_threads_can_process_photos_concurrently() -> None:
    filters_before = list(warnings.filters)
    bomb = _png_declaring(_bomb_side("pillow_warns"), _bomb_side("pillow_warns"))
    uploads = [bomb, _encoded(_scene(), "JPEG")] * 16

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(_outcome, uploads))

    assert outcomes == ["refused", "stored"] * 16
    assert warnings.filters == filters_before


_SEEDS = [_encoded(Image.effect_noise((40, 30), 60).convert("RGB"), fmt) for fmt in FORMATS]


@settings(max_examples=150, deadline=None)
@given(
    seed=st.sampled_from(_SEEDS),
    flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), max_size=8),
    cut=st.none() | st.integers(min_value=0),
)
def test_damaged_photos_only_raise_photo_errors(
    seed: bytes, flips: list[tuple[int, int]], cut: int | None
) -> None:
    data = bytearray(seed)
    for position, value in flips:
        data[position % len(data)] = value
    try:
        photo = process_photo(bytes(data[: None if cut is None else cut % len(data)]))
    except (PhotoTypeNotAllowed, PhotoTooManyPixels, PhotoUnreadable):
        return
    assert _opened(photo.content).size == (photo.width, photo.height)


@pytest.mark.parametrize(
    ("error", "fields", "code", "status"),
    [
        (PhotoTooLarge, {"size": "10 MB"}, "photo_too_large", 413),
        (PhotoTypeNotAllowed, {}, "photo_type_not_allowed", 415),
        (PhotoTooManyPixels, {}, "photo_too_many_pixels", 422),
        (PhotoUnreadable, {}, "photo_unreadable", 422),
    ],
)
def test_errors_render_as_app_errors(
    error: type[AppError], fields: dict[str, str], code: str, status: int
) -> None:
    body = error(**fields).body()
    assert (body.code, error.status) == (code, status)
    assert body.message == error.message.format(**fields)
    assert not body.message.isascii()


# --- storage -------------------------------------------------------------------------------

SHA = hashlib.sha256(b"photo").hexdigest()
KEY = f"{SHA[:2]}/{SHA[2:4]}/{SHA}.jpg"


def test_photo_key_is_content_addressed() -> None:
    assert photo_key(SHA, "jpg") == KEY


@pytest.mark.parametrize(
    ("sha256", "extension"),
    [(SHA.upper(), "jpg"), (SHA[:-1], "jpg"), ("../" + SHA[3:], "jpg"), (SHA, ".jpg"), (SHA, "")],
)
def test_photo_key_refuses_malformed_parts(sha256: str, extension: str) -> None:
    with pytest.raises(ValueError):
        photo_key(sha256, extension)


async def test_put_then_get_and_exists(tmp_path: Path) -> None:
    store: PhotoStore = LocalPhotoStore(tmp_path)
    assert not await store.exists(KEY)

    await store.put(KEY, b"photo", "image/jpeg")

    assert await store.exists(KEY)
    assert await store.get(KEY) == b"photo"
    assert (tmp_path / KEY).read_bytes() == b"photo"


async def test_putting_an_existing_key_is_a_no_op(tmp_path: Path) -> None:
    store = LocalPhotoStore(tmp_path)
    await store.put(KEY, b"first", "image/jpeg")
    await store.put(KEY, b"second", "image/jpeg")

    assert await store.get(KEY) == b"first"
    assert [p.name for p in (tmp_path / KEY).parent.iterdir()] == [f"{SHA}.jpg"]


async def test_failed_write_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def disk_full(*args: object) -> NoReturn:
        raise OSError("No space left on device")

    store = LocalPhotoStore(tmp_path)
    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError, match="No space"):
        await store.put(KEY, b"photo", "image/jpeg")

    assert not await store.exists(KEY)
    assert list((tmp_path / KEY).parent.iterdir()) == []


async def test_missing_key_raises_key_error(tmp_path: Path) -> None:
    store = LocalPhotoStore(tmp_path)
    with pytest.raises(KeyError):
        await store.get(KEY)
    with pytest.raises(KeyError):
        await store.get(SHA[:2])  # a directory is not a photo


@pytest.mark.parametrize(
    "key",
    ["../outside.jpg", "ab/../../outside.jpg", "/tmp/outside.jpg", "ab\\..\\x.jpg", "a//b", ""],
)
async def test_keys_escaping_the_root_are_refused(tmp_path: Path, key: str) -> None:
    store = LocalPhotoStore(tmp_path / "store")
    with pytest.raises(ValueError):
        await store.put(key, b"photo", "image/jpeg")
    with pytest.raises(ValueError):
        await store.get(key)
    with pytest.raises(ValueError):
        await store.exists(key)
    assert not (tmp_path / "outside.jpg").exists()


async def test_symlink_out_of_the_root_is_refused(tmp_path: Path) -> None:
    root, outside = tmp_path / "store", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "ab").symlink_to(outside, target_is_directory=True)

    with pytest.raises(ValueError):
        await LocalPhotoStore(root).put("ab/photo.jpg", b"photo", "image/jpeg")
    assert list(outside.iterdir()) == []


async def test_processed_photo_is_stored_under_its_hash(tmp_path: Path) -> None:
    photo: ProcessedPhoto = process_photo(_encoded(_scene(), "JPEG", exif=_gps_exif()))
    store = LocalPhotoStore(tmp_path)
    key = photo_key(photo.sha256, photo.extension)

    await store.put(key, photo.content, photo.content_type)

    assert key.endswith(f"/{photo.sha256}.jpg")
    assert hashlib.sha256(await store.get(key)).hexdigest() == photo.sha256
