"""What the simulated members say: templates varied enough that a day of chat reads as real.

Templates use `str.format` slots: {product} {slug} {version} {feature} {city} {docs}
{issue} {mention} {n}. Texts that are used verbatim (hostile, flood) have no slots.
"""

from __future__ import annotations

FEATURES = (
    "webhooks",
    "the CLI",
    "SSO",
    "the new editor",
    "dark mode",
    "offline mode",
    "the Zapier integration",
    "audit logs",
    "scheduled exports",
    "the Python SDK",
    "role permissions",
    "the mobile app",
    "the REST API",
    "custom fields",
)

PREFIXES = ("", "", "", "", "honestly ", "ngl ", "btw ", "ok so ", "update: ", "fwiw ")
SUFFIXES = ("", "", "", "", " 😅", " 🎉", " lol", "!!", " 🙏", " 🔥", " 😂", " 👀")

CHAT = (
    "just shipped my first integration with {product} 🎉",
    "the new dashboard is so much faster",
    "lol same",
    "that release notes page is 🔥",
    "back from vacation, what did I miss",
    "morning from {city} ☕",
    "TIL you can pin messages in threads",
    "finally got the webhook working, it was a trailing slash 🤦",
    "anyone else watching the keynote later",
    "hot take: tabs > spaces",
    "the docs for {feature} are really good now",
    "I'm writing a small tutorial on {feature}, will share soon",
    "brb coffee",
    "happy friday everyone",
    "my cat just walked over the keyboard and deployed to prod",
    "{product} + Home Assistant = ❤️",
    "ok the new {feature} is a game changer",
    "does not work for me, but fine, will try again tomorrow",
    "congrats on {version} team!",
    "spent the whole day on a race condition, send help",
    "this channel is the best part of my day",
    "it's raining in {city} again, perfect coding weather",
    "pro tip: `{slug} --dry-run` before anything destructive",
    "I use arr[0] and arr[-1] everywhere and regret nothing",
    "[WIP] my {feature} plugin, feedback welcome: https://github.com/{slug}-fan/{slug}-plugin",
    "just noticed {feature} landed in {version}, nice",
    "who else is at the conference in {city} this week",
    "going to sleep, it's way too late here 😴",
    "lunch break, then back to fighting CSS",
    "the onboarding flow is much smoother than last year",
    "finally migrated our team, {n} people onboarded",
    "wow the changelog for {version} is long",
    "small win: our nightly sync now takes 4 min instead of 40",
    "anyone up for a pairing session later",
    "sharing a screenshot of my setup (dark mode + {feature})",
    "my boss finally approved the upgrade 🥳",
    "rate limits hit me again, time to add a cache",
    "I'll be at the {city} meetup, say hi",
)

GREETINGS = (
    "gm",
    "gm ☀️",
    "gm gm",
    "good morning from {city} 🌅",
    "morning all",
    "hey everyone 👋",
    "hello hello",
    "gn everyone 🌙",
    "yo",
    "hi all, happy {day}",
)

# topic -> (questions, answers); every question ends with "?"
QA: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "api_key": (
        (
            "how do I reset my API key?",
            "where do I find my API key in the new dashboard?",
            "is it safe to commit my API key if the repo is private?",
            "my API key stopped working after I changed my password, is that expected?",
        ),
        (
            "Settings → API → Regenerate. The old key stops working right away, so update your env first.",
            "It moved to Settings → Developer in {version}.",
            "Please don't commit it, private repos leak too. Use an env var or the secrets store: {docs}/secrets",
            "Yes, a password change rotates keys. Regenerate and you're good.",
        ),
    ),
    "webhook": (
        (
            "anyone else getting 401 on webhooks since this morning?",
            "why does my webhook fire twice for the same event?",
            "how do I verify the webhook signature in Node?",
            "is there a way to replay failed webhook deliveries?",
        ),
        (
            "Check the clock on your server, signatures expire after 5 min. NTP fixed it for me.",
            "Retries: answer 2xx within 10 s or it redelivers. Make the handler idempotent on the event id.",
            "There's a snippet in the docs: {docs}/webhooks#verify — use the raw body, not the parsed JSON.",
            "Yes: Developer → Webhooks → Deliveries, select the failed ones and hit Replay.",
        ),
    ),
    "selfhost": (
        (
            "docker compose up fails with 'port 5432 already in use', what am I missing?",
            "can I run the self-hosted version on a Raspberry Pi?",
            "what's the minimum RAM for self-hosting?",
            "how do I put the self-hosted version behind nginx with HTTPS?",
        ),
        (
            "You already have a Postgres running locally. Stop it or change the port mapping to 5433:5432.",
            "Pi 4 with 4 GB works fine, use the arm64 image.",
            "2 GB is the minimum, 4 GB if you enable search.",
            "There's a sample nginx.conf in the repo under deploy/, just swap in your domain.",
        ),
    ),
    "migrate": (
        (
            "is there a guide for migrating from v1 to v2?",
            "will my old plugins still work after upgrading to {version}?",
            "can I roll back if the migration goes wrong?",
        ),
        (
            "Yes: {docs}/migrate-v2 — run the checker first, it lists what breaks.",
            "Most do. Anything using the old auth hook needs a one-line change, see the changelog.",
            "Take a snapshot first; the migration is one transaction so a failure leaves you on v1.",
        ),
    ),
    "limits": (
        (
            "what are the rate limits on the free tier?",
            "getting 429 Too Many Requests when I sync, how do I back off properly?",
            "is there a limit on the number of seats?",
        ),
        (
            "60 requests/min per key on free, 600 on Pro. Headers tell you what's left.",
            "Respect Retry-After, and add jitter. The SDK does it for you if you pass retries=5.",
            "No hard limit on seats, billing is per active user.",
        ),
    ),
    "access": (
        (
            "does SSO work with Azure AD or only Google?",
            "how do I add a teammate without giving them admin?",
            "can I restrict a member to one project?",
        ),
        (
            "Azure AD works, it's SAML under the hood. Guide: {docs}/sso/azure",
            "Invite them as Member, not Admin. Roles are under Settings → Team.",
            "Yes with project roles (Pro plan): give them Viewer everywhere and Editor on that one.",
        ),
    ),
    "export": (
        (
            "how can I export all my data as CSV?",
            "is there a way to schedule exports?",
            "does the export include deleted items?",
        ),
        (
            "Settings → Data → Export, pick CSV. Big workspaces get an email link.",
            "Scheduled exports shipped in {version}, it's in the same menu.",
            "Only if you tick 'include archived', deleted items are purged after 30 days.",
        ),
    ),
    "bot": (
        (
            "the bot is not responding in my server, did I miss a permission?",
            "how do I make the bot post only in one channel?",
            "can the bot DM new members automatically?",
        ),
        (
            "It needs Read Message History + Send Messages in that channel. Re-invite with the link in {docs}/bot",
            "Use /config channel #your-channel, it ignores the rest after that.",
            "Yes, turn on 'welcome DM' in the dashboard. Keep it short or people mute it 😄",
        ),
    ),
    "billing": (
        (
            "if I downgrade mid-month do I get a refund?",
            "do you have a discount for students or nonprofits?",
        ),
        (
            "You get prorated credit, not cash. It shows on the next invoice.",
            "Yes, 50% for nonprofits and free for students. Email the team with proof.",
        ),
    ),
    "roadmap": (
        (
            "is dark mode on the roadmap?",
            "when is the mobile app coming out?",
            "will there be an official Terraform provider?",
        ),
        (
            "Dark mode is already in beta, toggle it under Labs.",
            "Public beta next month according to the last community call.",
            "There's a community one that works well: https://github.com/{slug}-community/terraform-provider-{slug}",
        ),
    ),
}

THANKS_AFTER_ANSWER = (
    "that worked, thank you!",
    "thanks!! 🙏",
    "omg it was that simple, thanks",
    "perfect, thank you so much",
    "ahh I see, thanks a lot",
    "works now ✅",
    "you're a lifesaver",
)

BUGS = (
    "bug: the export button does nothing on Firefox (screenshot attached)",
    "after updating to {version} the CLI crashes with `KeyError: 'token'`",
    "sync is stuck at 99% since yesterday, logs: https://pastebin.com/raw/{code}",
    "found a bug: reminders are off by one hour for Europe/Berlin since the DST change",
    "the mobile app logs me out every time I switch apps",
    "search returns nothing for words with accents like café",
    "uploading a file over 10 MB fails silently, no error shown",
    "the API returns 500 when the name contains an emoji 🙃",
)

BUG_REPLIES = (
    "thanks for the report! can you open an issue with the logs? {issue}",
    "known issue, the fix is in {version}, should land this week",
    "can reproduce on my side too, filed it: {issue}",
    "which OS and version? I can't reproduce on macOS",
    "workaround for now: clear the cache and log in again",
)

IDEAS = (
    "feature idea: let us mute a channel for 1h from the mobile app",
    "would love a keyboard shortcut to jump to unread",
    "idea: weekly digest email of the top threads",
    "please add an API endpoint for bulk invites 🙏",
    "it would be great if {feature} supported custom templates",
    "suggestion: show the member's local time on their profile",
    "can we get a 'mark all as read' button, pretty please",
)

IDEA_REPLIES = (
    "+1, I need this too",
    "you can hack it with a webhook for now",
    "upvoted on the board: https://feedback.{slug}.io/p/{code}",
    "this would save me so much time",
    "+1",
    "we built something like that internally, happy to share",
)

MEMES = (
    "when the build passes on the first try 😳",
    "me explaining to my boss why we need one more integration 📈",
    "POV: you finally read the docs",
    "it's not a bug, it's a feature 🐛✨",
    "prod on a friday, what could go wrong",
    "my code vs the code review 🥲",
    "404: motivation not found",
)

LINKS = (
    "wrote a blog post about {feature}: https://dev.to/{handle}/{slug}-{feature_slug}",
    "nice talk on community building: https://www.youtube.com/watch?v={code}",
    "the {version} changelog is up: https://{slug}.io/changelog",
    "this thread on HN about {product} is wild https://news.ycombinator.com/item?id={n}",
    "made a cheat sheet for {feature}: https://gist.github.com/{handle}/{code}",
)

THANKS = (
    "thanks @{mention} that fixed it 🙏",
    "huge thanks to @{mention} for the walkthrough yesterday",
    "you're a legend @{mention}",
    "shoutout to @{mention} for the help earlier 🙌",
)

ANNOUNCEMENTS = (
    "📢 {product} {version} is out! Highlights: {feature}, faster sync and 40 bug fixes. Changelog: https://{slug}.io/changelog",
    "Community call this Thursday 15:00 UTC: roadmap Q&A with the team. Calendar link: https://{slug}.io/events",
    "🎉 We just passed {n} members! Thank you all for making this place so helpful",
    "Scheduled maintenance on Sunday 02:00–03:00 UTC, the API may be slow during that window",
    "Hackathon kicks off next week, prizes for the best {feature} projects. Sign up: https://{slug}.io/hack",
    "New regional channels for Indonesia, Brazil and Nigeria 🌍 come say hi in your language",
    "Reminder: never share your API key, the team will never DM you first asking for it 🔒",
)

THREAD_STARTERS = (
    "🧵 Weekly help thread: post your {feature} questions here and I'll go through them",
    "I wrote a guide on setting up {feature} with Docker: https://{handle}.dev/guides/{feature_slug}",
    "Show & tell: what did you build this week?",
    "Tips thread: 5 things I wish I knew about {feature} on day one",
    "[Guide] Migrating from v1 to v2 without downtime",
    "Poll: which integration should the community build next? 1️⃣ Notion 2️⃣ Linear 3️⃣ Jira",
    "Recap of yesterday's community call, with timestamps 👇",
    "Office hours in 30 min, bring your {feature} problems",
)

THREAD_REPLIES = (
    "this is gold, thanks",
    "bookmarked 🔖",
    "step 3 didn't work for me on Windows, had to use WSL",
    "can you add a section on {feature}",
    "built a small dashboard for my team with this, screenshot incoming",
    "+1 to Notion",
    "great writeup",
    "saving this for the weekend",
    "I'd add: always pin the version in CI",
    "Jira please 🙏",
    "joining!",
    "this answered 3 of my questions at once",
)

KOC_TIPS = (
    "tip: {feature} has a hidden setting for batch mode, see {docs}/advanced",
    "reminder that the {version} upgrade needs the new env var, a few people got stuck on that today",
    "if you're seeing 429s, the SDK retry option is your friend",
    "made a template for {feature}, grab it here: https://github.com/{handle}/{slug}-templates",
    "heads up: the docs search is much better now, try it before asking 😉",
)

FLOOD = (
    "gm",
    "lol",
    "🚀",
    "🚀🚀🚀",
    "wen moon",
    "+1",
    "first",
    "ok",
    "nice",
    "🔥",
    "same",
    "W",
    "lfg",
    "hahahaha",
    "^",
    "bump",
    "👀",
    "gm gm gm",
    "💎🙌",
)

NEWCOMER = (
    "hi everyone 👋 just joined from {city}",
    "hello! found you via the {product} blog, excited to be here",
    "hey all, new here. I'm building a {feature} thing for my team",
    "hi! long time lurker on GitHub, first time here",
)

WELCOME_STAFF = (
    "welcome @{mention}! 👋 #help is the place if you get stuck",
    "hey @{mention}, glad to have you here! what are you building?",
    "welcome aboard @{mention} 🎉",
)

WELCOME_BOT = (
    "Welcome to the server, @{mention}! Please read #rules and pick your roles in #roles 🎉"
)

RELEASE_BOT = "[{slug}/{slug}] New release published: {version} — https://github.com/{slug}/{slug}/releases/tag/{version}"

EDIT_SUFFIXES = (" (edit: fixed link)", " (edited)", " — nvm, found it", " *typo")

# Hostile text a troll posts; kept verbatim, the display layer neutralises it.
HOSTILE = (
    "[bold red]FREE[/] giveaway for the first 100 people, [link=http://x]click here[/link]",
    "\x1b[31mALERT\x1b[0m your account will be suspended, verify now",
    "check this picture: photo\u202egnp.exe",
    "ad\u200bmin here, DM me your API key to get verified",
    "[blink]you have been hacked[/blink] @everyone",
    "\x1b[2J\x1b[Hcleared your screen lol",
    "\x1b]8;;http://evil.example\x1b\\totally the docs\x1b]8;;\x1b\\",
    "n\u200bi\u200bt\u200br\u200bo for everyone \u2066[reversed]\u2069",
    "[/] [/bold] [link=file:///etc/passwd]open[/link] \u200f\u200e",
)

HOSTILE_NAMES = (
    "[red]admin[/red]",
    "Moderator\u202e",
    "\x1b[5mSYSTEM\x1b[0m",
    "S\u200bupport",
    "z̴̢a̵l̷g̸o̶",
)

SCAM = (
    "🎁 FREE DISCORD NITRO for 3 months! Claim before it expires: https://dlscord-nitro.gift/claim?ref={code} @everyone",
    "🚀 {product} airdrop is LIVE, connect your wallet to claim 500 tokens: https://claim-{slug}-airdrop.xyz/?r={code} @everyone",
    "free nitro giveaway, only today 👉 https://steamcommunlty.gift/{code}",
)

SCAM_BOT = (
    "Hello! I am the support bot 🤖 DM me to claim your airdrop reward: https://claim-support-desk.xyz/?id={code}",
    "👋 welcome gift for new members: free nitro, claim your code here https://dlscord-gifts.link/{code}",
    "verify your account to keep access, message me or go to https://verify-member-portal.top/{code}",
)

SCAM_BOT_NAMES = ("Support Bot 🤖", "Welcome Gift", "Verification Desk", "Member Rewards")

SCAM_NAMES = (
    "Nitro Giveaway 🎁",
    "Airdrop Support ✅",
    "Official Support",
    "claim-bot",
    "Crypto Daily 💰",
    "Mod Team",
)

# Local-language lines: (chat, questions, answers). Questions end with a question mark
# as people really type it (Japanese "？", Arabic "؟" included).
LOCAL: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "id": (
        (
            "selamat pagi semua ☀️",
            "mantap, update-nya cepet banget 🔥",
            "makasih banyak kak 🙏",
            "wkwkwk",
            "siap, nanti aku coba",
        ),
        (
            "gimana cara reset API key ya?",
            "ada yang dari Bandung juga?",
            "webhook-ku error 401 terus, kenapa ya?",
        ),
        (
            "Coba regenerate key-nya di Settings → API, terus restart app-nya ya 🙏",
            "Cek jam server kak, harus sinkron (NTP).",
        ),
    ),
    "pt": (
        ("bom dia galera!", "valeu demais 🙏", "kkkkkk", "que update incrível", "partiu codar"),
        ("alguém sabe como configurar o webhook?", "dá pra exportar tudo em CSV?"),
        (
            "Vai em Settings → Webhooks, cola a URL e testa com o botão Ping.",
            "Dá sim: Settings → Data → Export.",
        ),
    ),
    "de": (
        (
            "Moin zusammen",
            "Danke, hat geklappt!",
            "Das neue Dashboard ist richtig gut",
            "Feierabend 🍺",
        ),
        ("hat jemand das gleiche Problem mit dem Login?", "gibt es eine deutsche Doku?"),
        (
            "Ja, Cache leeren und neu einloggen hilft.",
            "Noch nicht, aber die englische ist sehr gut.",
        ),
    ),
    "ja": (
        (
            "おはようございます！",
            "新しいバージョン、めっちゃ速い🔥",
            "ありがとうございます🙏",
            "了解です",
        ),
        ("APIキーの再発行ってどこでできますか？", "セルフホストでも使えますか?"),
        ("設定 → API → 再発行 でできますよ。", "はい、Dockerイメージがあります。"),
    ),
    "hi": (
        ("नमस्ते सबको 🙏", "bahut badhiya update hai bhai", "dhanyavaad!", "sahi hai 🔥"),
        ("क्या कोई webhook setup में मदद कर सकता है?", "bhai free tier ki limit kitni hai?"),
        (
            "Settings → Webhooks में URL डालो, फिर Ping से test करो।",
            "60 requests per minute hai free pe.",
        ),
    ),
    "tl": (
        (
            "Magandang umaga po!",
            "salamat po sa tulong 🙏",
            "grabe ang bilis na ngayon",
            "hahaha totoo",
        ),
        ("paano po i-reset yung API key?", "may meetup po ba sa Manila?"),
        ("Sa Settings → API po, tapos Regenerate.", "Meron po, next month sa BGC!"),
    ),
    "ne": (
        ("नमस्ते साथीहरू", "धन्यवाद दाइ 🙏", "एकदम राम्रो अपडेट"),
        ("API key कहाँ पाइन्छ?",),
        ("Settings → API मा छ दाइ।",),
    ),
    "fr": (
        (
            "salut tout le monde",
            "merci beaucoup !",
            "trop bien la nouvelle version",
            "bon appétit 🥐",
        ),
        ("quelqu'un a déjà testé le SSO avec Azure ?", "il y a une doc en français ?"),
        ("Oui ça marche, suis le guide SAML.", "Pas encore, mais la communauté traduit."),
    ),
    "es": (
        ("buenos días a todos ☀️", "gracias crack 🙌", "jajaja", "qué buena actualización"),
        ("¿alguien sabe cómo exportar a CSV?", "¿hay meetup en CDMX?"),
        ("En Settings → Data → Export, eliges CSV.", "¡Sí! El mes que viene en Roma Norte."),
    ),
    "sw": (
        ("Habari za asubuhi wote", "asante sana 🙏", "poa sana"),
        ("kuna mtu anajua jinsi ya kuweka webhook?",),
        ("Nenda Settings → Webhooks, weka URL yako.",),
    ),
    "ko": (
        ("안녕하세요 👋", "업데이트 너무 좋네요", "감사합니다!"),
        ("API 키는 어디서 재발급하나요?",),
        ("설정 → API 에서 재발급할 수 있어요.",),
    ),
    "ar": (
        ("صباح الخير جميعاً", "شكراً جزيلاً 🙏", "تحديث رائع"),
        ("هل يعمل تسجيل الدخول الموحد مع Azure؟",),
        ("نعم، اتبع دليل SAML في التوثيق.",),
    ),
    "vi": (
        ("chào buổi sáng mọi người", "cảm ơn bạn nhiều nha", "bản cập nhật xịn quá"),
        ("có ai biết cách xuất dữ liệu ra CSV không?",),
        ("Vào Settings → Data → Export là được nha.",),
    ),
    "tr": (
        ("Günaydın herkese", "çok teşekkürler 🙏", "harika güncelleme"),
        ("webhook imzasını nasıl doğrularım?",),
        ("Dokümanda örnek var, ham body ile doğrula.",),
    ),
    "pcm": (
        ("How far guys 😂", "e don work! thank you o 🙏", "omo this update sweet die", "no wahala"),
        ("Abeg who fit help me with this webhook wahala?", "una get meetup for Lagos?"),
        ("Check your server time, na the signature dey expire.", "Yes o, next month for Yaba!"),
    ),
}

EMOJI = {
    "discord": ("👍", "❤️", "😂", "🔥", "🎉", "👀", "🙏", "💯", "✅", "🚀"),
    "telegram": ("👍", "❤️", "🔥", "😁", "🎉", "🙏", "👏", "🤩"),
    "whatsapp": ("👍", "❤️", "😂", "😮", "🙏", "😢"),
    "slack": (
        ":+1:",
        ":heart:",
        ":joy:",
        ":fire:",
        ":tada:",
        ":eyes:",
        ":pray:",
        ":white_check_mark:",
    ),
    "discourse": ("heart", "+1", "laughing", "open_mouth", "clap", "confetti_ball"),
}

# How a favourite emoji is written where reactions are names rather than characters.
_EMOJI_NAMES = {
    "slack": {"👍": ":+1:", "❤️": ":heart:", "😂": ":joy:", "🔥": ":fire:", "🎉": ":tada:",
              "👀": ":eyes:", "🙏": ":pray:", "✅": ":white_check_mark:", "👋": ":wave:"},
    "discourse": {"👍": "+1", "❤️": "heart", "😂": "laughing", "🎉": "confetti_ball",
                  "👀": "open_mouth", "👋": "clap", "🔥": "heart", "🙏": "heart", "✅": "heart"},
}  # fmt: skip


def emoji_for(platform: str, emoji: str) -> str:
    return _EMOJI_NAMES.get(platform, {}).get(emoji, emoji)
