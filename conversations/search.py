"""Full-text search over the conversation index, in any script, and the turns it lands on.

A search is substrings, not words: Chinese and Japanese have no spaces to split words at, a
German compound holds its parts ("Rückerstattung" holds "erstattung"), and a substring means
the same on PostgreSQL and SQLite. Text and query are both folded first (`fold`: Unicode
compatibility forms, case folded, whitespace collapsed), so "STRASSE" finds "Straße" and
full-width letters find their plain forms on either database.

The query syntax is what people know from web search: words, "quoted phrases", `OR` between
two of them, `-excluded`. Every word or phrase must occur somewhere in the conversation (in
its title, summary, collected values or, while INDEX_TRANSCRIPTS keeps them, its turns),
except that `a OR b` needs either.

Each indexed conversation has one folded text (models.IndexedText). PostgreSQL finds the
conversations with a trigram index on it (pg_trgm), SQLite with an FTS5 table using the
trigram tokenizer (migration 0010); both then check the exact substrings, so their answers
are the same. A term of fewer than three characters has no trigram: it is still found, by
reading the texts, which is slower (docs/decisions.md).
"""

import contextlib
import dataclasses
import re
import unicodedata
import uuid
from collections import Counter
from functools import reduce
from operator import and_, or_

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BigIntegerField, F, Func, Q
from django.db.models.expressions import RawSQL
from django.db.models.lookups import In
from django.utils.html import format_html, format_html_join

from conversations import client
from conversations.models import (
    IndexedConversation,
    IndexedText,
    IndexedTurn,
    IndexedValue,
    SyncState,
)

QUERY_MAX = 200  # characters of a query; more is cut
TERMS_MAX = 12  # words and phrases of a query; more are ignored
TRIGRAM = 3  # the shortest term a trigram index can find
SEPARATOR = "\n"  # between the parts of a text: fold() never leaves one in a term
FTS_TABLE = "conversations_indexedtext_fts"
SNIPPET_MAX = 240  # characters of a matching turn shown in a result
SNIPPET_BEFORE = 80  # of them, before the first match
TOKEN_RE = re.compile(r'(-?)"([^"]*)"?|(\S+)')


def fold(text):
    """Text as search compares it: NFKC, case folded, runs of whitespace as one space.

    Normalized again after case folding, which can leave a sequence that NFKC composes: so
    that folding what is folded changes nothing.
    """
    return " ".join(_fold_case(str(text)).split())


def _fold_case(text):
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


@dataclasses.dataclass(frozen=True)
class Query:
    """A parsed query: every group must match (one of its terms), no excluded term may."""

    text: str  # as typed, bounded: for the search box and the URL
    groups: tuple[tuple[str, ...], ...] = ()
    excluded: tuple[str, ...] = ()

    @property
    def terms(self):
        """The folded terms a result must show (not the excluded ones), each once."""
        return tuple(dict.fromkeys(term for group in self.groups for term in group))

    def __bool__(self):
        return bool(self.groups or self.excluded)


def parse(text):
    """The Query of what was typed; an empty Query for nothing searchable."""
    text = str(text or "").replace("\x00", "").strip()[:QUERY_MAX]
    groups, excluded, joining = [], [], False
    for match in TOKEN_RE.finditer(text):
        negated, phrase, word = match.groups()
        if word == "OR":
            joining = bool(groups)
            continue
        if word is not None and word.startswith("-"):
            negated, word = "-", word[1:]
        term = fold(phrase if word is None else word)
        if not term or len(groups) + len(excluded) >= TERMS_MAX:
            joining = False
            continue
        if negated:
            excluded.append(term)
        elif joining:
            groups[-1] = (*groups[-1], term)
        else:
            groups.append((term,))
        joining = False
    return Query(text, tuple(groups), tuple(excluded))


def looks_like_id(text):
    """Whether a query is one conversation id (conv_…), to open rather than search for."""
    text = str(text or "").strip()
    if not text.startswith("conv_") or " " in text:
        return False
    try:
        client.validate_id(text)
    except client.InvalidIdentifier:
        return False
    return True


# Finding conversations


def condition(query):
    """The Q on IndexedConversation of the conversations that match the query."""
    contains = [
        reduce(or_, (Q(search_text__body__contains=term) for term in group))
        for group in query.groups
    ]
    absent = [~Q(search_text__body__contains=term) for term in query.excluded]
    candidates = _fts_candidates(query) if connection.vendor == "sqlite" else []
    # A conversation whose text is not written yet is not one without the excluded words.
    written = Q(search_text__isnull=False)
    return reduce(and_, [written, *candidates, *contains, *absent])


@contextlib.contextmanager
def planned():
    """Run a search's statements without parallel workers on PostgreSQL.

    Walking the newest conversations until enough match is the right plan for a common word;
    in parallel, each worker reads far past what the LIMIT needs and competes with the web
    workers for the cores (a Chinese string's page: 169 ms, 42 ms without; bench S1).
    """
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        yield


def _fts_candidates(query):
    """On SQLite, the FTS5 table's answer for the groups it can answer (every term of three
    characters or more): the texts to check the exact conditions on, instead of all."""
    indexable = [group for group in query.groups if all(len(t) >= TRIGRAM for t in group)]
    if not indexable:
        return []
    expression = " AND ".join(
        "(" + " OR ".join(_fts_string(term) for term in group) + ")" for group in indexable
    )
    # The table's name is ours, the expression a parameter: nothing typed becomes SQL.
    sql = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s"  # noqa: S608
    # `+id IN (…)`: the unary plus keeps SQLite from taking the list as an index key to loop
    # over (a probe a match a conversation: 21 s for a common word and a filter over
    # 100,000); it tests membership in the list instead (bench/RESULTS.md, S1).
    text_id = Func(
        F("search_text__id"), template="+%(expressions)s", output_field=BigIntegerField()
    )
    return [In(text_id, RawSQL(sql, [expression]))]  # noqa: S611


def _fts_string(term):
    """A term as an FTS5 string: with the trigram tokenizer, exactly that substring."""
    return '"' + term.replace('"', '""') + '"'


def searches_transcripts():
    """Whether turns are searched, for the search box to say what it searches."""
    return settings.INDEX_TRANSCRIPTS


# Keeping the texts


def text_of(*, title, summary, values, turns):
    """The folded search text of a conversation's parts: its title, summary, the texts of
    its collected values (not their keys: "order" would find every call that collected an
    order number) and its turns' texts (None: not kept)."""
    parts = [title, summary, *values, *(turns or ())]
    return SEPARATOR.join(folded for folded in map(fold, parts) if folded).replace("\x00", "")


def searchable(value):
    """Whether a collected value's text is worth searching: not null, not true or false."""
    return value is not None and not isinstance(value, bool)


def write(row, body, *, with_turns):
    IndexedText.objects.update_or_create(
        conversation=row, defaults={"body": body, "has_turns": with_turns}
    )


def rebuild(conversations, *, with_turns):
    """Write the search texts of these IndexedConversations again from what the index holds
    (after turns were dropped, or for conversations indexed before search existed)."""
    rows = list(conversations.only("conversation_id", "title", "summary"))
    ids = [row.pk for row in rows]
    values, turns = {}, {}
    for conversation_id, value, text in (
        IndexedValue.objects.filter(conversation_id__in=ids)
        .order_by("conversation_id", "pk")
        .values_list("conversation_id", "value", "text")
    ):
        if searchable(value):
            values.setdefault(conversation_id, []).append(text)
    if with_turns:
        for conversation_id, text in (
            IndexedTurn.objects.filter(conversation_id__in=ids)
            .order_by("conversation_id", "position")
            .values_list("conversation_id", "text")
        ):
            turns.setdefault(conversation_id, []).append(text)
    texts = [
        IndexedText(
            conversation=row,
            has_turns=with_turns,
            body=text_of(
                title=row.title,
                summary=row.summary,
                values=values.get(row.pk, ()),
                turns=turns.get(row.pk, ()) if with_turns else None,
            ),
        )
        for row in rows
    ]
    # One statement for the batch; an existing text is replaced (SQLite's triggers see an
    # UPDATE and keep the full-text table in step).
    IndexedText.objects.bulk_create(
        texts,
        update_conflicts=True,
        unique_fields=["conversation"],
        update_fields=["body", "has_turns"],
    )
    return len(rows)


def fill_missing(*, batch):
    """Give search texts to up to `batch` detailed conversations that have none; how many."""
    missing = IndexedConversation.objects.filter(detailed=True, search_text__isnull=True)
    return rebuild(missing.order_by("-start_time")[:batch], with_turns=settings.INDEX_TRANSCRIPTS)


# What deleted text leaves behind (SQLite)
#
# FTS5's "delete" only adds a marker: the trigrams of a deleted text stay in the full-text
# table's pages, with their positions, until its segments are merged, and the text could be
# read back from the file or a backup of it. A deletion or a dropped transcript notes that
# here; the worker then merges the segments ("optimize"), which leaves none of them.
# (FTS5's secure-delete option does this at once, but needs SQLite 3.42.)
RESIDUE = "search-residue"


def note_residue():
    """Remember that deleted text may remain in SQLite's full-text table."""
    if connection.vendor == "sqlite":
        SyncState.objects.update_or_create(
            name=RESIDUE, defaults={"cursor": uuid.uuid4().hex, "finished": False}
        )


def clear_residue():
    """Merge the full-text table's segments if deleted text may remain; whether it did."""
    state = SyncState.objects.filter(name=RESIDUE).first()
    if state is None or connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        # The table's name is ours; nothing typed becomes SQL.
        cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('optimize')")  # noqa: S608
    # Kept if another deletion noted residue meanwhile: the next run merges again.
    SyncState.objects.filter(name=RESIDUE, cursor=state.cursor).delete()
    return True


# What a result shows


@dataclasses.dataclass(frozen=True)
class Hit:
    """Where a conversation matched: the best turn (most of the query's terms, then the
    first), or its title, summary or a collected value; the text around the match."""

    place: str  # "turn", "title", "summary" or "value"
    text: str  # the platform's text, cut around the match
    spans: tuple[tuple[int, int], ...]  # [start, end) of each match in `text`
    speaker: str = ""
    offset: float | None = None
    position: int | None = None  # the turn's number, from 0
    label: str = ""  # a value's key
    others: int = 0  # how many other turns matched
    shared: bool = False  # another turn starts at the same time (whole seconds do that)

    def marked(self):
        """The text with each match in <mark>, everything escaped."""
        pieces, last = [], 0
        for start, end in self.spans:
            pieces.append(("{}", self.text[last:start]))
            pieces.append(("<mark>{}</mark>", self.text[start:end]))
            last = end
        pieces.append(("{}", self.text[last:]))
        return format_html_join("", "{}", ((format_html(f, t),) for f, t in pieces if t))


def hits(query, conversation_ids):
    """The Hit of each of these conversations, by id (none where nothing matched)."""
    terms = query.terms
    ids = list(conversation_ids)
    if not terms or not ids:
        return {}
    found = _turn_hits(terms, ids)
    rest = [conversation_id for conversation_id in ids if conversation_id not in found]
    if rest:
        found.update(_detail_hits(terms, rest))
    return found


def _turn_hits(terms, ids):
    """The best matching turn of each conversation, with how many others matched."""
    best, matched, starts = {}, {}, Counter()
    turns = IndexedTurn.objects.filter(conversation_id__in=ids).order_by(
        "conversation_id", "position"
    )
    for conversation_id, position, speaker, offset, text in turns.values_list(
        "conversation_id", "position", "speaker", "offset", "text"
    ):
        starts[conversation_id, offset] += 1
        folded = fold(text)
        score = sum(1 for term in terms if term in folded)
        if not score:
            continue
        matched[conversation_id] = matched.get(conversation_id, 0) + 1
        if score > best.get(conversation_id, (0,))[0]:
            best[conversation_id] = (score, position, speaker, offset, text)
    return {
        conversation_id: dataclasses.replace(
            _hit("turn", text, terms),
            speaker=speaker,
            offset=offset,
            position=position,
            others=matched[conversation_id] - 1,
            shared=starts[conversation_id, offset] > 1,
        )
        for conversation_id, (_, position, speaker, offset, text) in best.items()
    }


def _detail_hits(terms, ids):
    """Where conversations without a matching turn matched: title, summary or a value."""
    found = {}
    for row in IndexedConversation.objects.filter(pk__in=ids).only("title", "summary"):
        for place, text in (("title", row.title), ("summary", row.summary)):
            if any(term in fold(text) for term in terms):
                found[row.pk] = _hit(place, text, terms)
                break
    values = IndexedValue.objects.filter(conversation_id__in=ids).exclude(
        conversation_id__in=list(found)
    )
    for conversation_id, key, text in values.order_by("conversation_id", "key").values_list(
        "conversation_id", "key", "text"
    ):
        if conversation_id not in found and any(term in fold(text) for term in terms):
            found[conversation_id] = dataclasses.replace(_hit("value", text, terms), label=key)
    return found


def _hit(place, text, terms):
    text, spans = snippet(text, terms)
    return Hit(place, text, spans)


def snippet(text, terms):
    """The text cut to SNIPPET_MAX characters around its first match, and the matches' spans
    in what is left; whole when short enough."""
    spans = match_spans(text, terms)
    if len(text) <= SNIPPET_MAX:
        return text, spans
    start = max(0, (spans[0][0] if spans else 0) - SNIPPET_BEFORE)
    end = start + SNIPPET_MAX
    cut = text[start:end]
    lead, tail = ("…" if start else ""), ("…" if end < len(text) else "")
    shift = len(lead) - start
    kept = tuple(
        (max(s + shift, len(lead)), min(e + shift, len(lead) + len(cut)))
        for s, e in spans
        if s < end and e > start
    )
    return lead + cut + tail, kept


def match_spans(text, terms):
    """The [start, end) of every match of the terms in the original text, merged.

    The text is folded a character at a time, remembering where each folded character came
    from; a match in the folded text is mapped back to the characters it was folded from.
    """
    folded, origin, space = [], [], True
    for index, character in enumerate(text):
        for part in _fold_case(character):
            if part.isspace():
                if not space:
                    folded.append(" ")
                    origin.append(index)
                space = True
            else:
                folded.append(part)
                origin.append(index)
                space = False
    haystack = "".join(folded)
    spans = []
    for term in terms:
        at = haystack.find(term)
        while at >= 0:
            spans.append((origin[at], origin[at + len(term) - 1] + 1))
            at = haystack.find(term, at + len(term))
    merged = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return tuple(merged)
