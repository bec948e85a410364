"""Kazakhstan's regions and cities of republican significance, as account-safe slugs.

A bounded set on purpose: regions become metric labels and report groupings. Published
here so the API can show them as an enum and list them (``GET /v1/regions``).
"""

from __future__ import annotations

from typing import Literal, get_args

Region = Literal[
    "abai",
    "akmola",
    "aktobe",
    "almaty",
    "almaty-city",
    "astana",
    "atyrau",
    "east-kazakhstan",
    "jambyl",
    "jetisu",
    "karaganda",
    "kostanay",
    "kyzylorda",
    "mangystau",
    "north-kazakhstan",
    "pavlodar",
    "shymkent",
    "turkistan",
    "ulytau",
    "west-kazakhstan",
]

REGION_SLUGS: tuple[str, ...] = get_args(Region)
