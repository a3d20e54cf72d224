"""Synthetic residents for demo data and benchmarks: plausible Chinese names, valid-looking
ID numbers (correct GB 11643 check character), phone numbers and household make-up.
Nothing here describes a real person."""

from __future__ import annotations

import random
from datetime import date, timedelta

from services.grid import domain

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文斌浩宇婷雪梅辉鹏飞晨欣怡"
    "子涵梓轩一诺雨桐佳琪俊杰海燕晓东春生秋菊建华永刚丽君国强德明金凤美玲"
)
DEMO_PASSWORD_NOTE = "demo users share the password Demo@12345 (created by identity)"


def person_name(rng: random.Random) -> str:
    given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
    return rng.choice(SURNAMES) + given


def mobile(rng: random.Random) -> str:
    return rng.choice(("13", "15", "17", "18", "19")) + "".join(
        rng.choice("0123456789") for _ in range(9)
    )


def id_number(rng: random.Random, region: str, born: date, male: bool) -> str:
    seq = rng.randrange(0, 100) * 10 + (
        rng.choice((1, 3, 5, 7, 9)) if male else rng.choice((0, 2, 4, 6, 8))
    )
    first17 = f"{region[:6]}{born:%Y%m%d}{seq:03d}"
    return first17 + domain.id_check_char(first17)


def birth(rng: random.Random, today: date, low: int, high: int) -> date:
    return today - timedelta(days=rng.randrange(low * 365, high * 365 + 1))


def member(
    rng: random.Random, today: date, region: str, relation: str, surname: str | None, age: tuple
) -> dict:
    male = rng.random() < 0.5
    born = birth(rng, today, *age)
    name = person_name(rng)
    if surname:
        name = surname + name[1:]
    out = {
        "name": name,
        "relation": relation,
        "id_number": id_number(rng, region, born, male),
        "birth_date": born.isoformat(),
        "gender": "M" if male else "F",
    }
    if age[0] >= 16 and rng.random() < 0.85:
        out["phone"] = mobile(rng)
    return out


def household(rng: random.Random, today: date, region: str, grid_code: str, address: dict) -> dict:
    """One household: 1–5 members, housing, tags in realistic shares."""
    roll = rng.random()
    members: list[dict] = []
    tags: set[str] = set()
    if roll < 0.06:  # an elderly person living alone
        members.append(member(rng, today, region, "head", None, (70, 95)))
        tags.add("elderly_alone")
    else:
        head = member(rng, today, region, "head", None, (28, 75))
        members.append(head)
        surname = head["name"][0]
        if rng.random() < 0.8:
            members.append(member(rng, today, region, "spouse", None, (26, 73)))
        for _ in range(rng.choice((0, 1, 1, 2))):
            members.append(member(rng, today, region, "child", surname, (1, 30)))
        if rng.random() < 0.2:
            members.append(member(rng, today, region, "parent", surname, (60, 92)))
    rented = rng.random() < 0.12
    housing: dict = {"tenure": "rented" if rented else "owned"}
    if rented:
        housing["landlord"] = person_name(rng)
        housing["landlord_phone"] = mobile(rng)
        if rng.random() < 0.6:
            tags.add("floating_population")
    for tag, share in (
        ("hardship", 0.03),
        ("disabled", 0.02),
        ("key_person", 0.01),
        ("special_group", 0.01),
        ("registered_elsewhere", 0.05),
    ):
        if rng.random() < share:
            tags.add(tag)
    return {
        "grid_code": grid_code,
        "address": address,
        "members": members,
        "housing": housing,
        "tags": sorted(tags),
    }


def bilinear(quad: list[tuple[float, float]], u: float, v: float) -> tuple[float, float]:
    """A point of the quad (SW, SE, NE, NW) at (u, v) in [0, 1]²; lines of constant u or v
    are straight, so sub-quads tile their parent exactly."""
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = quad
    x = (1 - u) * (1 - v) * x0 + u * (1 - v) * x1 + u * v * x2 + (1 - u) * v * x3
    y = (1 - u) * (1 - v) * y0 + u * (1 - v) * y1 + u * v * y2 + (1 - u) * v * y3
    return (round(x, 7), round(y, 7))


def split_quad(quad: list[tuple[float, float]], cols: int, rows: int) -> list[list]:
    """cols × rows sub-quads, row by row from the south-west."""
    out = []
    for j in range(rows):
        for i in range(cols):
            u0, u1, v0, v1 = i / cols, (i + 1) / cols, j / rows, (j + 1) / rows
            out.append(
                [
                    bilinear(quad, u0, v0),
                    bilinear(quad, u1, v0),
                    bilinear(quad, u1, v1),
                    bilinear(quad, u0, v1),
                ]
            )
    return out


def quad_geojson(quad: list[tuple[float, float]]) -> dict:
    ring = [list(p) for p in quad] + [list(quad[0])]
    return {"type": "Polygon", "coordinates": [ring]}
