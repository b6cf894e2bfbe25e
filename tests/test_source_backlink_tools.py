from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from pipeline.sources.base import ParseContext
from tests.conftest import csv_bytes, of_kind, parse_all, write_zip

MAJESTIC_HEADER = [
    "Target URL",
    "Source URL",
    "Anchor Text",
    "Source Crawl Date",
    "Source First Found Date",
    "FlagNoFollow",
    "FlagImageLink",
    "FlagRedirect",
    "FlagFrame",
    "FlagOldCrawl",
    "FlagAltText",
    "FlagMention",
    "SourceCitationFlow",
    "SourceTrustFlow",
    "TargetCitationFlow",
    "TargetTrustFlow",
    "SourceTopicalTrustFlow_Topic_0",
    "SourceTopicalTrustFlow_Value_0",
    "FlagDeleted",
]


def test_majestic_with_rows_of_the_wrong_width_quarantined(tmp_path: Path, context: ParseContext) -> None:
    good = [
        "https://example.com/guide",
        "https://blog.other.org/post",
        "great guide",
        "2026-01-20",
        "2025-11-02",
        "-",
        "-",
        "-",
        "-",
        "-",
        "-",
        "-",
        "21",
        "17",
        "30",
        "25",
        "Recreation/Food",
        "12",
        "-",
    ]
    nofollow = [
        "https://www.example.com/",
        "http://forum.site.net/t/1",
        "",
        "2026-01-21",
        "2026-01-01",
        "+",
        "-",
        "-",
        "-",
        "-",
        "-",
        "-",
        "5",
        "3",
        "30",
        "25",
        "",
        "",
        "+",
    ]
    text = csv_bytes([MAJESTIC_HEADER, good, nofollow]).decode()
    unquoted_comma = "https://example.com/a,https://x.org/p,anchor, with comma,2026-01-20,2026-01-01"
    text += unquoted_comma + ",-,-,-,-,-,-,-,1,1,1,1,,,-\n"
    path = tmp_path / "majestic_example.com.csv"
    path.write_text(text)
    name, records, rejected = parse_all(path, context)
    assert name == "majestic_backlinks"
    links = of_kind(records, "backlink")
    assert [
        (row["source_canonical"], row["target_canonical"], row["nofollow"], row["lost"]) for row in links
    ] == [
        ("https://blog.other.org/post", "https://example.com/guide", False, False),
        ("https://forum.site.net/t/1", "https://example.com/", True, True),
    ]
    assert links[0]["source_domain"] == "other.org"
    assert (links[0]["first_seen"], links[0]["last_seen"], links[0]["source_domain_rating"]) == (
        dt.date(2025, 11, 2),
        dt.date(2026, 1, 20),
        17.0,
    )
    assert [(item.location, item.reason) for item in rejected] == [
        ("line 4", "20 columns where the header has 19")
    ]


def test_semrush_backlinks_with_a_bom(tmp_path: Path, context: ParseContext) -> None:
    rows = [
        [
            "Page ascore",
            "Source title",
            "Source url",
            "Target url",
            "Anchor",
            "External links",
            "Internal links",
            "Nofollow",
            "Sponsored",
            "Ugc",
            "Text",
            "Frame",
            "Form",
            "Image",
            "Sitewide",
            "First seen",
            "Last seen",
            "New link",
            "Lost link",
        ],
        [
            "34",
            "Best cafés",
            "https://www.other.org/best",
            "https://example.com/guide",
            "café guide",
            "40",
            "12",
            "false",
            "true",
            "false",
            "true",
            "false",
            "false",
            "false",
            "false",
            "2025-12-01",
            "2026-01-15",
            "false",
            "false",
        ],
        [
            "2",
            "x",
            "https://spam.example.net/",
            "https://example.com/",
            "",
            "900",
            "1",
            "maybe",
            "false",
            "false",
            "true",
            "false",
            "false",
            "false",
            "false",
            "2025-12-01",
            "2026-01-15",
            "false",
            "false",
        ],
    ]
    path = tmp_path / "example.com-backlinks.csv"
    path.write_bytes(csv_bytes(rows, bom=True))
    name, records, rejected = parse_all(path, context)
    assert name == "semrush_backlinks"
    (link,) = of_kind(records, "backlink")
    assert (
        link["tool"],
        link["sponsored"],
        link["nofollow"],
        link["source_domain_rating"],
        link["anchor"],
    ) == (
        "semrush",
        True,
        False,
        34.0,
        "café guide",
    )
    assert [item.location for item in rejected] == ["line 3"]


@pytest.mark.parametrize("width", [9, 15, 16])
def test_screaming_frog_inlinks_in_each_column_variant(
    tmp_path: Path, context: ParseContext, width: int
) -> None:
    header = {
        9: ["Type", "Source", "Destination", "Alt Text", "Anchor", "Status Code", "Status", "Follow", "Rel"],
        15: [
            "Type",
            "Source",
            "Destination",
            "Size (Bytes)",
            "Alt Text",
            "Anchor",
            "Status Code",
            "Status",
            "Follow",
            "Target",
            "Rel",
            "Path Type",
            "Link Path",
            "Link Position",
            "Link Origin",
        ],
        16: [
            "Type",
            "Source",
            "Destination",
            "Size (Bytes)",
            "Alt Text",
            "Anchor",
            "Status Code",
            "Status",
            "Follow",
            "Target",
            "Rel",
            "Path Type",
            "Link Path",
            "Link Position",
            "Link Origin",
            "Link Type",
        ],
    }[width]

    def row(kind: str, source: str, destination: str, anchor: str, follow: str, rel: str) -> list[str]:
        values = {
            "Type": kind,
            "Source": source,
            "Destination": destination,
            "Anchor": anchor,
            "Status Code": "200",
            "Status": "OK",
            "Follow": follow,
            "Rel": rel,
            "Link Position": "Content",
        }
        return [values.get(column, "") for column in header]

    rows = [
        header,
        row("Hyperlink", "https://partner.org/blog", "https://example.com/guide", "guide", "true", ""),
        row("Hyperlink", "https://forum.net/t", "https://example.com/", "home", "false", "nofollow ugc"),
        row("Image", "https://partner.org/blog", "https://example.com/logo.png", "", "true", ""),
    ]
    path = tmp_path / "all_inlinks.csv"
    path.write_bytes(csv_bytes(rows, bom=True, crlf=True))
    name, records, rejected = parse_all(path, context)
    assert name == "screaming_frog_links" and rejected == []
    assert [
        (row["source_canonical"], row["nofollow"], row["ugc"]) for row in of_kind(records, "backlink")
    ] == [
        ("https://partner.org/blog", False, False),
        ("https://forum.net/t", True, True),
    ]


def test_search_console_links_export_three_files_and_a_localised_one(
    tmp_path: Path, context: ParseContext
) -> None:
    archive = write_zip(
        tmp_path / "example.com-links-2026-01-31.zip",
        {
            "Top linking sites.csv": csv_bytes(
                [
                    ["Site", "Linking pages", "Target pages"],
                    ["other.org", "1,240", "12"],
                    ["bad.net", "many", "1"],
                ]
            ),
            "Top linked pages.csv": csv_bytes(
                [
                    ["Target page", "Incoming links", "Linking sites"],
                    ["https://example.com/guide", "2,001", "45"],
                ]
            ),
            "Latest links.csv": csv_bytes(
                [
                    ["Linking page", "Last crawled"],
                    ["https://other.org/post", "2026-01-28"],
                    ["not a url", "2026-01-28"],
                ]
            ),
            "Neueste Links.csv": csv_bytes(
                [["Verlinkende Seite", "Zuletzt gecrawlt"], ["https://blog.de/artikel", "2026-01-27"]]
            ),
        },
    )
    name, records, rejected = parse_all(archive, context)
    assert name == "search_console_links"
    links = of_kind(records, "backlink")
    assert [
        (row["source_canonical"], row["target_url"], row["target_canonical"], row["last_seen"])
        for row in links
    ] == [
        ("https://other.org/post", None, None, dt.date(2026, 1, 28)),
        ("https://blog.de/artikel", None, None, dt.date(2026, 1, 27)),
    ]
    assert sorted((item.member, item.location) for item in rejected) == [
        ("Latest links.csv", "line 3"),
        ("Top linking sites.csv", "line 3"),
    ]


def test_moz_links_from_api_field_names(tmp_path: Path, context: ParseContext) -> None:
    response = {
        "results": [
            {
                "anchor_text": "guide",
                "nofollow": False,
                "date_first_seen": "2025-10-01",
                "date_last_seen": "2026-01-10",
                "date_disappeared": "",
                "source": {"page": "moz.com/blog/post", "root_domain": "moz.com", "domain_authority": 91},
                "target": {"page": "example.com/guide"},
            },
            {"source": {"page": ""}, "target": {}},
        ]
    }
    path = tmp_path / "moz-links.json"
    path.write_text(json.dumps(response))
    name, records, rejected = parse_all(path, context)
    assert name == "moz_links"
    (link,) = of_kind(records, "backlink")
    assert (
        link["source_canonical"],
        link["target_canonical"],
        link["source_domain_rating"],
        link["lost"],
    ) == (
        "https://moz.com/blog/post",
        "https://example.com/guide",
        91.0,
        None,
    )
    assert [item.location for item in rejected] == ["results[1]"]

    flat = tmp_path / "moz-links.csv"
    flat.write_bytes(
        csv_bytes(
            [
                [
                    "source_page",
                    "target_page",
                    "anchor_text",
                    "nofollow",
                    "date_first_seen",
                    "date_last_seen",
                    "date_disappeared",
                    "source_domain_authority",
                    "source_spam_score",
                ],
                [
                    "moz.com/blog/post",
                    "example.com/guide",
                    "guide",
                    "true",
                    "2025-10-01",
                    "2026-01-10",
                    "2026-01-20",
                    "91",
                    "1",
                ],
            ]
        )
    )
    name, records, _ = parse_all(flat, context)
    assert name == "moz_links"
    (link,) = of_kind(records, "backlink")
    assert (link["nofollow"], link["lost"]) == (True, True)
