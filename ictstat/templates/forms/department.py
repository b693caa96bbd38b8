"""STTTT-01: the department's own annual report, filled by its units (press, IT, security, inspection).

Every line is one indicator of the annual report. Qualified figures ("hơn 100") are accepted, but the form
asks for the real count: the report may round it, the warehouse should not.
"""

from ictstat.templates.spec import Measure, PartOfWhole, SheetSpec, Template


def _m(
    key: str, label: str, indicator: str, unit: str, unit_vi: str, kind: str = "int", **kw: object
) -> Measure:
    return Measure(key, label, indicator, unit, unit_vi, kind=kind, **kw)  # type: ignore[arg-type]


PRESS_V1 = SheetSpec(
    name="Báo chí - Xuất bản",
    title="BÁO CHÍ, TRANG THÔNG TIN ĐIỆN TỬ, XUẤT BẢN - IN - PHÁT HÀNH",
    note="Số liệu tại thời điểm 31/12 của năm báo cáo.",
    layout="indicator_list",
    measures=(
        _m("press_agencies", "Cơ quan báo chí của tỉnh", "PRESS_AGENCIES", "agencies", "cơ quan"),
        _m("carded_journalists", "Nhà báo được cấp thẻ", "PRESS_CARDED_JOURNALISTS", "people", "người"),
        _m("resident_agencies", "Cơ quan thường trú của báo chí Trung ương", "PRESS_RESIDENT_AGENCIES", "agencies", "cơ quan"),
        _m("resident_reporter_agencies", "Cơ quan báo chí có phóng viên thường trú", "PRESS_RESIDENT_REPORTER_AGENCIES", "agencies", "cơ quan"),
        _m("cooperation_agreements", "Cơ quan báo chí có thỏa thuận hợp tác thông tin", "PRESS_COOPERATION_AGREEMENTS", "agencies", "cơ quan"),
        _m("province_portal", "Cổng thông tin điện tử tỉnh", "WEB_PROVINCE_PORTAL", "portals", "cổng"),
        _m("state_sites", "Trang thông tin điện tử của cơ quan nhà nước", "WEB_STATE_SITES", "websites", "trang"),
        _m("enterprise_school_sites", "Trang thông tin điện tử của doanh nghiệp, trường học", "WEB_ENTERPRISE_SCHOOL_SITES", "websites", "trang"),
        _m("publishers", "Nhà xuất bản", "PUB_PUBLISHERS", "publishers", "nhà xuất bản"),
        _m("distributors", "Cơ sở phát hành xuất bản phẩm", "PUB_DISTRIBUTORS", "establishments", "cơ sở"),
        _m("printers_licensed", "Cơ sở in được cấp giấy phép", "PUB_PRINTERS_LICENSED", "establishments", "cơ sở"),
        _m("printers_total", "Cơ sở in các loại", "PUB_PRINTERS_TOTAL", "establishments", "cơ sở"),
    ),
    parts_of_whole=(PartOfWhole(("printers_licensed",), "printers_total"),),
)  # fmt: skip

IT_V1 = SheetSpec(
    name="Ứng dụng CNTT",
    title="ỨNG DỤNG CÔNG NGHỆ THÔNG TIN, CHÍNH QUYỀN ĐIỆN TỬ",
    note="Họp trực tuyến, tin bài, lượt truy cập: trong năm. Các chỉ tiêu khác: tại thời điểm 31/12.",
    layout="indicator_list",
    measures=(
        _m("video_conferences", "Cuộc họp trực tuyến đã tổ chức", "IT_VIDEO_CONFERENCES", "meetings", "cuộc"),
        _m("edoc_connected_agencies", "Cơ quan kết nối liên thông văn bản 4 cấp", "IT_EDOC_CONNECTED_AGENCIES", "agencies", "cơ quan"),
        _m("lgsp_nonpublic_units", "Đơn vị ngoài công lập kết nối trục LGSP", "IT_LGSP_NONPUBLIC_UNITS", "units", "đơn vị"),
        _m("edoc_rate_pct", "Tỷ lệ văn bản trao đổi dưới dạng điện tử", "IT_EDOC_RATE_PCT", "percent", "%", kind="decimal", max_value=100),
        _m("official_email_accounts", "Hộp thư điện tử công vụ đã cấp", "IT_OFFICIAL_EMAIL_ACCOUNTS", "accounts", "hộp thư"),
        _m("official_email_use_pct", "Tỷ lệ cán bộ sử dụng thư điện tử công vụ", "IT_OFFICIAL_EMAIL_USE_PCT", "percent", "%", kind="decimal", max_value=100),
        _m("data_network_agencies", "Cơ quan hành chính sử dụng mạng truyền số liệu chuyên dùng", "IT_DATA_NETWORK_AGENCIES", "agencies", "cơ quan"),
        _m("data_network_units", "Cơ quan, đơn vị có đường truyền mạng chuyên dùng", "IT_DATA_NETWORK_UNITS", "units", "đơn vị"),
        _m("digital_certs", "Chứng thư số đã cấp", "IT_DIGITAL_CERTS", "certificates", "chứng thư"),
        _m("digital_certs_personal", "Trong đó: cấp cho cá nhân", "IT_DIGITAL_CERTS_PERSONAL", "certificates", "chứng thư"),
        _m("digital_certs_org", "Trong đó: cấp cho tổ chức", "IT_DIGITAL_CERTS_ORG", "certificates", "chứng thư"),
        _m("admin_procedures", "Thủ tục hành chính trên Cổng dịch vụ công", "IT_ADMIN_PROCEDURES", "procedures", "thủ tục"),
        _m("dvc_level3", "Dịch vụ công trực tuyến mức độ 3", "IT_DVC_LEVEL3", "services", "dịch vụ"),
        _m("dvc_level4", "Dịch vụ công trực tuyến mức độ 4", "IT_DVC_LEVEL4", "services", "dịch vụ"),
        _m("dvc_level34_pct", "Tỷ lệ dịch vụ công trực tuyến mức 3, mức 4", "IT_DVC_LEVEL34_PCT", "percent", "%", kind="decimal", max_value=100),
        _m("ioc_functions", "Chức năng giám sát của Trung tâm điều hành thông minh (IOC)", "IT_IOC_FUNCTIONS", "functions", "chức năng"),
        _m("portal_articles", "Tin, bài đăng trên Cổng thông tin điện tử tỉnh", "IT_PORTAL_ARTICLES", "articles", "tin, bài"),
        _m("portal_visits_million", "Lượt truy cập Cổng thông tin điện tử tỉnh", "IT_PORTAL_VISITS_MILLION", "million visits", "triệu lượt", kind="decimal"),
    ),
    parts_of_whole=(
        PartOfWhole(("digital_certs_personal", "digital_certs_org"), "digital_certs"),
        PartOfWhole(("dvc_level3", "dvc_level4"), "admin_procedures"),
        PartOfWhole(("data_network_agencies",), "data_network_units"),
    ),
)  # fmt: skip

DOCUMENTS_V1 = SheetSpec(
    name="Văn bản điện tử",
    title="VĂN BẢN ĐI, ĐẾN CỦA SỞ",
    note="Số phát sinh trong năm.",
    layout="indicator_list",
    measures=(
        _m("doc_issued", "Văn bản Sở ban hành", "DOC_ISSUED", "documents", "văn bản"),
        _m("doc_issued_esigned", "Văn bản ký số phát hành điện tử", "DOC_ISSUED_ESIGNED", "documents", "văn bản"),
        _m("doc_issued_secret_paper", "Văn bản mật phát hành bằng giấy", "DOC_ISSUED_SECRET_PAPER", "documents", "văn bản"),
        _m("doc_received_electronic", "Văn bản đến điện tử", "DOC_RECEIVED_ELECTRONIC", "documents", "văn bản"),
        _m("doc_received_secret_paper", "Văn bản mật đến bằng giấy", "DOC_RECEIVED_SECRET_PAPER", "documents", "văn bản"),
        _m("doc_savings_vnd", "Chi phí tiết kiệm nhờ văn bản điện tử", "DOC_SAVINGS_VND", "VND", "đồng", kind="decimal"),
    ),
    parts_of_whole=(PartOfWhole(("doc_issued_esigned", "doc_issued_secret_paper"), "doc_issued"),),
)  # fmt: skip

SECURITY_V1 = SheetSpec(
    name="An toàn thông tin",
    title="GIÁM SÁT AN TOÀN THÔNG TIN (SOC)",
    note="Số phát sinh trong năm.",
    layout="indicator_list",
    measures=(
        _m("threats_detected", "Mối nguy hại được phát hiện, xử lý", "SEC_THREATS_DETECTED", "threats", "mối nguy hại"),
        _m("threats_high", "Trong đó: mức cao", "SEC_THREATS_HIGH", "threats", "mối nguy hại"),
        _m("threats_critical", "Trong đó: mức nghiêm trọng", "SEC_THREATS_CRITICAL", "threats", "mối nguy hại"),
    ),
    parts_of_whole=(PartOfWhole(("threats_high", "threats_critical"), "threats_detected"),),
)  # fmt: skip

INSPECTION_V1 = SheetSpec(
    name="Thanh tra - Kiểm tra",
    title="THANH TRA, KIỂM TRA, XỬ LÝ VI PHẠM",
    note="Số phát sinh trong năm.",
    layout="indicator_list",
    measures=(
        _m("inspections", "Đợt thanh tra, kiểm tra", "INSP_INSPECTIONS", "inspections", "đợt"),
        _m("fines_million_vnd", "Xử phạt vi phạm hành chính", "INSP_FINES_MILLION_VND", "million VND", "triệu đồng", kind="decimal"),
        _m("fake_news_cases", "Trường hợp thông tin sai sự thật về COVID-19 đã xử lý", "INSP_FAKE_NEWS_CASES", "cases", "trường hợp"),
        _m("law_days", "Ngày pháp luật đã tổ chức", "INSP_LAW_DAYS", "events", "lần"),
    ),
)  # fmt: skip

# What the department itself states on its own form about figures its reporters also send (the district
# offices' receivers, the postal carriers' points): an independent source that reconciliation compares with
# what the reporters' forms add up to (ictstat/refdata/reconciliation_rules.csv). Optional lines.
STATED_V1 = SheetSpec(
    name="Số liệu Sở tổng hợp",
    title="SỐ LIỆU DO SỞ TỔNG HỢP (ĐỂ ĐỐI CHIẾU VỚI BÁO CÁO CỦA ĐƠN VỊ)",
    note="Số liệu tại thời điểm 31/12 theo hồ sơ của Sở.",
    layout="indicator_list",
    measures=(
        _m("stated_sat_receivers", "Đầu thu truyền hình vệ tinh đã lắp cho hộ nghèo, cận nghèo", "MEDIA_SAT_RECEIVERS_STATED", "households", "hộ", required=False),
        _m("stated_post_offices", "Bưu cục trên địa bàn tỉnh", "POS_POST_OFFICES_STATED", "points", "điểm", required=False),
        _m("stated_vhx_points", "Điểm Bưu điện - Văn hóa xã", "POS_VHX_POINTS_STATED", "points", "điểm", required=False),
        _m("stated_communes_served", "Xã, phường, thị trấn có điểm phục vụ bưu chính", "POS_COMMUNES_SERVED_STATED", "communes", "xã", required=False),
    ),
)  # fmt: skip

DEPARTMENT_V1 = Template(
    form_code="STTTT-01",
    version=1,
    reporter_kind="department",
    frequency="year",
    title="BÁO CÁO SỐ LIỆU NĂM CỦA CÁC PHÒNG, ĐƠN VỊ THUỘC SỞ",
    title_en="Annual figures of the department's own units",
    deadline_note="Các phòng, đơn vị gửi Văn phòng Sở trước ngày 15 tháng 3 năm sau.",
    sheets=(PRESS_V1, IT_V1, DOCUMENTS_V1, SECURITY_V1, INSPECTION_V1, STATED_V1),
)

TEMPLATES = [DEPARTMENT_V1]
