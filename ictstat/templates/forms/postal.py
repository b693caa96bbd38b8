"""BC-01: the monthly report of a postal carrier's provincial branch.

Service points are stocks at the end of the month, by district; revenue, budget payments and administrative
dossiers delivered are flows over the month; Postmart figures are stocks. Communes served are reported only by
the public postal service provider (Bưu điện tỉnh), whose network reaches every commune.
"""

from ictstat.templates.spec import Measure, SheetSpec, Template

POINTS = "points"
POINTS_VI = "điểm"

SERVICE_POINTS_V1 = SheetSpec(
    name="Điểm phục vụ",
    title="MẠNG LƯỚI ĐIỂM PHỤC VỤ BƯU CHÍNH THEO ĐỊA BÀN",
    note="Số liệu tại thời điểm cuối tháng báo cáo. Cột 'Số xã có điểm phục vụ' do Bưu điện tỉnh điền.",
    layout="district_table",
    measures=(
        Measure("post_offices", "Bưu cục", "POS_POST_OFFICES", POINTS, POINTS_VI, required=False,
                aliases=("Số bưu cục", "Bưu cục (điểm)")),
        Measure("vhx_active", "Điểm BĐ-VHX đang hoạt động", "POS_VHX_ACTIVE", POINTS, POINTS_VI, required=False,
                aliases=("Bưu điện văn hóa xã đang hoạt động", "BĐVHX đang hoạt động")),
        Measure("vhx_suspended", "Điểm BĐ-VHX tạm dừng hoạt động", "POS_VHX_SUSPENDED", POINTS, POINTS_VI,
                required=False, aliases=("Bưu điện văn hóa xã tạm dừng", "BĐVHX tạm dừng")),
        Measure("mailboxes", "Thùng thư công cộng", "POS_PUBLIC_MAILBOXES", POINTS, POINTS_VI, required=False,
                aliases=("Thùng thư", "Số thùng thư công cộng")),
        Measure("communes_served", "Số xã có điểm phục vụ", "POS_COMMUNES_SERVED", "communes", "xã",
                required=False, aliases=("Số xã, phường, thị trấn có điểm phục vụ",)),
    ),
)  # fmt: skip

REVENUE_V1 = SheetSpec(
    name="Doanh thu - Sản lượng",
    title="DOANH THU, NỘP NGÂN SÁCH VÀ SẢN LƯỢNG TRONG THÁNG",
    note="Doanh thu, nộp ngân sách, hồ sơ: số phát sinh trong tháng. Postmart: số tại cuối tháng.",
    layout="indicator_list",
    measures=(
        Measure("revenue", "Doanh thu dịch vụ bưu chính", "POS_REVENUE", "million VND", "triệu đồng",
                kind="decimal", aliases=("Doanh thu", "Doanh thu bưu chính")),
        Measure("budget", "Nộp ngân sách nhà nước", "POS_BUDGET", "million VND", "triệu đồng", kind="decimal",
                aliases=("Nộp ngân sách", "Nộp NSNN")),
        Measure("admin_dossiers", "Hồ sơ thủ tục hành chính chuyển phát qua bưu chính công ích",
                "POS_ADMIN_DOSSIERS", "items", "hồ sơ", required=False,
                aliases=("Hồ sơ TTHC qua bưu chính công ích", "Hồ sơ TTHC")),
        Measure("postmart_suppliers", "Nhà cung cấp trên sàn Postmart", "POS_POSTMART_SUPPLIERS", "suppliers",
                "nhà cung cấp", required=False),
        Measure("postmart_products", "Sản phẩm trên sàn Postmart", "POS_POSTMART_PRODUCTS", "products",
                "sản phẩm", required=False),
    ),
)  # fmt: skip

POSTAL_V1 = Template(
    form_code="BC-01",
    version=1,
    reporter_kind="postal_carrier",
    frequency="month",
    title="BÁO CÁO TÌNH HÌNH HOẠT ĐỘNG BƯU CHÍNH HẰNG THÁNG",
    title_en="Monthly postal activity report",
    deadline_note="Gửi Sở Thông tin và Truyền thông trước ngày 10 của tháng sau.",
    sheets=(SERVICE_POINTS_V1, REVENUE_V1),
)

TEMPLATES = [POSTAL_V1]
