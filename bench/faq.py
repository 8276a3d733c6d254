"""FAQ matcher bench: quality on the labelled farmer queries, and speed with 5,000 entries.

    .venv/bin/python bench/faq.py [--entries 5000] [--rounds 20]

Quality is measured on tests/data/faq_queries.csv against the seed content/faq.csv. Speed is
measured with the seed plus synthetic but realistic entries (products x communes x question
templates, each with three other phrasings) up to --entries, matching every labelled query
--rounds times. Prints the figures, then one JSON line with all of them.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.services.faq_csv import FaqRow, read_csv  # noqa: E402 - after the path setup
from bot.services.faq_match import Matcher  # noqa: E402

# Question templates: (question, alternatives, answer); {p} a product, {a} a commune.
TEMPLATES = [
    (
        "Giá {p} ở {a} hôm nay bao nhiêu?",
        [
            "{p} {a} bán giá bao nhiêu",
            "giá {p} bây giờ thế nào",
            "thương lái mua {p} ở {a} giá mấy",
        ],
        "Giá {p} ở {a} thay đổi theo mùa; bà con xem bảng giá của hợp tác xã.",
    ),
    (
        "Thu hoạch {p} ở {a} vào tháng nào?",
        ["{p} chín tháng mấy", "mùa {p} ở {a} khi nào", "bao giờ hái {p}"],
        "{p} ở {a} thu hoạch theo lịch của trạm khuyến nông.",
    ),
    (
        "Bảo quản {p} thế nào khi gửi đi xa từ {a}?",
        ["gửi {p} đi xa có hỏng không", "cách giữ {p} tươi lâu", "đóng {p} gửi Hà Nội thế nào"],
        "Dạ, {p} cần đóng thùng thoáng, chèn giấy, gửi nhanh.",
    ),
    (
        "{p} của {a} đã có OCOP chưa?",
        ["{p} {a} được mấy sao OCOP", "{p} có chứng nhận gì", "OCOP của {p} ở {a}"],
        "Dạ, bà con hỏi phòng kinh tế về OCOP của {p} ở {a}.",
    ),
    (
        "Hợp tác xã nào ở {a} thu mua {p}?",
        ["ai mua {p} ở {a}", "bán {p} cho hợp tác xã ở đâu", "chỗ thu mua {p} gần {a}"],
        "Dạ, ở {a} bà con liên hệ hợp tác xã hoặc UBND xã.",
    ),
    (
        "Đăng bán {p} ở {a} trên Voso cần ảnh gì?",
        ["ảnh {p} đăng Voso", "chụp {p} để bán ở {a}", "ảnh đẹp cho {p}"],
        "Dạ, chụp {p} dưới ánh sáng tự nhiên, 3–5 ảnh thật.",
    ),
    (
        "Phí gửi {p} từ {a} đi Hà Nội bao nhiêu?",
        ["ship {p} từ {a} mất bao nhiêu", "gửi {p} về xuôi tốn bao nhiêu", "cước gửi {p}"],
        "Dạ, phí tính theo cân nặng và quãng đường từ {a}.",
    ),
    (
        "Trồng {p} ở {a} cần đất thế nào?",
        ["đất {a} trồng {p} được không", "kỹ thuật trồng {p}", "cách chăm {p} ở {a}"],
        "Dạ, bà con hỏi cán bộ khuyến nông xã {a} về đất trồng {p}.",
    ),
    (
        "Livestream bán {p} ở {a} vào giờ nào thì đông khách?",
        ["live bán {p} lúc mấy giờ", "giờ nào livestream {p}", "bán {p} trên tiktok giờ nào"],
        "Dạ, buổi tối 19–21 giờ thường đông người xem.",
    ),
    (
        "Truy xuất nguồn gốc cho {p} của {a} làm ở đâu?",
        ["tem QR cho {p}", "mã truy xuất {p} {a}", "làm tem nguồn gốc {p}"],
        "Dạ, bà con làm tem truy xuất tại Sở Nông nghiệp hoặc qua HTX.",
    ),
]


def load_names(path: Path) -> list[str]:
    """Names from a content YAML list."""
    return [str(item["name"]) for item in yaml.safe_load(path.read_text(encoding="utf-8"))]


def synthetic(count: int, seed: int = 7) -> list[FaqRow]:
    """`count` distinct, realistic extra entries."""
    products = load_names(ROOT / "content" / "products.yaml")
    areas = load_names(ROOT / "content" / "areas.yaml")
    combos = [(t, p, a) for t in TEMPLATES for p in products for a in areas]
    random.Random(seed).shuffle(combos)
    if count > len(combos):
        raise SystemExit(f"only {len(combos)} synthetic entries possible")
    rows = []
    for (question, alternatives, answer), p, a in combos[:count]:
        rows.append(
            FaqRow(
                question.format(p=p, a=a),
                answer.format(p=p, a=a),
                [alt.format(p=p, a=a) for alt in alternatives],
            )
        )
    return rows


def build(rows: list[FaqRow]) -> Matcher:
    """A matcher over rows, as FaqRepo builds it."""
    matcher = Matcher((i, [r.question, *r.alternatives]) for i, r in enumerate(rows))
    for row in rows:
        matcher.add_words(row.answer)
    return matcher


def quality(
    matcher: Matcher, keys: dict[int, str], labelled: list[dict[str, str]]
) -> dict[str, Any]:
    """Accuracy figures on the labelled queries."""
    ins = [q for q in labelled if q["expected_id"]]
    oos = [q for q in labelled if not q["expected_id"]]
    top1 = shown = sure = sure_wrong = unknown = 0
    for q in ins:
        ranked = matcher.rank(q["query"])
        result = matcher.match(q["query"])
        top1 += bool(ranked) and keys.get(ranked[0].entry_id) == q["expected_id"]
        best = result.best
        shown += best is not None and keys.get(best.entry_id) == q["expected_id"]
        if result.confident is not None:
            ok = keys.get(result.confident.entry_id) == q["expected_id"]
            sure += ok
            sure_wrong += not ok
        unknown += best is None
    oos_sure = sum(matcher.match(q["query"]).confident is not None for q in oos)
    oos_suggested = sum(bool(matcher.match(q["query"]).suggestions) for q in oos)
    return {
        "in_scope": len(ins),
        "out_of_scope": len(oos),
        "top1_accuracy": round(top1 / len(ins), 4),
        "first_shown_accuracy": round(shown / len(ins), 4),
        "confident_correct": round(sure / len(ins), 4),
        "confident_wrong_in_scope": round(sure_wrong / len(ins), 4),
        "unknown_in_scope": round(unknown / len(ins), 4),
        "oos_wrong_confident": round(oos_sure / len(oos), 4),
        "oos_did_you_mean": round(oos_suggested / len(oos), 4),
    }


def _percentiles(samples: list[float], prefix: str) -> dict[str, float]:
    samples = sorted(samples)
    return {
        f"{prefix}p50_ms": round(statistics.median(samples), 3),
        f"{prefix}p95_ms": round(samples[int(0.95 * len(samples)) - 1], 3),
        f"{prefix}p99_ms": round(samples[int(0.99 * len(samples)) - 1], 3),
        f"{prefix}max_ms": round(samples[-1], 3),
    }


def timing(matcher: Matcher, queries: list[str], rounds: int) -> dict[str, float]:
    """Per-query match time in ms over every query `rounds` times: wall clock and CPU.

    CPU time (this thread's) leaves out time the OS gave to other processes, which on a busy
    machine dominates the wall-clock tail; both are reported.
    """
    for query in queries:  # warm caches as a running bot would have them
        matcher.match(query)
    wall, cpu = [], []
    for _ in range(rounds):
        for query in queries:
            start, start_cpu = time.perf_counter(), time.thread_time()
            matcher.match(query)
            cpu.append((time.thread_time() - start_cpu) * 1000)
            wall.append((time.perf_counter() - start) * 1000)
    return {**_percentiles(wall, ""), **_percentiles(cpu, "cpu_"), "samples": len(wall)}


def main() -> None:
    """Run the bench and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    seed_rows = read_csv(ROOT / "content" / "faq.csv").rows
    with (ROOT / "tests" / "data" / "faq_queries.csv").open(encoding="utf-8") as f:
        labelled = list(csv.DictReader(f))
    keys = {i: row.key for i, row in enumerate(seed_rows)}

    seed_quality = quality(build(seed_rows), keys, labelled)
    start = time.perf_counter()
    big = build(seed_rows + synthetic(args.entries - len(seed_rows)))
    build_s = time.perf_counter() - start
    big_quality = quality(big, keys, labelled)
    speed = timing(big, [q["query"] for q in labelled], args.rounds)

    print(f"seed FAQ: {len(seed_rows)} entries; labelled queries: {len(labelled)}")
    for name, value in seed_quality.items():
        print(f"  {name:28} {value}")
    print(f"with {len(big)} entries (index built in {build_s:.2f} s):")
    for name in ("top1_accuracy", "first_shown_accuracy", "oos_wrong_confident"):
        print(f"  {name:28} {big_quality[name]}")
    for name, value in speed.items():
        print(f"  {name:28} {value}")
    figures = {
        "seed": seed_quality,
        "entries": len(big),
        "build_s": round(build_s, 3),
        "at_size": {k: big_quality[k] for k in ("top1_accuracy", "oos_wrong_confident")},
        **speed,
    }
    print(f"  load average                 {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    figures["load_average"] = round(os.getloadavg()[0], 2)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
