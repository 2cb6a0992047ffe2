"""PNG grids of seed 000 appendix B: samples, reconstructions, interpolations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def image_grid(images: np.ndarray, columns: int, pad: int = 1) -> np.ndarray:
    """Tile [N, H, W, C] images in [0, 1] row-major into a uint8 [rows*H, columns*W, C]."""
    images = np.clip(np.asarray(images, np.float32), 0.0, 1.0)
    n, h, w, c = images.shape
    rows = -(-n // columns)
    grid = np.ones((rows * (h + pad) + pad, columns * (w + pad) + pad, c), np.float32)
    for i, img in enumerate(images):
        r, k = divmod(i, columns)
        grid[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + k * (w + pad) : pad + k * (w + pad) + w] = (
            img
        )
    return (grid * 255.0 + 0.5).astype(np.uint8)


def save_grid(images: np.ndarray, path: str | Path, columns: int, scale: int = 2) -> Path:
    """Write a grid PNG (upscaled ``scale`` times, nearest neighbour) and return its path."""
    grid = image_grid(images, columns)
    if grid.shape[-1] == 1:
        grid = grid[..., 0]
    img = Image.fromarray(grid)
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    path = Path(path)
    img.save(path)
    return path


def interleave_rows(originals: np.ndarray, reconstructions: np.ndarray, columns: int) -> np.ndarray:
    """Rows of originals, each followed by the row of their reconstructions beneath."""
    n = len(originals) - len(originals) % columns
    out = []
    for start in range(0, n, columns):
        out.append(originals[start : start + columns])
        out.append(reconstructions[start : start + columns])
    return np.concatenate(out, axis=0)


def interpolation_codes(z_a: np.ndarray, z_b: np.ndarray, steps: int) -> np.ndarray:
    """Codes a*z_a + (1 - a)*z_b for a from 1 to 0, shape [pairs, steps, d_z]."""
    alphas = np.linspace(1.0, 0.0, steps, dtype=np.float32)[None, :, None]
    return alphas * z_a[:, None, :] + (1.0 - alphas) * z_b[:, None, :]


def save_histograms(
    series: dict[str, np.ndarray], path: str | Path, bins: int = 40, size: tuple[int, int] = (480, 260)
) -> Path:
    """Overlaid histograms (one colour per series, densities on a shared range) as a PNG,
    with the range's end points and the series names written on it (PIL only)."""
    from PIL import ImageDraw

    colours = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40)]
    values = [np.asarray(v, np.float64).ravel() for v in series.values()]
    lo, hi = min(v.min() for v in values), max(v.max() for v in values)
    hi = hi if hi > lo else lo + 1.0
    edges = np.linspace(lo, hi, bins + 1)
    counts = [np.histogram(v, edges)[0] / max(len(v), 1) for v in values]
    width, height = size
    left, bottom, top = 10, height - 30, 30
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img, "RGBA")
    peak = max(c.max() for c in counts) or 1.0
    bar = (width - 2 * left) / bins
    for k, c in enumerate(counts):
        for i, v in enumerate(c):
            h = (bottom - top) * v / peak
            x0 = left + i * bar
            draw.rectangle([x0, bottom - h, x0 + bar - 1, bottom], fill=(*colours[k % 4], 110))
    draw.line([left, bottom, width - left, bottom], fill="black")
    draw.text((left, bottom + 6), f"{lo:.3g}", fill="black")
    draw.text((width - left - 40, bottom + 6), f"{hi:.3g}", fill="black")
    for k, name in enumerate(series):
        draw.text((left + 150 * k, 8), f"{name}", fill=colours[k % 4])
    path = Path(path)
    img.save(path)
    return path
