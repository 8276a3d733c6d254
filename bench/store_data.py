"""Realistic documents for the store bench: Lạng Sơn farmers and buyers, listings, orders."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

AREAS = [
    "that-khe", "doan-ket", "tan-tien", "trang-dinh", "quoc-khanh", "kim-dong", "chi-lang",
    "quoc-viet", "hoang-van-thu", "binh-gia", "hong-phong", "hoa-binh", "van-lang",
    "hoang-van-thu-bac", "na-sam", "hoi-hoan", "cao-loc", "loc-binh", "mau-son", "dong-dang",
    "ky-lua", "tam-thanh", "luong-van-tri", "dong-kinh", "van-quan", "diem-he", "tri-le",
    "bac-son", "vu-le", "huu-lung", "chi-lang-xa", "dinh-lap", "thai-binh", "na-duong",
]  # fmt: skip
PRODUCTS = [
    ("na-chi-lang", "Na Chi Lăng", "kg", 35_000),
    ("hong-vanh-khuyen-van-lang", "Hồng vành khuyên Văn Lãng", "kg", 40_000),
    ("hoi-lang-son", "Hoa hồi Lạng Sơn", "kg", 90_000),
    ("que-van-quan", "Quế Văn Quan", "kg", 30_000),
    ("thach-den-trang-dinh", "Thạch đen Tràng Định", "kg", 25_000),
    ("quyt-bac-son", "Quýt vàng Bắc Sơn", "kg", 30_000),
    ("mac-mat", "Quả mắc mật", "kg", 60_000),
    ("che-shan-tuyet-mau-son", "Chè Shan tuyết Mẫu Sơn", "kg", 300_000),
    ("khau-nhuc", "Khâu nhục", "hộp", 150_000),
    ("lua", "Lúa", "kg", 8_000),
    ("ngo", "Ngô", "kg", 7_000),
    ("khoai-lang", "Khoai lang", "kg", 12_000),
    ("lon-ban", "Lợn bản", "con", 2_500_000),
    ("ga-doi", "Gà đồi", "con", 250_000),
]
FAMILY = ["Nguyễn", "Hoàng", "Nông", "Lương", "Vi", "Lộc", "Hà", "Triệu", "Lăng", "Chu", "Mã"]
MIDDLE = ["Văn", "Thị", "Đức", "Minh", "Thu", "Hồng", "Ngọc", "Quang"]
GIVEN = ["An", "Bích", "Cường", "Dung", "Đức", "Giang", "Hạnh", "Khánh", "Lan", "Mạnh", "Nga"]
ORDER_STEPS = ["new", "confirmed", "shipped", "done"]
START = datetime(2025, 7, 1, 6, 0)


def stamp(rng: random.Random) -> str:
    """A plausible time in the first months of the service."""
    return (START + timedelta(minutes=rng.randrange(200_000))).isoformat(timespec="seconds")


def user(rng: random.Random, n: int) -> dict[str, Any]:
    """A registered farmer (7 in 10) or buyer."""
    farmer = rng.random() < 0.7
    channel = rng.choice(["telegram", "telegram", "zalo", "web"])
    key = f"{channel}:{100_000_000 + n * 7}"
    return {
        "name": f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}",
        "phone": f"+849{n:08d}",
        "area": rng.choice(AREAS),
        "role": "farmer" if farmer else "buyer",
        "crops": [p[0] for p in rng.sample(PRODUCTS, rng.randrange(1, 4))] if farmer else [],
        "consent": rng.random() < 0.8,
        "lang": "vi",
        "address": rng.choice(["ong", "ba", "bac", "anh", "chi", "co", "chu", "em"]),
        "registered": True,
        "roles": [],
        "team_areas": [],
        "ident": [key],
        "last_channel": key,
        "blocked": False,
        "created_at": stamp(rng),
    }


def listing(rng: random.Random, farmer_id: int, area: str) -> dict[str, Any]:
    """A product a farmer offers, mostly active."""
    pid, name, unit, price = rng.choice(PRODUCTS)
    qty = rng.randrange(10, 2000)
    return {
        "farmer_id": farmer_id,
        "area": area,
        "product_id": pid,
        "product_name": name,
        "grade": rng.choice(["", "loại 1", "loại 2"]),
        "unit": unit,
        "quantity": str(qty),
        "stock": str(rng.randrange(qty + 1)),
        "price": price + rng.randrange(-5, 6) * 1_000,
        "availability": "now",
        "description": f"{name} vườn nhà, thu hoạch mới, giao tại {area}",
        "certs": {"vietgap": rng.random() < 0.2, "organic": False, "number": ""},
        "status": rng.choices(["active", "paused", "soldout"], [6, 1, 3])[0],
        "form_id": f"f{rng.getrandbits(48):x}",
        "created_at": stamp(rng),
        "updated_at": stamp(rng),
    }


def order(rng: random.Random, n: int, listing_id: int, farmer_id: int, buyer_id: int,
          price: int) -> dict[str, Any]:  # fmt: skip
    """An order with its status history."""
    qty = rng.randrange(1, 200)
    steps = ORDER_STEPS[: rng.randrange(1, len(ORDER_STEPS) + 1)]
    day = stamp(rng)[:10]
    return {
        "code": f"DH{day.replace('-', '')[2:]}-{n % 10_000:04d}",
        "day": day,
        "listing_id": listing_id,
        "farmer_id": farmer_id,
        "buyer_id": buyer_id,
        "quantity": str(qty),
        "price": price,
        "total": qty * price,
        "status": steps[-1],
        "history": [{"status": s, "at": stamp(rng)} for s in steps],
        "note": rng.choice(["", "Giao trước 10 giờ sáng", "Gọi trước khi giao", "Lấy tại vườn"]),
        "form_id": f"o{rng.getrandbits(48):x}",
    }
