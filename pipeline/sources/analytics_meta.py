"""Meta Business Suite post exports (engagement per post) for Facebook Pages and Instagram.

Facebook: ``Post ID,Page ID,...,Publish time,...,Permalink,...,Reactions,Comments,Shares,Total clicks,
...,Link clicks,Views,...``; Instagram: ``Post ID,...,Publish time,Permalink,...,Views,Reach,Likes,
Shares,Follows,Comments,Saves``. Headers follow the interface language (German, French and Spanish
names below are best effort from Meta's translations), older files say ``Impressions`` where newer
say ``Views``, one header holds a comma (``"Reactions, Comments and Shares"``), counts can carry
thousands separators and files can start with a BOM. The platform comes from the permalink's host.
"""

from __future__ import annotations

from pipeline.canonical import host_of, try_canonicalize
from pipeline.sources.analytics_common import EngagementExport
from pipeline.sources.tabular import AliasTable, Table, TableRow

META_POSTS = AliasTable(
    {
        "post_id": (
            "Post ID",
            "Beitrags-ID",
            "Identifiant de la publication",
            "ID de la publicación",
            "Identificador de la publicación",
        ),
        "permalink": ("Permalink", "Permalien", "Enlace permanente", "Link permanente"),
        "published": (
            "Publish time",
            "Veröffentlichungszeitpunkt",
            "Heure de publication",
            "Hora de publicación",
        ),
        "account": (
            "Account username",
            "Kontoname",
            "Nom d'utilisateur du compte",
            "Nombre de usuario de la cuenta",
        ),
        "likes": (
            "Likes",
            "Reactions",
            "Reaktionen",
            "„Gefällt mir“-Angaben",
            "Réactions",
            "J’aime",
            "J'aime",
            "Reacciones",
            "Me gusta",
        ),
        "replies": ("Comments", "Kommentare", "Commentaires", "Comentarios"),
        "shares": (
            "Shares",
            "Geteilte Inhalte",
            "Mal geteilt",
            "Partages",
            "Veces que se compartió",
            "Contenido compartido",
        ),
        "clicks": ("Link clicks", "Link-Klicks", "Clics sur un lien", "Clics en el enlace"),
        "views": ("Views", "Aufrufe", "Vues", "Visualizaciones"),
        "impressions": ("Impressions", "Impressionen", "Impresiones"),
    },
    required=("post_id", "permalink", "published"),
)
INSTAGRAM_HOSTS = ("instagram.com", "instagr.am")


class MetaBusinessPosts(EngagementExport):
    name = "meta_business_posts"
    table = META_POSTS

    def identify(self, table: Table, row: TableRow) -> tuple[str, str | None, str | None]:
        permalink = row.text(table.columns, "permalink") or None
        canonical = try_canonicalize(permalink) if permalink else None
        if canonical is not None:
            host = host_of(canonical)
            platform = "instagram" if host.endswith(INSTAGRAM_HOSTS) else "facebook"
        else:
            platform = "instagram" if "account" in table.columns else "facebook"
        return platform, row.text(table.columns, "post_id") or None, permalink
