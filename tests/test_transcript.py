"""The transcript's turns, rendered in Python (conversations/templatetags/transcript.py)."""

import re

import pytest
from django.template.loader import render_to_string

from conversations.client import Turn
from conversations.templatetags.transcript import transcript_turns

pytestmark = pytest.mark.django_db


class Page:
    """What _transcript.html reads: `c.transcript`."""

    def __init__(self, *turns):
        self.transcript = turns


def render(*turns):
    return render_to_string("conversations/_transcript.html", {"c": Page(*turns)})


def test_each_turn_is_an_item_with_its_speaker_class_time_and_seek_button():
    html = render(Turn("agent", "Hello.", 0.0), Turn("user", "Hi.", 65.5))
    assert '<ol class="turns" id="turns">' in html
    assert (
        '<li class="turn agent" data-at="0.000"><span class="speaker">agent</span>'
        '<button type="button" class="at link" data-seek="0.000" aria-label="Play from 0:00">'
        '0:00</button><p class="text">Hello.</p></li>'
    ) in html
    assert '<li class="turn user" data-at="65.500">' in html
    assert 'aria-label="Play from 1:05">1:05</button>' in html


def test_a_turn_without_a_time_has_no_seek_button():
    html = render(Turn("agent", "When?", None))
    assert "data-at" not in html
    assert "data-seek" not in html
    assert '<p class="text">When?</p>' in html


def test_any_other_speaker_is_shown_as_other_and_a_missing_one_as_unknown():
    html = render(Turn("supervisor", "Listening in.", 1.0), Turn("", "Who?", 2.0))
    assert '<li class="turn other" data-at="1.000"><span class="speaker">supervisor</span>' in html
    assert '<li class="turn other" data-at="2.000"><span class="speaker">unknown</span>' in html


def test_speaker_and_text_are_escaped():
    html = render(Turn('<img src=x onerror="alert(1)">', "<script>alert('2')</script> & co", 1.0))
    assert "<img" not in html
    assert "<script>" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    assert "&lt;script&gt;alert(&#x27;2&#x27;)&lt;/script&gt; &amp; co" in html


def test_each_value_is_escaped_once_and_each_turn_keeps_its_own_speaker():
    html = transcript_turns(
        [
            Turn("agent", "&amp; is how you write &", 0.0),
            Turn("<b>x</b>", "a", None),
            Turn("user", "b", 1.0),
            Turn("agent", "c", None),
            Turn(None, "d", None),
        ]
    )
    assert html == (
        '<li class="turn agent" data-at="0.000"><span class="speaker">agent</span>'
        '<button type="button" class="at link" data-seek="0.000" aria-label="Play from 0:00">'
        '0:00</button><p class="text">&amp;amp; is how you write &amp;</p></li>\n'
        '<li class="turn other"><span class="speaker">&lt;b&gt;x&lt;/b&gt;</span>'
        '<p class="text">a</p></li>\n'
        '<li class="turn user" data-at="1.000"><span class="speaker">user</span>'
        '<button type="button" class="at link" data-seek="1.000" aria-label="Play from 0:01">'
        '0:01</button><p class="text">b</p></li>\n'
        '<li class="turn agent"><span class="speaker">agent</span><p class="text">c</p></li>\n'
        '<li class="turn other"><span class="speaker">unknown</span><p class="text">d</p></li>\n'
    )


def test_no_turns_are_an_empty_string(recwarn):
    assert transcript_turns([]) == ""
    assert not recwarn.list


def test_no_turns_say_so():
    html = render()
    assert "No transcript." in html
    assert "turns" not in html


def test_the_long_seeded_conversation_shows_every_turn(as_role, emulator):
    conversation_id = next(
        i for i in emulator.conversation_ids() if len(emulator.raw(i)["transcript"]) >= 1000
    )
    turns = len(emulator.raw(conversation_id)["transcript"])
    html = as_role("Reviewer").get(f"/conversations/{conversation_id}/").content.decode()
    assert len(re.findall(r'<li class="turn (?:agent|user|other)"', html)) == turns
    assert html.count("data-seek=") == turns
