"""The words of the seeded conversations: agents, names, places, and what each side says.

Plain tables and nothing else; `emulator/generate.py` draws from them. The topics of `AGENTS`
are the keys of `TOPICS`; `LANGUAGES` replaces a topic for the conversations in another script.
The "recap" of each holds, for each of its "issue" lines in the same order, the summary's title
and first sentence, so that a summary says what its transcript says.
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
        "recap": [
            (
                "{product} keeps dropping its connection",
                "The customer's {product} has kept dropping its connection since an update.",
            ),
            (
                "App keeps logging the customer out",
                "The customer is logged out of the app every time they open it.",
            ),
            (
                "{product} will not turn on",
                "The customer's {product} no longer turns on and its light blinks orange.",
            ),
            (
                "Password reset email missing",
                "The customer cannot reset their password because the reset email never arrives.",
            ),
        ],
        "action": [
            "The agent checked the device on the account and walked them through a restart.",
            "The agent opened ticket {ticket} so that a technician can follow up.",
            "The agent sent a new reset link to {email}.",
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
        "recap": [
            (
                "Questions about the {plan} plan",
                "The customer asked what the {plan} plan includes before switching to it.",
            ),
            ("Deals on the {product}", "The customer asked about current offers on the {product}."),
            (
                "Options at the end of the contract",
                "The customer's contract ends next month and they wanted to know their options.",
            ),
        ],
        "action": [
            "The agent explained the {plan} plan at {amount} a month.",
            "The agent offered 15% off the {product} for an order before {weekday}.",
            "The agent offered to send a summary of the offer to {email}.",
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
        "recap": [
            (
                "Table for four on {weekday}",
                "The customer wanted to book a table for four on {weekday} evening.",
            ),
            (
                "Move the {weekday} appointment",
                "The customer asked to move their {weekday} appointment to later in the week.",
            ),
            ("Cancel reservation {ticket}", "The customer asked to cancel reservation {ticket}."),
        ],
        "action": [
            "The agent checked availability and offered two times.",
            "The agent confirmed that there is no cancellation fee.",
            "The agent took a phone number and asked about dietary requirements.",
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
        "recap": [
            (
                "Charged twice: {amount}",
                "The customer was charged {amount} twice for their last invoice.",
            ),
            ("Bill higher this month", "The customer asked why their bill went up this month."),
            (
                "Copy of the March invoice",
                "The customer needed a copy of their March invoice for their expenses.",
            ),
            ("Update the card on file", "The customer wanted to update the card on file."),
        ],
        "action": [
            "The agent requested a refund of {amount}.",
            "The agent explained that the introductory discount had ended.",
            "The agent emailed the invoice to {email}.",
            "The agent sent a secure link for the new card details.",
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
        "recap": [
            (
                "Damaged {product}, order {order}",
                "The {product} from order {order} arrived damaged.",
            ),
            (
                "Return of order {order}: wrong size",
                "The customer is returning the {product} from order {order}: wrong size.",
            ),
            (
                "Refund not received",
                "The customer sent a return two weeks ago and has not been refunded yet.",
            ),
        ],
        "action": [
            "The agent created a prepaid return label for order {order}.",
            "The agent confirmed that the refund of {amount} is on its way.",
            "The agent offered a refund or an exchange.",
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
# The last sentence of a summary: how the call ended (its `call_successful`).
OUTCOMES = {
    "success": "The issue was resolved on the call.",
    "failure": "The call ended without a fix; a follow-up is needed.",
    "unknown": "It is unclear whether the issue was resolved.",
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
        "recap": [
            ("Заказ {order} не доставлен", "Заказ клиента {order} так и не был доставлен."),
            ("Двойное списание", "С клиента дважды списали деньги."),
        ],
        "action": [
            "Оператор проверил информацию по заказу.",
            "Оператор оформил возврат средств в течение пяти дней.",
        ],
        "outcome": {
            "success": "Вопрос решён во время звонка.",
            "failure": "Звонок завершился без решения, нужен повторный контакт.",
            "unknown": "Неясно, был ли вопрос решён.",
        },
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
        "recap": [
            ("注文 {order} の未着", "お客様の注文 {order} の商品がまだ届いていません。"),
            ("請求額の増加について", "お客様は請求額が先月より高い理由を問い合わせました。"),
        ],
        "action": ["担当者が注文状況を確認しました。", "担当者が返金手続きを行いました。"],
        "outcome": {
            "success": "通話中に問題は解決しました。",
            "failure": "解決しないまま通話が終了し、折り返しが必要です。",
            "unknown": "問題が解決したかどうかは不明です。",
        },
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
        "recap": [
            ("الطلب {order} لم يصل", "لم يصل طلب العميل رقم {order} حتى الآن."),
            ("خصم مزدوج من البطاقة", "تم خصم المبلغ مرتين من بطاقة العميل."),
        ],
        "action": ["تحقق الموظف من حالة الطلب.", "سجّل الموظف طلب استرداد المبلغ."],
        "outcome": {
            "success": "تم حل المشكلة أثناء المكالمة.",
            "failure": "انتهت المكالمة دون حل، ويلزم متابعة.",
            "unknown": "من غير الواضح ما إذا تم حل المشكلة.",
        },
    },
    "de": {
        "greeting": ["Guten Tag, hier ist der Kundenservice. Wie können wir Ihnen helfen?"],
        "issue": [
            "Meine Bestellung {order} ist immer noch nicht angekommen 😕",
            "Ich möchte eine Rückerstattung, die Größe passt leider nicht.",
            "Die Lieferung ging an die falsche Straße.",
        ],
        "agent": [
            "Einen Moment bitte, ich prüfe Ihre Bestellung.",
            "Das tut mir leid. Ich habe die Rückerstattung veranlasst.",
            "Können Sie mir bitte Ihre Straße und Postleitzahl nennen?",
            "Die Lieferung ist für Donnerstag geplant.",
            "Ich schicke Ihnen ein kostenloses Rücksendeetikett per E-Mail.",
        ],
        "user": [
            "Ja, das stimmt.",
            "Alles klar, danke.",
            "Wie lange dauert die Rückerstattung?",
            "Super, vielen Dank! 👍",
            "Die Größe ist leider zu klein.",
        ],
        "question": "Kann ich sonst noch etwas für Sie tun?",
        "thanks": ["Nein, das war alles. Vielen Dank!", "Nein danke, schöne Grüße!"],
        "goodbye": "Vielen Dank für Ihren Anruf. Freundliche Grüße und einen schönen Tag!",
        "recap": [
            (
                "Bestellung {order} nicht angekommen",
                "Die Bestellung {order} des Kunden ist noch nicht angekommen.",
            ),
            (
                "Rückerstattung wegen falscher Größe",
                "Der Kunde möchte eine Rückerstattung, weil die Größe nicht passt.",
            ),
            ("Lieferung an die falsche Straße", "Die Lieferung ging an die falsche Straße."),
        ],
        "action": [
            "Der Mitarbeiter hat die Bestellung geprüft.",
            "Der Mitarbeiter hat die Rückerstattung veranlasst und ein Rücksendeetikett geschickt.",
            "Der Mitarbeiter hat die Lieferadresse mit Straße und Postleitzahl bestätigt.",
        ],
        "outcome": {
            "success": "Das Anliegen wurde im Gespräch gelöst.",
            "failure": "Das Gespräch endete ohne Lösung; ein Rückruf ist nötig.",
            "unknown": "Es ist unklar, ob das Anliegen gelöst wurde.",
        },
    },
    "zh": {
        "greeting": ["您好，欢迎致电客服中心，请问有什么可以帮您？"],
        "issue": [
            "我的订单 {order} 一直没有发货 😟",
            "我想提交退款申请，商品有质量问题。",
            "快递显示已签收，但我没有收到包裹。",
        ],
        "agent": [
            "请稍等，我帮您查询一下订单。",
            "非常抱歉给您带来不便。",
            "我已经为您提交了退款申请，预计五个工作日内到账。",
            "麻烦您提供一下快递单号。",
            "仓库今天会安排发货。",
        ],
        "user": [
            "好的，谢谢。",
            "快递单号是 SF1234567890。",
            "退款什么时候到账？",
            "太好了，非常感谢！🙏",
            "对，没错。",
        ],
        "question": "请问还有其他可以帮您的吗？",
        "thanks": ["没有了，谢谢！"],
        "goodbye": "感谢您的来电，祝您生活愉快，再见！",
        "recap": [
            ("订单 {order} 未发货", "客户的订单 {order} 一直没有发货。"),
            ("商品质量问题退款申请", "客户因商品质量问题提交了退款申请。"),
            ("快递已签收但未收到", "快递显示已签收，但客户没有收到包裹。"),
        ],
        "action": [
            "客服查询了订单和快递单号。",
            "客服为客户提交了退款申请。",
            "客服联系仓库安排发货。",
        ],
        "outcome": {
            "success": "问题在通话中已解决。",
            "failure": "通话结束时问题未解决，需要跟进。",
            "unknown": "尚不清楚问题是否已解决。",
        },
    },
}
# Hostile content for the conversations that test escaping in the dashboard.
MARKUP_MESSAGE = "My name is <b>bold</b> and my order is <script>alert(1)</script>"
MARKUP_REPLY = 'Noted: "><img src=x onerror=alert(1)> {{ 7*7 }}'
MARKUP_FEEDBACK = "Customer typed <script>alert(1)</script>; the agent stayed <b>bold</b> and calm."
MARKUP_VALUE = "<b>bold</b><script>alert(1)</script>"
MARKUP_TITLE = "Order for <b>bold</b>"
MARKUP_SUMMARY = "The customer typed <script>alert(1)</script> and <i>markup</i> as their name."

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
