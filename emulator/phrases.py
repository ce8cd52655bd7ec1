"""The words of the seeded conversations: agents, names, places, and what each side says.

Plain tables and nothing else; `emulator/generate.py` draws from them. The topics of `AGENTS`
are the keys of `TOPICS`; `LANGUAGES` replaces a topic for the conversations in another script.
"""

AGENTS = (  # (name, topic, share of the calls)
    ("Support bot", "support", 5),
    ("Sales assistant", "sales", 3),
    ("Booking line", "booking", 2),
    ("Billing helpdesk", "billing", 3),
    ("Returns desk", "returns", 2),
)

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
