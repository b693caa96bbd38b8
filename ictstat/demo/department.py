"""Demo STTTT-01 files: the department's own annual figures for 2019 and 2020.

2020 figures are the report's. Where the report rounds ("hơn 100" websites, "hơn 70" printers, "trên 95 %"
electronic documents, "hơn 19,1 triệu" visits) the form carries the real count, which the report's bound
must hold for. 2019 figures give the report's stated changes (articles +191.1 %, visits +41.4 %).
"""

from __future__ import annotations

import random
from datetime import date, datetime
from pathlib import Path

from ictstat import reference
from ictstat.templates import get_template
from ictstat.templates.writer import FormData, write_form

FIGURES: dict[str, dict[int, float]] = {
    # Báo chí - Xuất bản
    "press_agencies": {2019: 2, 2020: 2},
    "carded_journalists": {2019: 80, 2020: 83},
    "resident_agencies": {2019: 1, 2020: 1},
    "resident_reporter_agencies": {2019: 8, 2020: 8},
    "cooperation_agreements": {2019: 7, 2020: 9},
    "province_portal": {2019: 1, 2020: 1},
    "state_sites": {2019: 58, 2020: 60},
    "enterprise_school_sites": {2019: 96, 2020: 104},
    "publishers": {2019: 0, 2020: 0},
    "distributors": {2019: 58, 2020: 60},
    "printers_licensed": {2019: 10, 2020: 11},
    "printers_total": {2019: 70, 2020: 73},
    # Ứng dụng CNTT
    "video_conferences": {2019: 64, 2020: 126},
    "edoc_connected_agencies": {2019: 175, 2020: 188},
    "lgsp_nonpublic_units": {2019: 820, 2020: 1064},
    "edoc_rate_pct": {2019: 90.5, 2020: 95.8},
    "official_email_accounts": {2019: 7120, 2020: 7504},
    "official_email_use_pct": {2019: 92, 2020: 95},
    "data_network_agencies": {2019: 138, 2020: 145},
    "data_network_units": {2019: 290, 2020: 310},
    "digital_certs": {2019: 1980, 2020: 2702},
    "digital_certs_personal": {2019: 1700, 2020: 2305},
    "digital_certs_org": {2019: 280, 2020: 397},
    "admin_procedures": {2019: 1850, 2020: 1908},
    "dvc_level3": {2019: 610, 2020: 872},
    "dvc_level4": {2019: 380, 2020: 726},
    "dvc_level34_pct": {2019: 53.5, 2020: 86.3},  # 2020 as the report states it (the counts give 83.75)
    "ioc_functions": {2019: 4, 2020: 10},
    "portal_articles": {2019: 1101, 2020: 3204},
    "portal_visits_million": {2019: 13.53, 2020: 19.13},
    # Văn bản điện tử
    "doc_issued": {2019: 1890, 2020: 2055},
    "doc_issued_esigned": {2019: 1850, 2020: 2027},
    "doc_issued_secret_paper": {2019: 40, 2020: 28},
    "doc_received_electronic": {2019: 6420, 2020: 6998},
    "doc_received_secret_paper": {2019: 61, 2020: 55},
    "doc_savings_vnd": {2019: 9_250_000, 2020: 10_135_000},
    # An toàn thông tin
    "threats_detected": {2019: 512_000, 2020: 867_463},
    "threats_high": {2019: 498_000, 2020: 849_996},
    "threats_critical": {2019: 12_100, 2020: 16_975},
    # Thanh tra - Kiểm tra
    "inspections": {2019: 5, 2020: 4},
    "fines_million_vnd": {2019: 35, 2020: 20},
    "fake_news_cases": {2019: 0, 2020: 3},
    "law_days": {2019: 12, 2020: 11},
    # Số liệu Sở tổng hợp: the report's own statements. In 2020 it says "6.195 đầu thu vệ tinh" (the district
    # offices' forms add up to 6.589) and "29 bưu cục (đạt 85/111 xã)" (the carriers' forms: 60 post offices,
    # 111 communes served): reconciliation must flag them. 2019 agrees with the reporters.
    "stated_sat_receivers": {2019: 5_500, 2020: 6_195},
    "stated_post_offices": {2019: 57, 2020: 29},
    "stated_vhx_points": {2019: 56, 2020: 56},
    "stated_communes_served": {2019: 111, 2020: 85},
}


def write(inbox: Path, rng: random.Random) -> list[Path]:
    template = get_template("STTTT-01")
    assert template is not None
    reporter = reference.reporter("SO_TTTT", "70")
    written = []
    for year in (2019, 2020):
        items = {s.name: {m.key: FIGURES[m.key][year] for m in s.measures} for s in template.sheets}
        prepared = date(year + 1, 2, 20 + rng.randint(0, 5))
        data = FormData(
            cover={
                "reporter_code": reporter.code,
                "reporter_name": reporter.name_vi,
                "province": "Bình Phước",
                "period": f"Năm {year}",
                "prepared_by": "Văn phòng Sở",
                "phone": "0271 3879 079",
                "prepared_on": prepared,
            },
            item_values=items,
        )
        path = inbox / "so_tttt" / f"so_lieu_nam_{year}.xlsx"
        written.append(
            write_form(
                template, path, [], data, timestamp=datetime(prepared.year, prepared.month, prepared.day, 10)
            )
        )
    return written
