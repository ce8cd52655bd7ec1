"""The emulator's conversations: generated from a seed, kept in a store ordered newest first.

The same seed gives the same agents, ids, texts and timestamps (relative to the start of the
current UTC day). Generation is two-staged so that 10,000 conversations take a moment: the
summary of every conversation (what the list needs) is drawn up front, and the transcript,
evaluation and collected data are drawn from the conversation's own seed only when asked for.
"""

import base64
import binascii
import bisect
import json
import math
import random
import string
from dataclasses import dataclass
from datetime import UTC, datetime

ALPHABET = string.ascii_lowercase + string.digits
DAY = 86400
SPREAD_DAYS = 60
LONG_TRANSCRIPT_TURNS = 1200
MAX_DURATION = DAY  # a hand-added conversation claiming more gets no audio

AGENTS = (  # (name, topic, share of the calls)
    ("Support bot", "support", 5),
    ("Sales assistant", "sales", 3),
    ("Booking line", "booking", 2),
    ("Billing helpdesk", "billing", 3),
    ("Returns desk", "returns", 2),
)


@dataclass(frozen=True)
class Agent:
    id: str
    name: str
    topic: str


@dataclass(frozen=True)
class Record:
    """What the store knows about one conversation: its list summary and how to build its detail.

    A generated conversation is rebuilt from `seed` on demand; one added by hand keeps the JSON
    it was given in `raw`, and its summary fields are whatever could be read from that JSON.
    """

    conversation_id: str
    agent_id: str | None
    agent_name: str | None
    start: float  # unix seconds
    duration: int | None
    status: str | None
    call_successful: str
    message_count: int
    seed: int = 0
    topic: str = "support"
    has_audio: bool = False
    wild: bool = False  # the undocumented field names, see the contract
    flavor: str = ""  # "", "markup", or a language: "ru", "ja", "ar"
    raw: dict | None = None

    @property
    def sort_key(self) -> tuple[float, str]:
        return (self.start, self.conversation_id)


# Generation of the summaries ------------------------------------------------------------------


def _token(rng: random.Random, length: int) -> str:
    return "".join(rng.choices(ALPHABET, k=length))


def day_start(now: float) -> int:
    return int(now) // DAY * DAY


def generate(seed: int, count: int, now: float) -> tuple[list[Agent], list[Record]]:
    rng = random.Random(seed)
    agents = [Agent(f"agent_{_token(rng, 26)}", name, topic) for name, topic, _ in AGENTS]
    shares = [share for _, _, share in AGENTS]
    origin = day_start(now)
    long_index = rng.randrange(count) if count else -1
    seen = set()
    records = []
    for index in range(count):
        conversation_id = f"conv_{_token(rng, 24)}"
        while conversation_id in seen:
            conversation_id = f"conv_{_token(rng, 24)}"
        seen.add(conversation_id)
        agent = rng.choices(agents, weights=shares)[0]
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
            flavor = ("ru", "ja", "ar")[index // 9 % 3]
        if index == long_index:
            turns, failed, has_audio, wild, flavor = LONG_TRANSCRIPT_TURNS, False, True, False, ""
            call_successful = "success"
        records.append(
            Record(
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
        )
    return agents, records


# The texts the details are built from ----------------------------------------------------------

FIRST_NAMES = (
    "Maria", "Jonas", "Aiko", "Omar", "Priya", "Lucas", "Sofia", "Mehmet",
    "Chloé", "Ngozi", "Björn", "José", "Hannah", "Wei", "Fatima", "Liam",
)  # fmt: skip
SURNAMES = (
    "Silva", "Schmidt", "Tanaka", "Haddad", "Patel", "Martin", "Rossi", "Yılmaz",
    "Dubois", "Okafor", "Lindqvist", "García", "Cohen", "Zhang", "Nowak", "Murphy",
)  # fmt: skip
CITIES = (
    ("Lisbon", "1100-148", "Portugal"), ("Leeds", "LS1 4DY", "United Kingdom"),
    ("Osaka", "530-0001", "Japan"), ("Berlin", "10115", "Germany"),
    ("Toronto", "M5V 2T6", "Canada"), ("Lyon", "69002", "France"),
    ("Nairobi", "00100", "Kenya"), ("Kraków", "31-042", "Poland"),
)  # fmt: skip
STREETS = (
    "Market Street",
    "Rua Augusta",
    "Elm Road",
    "Kastanienallee",
    "Station Road",
    "Rue Mercière",
)
PRODUCTS = (
    "wireless router", "smart thermostat", "noise-cancelling headphones", "fitness watch",
    "coffee grinder", "phone case", "desk lamp", "running shoes",
)  # fmt: skip
PLANS = ("Basic", "Plus", "Premium", "Family")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")

TOPICS = {
    "support": {
        "greeting": [
            "You're through to the {agent} at Northwind. How can I help you today?",
            "Hi, thanks for contacting Northwind support. What can I do for you?",
        ],
        "issue": [
            "Hi, my {product} keeps dropping the connection since yesterday's update.",
            "Hello. The app logs me out every time I open it, it's driving me mad.",
            "My {product} won't turn on anymore, the light just blinks orange.",
            "I can't reset my password, the email never arrives.",
        ],
        "agent": [
            "I'm sorry to hear that. Could you read me the model number on the back of the device?",
            "Let's try a quick restart: unplug it for thirty seconds and plug it back in.",
            "Thanks, {name}. I can see the device on your account; it's running firmware 4.2.",
            "I've sent a reset link to {email}. It can take a couple of minutes to arrive.",
            "Could you check whether the status light is solid green now?",
            "I've opened ticket {ticket} so a technician can follow up if it happens again.",
        ],
        "user": [
            "It's the one that says RX-200 on the sticker.",
            "Okay, give me a second... right, it's unplugged.",
            "It's blinking green now. Oh wait, now it's solid! 🙂",
            "Still nothing, I'm afraid.",
            "I got the email, thanks.",
            "Do I need to be at home for the technician?",
        ],
    },
    "sales": {
        "greeting": [
            "Hello, this is the {agent}. Are you looking to upgrade or start a new plan?",
            "Hi there, you've reached the {agent}. What are you shopping for today?",
        ],
        "issue": [
            "I'm thinking about switching to the {plan} plan, what does it include?",
            "Do you have any deals on the {product} at the moment?",
            "My contract ends next month and I want to know my options.",
        ],
        "agent": [
            "The {plan} plan includes unlimited calls and 50 GB of data for {amount} a month.",
            "Right now there's 15% off the {product} if you order before {weekday}.",
            "You've been with us for three years, so you qualify for the loyalty discount.",
            "Would you like me to send a summary of the offer to {email}?",
            "Delivery to {city} usually takes two working days.",
        ],
        "user": [
            "That sounds good. Is there a minimum term?",
            "Hmm, that's a bit more than I wanted to spend.",
            "Yes please, send it over 👍",
            "Can I cancel within the first 14 days?",
            "What colours does it come in?",
        ],
    },
    "booking": {
        "greeting": [
            "Welcome to the {agent}. Would you like to make, change or cancel a booking?",
            "Good afternoon, {agent} speaking. Who's the booking for?",
        ],
        "issue": [
            "I'd like to book a table for four on {weekday} evening.",
            "I need to move my appointment on {weekday} to later in the week.",
            "Can I cancel my reservation {ticket}? Something came up.",
        ],
        "agent": [
            "Let me check availability for {weekday}... I have 7:30 pm or 8:15 pm.",
            "Your booking {ticket} has been moved to {weekday} at 10 am.",
            "Could I have a phone number in case we need to reach you?",
            "There's no cancellation fee as it's more than 24 hours in advance.",
            "Do you have any dietary requirements we should know about?",
        ],
        "user": [
            "7:30 works perfectly.",
            "One of us is vegetarian, if that matters.",
            "Sure, it's 07700 900123.",
            "Great, thank you so much 🎉",
            "Is there parking nearby?",
        ],
    },
    "billing": {
        "greeting": [
            "You're speaking with the {agent}. Can I start with your account email?",
            "Hello, {agent} here. Which invoice is this about?",
        ],
        "issue": [
            "I was charged twice for my last invoice, {amount} both times.",
            "Why has my bill gone up this month?",
            "I'd like a copy of my invoice from March for my expenses.",
            "I need to update the card you have on file.",
        ],
        "agent": [
            "Thank you, {name}. I can see two payments of {amount} on the 3rd.",
            "I've requested a refund of {amount}; it should appear within five working days.",
            "The increase is because your introductory discount ended last month.",
            "I've emailed the invoice to {email}.",
            "For security I can't take card details here, but I've sent you a secure link.",
        ],
        "user": [
            "Yes, that's the duplicate one.",
            "Five days? Okay, fine.",
            "Nobody told me the discount would end 😕",
            "Got it, thanks.",
            "Can you make sure it doesn't happen again?",
        ],
    },
    "returns": {
        "greeting": [
            "Hi, you've reached the {agent}. Do you have your order number handy?",
            "Returns desk, how can I help?",
        ],
        "issue": [
            "Yes, it's {order}. The {product} arrived damaged.",
            "I want to return the {product} from order {order}, it's the wrong size.",
            "I sent a return two weeks ago and still haven't had my refund.",
        ],
        "agent": [
            "I'm sorry about that. I've created a prepaid return label for order {order}.",
            "Would you prefer a refund or an exchange?",
            "Our warehouse received the parcel on {weekday}; the refund of {amount} is on its way.",
            "You can drop the parcel at any post office in {city}.",
            "Please keep the original packaging if you still have it.",
        ],
        "user": [
            "A refund, please.",
            "An exchange for a larger size would be great.",
            "I threw the box away, is that a problem?",
            "Perfect, I'll drop it off tomorrow.",
            "How long does the refund take?",
        ],
    },
}
SMALL_TALK = {
    "agent": [
        "Let me just check that for you.",
        "Thanks for your patience.",
        "I understand, that must be frustrating.",
        "One moment while I pull up your details.",
    ],
    "user": ["Okay.", "Sure, go ahead.", "Sorry, could you repeat that?", "Yes, that's right."],
}
CLOSING = {
    "question": "Is there anything else I can help you with today?",
    "thanks": ["No, that's everything. Thanks!", "That's all, cheers 👋", "No, thank you, bye."],
    "goodbye": "Thanks for calling, have a lovely day!",
}
LANGUAGES = {
    "ru": {
        "greeting": ["Здравствуйте! Вы позвонили в службу поддержки. Чем могу помочь?"],
        "issue": [
            "Добрый день. Мой заказ {order} так и не пришёл 😕",
            "Мне дважды списали деньги.",
        ],
        "agent": [
            "Сейчас проверю информацию по вашему заказу.",
            "Приношу извинения за неудобства.",
            "Я оформил возврат средств, они поступят в течение пяти дней.",
            "Уточните, пожалуйста, ваш адрес электронной почты.",
        ],
        "user": ["Хорошо, жду.", "Да, всё верно.", "Спасибо большое! 🙏", "А можно побыстрее?"],
        "question": "Могу ли я ещё чем-нибудь помочь?",
        "thanks": ["Нет, это всё. Спасибо!"],
        "goodbye": "Всего доброго! До свидания.",
    },
    "ja": {
        "greeting": ["お電話ありがとうございます。ご用件をお伺いします。"],
        "issue": [
            "注文番号 {order} の商品がまだ届いていません 📦",
            "請求額が先月より高いのですが。",
        ],
        "agent": [
            "ご不便をおかけして申し訳ございません。",
            "確認いたしますので、少々お待ちください。",
            "返金手続きを行いました。5営業日以内に反映されます。",
            "ご登録のメールアドレスを教えていただけますか。",
        ],
        "user": [
            "はい、わかりました。",
            "ありがとうございます！😊",
            "それで大丈夫です。",
            "いつ届きますか？",
        ],
        "question": "他にご質問はございますか。",
        "thanks": ["いいえ、以上です。ありがとうございました。"],
        "goodbye": "お電話ありがとうございました。失礼いたします。",
    },
    "ar": {
        "greeting": ["مرحباً بك، كيف يمكنني مساعدتك اليوم؟"],
        "issue": ["لم يصل طلبي رقم {order} حتى الآن 😟", "تم خصم المبلغ مرتين من بطاقتي."],
        "agent": [
            "أعتذر عن الإزعاج، دعني أتحقق من ذلك.",
            "لحظة من فضلك.",
            "تم تسجيل طلب استرداد المبلغ.",
            "هل يمكنك تأكيد بريدك الإلكتروني؟",
        ],
        "user": ["حسناً، شكراً.", "نعم، هذا صحيح.", "شكراً جزيلاً 🌟", "متى سيصل الطلب؟"],
        "question": "هل هناك أي شيء آخر يمكنني مساعدتك به؟",
        "thanks": ["لا، هذا كل شيء. شكراً لك."],
        "goodbye": "شكراً لاتصالك، يوماً سعيداً!",
    },
}
# Hostile content for the conversations that test escaping in the dashboard.
MARKUP_MESSAGE = "My name is <b>bold</b> and my order is <script>alert(1)</script>"
MARKUP_REPLY = 'Noted: "><img src=x onerror=alert(1)> {{ 7*7 }}'
MARKUP_FEEDBACK = "Customer typed <script>alert(1)</script>; the agent stayed <b>bold</b> and calm."
MARKUP_VALUE = "<b>bold</b><script>alert(1)</script>"

RESULT_CRITERIA = {
    "issue_resolved": {
        "success": "The customer confirmed the problem was solved before the call ended.",
        "failure": "The call ended without a fix; the customer was asked to call back.",
        "unknown": "The transcript does not show whether the issue was resolved.",
    },
    "polite_and_professional": {
        "success": "Friendly tone throughout; the agent apologised for the inconvenience.",
        "failure": "The agent talked over the customer twice.",
        "unknown": "Too little conversation to judge the tone.",
    },
    "identity_verified": {
        "success": "The agent confirmed the customer's email before discussing the account.",
        "failure": "Account details were discussed before the customer was verified.",
        "unknown": "No account information was needed on this call.",
    },
}


# Building the details -------------------------------------------------------------------------


def iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


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


def _texts(record: Record, rng: random.Random, fill: dict) -> list[str]:
    """A greeting, the customer's issue, back-and-forth, and a closing that fits the turn count."""
    lines = LANGUAGES.get(record.flavor) or TOPICS[record.topic]
    closing = lines if record.flavor in LANGUAGES else CLOSING
    extra = {} if record.flavor in LANGUAGES else SMALL_TALK
    # Middle lines are dealt from shuffled decks so that neighbours rarely repeat.
    decks: dict[str, list[str]] = {"agent": [], "user": []}
    count = record.message_count
    texts = []
    for index in range(count):
        speaker = "agent" if index % 2 == 0 else "user"
        if index == 0:
            text = rng.choice(lines["greeting"])
        elif index == 1:
            text = rng.choice(lines["issue"])
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
    return texts


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


def build_detail(record: Record, base_url: str) -> dict:
    """The detail JSON of a conversation, in the documented or the wild shape."""
    if record.raw is not None:
        return record.raw
    rng = random.Random(record.seed ^ 0x5EED)
    fill = _fill(rng, record.agent_name or "")
    texts = _texts(record, rng, fill)
    evaluation = _evaluation(record, rng)
    collected = _collected(record, rng, fill)
    turns = timeline(record)
    audio = (
        f"{base_url}/v1/convai/conversations/{record.conversation_id}/audio"
        if record.has_audio
        else None
    )
    if record.wild:
        return {
            "conversation_id": record.conversation_id,
            "agent_id": record.agent_id,
            "status": record.status,
            "audio": audio,
            "metadata": {
                "start_time_unix_secs": int(record.start),
                "call_duration_secs": record.duration,
            },
            "transcript": [
                {"role": speaker, "message": text, "time_in_call_secs": offset}
                for (speaker, offset), text in zip(turns, texts, strict=True)
            ],
            "analysis": {
                "evaluation_criteria_results": {
                    name: {
                        "criteria_id": name,
                        "result": _wild_result(result, rng),
                        "rationale": feedback,
                    }
                    for name, (result, feedback) in evaluation.items()
                },
                "data_collection_results": {
                    key: {"data_collection_id": key, "value": value, "rationale": rationale}
                    for key, (value, rationale) in collected.items()
                },
            },
        }
    return {
        "conversation_id": record.conversation_id,
        "agent_id": record.agent_id,
        "status": record.status,
        "audio": audio,
        "metadata": {
            "start_time": iso(record.start),
            "end_time": iso(record.start + record.duration),
            "duration": record.duration,
            "agent_id": record.agent_id,
            "agent_name": record.agent_name,
        },
        "transcript": [
            {"speaker": speaker, "text": text, "timestamp": offset}
            for (speaker, offset), text in zip(turns, texts, strict=True)
        ],
        "evaluation_results": {
            name: {"score": result, "feedback": feedback}
            if isinstance(result, int | float)
            else {"result": result, "feedback": feedback}
            for name, (result, feedback) in evaluation.items()
        },
        "collected_data": {
            key: {"value": value, "rationale": rationale}
            for key, (value, rationale) in collected.items()
        },
    }


def _wild_result(result: object, rng: random.Random) -> object:
    """The wild shape sometimes reports pass/fail as booleans."""
    if result in ("success", "failure") and rng.random() < 0.5:
        return result == "success"
    return result


def summary(record: Record) -> dict:
    return {
        "conversation_id": record.conversation_id,
        "agent_id": record.agent_id,
        "agent_name": record.agent_name,
        "status": record.status,
        "call_successful": record.call_successful,
        "message_count": record.message_count,
        "metadata": {
            "start_time": iso(record.start),
            "duration": record.duration,
            "agent_id": record.agent_id,
        },
    }


# Conversations added by hand --------------------------------------------------------------------


def as_number(value: object) -> float | None:
    """A finite JSON number as a float; None for anything else (booleans, NaN, strings...)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
        return number if math.isfinite(number) else None
    return None


def _timestamp(value: object) -> float | None:
    """Unix seconds from an ISO string or a number, if it is a date the list can show."""
    seconds = as_number(value)
    try:
        if isinstance(value, str):
            parsed = datetime.fromisoformat(value)
            seconds = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
        iso(seconds)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
    return seconds


def record_from_raw(raw: dict, conversation_id: str, agents: list[Agent], now: float) -> Record:
    """A summary read tolerantly from any JSON object: what cannot be read is left out."""
    metadata = raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {}
    analysis = raw.get("analysis") if isinstance(raw.get("analysis"), dict) else {}
    agent_id = next(
        (v for v in (raw.get("agent_id"), metadata.get("agent_id")) if isinstance(v, str)), None
    )
    agent_name = metadata.get("agent_name")
    if not isinstance(agent_name, str):
        agent_name = next((agent.name for agent in agents if agent.id == agent_id), None)
    start = _timestamp(metadata.get("start_time"))
    if start is None:
        start = _timestamp(metadata.get("start_time_unix_secs"))
    duration = as_number(metadata.get("duration"))
    if duration is None:
        duration = as_number(metadata.get("call_duration_secs"))
    outcome = raw.get("call_successful", analysis.get("call_successful"))
    transcript = raw.get("transcript")
    return Record(
        conversation_id=conversation_id,
        agent_id=agent_id,
        agent_name=agent_name,
        start=now if start is None else start,
        duration=None if duration is None else int(duration),
        status=raw.get("status") if isinstance(raw.get("status"), str) else None,
        call_successful=outcome if outcome in ("success", "failure", "unknown") else "unknown",
        message_count=len(transcript) if isinstance(transcript, list) else 0,
        has_audio=isinstance(raw.get("audio"), str) and bool(raw["audio"]),
        raw=raw,
    )


def raw_timeline(raw: dict) -> list[tuple[str, float]]:
    """(speaker, offset) of each readable turn of a hand-added conversation."""
    turns = raw.get("transcript")
    result = []
    for turn in turns if isinstance(turns, list) else []:
        if not isinstance(turn, dict):
            continue
        speaker = turn.get("speaker", turn.get("role"))
        offset = as_number(turn.get("timestamp", turn.get("time_in_call_secs")))
        if offset is not None and offset >= 0:
            result.append((str(speaker).lower(), offset))
    return result


def recording_plan(record: Record) -> tuple[float, list[tuple[str, float]]] | None:
    """(duration, turns) to synthesise the recording from, or None when there is no audio."""
    if not record.has_audio or record.duration is None or not 0 <= record.duration <= MAX_DURATION:
        return None
    if record.raw is not None:
        return record.duration, raw_timeline(record.raw)
    return record.duration, timeline(record)


# Cursors and the store --------------------------------------------------------------------------


def encode_cursor(key: tuple[float, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> tuple[float, str]:
    """The sort key inside a cursor; ValueError when it is not one of ours."""
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError("undecodable cursor") from error
    if (
        not isinstance(decoded, list)
        or len(decoded) != 2
        or as_number(decoded[0]) is None
        or not isinstance(decoded[1], str)
    ):
        raise ValueError("malformed cursor")
    return (decoded[0], decoded[1])


class Store:
    """Conversations by id, plus sort keys in ascending order (all, and per agent).

    A page is a slice ending just before the cursor's key, found by bisection, so its cost does
    not depend on how deep into the list it is. Not thread-safe: the server holds a lock.
    """

    def __init__(self, agents: list[Agent], records: list[Record]):
        self.agents = agents
        self._records = {record.conversation_id: record for record in records}
        self._keys = sorted(record.sort_key for record in records)
        self._keys_by_agent: dict[str | None, list[tuple[float, str]]] = {}
        for key in self._keys:
            self._keys_by_agent.setdefault(self._records[key[1]].agent_id, []).append(key)

    def get(self, conversation_id: str) -> Record | None:
        return self._records.get(conversation_id)

    def add(self, record: Record) -> None:
        self.delete(record.conversation_id)
        self._records[record.conversation_id] = record
        bisect.insort(self._keys, record.sort_key)
        bisect.insort(self._keys_by_agent.setdefault(record.agent_id, []), record.sort_key)

    def delete(self, conversation_id: str) -> bool:
        record = self._records.pop(conversation_id, None)
        if record is None:
            return False
        for keys in (self._keys, self._keys_by_agent[record.agent_id]):
            del keys[bisect.bisect_left(keys, record.sort_key)]
        return True

    def page(
        self, agent_id: str | None, after: tuple[float, str] | None, size: int
    ) -> tuple[list[Record], bool]:
        """Up to `size` records older than `after`, newest first, and whether more follow."""
        keys = self._keys if agent_id is None else self._keys_by_agent.get(agent_id, [])
        end = len(keys) if after is None else bisect.bisect_left(keys, after)
        begin = max(0, end - size)
        return [self._records[key[1]] for key in reversed(keys[begin:end])], begin > 0

    def ids(self, agent_id: str | None = None) -> list[str]:
        keys = self._keys if agent_id is None else self._keys_by_agent.get(agent_id, [])
        return [key[1] for key in reversed(keys)]
