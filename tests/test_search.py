"""Full-text search: the query syntax, any script, the same answers on PostgreSQL and SQLite
(this file runs on both: tests/test_search_engines.py), the turn each result lands on, and
the search box on the list."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from conversations import client, index, search, tasks
from conversations.models import IndexedConversation, IndexedText, IndexedTurn
from conversations.reader import CollectedValue, Turn
from tests.helpers import element, row_ids, text_of
from tests.index_helpers import NOW

pytestmark = pytest.mark.django_db

CORPUS = {
    "conv_en": (
        "Refund request",
        "The customer asked for a refund of a damaged order.",
        [
            ("agent", "Thanks for calling Northwind. How can I help?"),
            ("user", "I would like a REFUND for my order, it arrived broken."),
            ("agent", "Sorry about that. The refund will arrive in five days."),
            ("user", "Great, and is there 50% off next time?"),
        ],
        {"contact_email": "maria.silva@example.com", "callback_requested": True},
    ),
    "conv_de": (
        "",
        "",
        [
            ("agent", "Guten Tag, wie kann ich helfen?"),
            ("user", "Ich möchte eine Rückerstattung für meine Bestellung."),
            ("agent", "Die Straße auf der Lieferung war falsch, GRÖSSE 42 ist unterwegs."),
        ],
        {},
    ),
    "conv_ar": (
        "",
        "",
        [
            ("agent", "مرحباً بك، كيف يمكنني مساعدتك اليوم؟"),
            ("user", "لم يصل طلبي رقم A-12345 حتى الآن"),
            ("agent", "تم تسجيل طلب استرداد المبلغ."),
        ],
        {},
    ),
    "conv_zh": (
        "",
        "",
        [
            ("agent", "您好，请问有什么可以帮您？"),
            ("user", "我想申请退款，快递单号是 SF123。"),
            ("agent", "您的退款申请已提交。"),
        ],
        {},
    ),
    "conv_ja": (
        "",
        "",
        [
            ("agent", "お電話ありがとうございます。"),
            ("user", "注文番号の商品がまだ届いていません。"),
            ("agent", "返金手続きを行いました。"),
        ],
        {},
    ),
    "conv_summary": (
        "Address change",
        "The caller moved to Kastanienallee and wanted the invoices sent there.",
        [("agent", "Hello!"), ("user", "Hi, it is about my invoices.")],
        {},
    ),
}


def conversation(conversation_id, hours_ago=1, agent_id="agent_1"):
    title, summary, turns, values = CORPUS[conversation_id]
    return client.Conversation(
        id=conversation_id,
        agent_id=agent_id,
        agent_name="Support bot",
        status="done",
        start_time=NOW - timedelta(hours=hours_ago),
        duration=60.0,
        call_successful="success",
        title=title or None,
        summary=summary or None,
        transcript=tuple(
            Turn(speaker, text, 10.0 * number + 1.5) for number, (speaker, text) in enumerate(turns)
        ),
        collected_data=tuple(CollectedValue(key, value, "") for key, value in values.items()),
    )


@pytest.fixture
def corpus():
    for hours_ago, conversation_id in enumerate(CORPUS, start=1):
        index.store(conversation(conversation_id, hours_ago))
    return list(CORPUS)


def found(text, **filters):
    """The ids the search finds, newest first."""
    matches = IndexedConversation.objects.filter(search.condition(search.parse(text)))
    return sorted(matches.values_list("pk", flat=True), key=list(CORPUS).index)


# The query syntax


def test_words_phrases_or_and_exclusions_are_read_as_people_write_them():
    query = search.parse('refund "five days" OR "next week" -broken -"not this"')
    assert query.groups == (("refund",), ("five days", "next week"))
    assert query.excluded == ("broken", "not this")


def test_a_query_is_folded_like_the_text_it_searches():
    assert search.parse("STRAßE  Ｒｅｆｕｎｄ").groups == (("strasse",), ("refund",))


def test_an_unclosed_quote_runs_to_the_end_and_a_lone_or_or_dash_is_ignored():
    assert search.parse('"five days').groups == (("five days",),)
    assert search.parse("OR refund OR").groups == (("refund",),)
    assert not search.parse("- OR \x00")


def test_a_query_keeps_at_most_its_limit_of_terms_and_characters():
    query = search.parse(" ".join(f"w{number}" for number in range(100)))
    assert len(query.groups) == search.TERMS_MAX
    assert len(search.parse("x" * 1000).text) == search.QUERY_MAX


@pytest.mark.parametrize(
    ("text", "looks"),
    [
        ("conv_01hx9k2m3n4p5q6r7s8t9v0w1x", True),
        ("  conv_abc  ", True),
        ("conv_abc refund", False),
        ("refund", False),
        ("conv_../../etc", False),
    ],
)
def test_only_a_lone_conversation_id_looks_like_one(text, looks):
    assert search.looks_like_id(text) is looks


# Finding conversations, in any script


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("refund", ["conv_en"]),
        ("REFUND", ["conv_en"]),
        ('"refund will arrive"', ["conv_en"]),
        ('"refund arrive"', []),
        ("refund -broken", []),
        ("order -broken", []),
        ("refund OR 退款", ["conv_en", "conv_zh"]),
        ("50%", ["conv_en"]),
        ("%", ["conv_en"]),
        ("_", []),
        ("Rückerstattung", ["conv_de"]),
        ("RÜCKERSTATTUNG", ["conv_de"]),
        ("erstattung", ["conv_de"]),
        ("strasse", ["conv_de"]),
        ("Größe", ["conv_de"]),
        ("استرداد", ["conv_ar"]),
        ("A-12345", ["conv_ar"]),
        ("退款申请", ["conv_zh"]),
        ("退款", ["conv_zh"]),
        ("届いていません", ["conv_ja"]),
        ("返金", ["conv_ja"]),
        ("maria.silva", ["conv_en"]),
        ("kastanienallee", ["conv_summary"]),
        ('"address change"', ["conv_summary"]),
    ],
)
def test_search_finds_words_and_phrases_in_every_script(corpus, text, expected):
    assert found(text) == expected


def test_a_collected_values_key_and_a_true_or_false_are_not_searched(corpus):
    assert found("contact_email") == []
    assert found("true") == []


def test_a_phrase_never_spans_two_turns(corpus):
    # "…arrived broken." then "Sorry about that."
    assert found('"broken. sorry"') == []
    assert found('"broken sorry"') == []


def test_without_transcripts_in_the_index_only_summaries_and_values_are_searched(settings):
    settings.INDEX_TRANSCRIPTS = False
    index.store(conversation("conv_en"))
    index.store(conversation("conv_summary", 2))
    assert found("broken") == []
    assert found("damaged") == ["conv_en"]
    assert found("kastanienallee") == ["conv_summary"]


def test_dropping_old_transcripts_drops_them_from_search_too(settings):
    settings.INDEX_TRANSCRIPT_DAYS = 30
    index.store(conversation("conv_en", hours_ago=24 * 40))
    index.store(conversation("conv_de", hours_ago=1))
    index.drop_old_transcripts()
    assert found("broken") == []
    assert found("damaged") == ["conv_en"]
    assert found("Rückerstattung") == ["conv_de"]
    assert not IndexedTurn.objects.filter(conversation_id="conv_en").exists()


def test_a_purged_conversation_leaves_no_search_text(corpus):
    index.purge("conv_en")
    assert not IndexedText.objects.filter(conversation_id="conv_en").exists()
    assert found("refund") == []


def test_conversations_indexed_before_search_get_their_text_from_the_worker(corpus):
    IndexedText.objects.filter(conversation_id__in=["conv_en", "conv_zh"]).delete()
    assert found("refund") == []
    assert search.fill_missing(batch=10) == 2
    assert found("refund OR 退款申请") == ["conv_en", "conv_zh"]
    assert search.fill_missing(batch=10) == 0


def test_a_nul_byte_and_markup_in_platform_text_are_stored_and_found(db):
    hostile = client.Conversation(
        id="conv_markup",
        start_time=NOW,
        transcript=(Turn("user", "my <script>alert(1)</script>\x00 order", 3.0),),
    )
    index.store(hostile)
    assert list(
        IndexedConversation.objects.filter(search.condition(search.parse("<script>"))).values_list(
            "pk", flat=True
        )
    ) == ["conv_markup"]


# What a result shows


def test_a_hit_is_the_turn_with_most_terms_and_counts_the_other_matching_turns(corpus):
    hit = search.hits(search.parse("refund days"), ["conv_en"])["conv_en"]
    assert (hit.place, hit.position, hit.speaker, hit.offset) == ("turn", 2, "agent", 21.5)
    assert hit.others == 1
    assert [hit.text[start:end] for start, end in hit.spans] == ["refund", "days"]


def test_a_match_is_marked_in_the_platforms_own_spelling(corpus):
    hit = search.hits(search.parse("STRASSE grösse"), ["conv_de"])["conv_de"]
    assert [hit.text[start:end] for start, end in hit.spans] == ["Straße", "GRÖSSE"]


def test_a_hit_in_the_summary_or_a_value_says_where(corpus):
    hits = search.hits(search.parse("kastanienallee OR maria.silva"), ["conv_summary", "conv_en"])
    assert hits["conv_summary"].place == "summary"
    assert (hits["conv_en"].place, hits["conv_en"].label) == ("value", "contact_email")


def test_a_long_turn_is_cut_around_its_first_match():
    text = "a" * 500 + " refund " + "b" * 500
    cut, spans = search.snippet(text, ("refund",))
    assert len(cut) <= search.SNIPPET_MAX + 2
    assert cut.startswith("…")
    assert cut.endswith("…")
    assert [cut[start:end] for start, end in spans] == ["refund"]


def test_marked_text_escapes_the_platforms_markup():
    hit = search.Hit("turn", "<b>refund</b>", search.match_spans("<b>refund</b>", ("refund",)))
    assert str(hit.marked()) == "&lt;b&gt;<mark>refund</mark>&lt;/b&gt;"


# The search box on the list


def test_the_list_searches_and_each_result_links_to_its_turn(as_role, emulator, corpus):
    reviewer = as_role("Reviewer")
    response = reviewer.get("/", {"q": "refund"})
    html = response.content.decode()
    assert row_ids(html) == ["conv_en"]
    link = element(html, "a", class_="hit")
    assert re.search(r'href="/conversations/conv_en/\?q=refund#t=11\.5"', link)
    assert "<mark>REFUND</mark>" in link
    assert "User at 0:11" in text_of(link)
    assert "and 1 more matching turn" in html
    assert "1 conversation" in text_of(element(html, "div", class_="list-summary"))


def test_a_search_combines_with_the_other_filters(as_role, emulator):
    index.store(conversation("conv_en", 1, agent_id="agent_1"))
    index.store(conversation("conv_de", 2, agent_id="agent_2"))
    reviewer = as_role("Reviewer")
    html = reviewer.get("/", {"q": "refund OR rückerstattung", "agent": "agent_2"}).content
    assert row_ids(html.decode()) == ["conv_de"]


def test_search_results_are_escaped(as_role, emulator):
    index.store(
        client.Conversation(
            id="conv_markup",
            start_time=NOW,
            transcript=(Turn("<i>user</i>", "refund <img src=x onerror=alert(1)>", 3.0),),
        )
    )
    html = as_role("Reviewer").get("/", {"q": "refund"}).content.decode()
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<i>user" not in html


def test_a_search_for_a_conversation_id_opens_that_conversation(as_role, emulator):
    response = as_role("Reviewer").get("/", {"q": " conv_abc123 "})
    assert response.status_code == 302
    assert response["Location"] == "/conversations/conv_abc123/"


def test_a_search_without_the_index_says_it_needs_one(as_role, emulator):
    html = as_role("Reviewer").get("/", {"q": "refund"}).content.decode()
    assert "Search needs the conversation index" in html
    assert row_ids(html) == []


def test_the_search_box_says_what_it_searches(as_role, emulator, corpus, settings):
    reviewer = as_role("Reviewer")
    scope = text_of(element(reviewer.get("/").content.decode(), "span", id="search-scope"))
    assert "transcripts" in scope
    assert "only" not in scope
    settings.INDEX_TRANSCRIPTS = False
    scope = text_of(element(reviewer.get("/").content.decode(), "span", id="search-scope"))
    assert "summaries and collected values only" in scope


def test_a_search_matching_more_than_the_count_limit_says_more_than(
    as_role, emulator, corpus, monkeypatch
):
    monkeypatch.setattr("conversations.queries.SEARCH_COUNT_MAX", 2)
    html = as_role("Reviewer").get("/", {"q": "a"}).content.decode()
    assert "More than 2 conversations" in text_of(element(html, "div", class_="list-summary"))


def test_the_search_is_kept_in_the_url_of_the_next_page(as_role, emulator, settings):
    settings.XUNA_PAGE_SIZE = 1
    index.store(conversation("conv_en", 1))
    index.store(conversation("conv_zh", 2))
    reviewer = as_role("Reviewer")
    html = reviewer.get("/", {"q": "refund OR 退款"}).content.decode()
    assert row_ids(html) == ["conv_en"]
    more = re.search(r'hx-get="([^"]+)"\s+hx-target="#load-more"', html).group(1)
    page = reviewer.get(more.replace("&amp;", "&"), headers={"HX-Request": "true"})
    assert row_ids(page.content.decode()) == ["conv_zh"]


def test_a_conversation_opened_from_a_search_says_where_it_is_in_the_results(
    as_role, emulator, corpus, monkeypatch
):
    reviewer = as_role("Reviewer")
    conversation_id = emulator.conversation_ids()[0]
    index.store(client.get_conversation(conversation_id))
    IndexedConversation.objects.filter(pk=conversation_id).update(start_time=NOW)
    IndexedText.objects.filter(conversation_id=conversation_id).update(body="a refund")

    def place():
        html = reviewer.get(f"/conversations/{conversation_id}/", {"q": "refund"}).content
        return re.search(r'<p class="list-place[^"]*">(.*?)</p>', html.decode()).group(1)

    assert place() == "Conversation 1 of 2 in this list"
    IndexedConversation.objects.filter(pk=conversation_id).update(start_time=NOW - timedelta(1))
    monkeypatch.setattr("conversations.queries.SEARCH_COUNT_MAX", 1)
    assert place() == "A conversation past the first 1 of this list"


@given(st.text(max_size=300))
def test_any_typed_text_parses_into_folded_terms_without_a_newline(typed):
    query = search.parse(typed)
    for term in (*query.terms, *query.excluded):
        assert term
        assert search.fold(term) == term
        assert search.SEPARATOR not in term


@given(st.text(max_size=400), st.lists(st.text(min_size=1, max_size=5), max_size=3))
def test_a_snippets_marks_lie_within_it_and_never_overlap(text, typed):
    terms = tuple(term for term in map(search.fold, typed) if term)
    cut, spans = search.snippet(text, terms)
    last = 0
    for start, end in spans:
        assert last <= start < end <= len(cut)
        last = end


def test_a_hit_link_keeps_every_filter_of_the_list(as_role, emulator, corpus):
    html = as_role("Reviewer").get("/", {"q": "refund", "agent": "agent_1"}).content.decode()
    link = element(html, "a", class_="hit")
    assert 'href="/conversations/conv_en/?agent=agent_1&amp;q=refund#t=11.5"' in link


def test_a_hit_on_a_turn_that_shares_its_second_names_the_turn(as_role, emulator):
    index.store(
        client.Conversation(
            id="conv_seconds",
            start_time=NOW,
            transcript=(
                Turn("agent", "Hello", 3.0),
                Turn("user", "a zebrafish question", 12.0),
                Turn("agent", "Sure.", 12.0),
            ),
        )
    )
    html = as_role("Reviewer").get("/", {"q": "zebrafish"}).content.decode()
    assert 'href="/conversations/conv_seconds/?q=zebrafish#t=12&amp;turn=2"' in html


def test_an_exclusion_alone_lists_only_conversations_whose_text_is_known(corpus):
    IndexedText.objects.filter(conversation_id="conv_ja").delete()
    assert found("-refund") == ["conv_de", "conv_ar", "conv_zh", "conv_summary"]


@pytest.mark.parametrize("typed", ["OR", "-", '"', "  "])
def test_a_query_that_searches_nothing_is_no_search(as_role, emulator, corpus, typed):
    html = as_role("Reviewer").get("/", {"q": typed}).content.decode()
    assert "Search needs the conversation index" not in html
    assert 'value=""' in element(html, "input", id="q")


def test_the_search_text_is_made_of_what_the_index_stored(db):
    long_title = "word " * 100 + "needle"
    index.store(
        client.Conversation(
            id="conv_long",
            start_time=NOW,
            title=long_title,
            collected_data=(CollectedValue("a", "first", ""), CollectedValue("a", "second", "")),
            transcript=(Turn("user", "hello", 1.0),),
        )
    )
    stored = IndexedText.objects.get(conversation_id="conv_long").body
    assert "needle" not in stored
    assert "second" not in stored
    IndexedText.objects.all().delete()
    search.fill_missing(batch=1)
    assert IndexedText.objects.get(conversation_id="conv_long").body == stored


def fts_pages():
    """Every page of SQLite's full-text table, as bytes."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT block FROM {search.FTS_TABLE}_data")  # noqa: S608
        return b"".join(bytes(block or b"") for (block,) in cursor.fetchall())


@pytest.mark.skipif("connection.vendor != 'sqlite'")
def test_a_deleted_text_leaves_no_trigram_in_sqlites_full_text_table(db):
    for number in range(3):
        index.store(
            client.Conversation(
                id=f"conv_{number}",
                start_time=NOW,
                transcript=(Turn("user", f"card number qzvkxwplm{number}", 1.0),),
            )
        )
    index.purge("conv_0")
    # "lm0": a trigram only the deleted text had, still in the pages after the deletion.
    assert b"lm0" in fts_pages()
    tasks.keep_search_texts.call_local()
    assert b"lm0" not in fts_pages()
    assert b"lm1" in fts_pages()
    assert found_ids("qzvkxwplm") == ["conv_1", "conv_2"]
    assert not search.clear_residue()


def found_ids(text):
    matches = IndexedConversation.objects.filter(search.condition(search.parse(text)))
    return sorted(matches.values_list("pk", flat=True))


def test_the_migration_leaves_what_makes_search_fast(db):
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            names = {name for (name,) in cursor.fetchall()}
            assert {
                f"{search.FTS_TABLE}_{event}" for event in ("insert", "delete", "update")
            } <= names
        else:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'indexedtext_trgm'")
            assert "gin_trgm_ops" in cursor.fetchone()[0]


def test_a_searchs_count_is_made_once_for_its_list_and_the_calls_opened_from_it(
    as_role, emulator, corpus
):
    reviewer = as_role("Reviewer")
    reviewer.get("/", {"q": "refund"})
    with CaptureQueriesContext(connection) as queries:
        html = reviewer.get("/", {"q": "refund"}).content.decode()
    assert "1 conversation" in text_of(element(html, "div", class_="list-summary"))
    counted = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert not [sql for sql in counted if "indexedtext" in sql]


def test_a_call_opened_from_a_searchs_first_page_knows_its_place_without_searching_again(
    as_role, emulator, corpus
):
    reviewer = as_role("Reviewer")
    conversation_id = emulator.conversation_ids()[0]
    index.store(client.get_conversation(conversation_id))
    IndexedText.objects.filter(conversation_id=conversation_id).update(body="a refund")
    reviewer.get("/", {"q": "refund"})
    with CaptureQueriesContext(connection) as queries:
        html = reviewer.get(f"/conversations/{conversation_id}/", {"q": "refund"}).content
    place = re.search(r'<p class="list-place[^"]*">(.*?)</p>', html.decode()).group(1)
    assert place == "Conversation 2 of 2 in this list"
    assert not [q["sql"] for q in queries.captured_queries if "indexedtext" in q["sql"]]
