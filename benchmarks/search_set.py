"""The labelled set of benchmarks/search_quality.py: what each item holds and the two queries
written for it (a close one and a paraphrase), and how the files are made offline (Pillow
and DejaVu fonts for posters and products, espeak-ng for speech). Data more than code: the
specs below are most of it."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from PIL import Image, ImageDraw, ImageFont

Kind = Literal["image", "bundle", "text", "speech"]
KINDS: tuple[Kind, ...] = ("image", "bundle", "text", "speech")
Style = Literal["close", "paraphrase"]
STYLES: tuple[Style, ...] = ("close", "paraphrase")
FONTS = "/usr/share/fonts/truetype/dejavu/"
RGB = tuple[int, int, int]


# --- The labelled set ---------------------------------------------------------------------


@dataclass(frozen=True)
class Poster:
    lines: tuple[str, str, str]
    background: RGB
    title_ink: RGB
    ink: RGB
    align: Literal["left", "centre", "right"]
    font: str
    size: tuple[int, int]
    decoration: Literal["border", "band", "stripes", "none"]
    close: str
    paraphrase: str


@dataclass(frozen=True)
class Product:
    brand: str
    shape: Literal["backpack", "skillet", "headphones", "bicycle", "scarf", "lamp"]
    colour: RGB
    description: str
    close: str
    paraphrase: str


@dataclass(frozen=True)
class Note:
    suffix: Literal[".txt", ".md"]
    body: str
    close: str
    paraphrase: str


@dataclass(frozen=True)
class Recording:
    words: str
    voice: str
    speed: int
    close: str
    paraphrase: str


POSTERS = [
    Poster(
        ("FARMERS MARKET", "Every Saturday 8 to 1", "Fresh eggs and local honey"),
        (250, 240, 210), (30, 90, 40), (60, 50, 30), "centre", "DejaVuSans-Bold.ttf",
        (800, 450), "border",
        "farmers market with honey and eggs on saturday",
        "weekend stalls selling produce from nearby growers",
    ),
    Poster(
        ("LOST CAT", "Grey tabby called Milo", "Reward if found"),
        (255, 220, 60), (0, 0, 0), (40, 40, 40), "left", "DejaVuSans-Bold.ttf",
        (480, 640), "none",
        "lost grey tabby cat milo",
        "has anyone seen our runaway kitten",
    ),
    Poster(
        ("JAZZ NIGHT", "Live saxophone quartet", "Friday at the Blue Room"),
        (20, 30, 70), (240, 200, 90), (230, 230, 240), "centre", "DejaVuSerif-Bold.ttf",
        (800, 450), "band",
        "saxophone quartet playing jazz on friday",
        "weekend gig with wind instruments",
    ),
    Poster(
        ("FREE FLU SHOTS", "Walk-in vaccination clinic", "Community health centre"),
        (255, 255, 255), (190, 20, 30), (30, 30, 30), "right", "DejaVuSansCondensed-Bold.ttf",
        (700, 500), "band",
        "walk-in flu vaccination clinic",
        "get immunised against influenza at no cost",
    ),
    Poster(
        ("ROAD CLOSED", "Bridge repairs until June", "Detour via Elm Street"),
        (245, 140, 30), (0, 0, 0), (20, 20, 20), "centre", "DejaVuSans-Bold.ttf",
        (800, 500), "stripes",
        "road closed for bridge repairs, detour via elm street",
        "traffic diverted because of construction work on a crossing",
    ),
    Poster(
        ("YOGA IN THE PARK", "Sunrise classes daily", "Bring your own mat"),
        (200, 235, 225), (90, 40, 120), (40, 60, 60), "left", "DejaVuSerif-Bold.ttf",
        (800, 450), "border",
        "sunrise yoga classes in the park",
        "early morning stretching outdoors",
    ),
    Poster(
        ("BOOK FAIR", "Thousands of used books", "Town library hall"),
        (120, 20, 30), (255, 255, 255), (250, 220, 200), "centre", "DejaVuSansMono-Bold.ttf",
        (640, 640), "none",
        "used book fair in the town library hall",
        "second-hand novels for sale",
    ),
    Poster(
        ("NOW HIRING", "Line cooks and dishwashers", "Apply inside today"),
        (225, 228, 232), (20, 60, 160), (30, 30, 30), "right", "DejaVuSans-Bold.ttf",
        (520, 700), "border",
        "now hiring line cooks and dishwashers",
        "restaurant kitchen job openings",
    ),
]  # fmt: skip

PRODUCTS = [
    Product(
        "TRAILMAX", "backpack", (40, 100, 55),
        "Trailmax 40 litre hiking backpack in forest green nylon. Waterproof fabric, padded "
        "shoulder straps, a hip belt and a sleeve for a hydration bladder. A rain cover is "
        "tucked into the base.",
        "40 litre waterproof hiking backpack",
        "a bag for carrying gear on mountain trails in wet weather",
    ),
    Product(
        "IRONCHEF", "skillet", (35, 35, 35),
        "Pre-seasoned cast iron skillet, 30 centimetres across. Sears steak, bakes cornbread "
        "and goes from the stove top into the oven or onto a campfire. Heavy, and it holds "
        "heat for a long time.",
        "cast iron skillet for searing steak",
        "pan for cooking over an open fire",
    ),
    Product(
        "QUIETWAVE", "headphones", (25, 25, 30),
        "QuietWave over-ear wireless headphones with active noise cancellation and thirty "
        "hours of battery life. The ear cups fold flat and the headband is matte black.",
        "wireless noise cancelling over-ear headphones",
        "a headset that shuts out engine noise on a long flight",
    ),
    Product(
        "ZOOMKID", "bicycle", (200, 30, 30),
        "A 16 inch children's bicycle with a red steel frame, removable training wheels, a "
        "bell and a padded saddle. Suits riders aged four to six.",
        "children's bicycle with training wheels",
        "first bike for a young kid learning to ride",
    ),
    Product(
        "HIGHLAND", "scarf", (70, 70, 75),
        "Hand-knitted merino wool scarf, two metres long, in charcoal grey with tasselled "
        "ends. Soft against the skin and warm on cold winter days.",
        "charcoal merino wool scarf",
        "something cosy to wrap around your neck when it is freezing",
    ),
    Product(
        "LUMEN", "lamp", (180, 185, 190),
        "Adjustable LED desk lamp with an aluminium arm, a touch dimmer, three colour "
        "temperatures and a USB charging port in the base.",
        "LED desk lamp with a USB charging port",
        "dimmable light for reading at a workstation",
    ),
]  # fmt: skip

NOTES = [
    Note(
        ".md",
        "# Keeping a sourdough starter\n\nA sourdough starter is a mix of flour and water that "
        "wild yeast and lactic acid bacteria have colonised. Feed it once a day: discard half, "
        "then stir in equal weights of flour and water. Keep it in a warm spot, around 24 "
        "degrees, and it will double within six hours. A starter that smells of nail polish "
        "is hungry; feed it more often. Before baking, use the starter at its peak, when it "
        "is bubbly and domed.\n",
        "how often to feed a sourdough starter",
        "keeping the bread culture alive in the kitchen",
    ),
    Note(
        ".txt",
        "Photosynthesis is the process by which green plants turn light into chemical energy. "
        "Chlorophyll in the chloroplasts absorbs mostly red and blue light. The plant takes in "
        "carbon dioxide through small pores in its leaves and water through its roots, and "
        "releases oxygen as a by-product. The sugar it makes, glucose, feeds its growth.\n",
        "chlorophyll absorbs light during photosynthesis",
        "how leaves make their own food from sunshine",
    ),
    Note(
        ".md",
        "# Account security policy\n\nEvery staff account must use a password of at least "
        "fourteen characters. Passwords are never shared, written down or sent by email. "
        "Multi-factor authentication is required for email, payroll and remote access. Report "
        "any suspected phishing message to the security team within one hour.\n",
        "minimum password length and multi-factor authentication",
        "company rules for protecting logins against hackers",
    ),
    Note(
        ".txt",
        "A sixteen-week marathon plan builds the weekly long run up from 12 to 32 kilometres. "
        "Most runs should be easy enough to hold a conversation. Add one session of intervals "
        "or tempo running each week, and take a rest day after the long run. Reduce the "
        "distance for the last three weeks so the legs are fresh on race day.\n",
        "sixteen week marathon training plan",
        "preparing for a long-distance race",
    ),
    Note(
        ".txt",
        "Volcanoes form where magma from the Earth's mantle rises through cracks in the crust. "
        "When the pressure of dissolved gases becomes too great, the magma erupts as lava, ash "
        "and volcanic bombs. Iceland and Hawaii sit on hot spots, while Mount Fuji lies where "
        "one tectonic plate slides under another.\n",
        "magma erupts as lava and ash",
        "mountains that spew molten rock",
    ),
    Note(
        ".md",
        "# Third quarter results\n\nRevenue rose 12 percent to 4.2 million euros, driven by "
        "subscriptions in Germany and France. Operating costs stayed flat, so the operating "
        "margin improved to 18 percent. The board expects growth to slow in the fourth quarter "
        "as the holiday campaign ends.\n",
        "third quarter revenue rose 12 percent",
        "how much more money the company earned this period",
    ),
    Note(
        ".txt",
        "Composting turns kitchen scraps and garden waste into rich soil. Mix green material, "
        "such as vegetable peelings and grass cuttings, with brown material, such as dry "
        "leaves and cardboard. Turn the heap every couple of weeks to let air in. Avoid meat "
        "and dairy, which attract rats. After six to nine months the compost is dark and "
        "crumbly.\n",
        "compost heap of kitchen scraps and dry leaves",
        "recycling food waste into fertiliser for the garden",
    ),
    Note(
        ".txt",
        "Dear tenant, this letter is formal notice that the monthly rent for flat 3B will "
        "increase from 950 to 1,010 pounds from the first of March. The increase reflects "
        "higher building insurance and maintenance costs. Your other lease terms stay the "
        "same. Please contact the letting agent if you have questions.\n",
        "notice that the rent for flat 3B goes up",
        "landlord is raising what I pay each month for my apartment",
    ),
]

RECORDINGS = [
    Recording(
        "Hello, I bought an electric kettle from your shop last week and it already stopped "
        "working. I would like a refund for the broken kettle, please.",
        "en-us", 150,
        "refund for a broken electric kettle",
        "customer wants their money back for a damaged appliance",
    ),
    Recording(
        "Attention please. Flight two one seven to Lisbon is delayed by forty minutes. "
        "Passengers should stay close to gate twelve.",
        "en-gb", 145,
        "flight to lisbon delayed forty minutes",
        "my trip to portugal is running behind schedule",
    ),
    Recording(
        "Hi, this is the dental clinic calling. We need to move your cleaning appointment from "
        "Tuesday to Thursday morning. Please call us back to confirm.",
        "en-us", 160,
        "dental cleaning appointment moved to thursday",
        "the dentist wants to reschedule your visit",
    ),
    Recording(
        "Here is the weather for tomorrow. Heavy rain and strong winds will reach the coast in "
        "the afternoon. Temperatures will fall to eight degrees, so take an umbrella.",
        "en-gb", 150,
        "heavy rain and strong wind tomorrow",
        "stormy forecast, bring something to stay dry",
    ),
    Recording(
        "Remember to buy eggs, flour and two lemons for the birthday cake. The oven needs to be "
        "at one hundred and eighty degrees.",
        "en-us", 145,
        "buy eggs flour and lemons for the cake",
        "shopping list for baking a dessert",
    ),
    Recording(
        "Good morning, I cannot sign in to my laptop since this morning. The screen says my "
        "account is locked. Could someone from the help desk unlock it, please?",
        "en-gb", 155,
        "locked account, cannot sign in to the laptop",
        "employee needs tech support to get back into their computer",
    ),
    Recording(
        "Welcome to the natural history museum. On your left is the skeleton of a blue whale, "
        "the largest animal that ever lived. The tour continues upstairs with the dinosaurs.",
        "en-us", 150,
        "blue whale skeleton at the museum",
        "guided visit among fossils and animal bones",
    ),
    Recording(
        "I am calling about an insurance claim for my car. Another driver reversed into it in "
        "the supermarket car park yesterday, and the rear bumper is badly dented.",
        "en-gb", 150,
        "car insurance claim for a dented bumper",
        "reporting a parking lot collision to the insurer",
    ),
]  # fmt: skip


@dataclass(frozen=True)
class Item:
    name: str  # the file's or the bundle folder's name: unique in the set
    kind: Kind
    close: str
    paraphrase: str


@dataclass(frozen=True)
class Query:
    text: str
    style: Style
    item: Item


def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(FONTS + name, size)


def _fitting(draw: ImageDraw.ImageDraw, text: str, name: str, size: int, width: int) -> Any:
    """The font at `size`, or smaller until `text` fits in `width`."""
    while size > 12:
        font = _font(name, size)
        left, _, right, _ = draw.textbbox((0, 0), text, font=font)
        if right - left <= width:
            return font
        size -= 2
    return _font(name, size)


def _draw_poster(spec: Poster, target: Path) -> None:
    width, height = spec.size
    image = Image.new("RGB", spec.size, spec.background)
    draw = ImageDraw.Draw(image)
    margin = 50
    if spec.decoration == "border":
        draw.rectangle((16, 16, width - 16, height - 16), outline=spec.title_ink, width=10)
    elif spec.decoration == "band":
        draw.rectangle((0, height - 60, width, height - 30), fill=spec.title_ink)
    elif spec.decoration == "stripes":
        for x in range(-height, width, 80):
            draw.polygon(
                [(x, height), (x + 40, height), (x + 90, height - 50), (x + 50, height - 50)],
                fill=(20, 20, 20),
            )
    y = height // 6
    for index, line in enumerate(spec.lines):
        font = _fitting(draw, line, spec.font, 72 if index == 0 else 38, width - 2 * margin)
        left, top, right, bottom = (int(v) for v in draw.textbbox((0, 0), line, font=font))
        x = {
            "left": margin,
            "centre": (width - (right - left)) // 2,
            "right": width - margin - (right - left),
        }[spec.align]
        ink = spec.title_ink if index == 0 else spec.ink
        draw.text((x, y), line, fill=ink, font=font)
        y += (bottom - top) + (50 if index == 0 else 28)
    image.save(target, quality=90)  # (PNG ignores the quality)


def _draw_product(spec: Product, target: Path) -> None:
    """A plain product shot: the object drawn in its colour on a light backdrop, the brand
    printed on it or below it (as a label or a logo would be)."""
    image = Image.new("RGB", (600, 600), (238, 236, 232))
    draw = ImageDraw.Draw(image)
    draw.ellipse((110, 500, 490, 560), fill=(210, 208, 204))  # a shadow
    c = spec.colour
    if spec.shape == "backpack":
        draw.rounded_rectangle((170, 150, 430, 520), radius=60, fill=c)
        draw.rounded_rectangle((210, 330, 390, 480), radius=30, outline=(20, 50, 25), width=6)
        draw.arc((230, 90, 370, 210), 180, 360, fill=c, width=14)
    elif spec.shape == "skillet":
        draw.ellipse((90, 160, 410, 480), fill=c)
        draw.ellipse((120, 190, 380, 450), fill=(60, 60, 60))
        draw.rounded_rectangle((400, 290, 580, 340), radius=20, fill=c)
    elif spec.shape == "headphones":
        draw.arc((130, 80, 470, 440), 180, 360, fill=c, width=30)
        draw.rounded_rectangle((100, 250, 200, 420), radius=40, fill=c)
        draw.rounded_rectangle((400, 250, 500, 420), radius=40, fill=c)
    elif spec.shape == "bicycle":
        for cx in (170, 430):
            draw.ellipse((cx - 110, 290, cx + 110, 510), outline=(30, 30, 30), width=14)
        draw.line([(170, 400), (280, 250), (430, 400), (300, 400), (170, 400)], fill=c, width=16)
        draw.line([(280, 250), (260, 200), (400, 220), (430, 400)], fill=c, width=14)
    elif spec.shape == "scarf":
        draw.rectangle((250, 100, 350, 500), fill=c)
        for x in range(255, 350, 14):
            draw.line([(x, 500), (x, 540)], fill=c, width=6)
    else:  # lamp
        draw.rectangle((200, 480, 400, 510), fill=c)
        draw.line([(300, 480), (240, 300), (380, 180)], fill=c, width=16)
        draw.polygon([(350, 150), (470, 180), (420, 260)], fill=c)
    font = _fitting(draw, spec.brand, "DejaVuSans-Bold.ttf", 48, 500)
    left, _, right, _ = draw.textbbox((0, 0), spec.brand, font=font)
    draw.text(((600 - int(right - left)) // 2, 20), spec.brand, fill=(20, 20, 20), font=font)
    image.save(target, quality=88)


def _speak(spec: Recording, target: Path, scratch: Path) -> None:
    """As samples/make_samples.py does: espeak-ng, then 16 kHz mono 16-bit with sox."""
    raw = scratch / f"{target.stem}-raw.wav"
    for command in (
        ["espeak-ng", "-v", spec.voice, "-s", str(spec.speed), "-w", str(raw), spec.words],
        ["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(target)],
    ):
        subprocess.run(command, check=True, capture_output=True)
    raw.unlink()


def make_set(folder: Path) -> list[Item]:
    """The labelled set, written into `folder` (one entry per item: a file or a bundle)."""
    folder.mkdir(parents=True, exist_ok=True)
    scratch = folder.parent / "scratch"
    scratch.mkdir(exist_ok=True)
    items: list[Item] = []
    for number, poster in enumerate(POSTERS, 1):
        name = f"sq-image-{number:02d}{'.jpg' if number % 3 == 0 else '.png'}"
        _draw_poster(poster, folder / name)
        items.append(Item(name, "image", poster.close, poster.paraphrase))
    for number, product in enumerate(PRODUCTS, 1):
        name = f"sq-product-{number:02d}"
        bundle = folder / name
        bundle.mkdir(exist_ok=True)
        _draw_product(product, bundle / "photo.jpg")
        (bundle / "description.txt").write_text(product.description + "\n")
        (bundle / "manifest.json").write_text(
            json.dumps(
                {
                    "version": 1,
                    "profile": "catalog",
                    "assets": [
                        {"path": "photo.jpg", "role": "primary"},
                        {
                            "path": "description.txt",
                            "role": "description",
                            "relation": "complementary",
                        },
                    ],
                },
                indent=2,
            )
            + "\n"
        )
        items.append(Item(name, "bundle", product.close, product.paraphrase))
    for number, note in enumerate(NOTES, 1):
        name = f"sq-note-{number:02d}{note.suffix}"
        (folder / name).write_text(note.body)
        items.append(Item(name, "text", note.close, note.paraphrase))
    for number, recording in enumerate(RECORDINGS, 1):
        name = f"sq-call-{number:02d}.wav"
        _speak(recording, folder / name, scratch)
        items.append(Item(name, "speech", recording.close, recording.paraphrase))
    scratch.rmdir()
    return items


def queries_for(items: list[Item]) -> list[Query]:
    return [
        Query(item.close if style == "close" else item.paraphrase, style, item)
        for item in items
        for style in STYLES
    ]
