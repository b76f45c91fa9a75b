"""The numbered pager of the public list and the queue."""

from __future__ import annotations

from hakama.http.web.request_pages import page_numbers, pager
from hakama.services.service_requests import RequestPage


def test_page_numbers_show_ends_and_neighbours() -> None:
    assert page_numbers(1, 1) == [1]
    assert page_numbers(1, 5) == [1, 2, None, 5]
    assert page_numbers(3, 5) == [1, 2, 3, 4, 5]  # one skipped page is shown, not an ellipsis
    assert page_numbers(6, 710) == [1, None, 5, 6, 7, None, 710]
    assert page_numbers(710, 710) == [1, None, 709, 710]


def test_pager_keeps_filters_and_counts_the_last_page() -> None:
    result = RequestPage(items=[], total=14_181, limit=20, offset=100)
    paging = pager("/requests", {"commune": "02.113", "status": ""}, 6, result)
    assert paging["last"] == 710
    assert paging["prev_url"] == "/requests?commune=02.113&page=5"
    assert paging["next_url"] == "/requests?commune=02.113&page=7"
    numbers = [link and link["number"] for link in paging["links"]]
    assert numbers == [1, None, 5, 6, 7, None, 710]
    assert [link["url"] for link in paging["links"] if link and link["current"]] == [
        "/requests?commune=02.113&page=6"
    ]
