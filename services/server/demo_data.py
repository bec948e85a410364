"""Tables behind the demo dataset: where the hub schools are, what they buy, what it costs.

Districts follow the administrative map after the 2022 reform (Abai, Jetisu and Ulytau
regions split off). The programme puts one hub school in each rural district centre and
in monotowns; the districts below plus the monotowns add up to its 186 hub schools.
Amounts and rates are plausible demo values, not the programme's books.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass

PROGRAMME = "hub-schools-2022-2025"
AKTOBE_PROGRAMME = "aktobe-small-schools-2023"
PROGRAMMES: tuple[tuple[str, str], ...] = (
    (PROGRAMME, "Hub schools network 2022-2025"),
    (AKTOBE_PROGRAMME, "Aktobe region small rural schools sub-project 2023-2024"),
)

FUND = "qazaqstan-halqyna"
AITAS = "aitas"
NIS = "nis"
DONORS: tuple[tuple[str, str], ...] = (
    (FUND, 'Public fund "Qazaqstan halqyna"'),
    (AITAS, "AITAS holding"),
    (NIS, "Nazarbayev Intellectual Schools"),
)

CURRENCY = "KZT"
TIYN = 100
GRANT_PER_HUB = 250_000_000 * TIYN
# Tranche shares of a grant, in percent: on signing, a year later, and the balance.
TRANCHES: tuple[int, ...] = (40, 40, 20)

# The dataset's "today": nothing is dated later, so late cohorts are only partly paid.
AS_OF = dt.date(2025, 12, 31)

# Hub schools per cohort year: 135 built in 2022-2024, 51 in the final 2025 stage.
COHORTS: dict[int, int] = {2022: 40, 2023: 50, 2024: 45, 2025: 51}
# The Aktobe sub-project ran in 2023; North Kazakhstan took it up in 2025.
PINNED_COHORTS: dict[str, int] = {"aktobe": 2023, "north-kazakhstan": 2025}

SHOWCASE_HUB = "aktobe-khromtau-hub"

HUB_DISTRICTS: dict[str, tuple[str, ...]] = {
    "aktobe": (
        "Khromtau", "Alga", "Ayteke Bi", "Baiganin", "Kargaly", "Kobda",
        "Martuk", "Mugalzhar", "Oiyl", "Temir", "Shalkar", "Yrgyz",
    ),
    "almaty": (
        "Balkhash", "Enbekshikazakh", "Zhambyl", "Ile", "Karasay", "Kegen",
        "Raiymbek", "Talgar", "Uigur",
    ),
    "mangystau": ("Beineu", "Karakiyak", "Mangystau", "Munaily", "Tupkaragan"),
    "north-kazakhstan": (
        "Aiyrtau", "Akkayin", "Akzhar", "Gabit Musrepov", "Esil", "Zhambyl", "Kyzylzhar",
        "Magzhan Zhumabayev", "Mamlyut", "Shal Akyn", "Taiynsha", "Timiryazev", "Ualikhanov",
    ),
    "kostanay": (
        "Altynsarin", "Amangeldi", "Auliekol", "Beimbet Mailin", "Denisov", "Zhangeldi",
        "Zhitikara", "Kamysty", "Karabalyk", "Karasu", "Kostanay", "Mendykara", "Nauryzym",
        "Sarykol", "Uzunkol", "Fedorov",
    ),
    "akmola": (
        "Akkol", "Arshaly", "Astrakhan", "Atbasar", "Bulandy", "Burabay", "Egindykol",
        "Birzhan Sal", "Ereymentau", "Esil", "Zhaksy", "Zharkain", "Zerendi", "Korgalzhyn",
        "Sandyktau", "Tselinograd", "Shortandy",
    ),
    "pavlodar": (
        "Aktogay", "Bayanaul", "Zhelezin", "Irtysh", "Terenkol", "Akkuly", "May",
        "Pavlodar", "Uspen", "Shcherbakty",
    ),
    "west-kazakhstan": (
        "Akzhaik", "Bayterek", "Bokey Orda", "Burlin", "Zhanibek", "Zhangala", "Karatobe",
        "Kaztalov", "Syrym", "Taskala", "Terekti", "Shyngyrlau",
    ),
    "abai": (
        "Abai", "Aksuat", "Ayagoz", "Beskaragay", "Borodulikha", "Zharma", "Kokpekty",
        "Urzhar", "Makanshy",
    ),
    "atyrau": ("Zhylyoi", "Inder", "Isatai", "Kurmangazy", "Kyzylkoga", "Makat", "Makhambet"),
    "east-kazakhstan": (
        "Altai", "Glubokoe", "Zaisan", "Katon-Karagay", "Kurchum", "Samar", "Tarbagatai",
        "Ulan", "Shemonaikha",
    ),
    "jambyl": (
        "Baizak", "Zhambyl", "Zhualy", "Kordai", "Turar Ryskulov", "Merke", "Moiynkum",
        "Sarysu", "Talas", "Shu",
    ),
    "jetisu": ("Aksu", "Alakol", "Eskeldi", "Karatal", "Kerbulak", "Koksu", "Panfilov", "Sarkand"),
    "karaganda": ("Abai", "Aktogay", "Bukhar-Zhyrau", "Karkaraly", "Nura", "Osakarov", "Shet"),
    "kyzylorda": ("Aral", "Zhalagash", "Zhanakorgan", "Kazaly", "Karmakshy", "Syrdarya", "Shieli"),
    "turkistan": (
        "Baidibek", "Kazygurt", "Maktaaral", "Ordabasy", "Otyrar", "Sairam", "Saryagash",
        "Sozak", "Tolebi", "Tulkibas", "Shardara", "Zhetysai", "Keles", "Sauran",
    ),
    "ulytau": ("Ulytau", "Zhanaarka"),
}  # fmt: skip

HUB_TOWNS: dict[str, tuple[str, ...]] = {
    "abai": ("Kurchatov",),
    "akmola": ("Stepnogorsk",),
    "east-kazakhstan": ("Ridder",),
    "jambyl": ("Karatau", "Zhanatas"),
    "jetisu": ("Tekeli",),
    "karaganda": ("Temirtau", "Saran", "Shakhtinsk", "Balkhash"),
    "kostanay": ("Rudny", "Lisakovsk", "Arkalyk"),
    "mangystau": ("Zhanaozen",),
    "pavlodar": ("Ekibastuz", "Aksu"),
    "turkistan": ("Kentau",),
    "ulytau": ("Zhezkazgan", "Satbayev"),
}

# 134 small schools around the 12 Aktobe hubs: two hubs serve 12, the other ten 11.
AKTOBE_SMALL_SCHOOLS = 134

# (category, weight, what is bought): weights skew spending to equipment and refurbishment.
EXPENDITURES: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    ("equipment", 35, (
        "Interactive panels and teacher laptops for subject classrooms",
        "Robotics and STEM kits",
        "3D printers and a digital fabrication corner",
        "Student laptops for the computer science classroom",
    )),
    ("classroom-refurbishment", 30, (
        "Refurbishment of subject classrooms: floors, lighting, ventilation",
        "Refurbishment of the assembly hall and library",
        "Refurbishment of the workshop and technology classroom",
    )),
    ("connectivity", 10, (
        "Fibre connection and school-wide Wi-Fi",
        "Server rack, switches and video-conferencing for remote lessons with small schools",
    )),
    ("furniture", 15, (
        "Adjustable student desks and chairs",
        "Library and co-working furniture",
    )),
    ("laboratory", 10, (
        "Physics laboratory equipment",
        "Chemistry laboratory with fume hoods",
        "Biology laboratory: microscopes and digital sensors",
    )),
)  # fmt: skip

# (category, base amount in KZT per payment, months between payments, description).
# Base amounts are 2022 levels; later years grow by OPERATING_GROWTH_PCT a year.
OPERATING_COSTS: tuple[tuple[str, int, int, str], ...] = (
    ("salaries", 38_000_000, 1, "FURO programme team salaries"),
    ("monitoring", 14_000_000, 3, "Monitoring visits to hub schools"),
    ("travel", 7_500_000, 3, "Staff travel to regions"),
    ("communications", 4_200_000, 3, "Communications and publications"),
    ("office", 3_600_000, 3, "Office rent and administration"),
)
OPERATING_GROWTH_PCT = 8
OPERATING_START = dt.date(2022, 1, 1)

# NIS values its training at its own cost per teacher-hour; one course runs 36 hours.
TEACHER_HOUR_RATE_KZT = 2_500
COURSE_HOURS = 36
TRAINING_KIND = "teacher-training"
# The Aktobe sub-project's programme-level methodological support, per year (teachers).
AKTOBE_SUPPORT: dict[int, int] = {2023: 1_600, 2024: 1_900}


@dataclass(frozen=True)
class School:
    code: str
    name: str
    region: str
    district: str
    cohort: int = 0  # the year a hub school joined; 0 for a small school
    hub: str | None = None


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def hub_schools(rng: random.Random) -> list[School]:
    """The 186 hub schools, each in a cohort year: pinned regions first, the rest shuffled."""
    places = [(r, p, "district") for r, ps in HUB_DISTRICTS.items() for p in ps]
    places += [(r, p, "town") for r, ps in HUB_TOWNS.items() for p in ps]
    pinned = [(*place, PINNED_COHORTS[place[0]]) for place in places if place[0] in PINNED_COHORTS]
    free = [place for place in places if place[0] not in PINNED_COHORTS]
    rng.shuffle(free)
    years: list[int] = []
    for year, size in COHORTS.items():
        years += [year] * (size - sum(1 for *_, y in pinned if y == year))
    assigned = pinned + [(*place, y) for place, y in zip(free, years, strict=True)]
    return [
        School(f"{r}-{slug(p)}-hub", f"{p} hub school", r, f"{p} {kind}", cohort=y)
        for r, p, kind, y in assigned
    ]


def small_schools(hubs: list[School]) -> list[School]:
    """Aktobe's 134 small schools, dealt round-robin to its 12 hubs (12, 12, 11, ...)."""
    aktobe = [h for h in hubs if h.region == "aktobe"]
    schools = []
    for i in range(AKTOBE_SMALL_SCHOOLS):
        hub, n = aktobe[i % len(aktobe)], i // len(aktobe) + 1
        place = hub.name.removesuffix(" hub school")
        schools.append(
            School(
                f"aktobe-{slug(place)}-small-{n:02d}",
                f"{place} district small school No. {n}",
                "aktobe",
                f"{place} district",
                hub=hub.code,
            )
        )
    return schools
