"""Large registries: the directory and the inspectors' list are paged, numbered within each group, filtered in SQL."""
import pytest

from registry.clock import now_iso
from registry.web import directory as views


@pytest.fixture
def many_units(db):
    """450 current commune units in group C and 5 expired district units in group B, inserted directly."""
    now = now_iso()
    with db.atomic():
        for i in range(450):
            unit_id = db.execute(
                "INSERT INTO units (code, name, kind, group_code, created_at) VALUES (?, ?, 'commune', 'C', ?)",
                [f"X{i:04d}", f"UBND xã Thử {i:04d}", now],
            ).lastrowid
            db.execute(
                "INSERT INTO hotlines (unit_id, number, kind, display, updated_at) VALUES (?, ?, 'mobile', ?, ?)",
                [unit_id, f"+8490{i:07d}", f"090{i:07d}", now],
            )
        for i in range(5):
            db.execute(
                "INSERT INTO units (code, name, kind, group_code, valid_to, created_at) VALUES (?, ?, 'district', 'B', '2025-06-30', ?)",
                [f"H{i}", f"Huyện cũ {i}", now],
            )


def test_directory_shows_one_page_numbered_within_the_group_and_links_to_the_next(client, many_units):
    html = client.get("/").get_data(as_text=True)
    assert html.count('class="stt"') - 1 == views.DIRECTORY_PAGE  # minus the header cell
    assert "450 đơn vị" in html and "Trang 1 / 3" in html and 'rel="next"' in html
    page3 = client.get("/?page=3").get_data(as_text=True)
    assert ">401</td>" in page3 and ">450</td>" in page3 and "UBND xã Thử 0449" in page3
    assert "Huyện cũ" not in page3  # expired units are not in the public directory


@pytest.mark.parametrize("page", ["0", "-4", "999", "abc"])
def test_directory_out_of_range_page_numbers_are_clamped_not_errors(client, many_units, page):
    assert client.get(f"/?page={page}").status_code == 200


def test_directory_all_on_one_page_for_printing(client, many_units):
    html = client.get("/?all=1").get_data(as_text=True)
    assert "UBND xã Thử 0000" in html and "UBND xã Thử 0449" in html and 'rel="next"' not in html


def test_inspectors_list_filters_in_sql_and_pages(inspector_client, many_units):
    html = inspector_client.get("/units?state=historical").get_data(as_text=True)
    assert "5 đơn vị" in html and "Huyện cũ 4" in html and "UBND xã Thử" not in html
    html = inspector_client.get("/units?page=5").get_data(as_text=True)
    assert "Trang 5 / 5" in html and "X0449" in html
    summary = inspector_client.get("/units").get_data(as_text=True)
    assert "Đang hoạt động: <strong>450</strong>" in summary
