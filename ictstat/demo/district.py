"""Demo VHTT-01 (annual, 2019 and 2020) and VHTT-02 (first half of 2020) files of the 11 district offices.

Province totals for 2020 are the report's (Phụ lục 2): 11 district stations of which 5 merged into the
culture-information offices, 111 commune stations, smart radio in 7 communes with 70 loudspeaker clusters and
182 loudspeakers, 3,619 + 2,970 satellite receivers. Commune rows use the real communes of each district.
"""

from __future__ import annotations

import random
from datetime import date, datetime
from pathlib import Path

from ictstat import reference
from ictstat.demo.allocate import allocate, jitter
from ictstat.templates import get_template
from ictstat.templates.writer import FormData, write_form

PROVINCE = "70"
# period -> (merged districts, communes without a station, smart-radio communes, clusters and speakers each,
#            receivers for poor and near-poor households)
PLAN = {
    "2019": (("688", "690", "693"), 2, 3, (10, 26), (3_100, 2_400)),
    "2020-H1": (("688", "690", "693", "697"), 1, 5, (10, 26), (3_400, 2_700)),
    "2020": (("688", "690", "693", "697", "698"), 0, 7, (10, 26), (3_619, 2_970)),
}
SMART_ORDER = ("689", "696", "692", "695", "694", "691", "698")  # districts that got smart radio, in order
CLERKS = ("Lâm Văn Bình", "Nguyễn Thị Cúc", "Trần Văn Đức", "Lê Thị Giang", "Phạm Văn Hòa", "Vũ Thị Kim",
          "Đinh Văn Lộc", "Hà Thị Mai", "Cao Văn Nam", "Kiều Thị Oanh", "Tô Văn Phát")  # fmt: skip


def write(inbox: Path, rng: random.Random) -> list[Path]:
    written: list[Path] = []
    for period, (merged, without_station, n_smart, (clusters, speakers), (poor, near_poor)) in PLAN.items():
        template = get_template("VHTT-02" if "H" in period else "VHTT-01")
        assert template is not None
        year = int(period[:4])
        end = date(year, 6, 30) if "H" in period else date(year, 12, 31)
        districts = reference.districts(PROVINCE, end)
        weights = jitter({d.code: float(d.commune_count) for d in districts}, rng, 0.25)
        poor_by = allocate(poor, weights)
        near_by = allocate(near_poor, weights)
        smart_districts = SMART_ORDER[:n_smart]
        no_station = {reference.communes(code, end)[-1].code for code in ("692", "696")[:without_station]}
        for i, d in enumerate(districts):
            communes = reference.communes(d.code, end)
            smart_commune = communes[0].code if d.code in smart_districts else None
            rows = {
                c.code: {
                    "commune_station": 0 if c.code in no_station else 1,
                    "smart_radio": 1 if c.code == smart_commune else 0,
                    "smart_clusters": clusters if c.code == smart_commune else None,
                    "smart_speakers": speakers if c.code == smart_commune else None,
                }
                for c in communes
            }
            reporter = reference.reporter(f"VHTT_{d.code}", PROVINCE)
            prepared = date(year + 1, 1, 10 + i) if "H" not in period else date(year, 7, 5 + i)
            data = FormData(
                cover={
                    "reporter_code": reporter.code,
                    "reporter_name": reporter.name_vi,
                    "province": "Bình Phước",
                    "period": "6 tháng đầu năm 2020" if "H" in period else f"Năm {year}",
                    "prepared_by": CLERKS[i],
                    "phone": f"0271 38{i:02d} 5{year % 10}1",
                    "prepared_on": prepared,
                },
                item_values={
                    template.sheets[0].name: {"district_station": 1, "station_merged": int(d.code in merged)},
                    template.sheets[2].name: {
                        "receivers_poor": poor_by[d.code],
                        "receivers_near_poor": near_by[d.code],
                    },
                },
                commune_values={template.sheets[1].name: rows},
            )
            name = f"phong_vhtt_{d.code}_{period.lower().replace('-', '_')}.xlsx"
            path = inbox / "phong_vhtt" / period / name
            stamp = datetime(prepared.year, prepared.month, prepared.day, 14, 0)
            written.append(write_form(template, path, districts, data, timestamp=stamp, communes=communes))
    return written
