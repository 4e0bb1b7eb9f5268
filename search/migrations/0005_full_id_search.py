"""`search=` (substrings of `owner/name`) reads RepoMetadata.full_id, kept in step with renames
by the repo's post_save (search/handlers.py): bring every copy up to date once, and on
PostgreSQL give it a trigram index (pg_trgm, a trusted extension from PostgreSQL 13) so
`UPPER(full_id) LIKE UPPER('%x%')` reads an index instead of every row. Where the extension
cannot be created the index is left out and the query still answers, by a scan.
"""

from django.db import migrations, transaction

INDEX = (
    "CREATE INDEX IF NOT EXISTS search_meta_full_id_trgm ON search_repometadata "
    "USING GIN ((UPPER(full_id::text)) gin_trgm_ops)"
)


def sync_names(apps, schema_editor):
    Repo = apps.get_model("repos", "Repo")
    RepoMetadata = apps.get_model("search", "RepoMetadata")
    for repo in Repo.objects.select_related("owner").iterator(2000):
        name = f"{repo.owner.name}/{repo.name}"
        RepoMetadata.objects.filter(pk=repo.pk).exclude(full_id=name).update(full_id=name)


def trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        try:
            with transaction.atomic(using=schema_editor.connection.alias):
                cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except Exception:  # noqa: BLE001 (not installed, or no right to create it: no index)
            return
        cursor.execute(INDEX)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS search_meta_full_id_trgm")


class Migration(migrations.Migration):
    dependencies = [("search", "0004_facet_counts")]

    operations = [
        migrations.RunPython(sync_names, migrations.RunPython.noop),
        migrations.RunPython(trigram_index, drop_index),
    ]
