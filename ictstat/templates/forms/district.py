"""VHTT-01 (annual) and VHTT-02 (six-month): the report of a district's Culture and Information Office.

The district radio-TV station and whether it has been merged into the office; one row per commune for the
commune radio stations and smart (IP) radio; satellite TV receivers handed to poor and near-poor households.
Figures are at the end of the period.
"""

from ictstat.templates.spec import Measure, PartOfWhole, SheetSpec, Template

STATION_V1 = SheetSpec(
    name="Đài huyện",
    title="ĐÀI TRUYỀN THANH - TRUYỀN HÌNH CẤP HUYỆN",
    layout="indicator_list",
    measures=(
        Measure("district_station", "Đài Truyền thanh - Truyền hình cấp huyện", "MEDIA_DISTRICT_STATIONS",
                "stations", "đài", max_value=1, aliases=("Đài TT-TH cấp huyện", "Đài truyền thanh truyền hình")),
        Measure("station_merged", "Đài đã sáp nhập vào Phòng Văn hóa và Thông tin (1: đã sáp nhập, 0: chưa)",
                "MEDIA_DISTRICT_STATIONS_MERGED", "stations", "đài", max_value=1,
                aliases=("Đài đã sáp nhập vào Phòng VHTT", "Đã sáp nhập vào Phòng Văn hóa và Thông tin")),
    ),
    parts_of_whole=(PartOfWhole(("station_merged",), "district_station"),),
)  # fmt: skip

COMMUNES_V1 = SheetSpec(
    name="Truyền thanh cấp xã",
    title="ĐÀI TRUYỀN THANH CẤP XÃ VÀ TRUYỀN THANH THÔNG MINH",
    note="Mỗi xã, phường, thị trấn một dòng. Cột có/không: ghi 1 (có) hoặc 0 (không).",
    layout="commune_table",
    measures=(
        Measure("commune_station", "Có đài truyền thanh cấp xã", "MEDIA_COMMUNE_STATIONS", "stations", "đài",
                max_value=1, aliases=("Đài truyền thanh xã", "Có đài truyền thanh")),
        Measure("smart_radio", "Truyền thanh ứng dụng CNTT-VT (thông minh)", "MEDIA_SMART_RADIO_COMMUNES",
                "communes", "xã", max_value=1, aliases=("Truyền thanh thông minh", "Truyền thanh IP")),
        Measure("smart_clusters", "Số cụm loa thông minh", "MEDIA_SMART_RADIO_CLUSTERS", "clusters", "cụm",
                required=False, aliases=("Cụm loa thông minh",)),
        Measure("smart_speakers", "Số loa thông minh", "MEDIA_SMART_RADIO_SPEAKERS", "loudspeakers", "loa",
                required=False, aliases=("Loa thông minh",)),
    ),
    # a cluster has at least one loudspeaker
    parts_of_whole=(PartOfWhole(("smart_clusters",), "smart_speakers"),),
)  # fmt: skip

RECEIVERS_V1 = SheetSpec(
    name="Đầu thu vệ tinh",
    title="ĐẦU THU TRUYỀN HÌNH VỆ TINH HỖ TRỢ HỘ NGHÈO, HỘ CẬN NGHÈO",
    note="Số đầu thu đã lắp đặt (lũy kế đến cuối kỳ báo cáo).",
    layout="indicator_list",
    measures=(
        Measure("receivers_poor", "Đầu thu lắp đặt cho hộ nghèo", "MEDIA_SAT_RECEIVERS_POOR", "households", "hộ",
                aliases=("Hộ nghèo",)),
        Measure("receivers_near_poor", "Đầu thu lắp đặt cho hộ cận nghèo", "MEDIA_SAT_RECEIVERS_NEAR_POOR",
                "households", "hộ", aliases=("Hộ cận nghèo",)),
    ),
)  # fmt: skip

SHEETS = (STATION_V1, COMMUNES_V1, RECEIVERS_V1)

DISTRICT_ANNUAL_V1 = Template(
    form_code="VHTT-01",
    version=1,
    reporter_kind="district",
    frequency="year",
    title="BÁO CÁO NĂM VỀ THÔNG TIN CƠ SỞ CỦA PHÒNG VĂN HÓA VÀ THÔNG TIN",
    title_en="Annual grassroots-information report of a district Culture and Information Office",
    deadline_note="Gửi Sở Thông tin và Truyền thông trước ngày 15 tháng 3 năm sau.",
    sheets=SHEETS,
)

DISTRICT_HALF_V1 = Template(
    form_code="VHTT-02",
    version=1,
    reporter_kind="district",
    frequency="half",
    title="BÁO CÁO 6 THÁNG VỀ THÔNG TIN CƠ SỞ CỦA PHÒNG VĂN HÓA VÀ THÔNG TIN",
    title_en="Six-month grassroots-information report of a district Culture and Information Office",
    deadline_note="Gửi Sở Thông tin và Truyền thông trước ngày 15 tháng 7 (6 tháng đầu năm).",
    sheets=SHEETS,
)

TEMPLATES = [DISTRICT_ANNUAL_V1, DISTRICT_HALF_V1]
