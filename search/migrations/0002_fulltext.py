"""The full-text index beside search_repometadata, for the database vendor in use.

SQLite: an FTS5 table with external content (the metadata rows), kept in sync by
triggers, so every save of a row re-indexes its text in the same transaction.
PostgreSQL: a stored generated tsvector column with a GIN index. Both use no stemming
('simple' / unicode61) so the two profiles match the same words; names are split on
punctuation, so `alice/bert-base` is found by `bert`.
"""

from django.db import migrations

SQLITE = [
    """CREATE VIRTUAL TABLE search_fts USING fts5(
        full_id, description, card_text,
        content='search_repometadata', content_rowid='repo_id',
        tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER search_fts_ai AFTER INSERT ON search_repometadata BEGIN
        INSERT INTO search_fts(rowid, full_id, description, card_text)
        VALUES (new.repo_id, new.full_id, new.description, new.card_text);
    END""",
    """CREATE TRIGGER search_fts_ad AFTER DELETE ON search_repometadata BEGIN
        INSERT INTO search_fts(search_fts, rowid, full_id, description, card_text)
        VALUES ('delete', old.repo_id, old.full_id, old.description, old.card_text);
    END""",
    """CREATE TRIGGER search_fts_au AFTER UPDATE OF full_id, description, card_text
        ON search_repometadata BEGIN
        INSERT INTO search_fts(search_fts, rowid, full_id, description, card_text)
        VALUES ('delete', old.repo_id, old.full_id, old.description, old.card_text);
        INSERT INTO search_fts(rowid, full_id, description, card_text)
        VALUES (new.repo_id, new.full_id, new.description, new.card_text);
    END""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS search_fts_au",
    "DROP TRIGGER IF EXISTS search_fts_ad",
    "DROP TRIGGER IF EXISTS search_fts_ai",
    "DROP TABLE IF EXISTS search_fts",
]
POSTGRES = [
    """ALTER TABLE search_repometadata ADD COLUMN search_vector tsvector
        GENERATED ALWAYS AS (
            setweight(to_tsvector('simple'::regconfig,
                regexp_replace(coalesce(full_id, ''), '[^[:alnum:]]+', ' ', 'g')), 'A')
            || setweight(to_tsvector('simple'::regconfig,
                regexp_replace(coalesce(description, ''), '[^[:alnum:]]+', ' ', 'g')), 'B')
            || setweight(to_tsvector('simple'::regconfig,
                regexp_replace(coalesce(card_text, ''), '[^[:alnum:]]+', ' ', 'g')), 'C')
        ) STORED""",
    "CREATE INDEX search_meta_vector ON search_repometadata USING GIN (search_vector)",
    # Names alone, for suggestions as you type: a weight-restricted prefix query on the
    # combined vector cannot use the GIN index selectively (every card word is a candidate).
    """ALTER TABLE search_repometadata ADD COLUMN search_names tsvector
        GENERATED ALWAYS AS (to_tsvector('simple'::regconfig,
            regexp_replace(coalesce(full_id, ''), '[^[:alnum:]]+', ' ', 'g'))) STORED""",
    "CREATE INDEX search_meta_names ON search_repometadata USING GIN (search_names)",
]
POSTGRES_REVERSE = [
    "DROP INDEX IF EXISTS search_meta_names",
    "ALTER TABLE search_repometadata DROP COLUMN IF EXISTS search_names",
    "DROP INDEX IF EXISTS search_meta_vector",
    "ALTER TABLE search_repometadata DROP COLUMN IF EXISTS search_vector",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("search", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRES}),
            _run({"sqlite": SQLITE_REVERSE, "postgresql": POSTGRES_REVERSE}),
        )
    ]
