"""Seeded generation of the conversations: the same seed gives the same data.

Two stages, so that 10,000 conversations take a moment: `generate` draws the list summary of
every conversation up front (what the list needs), and `content` draws a conversation's
transcript, evaluation, collected data and analysis summary from its own seed only when its
detail is asked for. Timestamps are relative to the start of the current UTC day.
"""

import random
import string
from collections.abc import Container
from dataclasses import dataclass, field

from emulator.extras import Extras, extras
from emulator.phrases import (
    AGENTS,
    CITIES,
    CLOSING,
    FIRST_NAMES,
    LANGUAGES,
    MARKUP_FEEDBACK,
    MARKUP_MESSAGE,
    MARKUP_REPLY,
    MARKUP_SUMMARY,
    MARKUP_TITLE,
    MARKUP_VALUE,
    OUTCOMES,
    PLANS,
    PRODUCTS,
    RESULT_CRITERIA,
    SMALL_TALK,
    STREETS,
    SURNAMES,
    TOPICS,
    WEEKDAYS,
)
from emulator.store import Agent, Record

ALPHABET = string.ascii_lowercase + string.digits
DAY = 86400
SPREAD_DAYS = 60
LONG_TRANSCRIPT_TURNS = 1200
SHARES = [share for _, _, share in AGENTS]  # how often each agent takes a call


def _token(rng: random.Random, length: int) -> str:
    return "".join(rng.choices(ALPHABET, k=length))


def day_start(now: float) -> int:
    return int(now) // DAY * DAY


def generate(seed: int, count: int, now: float) -> tuple[list[Agent], list[Record]]:
    rng = random.Random(seed)
    agents = [Agent(f"agent_{_token(rng, 26)}", name, topic) for name, topic, _ in AGENTS]
    origin = day_start(now)
    long_index = rng.randrange(count) if count else -1
    seen: set[str] = set()
    stream = Stream(rng, agents, seen)
    records = []
    for index in range(count):
        record = stream.draw(index, origin, long=index == long_index)
        seen.add(record.conversation_id)
        records.append(record)
    return agents, records


@dataclass
class Stream:
    """A seeded stream of conversations: the seeded history, or the arrivals (arrivals.py)."""

    rng: random.Random
    agents: list[Agent]
    taken: Container[str]  # the ids a new one must not have

    def draw(self, index: int, origin: float, *, long: bool = False) -> Record:
        """The stream's `index`-th conversation, started up to SPREAD_DAYS before `origin`.

        `long` makes it the one with a transcript of LONG_TRANSCRIPT_TURNS turns.
        """
        rng = self.rng
        conversation_id = f"conv_{_token(rng, 24)}"
        while conversation_id in self.taken:
            conversation_id = f"conv_{_token(rng, 24)}"
        agent = rng.choices(self.agents, weights=SHARES)[0]
        start = origin - rng.randint(1, SPREAD_DAYS * DAY)
        failed = rng.random() < 0.07
        # Short calls are common, long ones rare: skew towards the low end of 2..80.
        turns = 2 + int(78 * rng.random() ** 2.2)
        if failed:
            turns = min(turns, 2 + rng.randrange(6))
        seconds_per_turn = rng.uniform(3.0, 8.0)
        outcome = rng.random()
        if failed:
            call_successful = "failure" if outcome < 0.6 else "unknown"
        else:
            call_successful = (
                "success" if outcome < 0.7 else "failure" if outcome < 0.88 else "unknown"
            )
        has_audio = rng.random() >= 0.1
        wild = rng.random() < 0.2
        conversation_seed = rng.getrandbits(48)
        # Fixed slots rather than chance, so that even a small data set has some of each.
        flavor = ""
        if index % 29 == 7:
            flavor = "markup"
        elif index % 9 == 4:
            flavor = ("ru", "ja", "ar", "de", "zh")[index // 9 % 5]
        if long:
            turns, failed, has_audio, wild, flavor = LONG_TRANSCRIPT_TURNS, False, True, False, ""
            call_successful = "success"
        return Record(
            conversation_id=conversation_id,
            agent_id=agent.id,
            agent_name=agent.name,
            start=start,
            duration=int(turns * seconds_per_turn) + rng.randint(2, 6),
            status="failed" if failed else "done",
            call_successful=call_successful,
            message_count=turns,
            seed=conversation_seed,
            topic=agent.topic,
            has_audio=has_audio,
            wild=wild,
            flavor=flavor,
        )


@dataclass(frozen=True)
class Content:
    """What a generated conversation says, before it is put in one of the two shapes."""

    turns: list[tuple[str, float]]  # (speaker, offset)
    texts: list[str]
    evaluation: dict[str, tuple[object, str]]  # criterion -> (result or score, feedback)
    collected: dict[str, tuple[object, str]]  # key -> (value, rationale)
    boolean_results: frozenset[str]  # criteria the wild shape reports as true or false
    title: str | None = None  # the analysis's short title of the call
    summary: str | None = None  # and its summary of one to three sentences
    # Why it ended, its cost, the caller's feedback, tool calls, interrupted turns.
    extras: Extras = field(default_factory=Extras)


def content(record: Record) -> Content:
    """The transcript, evaluation, collected data and summary of a generated conversation."""
    rng = random.Random(record.seed ^ 0x5EED)
    fill = _fill(rng, record.agent_name or "")
    texts, issue = _texts(record, rng, fill)
    evaluation = _evaluation(record, rng)
    collected = _collected(record, rng, fill)
    # Drawn last, so that they change nothing else whichever shape is served.
    boolean_results = frozenset(
        name
        for name, (result, _) in evaluation.items()
        if result in ("success", "failure") and rng.random() < 0.5
    )
    title, summary = _recap(record, rng, fill, issue)
    return Content(
        timeline(record),
        texts,
        evaluation,
        collected,
        boolean_results,
        title,
        summary,
        extras(record, fill),
    )


def timeline(record: Record) -> list[tuple[str, float]]:
    """(speaker, offset) of each turn of a generated conversation, as its detail shows them.

    The turns share the call's duration in random proportions, the last one ending with the
    call; the audio is aligned to these very numbers (whole seconds in the wild shape).
    """
    rng = random.Random(record.seed)
    first = rng.uniform(0.2, 1.2)
    weights = [rng.uniform(0.7, 1.3) for _ in range(record.message_count)]
    scale = (record.duration - first) / sum(weights)
    offsets = []
    position = first
    for index, weight in enumerate(weights):
        speaker = "agent" if index % 2 == 0 else "user"
        offsets.append((speaker, int(position) if record.wild else round(position, 2)))
        position += weight * scale
    return offsets


def _texts(record: Record, rng: random.Random, fill: dict) -> tuple[list[str], int]:
    """A greeting, the customer's issue, back-and-forth, and a closing that fits the turn count.

    Also returns which of the "issue" lines the customer said, for the summary.
    """
    lines = LANGUAGES.get(record.flavor) or TOPICS[record.topic]
    closing = lines if record.flavor in LANGUAGES else CLOSING
    extra = {} if record.flavor in LANGUAGES else SMALL_TALK
    # Middle lines are dealt from shuffled decks so that neighbours rarely repeat.
    decks: dict[str, list[str]] = {"agent": [], "user": []}
    count = record.message_count
    texts = []
    issue = 0
    for index in range(count):
        speaker = "agent" if index % 2 == 0 else "user"
        if index == 0:
            text = rng.choice(lines["greeting"])
        elif index == 1:
            issue = rng.randrange(len(lines["issue"]))
            text = lines["issue"][issue]
        elif index == count - 1 and speaker == "agent":
            text = closing["goodbye"]
        elif index == count - 1:
            text = rng.choice(closing["thanks"])
        elif index == count - 2 and speaker == "agent":
            text = closing["question"]
        else:
            if not decks[speaker]:
                decks[speaker] = lines[speaker] + extra.get(speaker, [])
                rng.shuffle(decks[speaker])
            text = decks[speaker].pop()
        texts.append(text.format(**fill))
    if record.flavor == "markup":
        texts[1] = MARKUP_MESSAGE
        if count > 2:
            texts[2] = MARKUP_REPLY
    return texts, issue


def _recap(
    record: Record, rng: random.Random, fill: dict, issue: int
) -> tuple[str | None, str | None]:
    """(title, summary) as the platform's analysis writes them, in the call's language.

    The summary says what the customer came with, often what the agent did, and how the call
    ended: one to three sentences. One call in ten has neither, as when the platform's analysis
    produced none; a failed call is often summed up in one sentence.
    """
    if record.flavor == "markup":
        return MARKUP_TITLE, MARKUP_SUMMARY
    if rng.random() < 0.1:
        return None, None
    lines = LANGUAGES.get(record.flavor) or TOPICS[record.topic]
    outcomes = lines["outcome"] if record.flavor in LANGUAGES else OUTCOMES
    title, first = lines["recap"][issue]
    sentences = [first]
    failed = record.status == "failed"
    if not failed and rng.random() < 0.7:
        sentences.append(rng.choice(lines["action"]))
    if not failed or rng.random() < 0.5:
        sentences.append(outcomes[record.call_successful])
    title = title.format(**fill)
    # Chinese and Japanese put no space between sentences.
    separator = "" if record.flavor in ("ja", "zh") else " "
    summary = separator.join(sentence.format(**fill) for sentence in sentences)
    return title[:1].upper() + title[1:], summary


def _fill(rng: random.Random, agent_name: str) -> dict:
    first, last = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
    city, postcode, country = rng.choice(CITIES)
    ascii_first = first.encode("ascii", "ignore").decode().lower() or "customer"
    return {
        "agent": agent_name,
        "name": first,
        "full_name": f"{first} {last}",
        "email": f"{ascii_first}.{rng.randrange(10, 99)}@example.com",
        "order": f"A-{rng.randrange(10000, 99999)}",
        "ticket": f"T{rng.randrange(100000, 999999)}",
        "amount": f"€{rng.randrange(5, 300)}.{rng.randrange(100):02d}",
        "product": rng.choice(PRODUCTS),
        "plan": rng.choice(PLANS),
        "weekday": rng.choice(WEEKDAYS),
        "city": city,
        "postcode": postcode,
        "country": country,
        "street": f"{rng.randrange(1, 240)} {rng.choice(STREETS)}",
    }


def _evaluation(record: Record, rng: random.Random) -> dict[str, tuple[object, str]]:
    """criterion -> (result or score, feedback), in a shape-neutral form."""
    if record.status == "failed" and record.flavor != "markup" and rng.random() < 0.5:
        return {}
    outcome = record.call_successful
    evaluation = {"issue_resolved": (outcome, RESULT_CRITERIA["issue_resolved"][outcome])}
    for criterion in ("polite_and_professional", "identity_verified"):
        if rng.random() < 0.7:
            result = rng.choices(("success", "failure", "unknown"), weights=(65, 20, 15))[0]
            evaluation[criterion] = (result, RESULT_CRITERIA[criterion][result])
    if rng.random() < 0.6:
        sentiment = round(rng.uniform(0.05, 0.98), 2)
        evaluation["customer_sentiment"] = (sentiment, _sentiment_feedback(sentiment))
    if rng.random() < 0.5:
        evaluation["csat_prediction"] = (
            rng.randint(1, 5),
            "Predicted satisfaction on a 1-5 scale.",
        )
    if record.flavor == "markup":
        first = next(iter(evaluation))
        evaluation[first] = (evaluation[first][0], MARKUP_FEEDBACK)
    return evaluation


def _sentiment_feedback(sentiment: float) -> str:
    if sentiment >= 0.6:
        return "The customer sounded pleased by the end of the call."
    if sentiment >= 0.35:
        return "Mixed: frustrated at first, calmer once a solution was offered."
    return "The customer stayed frustrated throughout the call."


def _collected(record: Record, rng: random.Random, fill: dict) -> dict[str, tuple[object, str]]:
    """key -> (value, rationale); together the keys use every JSON type."""
    if record.status == "failed" and record.flavor != "markup" and rng.random() < 0.5:
        return {}
    has_order = record.topic in ("returns", "sales", "support") or rng.random() < 0.3
    knows_email = rng.random() < 0.7
    products = rng.sample(PRODUCTS, rng.randint(0, 3))
    data = {
        "customer_name": (fill["full_name"], "The customer gave their name when asked."),
        "order_number": (
            fill["order"] if has_order else None,
            "Read back and confirmed by the agent." if has_order else "No order was mentioned.",
        ),
        "items_in_order": (rng.randint(1, 6), "Counted from the order the agent looked up."),
        "refund_amount": (round(rng.uniform(0, 250), 2), "Amount the agent agreed to refund."),
        "callback_requested": (rng.random() < 0.4, "Whether the customer asked to be called back."),
        "contact_email": (
            fill["email"] if knows_email else None,
            "Spelled out by the customer."
            if knows_email
            else "The customer did not give an email.",
        ),
        "shipping_address": (
            {
                "street": fill["street"],
                "city": fill["city"],
                "postcode": fill["postcode"],
                "country": fill["country"],
                "verified": rng.random() < 0.5,
            },
            "Matched against the address on the account.",
        ),
        "products_mentioned": (products, "Products named during the call."),
    }
    if record.flavor == "markup":
        data["customer_name"] = (MARKUP_VALUE, "Copied from the chat as typed.")
        data["notes"] = (
            "<i>VIP</i> <a href=javascript:alert(1)>open</a>",
            "Free text from the agent.",
        )
    return data
