"""VT-01: the monthly report of a telecom carrier's provincial branch.

Subscribers and BTS sites are stocks, counted at the end of the month, by district. Revenue, budget payments
and subscriptions suspended for illegal advertising are flows over the month. Money is reported in million VND
(triệu đồng); the warehouse converts it to the billion VND of the annual report.

Subscriber, site and suspension figures may be blank: a carrier leaves the columns of services it does not
offer empty (no fixed lines at MobiFone). Revenue and budget payments are required of every carrier.
"""

from ictstat.templates.spec import Measure, SheetSpec, Template

SUBSCRIBERS_V1 = SheetSpec(
    name="Thuê bao - BTS",
    title="SỐ LIỆU THUÊ BAO VÀ TRẠM THU PHÁT SÓNG (BTS) THEO ĐỊA BÀN",
    note="Số liệu tại thời điểm cuối tháng báo cáo.",
    layout="district_table",
    measures=(
        Measure(
            "subs_fixed",
            "Thuê bao điện thoại cố định",
            "TEL_SUBS_FIXED",
            "subscribers",
            "thuê bao",
            required=False,
            aliases=("Điện thoại cố định", "Cố định", "TB cố định"),
        ),
        Measure(
            "subs_mobile",
            "Thuê bao điện thoại di động",
            "TEL_SUBS_MOBILE",
            "subscribers",
            "thuê bao",
            required=False,
            aliases=("Điện thoại di động", "Di động", "TB di động"),
        ),
        Measure(
            "subs_internet",
            "Thuê bao Internet",
            "TEL_SUBS_INTERNET",
            "subscribers",
            "thuê bao",
            required=False,
            aliases=("Internet", "TB Internet", "Thuê bao Internet băng rộng"),
        ),
        Measure(
            "bts_sites",
            "Số vị trí trạm BTS",
            "TEL_BTS_SITES",
            "sites",
            "trạm",
            required=False,
            aliases=("Trạm BTS", "Vị trí trạm BTS", "Số trạm BTS"),
        ),
    ),
)

REVENUE_V1 = SheetSpec(
    name="Doanh thu - Nộp NS",
    title="DOANH THU, NỘP NGÂN SÁCH VÀ XỬ LÝ THUÊ BAO TRONG THÁNG",
    note="Số phát sinh trong tháng báo cáo (không cộng dồn).",
    layout="indicator_list",
    measures=(
        Measure(
            "revenue",
            "Doanh thu dịch vụ viễn thông",
            "TEL_REVENUE",
            "million VND",
            "triệu đồng",
            kind="decimal",
            aliases=("Doanh thu", "Doanh thu viễn thông"),
        ),
        Measure(
            "budget",
            "Nộp ngân sách nhà nước",
            "TEL_BUDGET",
            "million VND",
            "triệu đồng",
            kind="decimal",
            aliases=("Nộp ngân sách", "Nộp NSNN"),
        ),
        Measure(
            "spam_suspended",
            "Thuê bao quảng cáo, rao vặt trái phép bị tạm ngưng",
            "TEL_SPAM_SUBS_SUSPENDED",
            "subscriptions",
            "thuê bao",
            required=False,
            aliases=("Thuê bao rao vặt bị tạm ngưng", "Thuê bao quảng cáo rao vặt trái phép"),
        ),
    ),
)

TELECOM_V1 = Template(
    form_code="VT-01",
    version=1,
    reporter_kind="telecom_carrier",
    frequency="month",
    title="BÁO CÁO TÌNH HÌNH HOẠT ĐỘNG VIỄN THÔNG, INTERNET HẰNG THÁNG",
    title_en="Monthly telecom and internet activity report",
    deadline_note="Gửi Sở Thông tin và Truyền thông trước ngày 10 của tháng sau.",
    sheets=(SUBSCRIBERS_V1, REVENUE_V1),
)

TEMPLATES = [TELECOM_V1]
