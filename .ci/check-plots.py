"""Screenshots of every SVG plot beside a compare page, in Debian's headless Chromium: each
must render to a picture that holds curves (pixels of lnwarm's line colours, not only axes and
text), and no panel may say "no data". Usage: python3 .ci/check-plots.py DIR"""
import pathlib
import re
import subprocess
import sys
import tempfile

from PIL import Image

# The line colours, read from src/plot.rs's PALETTE (Okabe & Ito) so the check follows it.
ROOT = pathlib.Path(__file__).resolve().parent.parent
PALETTE = re.search(r"const PALETTE[^=]*=\s*\[(.*?)\];", (ROOT / "src/plot.rs").read_text(), re.S)
COLOURS = [tuple(int(v) for v in m) for m in re.findall(r"RGBColor\((\d+), (\d+), (\d+)\)", PALETTE.group(1))]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]


def screenshot(svg: pathlib.Path, png: pathlib.Path, profile: str) -> Image.Image:
    text = svg.read_text()
    width, height = (int(v) for v in re.search(r'width="(\d+)" height="(\d+)"', text).groups())
    subprocess.run(["chromium", *FLAGS, f"--user-data-dir={profile}", f"--screenshot={png}",
                    f"--window-size={width},{height}", f"file://{svg}"],
                   check=True, capture_output=True, timeout=120)
    return Image.open(png).convert("RGB")


def curve_pixels(img: Image.Image) -> int:
    """Pixels in a line colour other than black and grey (axes and text are those)."""
    wanted = set(COLOURS) - {(0, 0, 0), (128, 128, 128)}
    return sum(n for n, colour in img.getcolors(img.width * img.height) if colour in wanted)


def main(folder: str) -> int:
    svgs = sorted(pathlib.Path(folder).resolve().glob("*.svg"))
    if not svgs:
        print(f"no plots in {folder}")
        return 1
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for svg in svgs:
            if "no data" in svg.read_text():
                print(f"{svg.name}: a panel has no data")
                failed += 1
                continue
            img = screenshot(svg, pathlib.Path(tmp) / (svg.stem + ".png"), tmp + "/profile")
            pixels = curve_pixels(img)
            print(f"{svg.name}: {img.width}x{img.height}, {pixels} curve pixels")
            if pixels < 50:
                failed += 1
    print(f"plots: {len(svgs) - failed} of {len(svgs)} rendered with curves")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
