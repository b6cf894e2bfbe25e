"""YouTube Studio analytics export: ``Table data.csv`` (in the export zip with ``Chart data.csv``).

Rows per video: ``Content`` (the video id), ``Video title``, ``Video publish time``, then the metrics the
user chose (``Views``, ``Impressions``, ``Likes``, ``Comments added``, ``Shares``, ...). The first data
row is the channel ``Total``. German, French and Spanish headers below are best effort.
"""

from __future__ import annotations

import re

from pipeline.sources.analytics_common import EngagementExport
from pipeline.sources.tabular import AliasTable, Table, TableRow

PLATFORM = "youtube"
YOUTUBE_TABLE = AliasTable(
    {
        "post_id": ("Content", "Inhalt", "Contenu", "Contenido"),
        "title": ("Video title", "Videotitel", "Titre de la vidéo", "Título del video", "Título del vídeo"),
        "views": ("Views", "Aufrufe", "Vues", "Visualizaciones"),
        "impressions": ("Impressions", "Impressionen", "Impresiones"),
        "likes": ("Likes", "Mag ich", "J'aime", "Me gusta"),
        "replies": (
            "Comments added",
            "Hinzugefügte Kommentare",
            "Commentaires ajoutés",
            "Comentarios añadidos",
        ),
        "shares": ("Shares", "Geteilte Inhalte", "Partages", "Veces compartido"),
    },
    required=("post_id", "title"),
)
_VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{11}")


class YouTubeStudioTable(EngagementExport):
    name = "youtube_studio_table"
    table = YOUTUBE_TABLE

    def identify(self, table: Table, row: TableRow) -> tuple[str, str | None, str | None]:
        video_id = row.text(table.columns, "post_id")
        if not _VIDEO_ID.fullmatch(video_id):
            return PLATFORM, None, None
        return PLATFORM, video_id, f"https://www.youtube.com/watch?v={video_id}"
