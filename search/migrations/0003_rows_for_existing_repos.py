"""A bare RepoMetadata row for every repo that exists before search does (listings are
driven by these rows); `hubforge reindex` then reads their cards."""

from django.db import migrations


def create_rows(apps, schema_editor):
    Repo = apps.get_model("repos", "Repo")
    RepoMetadata = apps.get_model("search", "RepoMetadata")
    have = set(RepoMetadata.objects.values_list("pk", flat=True))
    rows = [
        RepoMetadata(
            repo_id=r.pk,
            kind=r.kind,
            full_id=f"{r.owner.name}/{r.name}",
            description=r.description,
            created_at=r.created_at,
            last_modified=r.last_modified,
        )
        for r in Repo.objects.select_related("owner").iterator()
        if r.pk not in have
    ]
    RepoMetadata.objects.bulk_create(rows, batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [("search", "0002_fulltext"), ("repos", "0002_likes_downloads")]

    operations = [migrations.RunPython(create_rows, migrations.RunPython.noop)]
