"""The search text of each indexed conversation, and what makes searching it fast.

PostgreSQL: a trigram index (pg_trgm, a trusted extension the database's owner may create)
serves `body LIKE '%term%'` in any script. SQLite: an FTS5 table with the trigram
tokenizer, kept in step with the table by triggers, serves the same substrings
(conversations/search.py). Conversations indexed before this migration get their text from
the worker's `keep_search_texts` task.
"""

import django.db.models.deletion
from django.db import migrations, models

TABLE = "conversations_indexedtext"
FTS = "conversations_indexedtext_fts"

POSTGRES = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    f"CREATE INDEX indexedtext_trgm ON {TABLE} USING gin (body gin_trgm_ops)",
]
POSTGRES_REVERSE = ["DROP INDEX IF EXISTS indexedtext_trgm"]
SQLITE = [
    # case_sensitive 1: the text and the query are folded already (search.fold), and
    # SQLite's own folding knows ASCII only.
    f"CREATE VIRTUAL TABLE {FTS} USING fts5(body, content='{TABLE}', content_rowid='id',"
    " tokenize='trigram case_sensitive 1')",
    f"CREATE TRIGGER {FTS}_insert AFTER INSERT ON {TABLE} BEGIN"
    f" INSERT INTO {FTS}(rowid, body) VALUES (new.id, new.body); END",
    f"CREATE TRIGGER {FTS}_delete AFTER DELETE ON {TABLE} BEGIN"
    f" INSERT INTO {FTS}({FTS}, rowid, body) VALUES ('delete', old.id, old.body); END",
    f"CREATE TRIGGER {FTS}_update AFTER UPDATE ON {TABLE} BEGIN"
    f" INSERT INTO {FTS}({FTS}, rowid, body) VALUES ('delete', old.id, old.body);"
    f" INSERT INTO {FTS}(rowid, body) VALUES (new.id, new.body); END",
]
SQLITE_REVERSE = [
    f"DROP TRIGGER IF EXISTS {FTS}_update",
    f"DROP TRIGGER IF EXISTS {FTS}_delete",
    f"DROP TRIGGER IF EXISTS {FTS}_insert",
    f"DROP TABLE IF EXISTS {FTS}",
]


def run(statements):
    def apply(apps, schema_editor):
        for statement in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return apply


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0009_bulk_job_owner_and_chain"),
    ]

    operations = [
        migrations.CreateModel(
            name="IndexedText",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("body", models.TextField()),
                ("has_turns", models.BooleanField(default=False)),
                (
                    "conversation",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="search_text",
                        to="conversations.indexedconversation",
                    ),
                ),
            ],
            options={
                "default_permissions": (),
            },
        ),
        migrations.RunPython(
            run({"postgresql": POSTGRES, "sqlite": SQLITE}),
            run({"postgresql": POSTGRES_REVERSE, "sqlite": SQLITE_REVERSE}),
        ),
    ]
