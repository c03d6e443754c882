"""The simulated membership: regions, names, handles, platform identities and planted personas.

Everything is drawn from a `random.Random` passed in, so one seed always gives the same people.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

PLATFORMS = ("discord", "telegram", "whatsapp", "slack", "discourse")

# role names; weight is how often a member starts something
LURKER, CASUAL, REGULAR, HEAVY = "lurker", "casual", "regular", "heavy"
KOC, FLOODER, CORE, STAFF, TROLL, BOT, NEWCOMER, SPAMMER, RAIDER = (
    "koc",
    "flooder",
    "core",
    "staff",
    "troll",
    "bot",
    "newcomer",
    "spammer",
    "raider",
)

FOREVER = 1 << 62


@dataclass(frozen=True, slots=True)
class Region:
    zone: str
    share: float
    lang: str  # key into texts.LOCAL, "en" for English only
    phone: str  # country calling code
    first: tuple[str, ...]  # "Native|ascii" where the two differ
    last: tuple[str, ...]
    platforms: tuple[float, float, float, float, float]  # preference, in PLATFORMS order
    cities: tuple[str, ...]


_WEST = (0.55, 0.05, 0.03, 0.22, 0.15)
_SEA = (0.35, 0.35, 0.2, 0.03, 0.07)
_AFRICA = (0.3, 0.25, 0.35, 0.03, 0.07)
_LATAM = (0.4, 0.2, 0.3, 0.03, 0.07)
_SOUTH_ASIA = (0.35, 0.3, 0.2, 0.08, 0.07)
_EAST_ASIA = (0.6, 0.05, 0.0, 0.2, 0.15)
_MIDDLE = (0.45, 0.3, 0.15, 0.05, 0.05)

REGIONS: tuple[Region, ...] = (
    Region("Asia/Jakarta", 0.12, "id", "62",
           ("Budi", "Siti", "Dewi", "Agus", "Rina", "Putri", "Fajar", "Ayu", "Rizky", "Indah", "Wahyu", "Nur"),
           ("Santoso", "Rahayu", "Lestari", "Pratama", "Wulandari", "Anggraini", "Nugroho", "Kartika", "Ramadhan", "Saputra"),
           _SEA, ("Jakarta", "Bandung", "Surabaya", "Yogyakarta")),
    Region("Africa/Lagos", 0.10, "pcm", "234",
           ("Chinedu", "Ngozi", "Oluwaseun", "Adaeze", "Tunde", "Funmilayo", "Emeka", "Aisha", "Ifeoma", "Segun"),
           ("Okafor", "Adeyemi", "Bakare", "Eze", "Balogun", "Ogunleye", "Nwosu", "Bello", "Okoro"),
           _AFRICA, ("Lagos", "Abuja", "Ibadan", "Port Harcourt")),
    Region("Europe/Berlin", 0.07, "de", "49",
           ("Jürgen|Juergen", "Lena", "Felix", "Sophie", "Lukas", "Anna", "Maximilian", "Jana", "Björn|Bjoern"),
           ("Müller|Mueller", "Schäfer|Schaefer", "Weiß|Weiss", "Köhler|Koehler", "Becker", "Groß|Gross", "Hoffmann", "Krüger|Krueger"),
           _WEST, ("Berlin", "Hamburg", "München", "Köln")),
    Region("America/Sao_Paulo", 0.09, "pt", "55",
           ("João|Joao", "Ana Luíza|Ana Luiza", "Gabriel", "Mariana", "Lucas", "Beatriz", "Thiago", "Letícia|Leticia"),
           ("Silva", "Souza", "Conceição|Conceicao", "Gonçalves|Goncalves", "Araújo|Araujo", "Fernandes", "Lima", "Oliveira"),
           _LATAM, ("São Paulo", "Rio", "Belo Horizonte", "Recife")),
    Region("America/Los_Angeles", 0.07, "en", "1",
           ("Emily", "Jake", "Maria", "Kevin", "Ashley", "Tyler", "Jordan", "Megan", "Brandon"),
           ("Nguyen", "Thompson", "Garcia", "Park", "Rodriguez", "Kim", "Chen", "Lopez"),
           _WEST, ("San Francisco", "LA", "Seattle", "Portland")),
    Region("Asia/Kolkata", 0.12, "hi", "91",
           ("Priya", "Arjun", "Ananya", "Rahul", "Sneha", "Vikram", "Aditi", "Karthik", "Pooja", "प्रिया|Priya"),
           ("Sharma", "Patel", "Iyer", "Verma", "Reddy", "Nair", "Gupta", "Menon", "शर्मा|Sharma"),
           _SOUTH_ASIA, ("Bengaluru", "Mumbai", "Pune", "Hyderabad", "Delhi")),
    Region("Asia/Tokyo", 0.04, "ja", "81",
           ("健|Ken", "美咲|Misaki", "翔|Sho", "さくら|Sakura", "Yuki", "Haruto", "陽菜|Hina"),
           ("佐藤|Sato", "鈴木|Suzuki", "高橋|Takahashi", "田中|Tanaka", "Watanabe", "Ito"),
           _EAST_ASIA, ("Tokyo", "Osaka", "Fukuoka")),
    Region("Australia/Sydney", 0.03, "en", "61",
           ("Liam", "Chloe", "Jack", "Matilda", "Olivia", "Noah", "Harper"),
           ("Wilson", "Taylor", "Brown", "Smith", "Martin", "Nguyen", "White"),
           _WEST, ("Sydney", "Melbourne", "Brisbane")),
    Region("America/New_York", 0.08, "en", "1",
           ("Michael", "Jessica", "David", "Aaliyah", "Chris", "Sarah", "Marcus", "Rachel"),
           ("Johnson", "Williams", "Cohen", "Brown", "Rivera", "Miller", "Davis", "O'Connor|OConnor"),
           _WEST, ("New York", "Boston", "Philly", "Toronto")),
    Region("Europe/London", 0.06, "en", "44",
           ("Oliver", "Amelia", "Harry", "Isla", "George", "Siobhán|Siobhan", "Freddie", "Poppy"),
           ("Smith", "Jones", "Patel", "Evans", "O'Brien|OBrien", "Murphy", "Khan", "Taylor"),
           _WEST, ("London", "Manchester", "Leeds", "Dublin")),
    Region("Asia/Manila", 0.06, "tl", "63",
           ("Juan", "Maria", "Jose", "Angelica", "Mark", "Kristine", "Paolo", "Jasmine"),
           ("dela Cruz|delacruz", "Santos", "Reyes", "Bautista", "Villanueva", "Mendoza", "Garcia"),
           _SEA, ("Manila", "Cebu", "Davao", "Quezon City")),
    Region("Asia/Kathmandu", 0.03, "ne", "977",
           ("Aashish", "Sita", "Bikash", "Pooja", "Suman", "सीता|Sita", "Prakash"),
           ("Shrestha", "Gurung", "Thapa", "Adhikari", "Tamang", "गुरुङ|Gurung"),
           _SOUTH_ASIA, ("Kathmandu", "Pokhara", "Lalitpur")),
    Region("Europe/Paris", 0.03, "fr", "33",
           ("Camille", "Théo|Theo", "Zoé|Zoe", "Hugo", "Léa|Lea", "Louis"),
           ("Lefèvre|Lefevre", "Dubois", "Moreau", "Laurent", "Girard"),
           _WEST, ("Paris", "Lyon", "Nantes")),
    Region("America/Mexico_City", 0.03, "es", "52",
           ("José|Jose", "Sofía|Sofia", "Diego", "Valentina", "Carlos", "Ximena"),
           ("Hernández|Hernandez", "Martínez|Martinez", "López|Lopez", "González|Gonzalez", "Ramírez|Ramirez"),
           _LATAM, ("CDMX", "Guadalajara", "Monterrey")),
    Region("Africa/Nairobi", 0.02, "sw", "254",
           ("Wanjiru", "Otieno", "Achieng", "Kamau", "Njeri", "Baraka"),
           ("Kamau", "Odhiambo", "Mwangi", "Kiprop", "Wambui"),
           _AFRICA, ("Nairobi", "Mombasa")),
    Region("Asia/Seoul", 0.02, "ko", "82",
           ("민준|Minjun", "서연|Seoyeon", "Ji-ho|Jiho", "Hyun"),
           ("김|Kim", "이|Lee", "Park", "Choi"),
           _EAST_ASIA, ("Seoul", "Busan")),
    Region("Asia/Dubai", 0.01, "ar", "971",
           ("Omar", "Fatima", "عمر|Omar", "Layla", "Yousef"),
           ("Haddad", "Al-Sayed|AlSayed", "حداد|Haddad", "Nasser"),
           _MIDDLE, ("Dubai", "Abu Dhabi")),
    Region("Asia/Ho_Chi_Minh", 0.01, "vi", "84",
           ("An", "Mai", "Minh", "Linh", "Huy"),
           ("Nguyễn|Nguyen", "Trần|Tran", "Lê|Le", "Phạm|Pham"),
           _SEA, ("Saigon", "Hanoi")),
    Region("Europe/Istanbul", 0.01, "tr", "90",
           ("Elif", "Mehmet", "Zeynep", "Emre", "Ayşe|Ayse"),
           ("Yılmaz|Yilmaz", "Öztürk|Ozturk", "Demir", "Şahin|Sahin"),
           _MIDDLE, ("İstanbul", "Ankara", "İzmir")),
)  # fmt: skip

ZONES: tuple[str, ...] = tuple(r.zone for r in REGIONS)


@dataclass(slots=True, eq=False)
class Account:
    """A member as one platform sees them."""

    member: Member
    platform: str
    author_id: str
    handle: str | None
    display: str
    is_bot: bool = False


@dataclass(slots=True, eq=False)
class Member:
    index: int
    name: str
    ascii_name: str
    region: int  # index into REGIONS
    community: int
    role: str
    weight: float
    owl: bool = False
    joined_us: int = -FOREVER
    until_us: int = FOREVER  # silent (left, banned or gone quiet) from then on
    accounts: list[Account] = field(default_factory=list)

    def account(self, platform: str) -> Account | None:
        for acct in self.accounts:
            if acct.platform == platform:
                return acct
        return None


@dataclass(frozen=True, slots=True)
class Persona:
    name: str
    handle: str
    zone: str
    platforms: tuple[str, ...]
    role: str


PERSONAS: tuple[Persona, ...] = (
    Persona("Rina Wulandari", "rinaw", "Asia/Jakarta", ("discord", "telegram"), KOC),
    Persona("Chinedu Okafor", "chinedu.dev", "Africa/Lagos", ("discord", "whatsapp"), KOC),
    Persona("Lena Schäfer", "lenaschaefer", "Europe/Berlin", ("discourse", "discord"), KOC),
    Persona("Ana Luíza Souza", "analu", "America/Sao_Paulo", ("telegram", "slack"), KOC),
    Persona("Priya Raghunathan", "priya_r", "Asia/Kolkata", ("slack", "discourse"), KOC),
    Persona("渡辺 健二", "kenji_w", "Asia/Tokyo", ("discord",), KOC),
    Persona("Maria Santos", "mariasantos", "Asia/Manila", ("whatsapp", "telegram"), KOC),
    Persona("Gary 🚀", "gm_gary", "America/New_York", ("discord",), FLOODER),
    Persona("Sofía Martínez", "sofi_codes", "America/Mexico_City", ("discord", "discourse"), CORE),
    Persona("Mira Okonkwo (Team)", "mira_team", "Europe/London", PLATFORMS, STAFF),
    Persona("z̴̢a̵l̷g̸o̶ [red]", "v0id_walker", "America/Los_Angeles", ("discord", "telegram"), TROLL),
    Persona("Carl-bot", "carl-bot", "Europe/London", ("discord",), BOT),
    Persona("GitHub", "github", "America/Los_Angeles", ("discord", "slack"), BOT),
)

PLANTED_KOCS: list[str] = [p.handle for p in PERSONAS if p.role == KOC]
"""Handles of the planted key contributors (on WhatsApp, where there are no handles, their name)."""
PLANTED_KOC_NAMES: list[str] = [p.name for p in PERSONAS if p.role == KOC]
FLOODER_HANDLE = "gm_gary"
QUIET_CORE_MEMBER = "sofi_codes"
QUIET_DAYS = 35


def split_name(entry: str) -> tuple[str, str]:
    """'Native|ascii' -> both; a Latin name's ASCII form drops its accents."""
    if "|" in entry:
        native, ascii_form = entry.split("|", 1)
        return native, ascii_form
    folded = unicodedata.normalize("NFKD", entry).encode("ascii", "ignore").decode()
    return entry, folded


def _slug(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


class IdMaker:
    """Platform-shaped user and channel ids, unique per platform and kind."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: dict[str, set[str]] = {}
        self.discourse_next = 1

    def _unique(self, space: str, make: Callable[[], object]) -> str:
        used = self.used.setdefault(space, set())
        while True:
            value = str(make())
            if value not in used:
                used.add(value)
                return value

    def _discourse_user(self) -> int:
        self.discourse_next += self.rng.randrange(1, 4)  # sequential, with gaps for deleted users
        return self.discourse_next

    def user(self, platform: str, phone: str) -> str:
        rng = self.rng
        space = f"user:{platform}"
        if platform == "discord":
            return self._unique(space, lambda: rng.randrange(10**17, 13 * 10**17))
        if platform == "telegram":
            return self._unique(space, lambda: rng.randrange(100_000_000, 7_999_999_999))
        if platform == "whatsapp":
            return self._unique(space, lambda: f"+{phone}{rng.randrange(10**8, 10**10)}")
        if platform == "slack":
            return self._unique(space, lambda: "U0" + "".join(rng.choices(_ALNUM, k=9)))
        return self._unique(space, self._discourse_user)

    def channel(self, platform: str) -> str:
        rng = self.rng
        space = f"channel:{platform}"
        if platform == "discord":
            return self._unique(space, lambda: rng.randrange(8 * 10**17, 12 * 10**17))
        if platform == "telegram":
            return self._unique(space, lambda: f"-100{rng.randrange(10**9, 10**10)}")
        if platform == "whatsapp":
            return self._unique(space, lambda: f"1203630{rng.randrange(10**10, 10**11)}@g.us")
        if platform == "slack":
            return self._unique(space, lambda: "C0" + "".join(rng.choices(_ALNUM, k=9)))
        return self._unique(space, lambda: rng.randrange(3, 10_000))


_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


class HandleBook:
    """Handles stay unique per platform; a clash gets a number, as on real sign-up forms."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.taken: dict[str, set[str]] = {p: set() for p in PLATFORMS}

    def claim(self, platform: str, wanted: str) -> str:
        taken = self.taken[platform]
        handle, tries = wanted, 0
        while handle in taken:
            tries += 1
            handle = f"{wanted}{self.rng.randrange(2, 999 if tries < 20 else 10**9)}"
        taken.add(handle)
        return handle

    def invent(self, first: str, last: str) -> str:
        f, la = _slug(first) or "user", _slug(last) or "x"
        pattern = self.rng.randrange(9)
        return (
            f"{f}{la}",
            f"{f}_{la}",
            f"{f}.{la[0]}",
            f"{f}{self.rng.randrange(1, 99)}",
            f"{la}{f[0]}",
            f"the{f}",
            f"{f}_dev",
            f"{f}{la[:3]}",
            f"{f[:3]}{la[:3]}{self.rng.randrange(70, 100)}",
        )[pattern]

    def variant(self, handle: str) -> str:
        """The same person's handle on another platform: similar, often identical."""
        pick = self.rng.randrange(6)
        if pick < 2:
            return handle
        if pick == 2:
            return handle.replace("_", "").replace(".", "")
        if pick == 3:
            return handle.replace(".", "_") if "." in handle else handle + "_"
        if pick == 4:
            return f"{handle}{self.rng.randrange(1, 30)}"
        return f"real{handle}"


def _display(rng: random.Random, first: str, last: str, handle: str) -> str:
    pick = rng.random()
    if pick < 0.55:
        return f"{first} {last}"
    if pick < 0.72:
        return first
    if pick < 0.82:
        return f"{first} {last[:1]}."
    if pick < 0.9:
        return f"{first} {rng.choice(('🌸', '🚀', '☕', '🎧', '🌴', '⚡', '🐍', '✨'))}"
    return handle


def _weight(rng: random.Random) -> tuple[str, float]:
    """Heavy-tailed: most lurk, some chat, a few carry the conversation."""
    r = rng.random()
    if r < 0.5:
        return LURKER, 0.04
    if r < 0.85:
        return CASUAL, rng.lognormvariate(0.0, 0.6)
    if r < 0.97:
        return REGULAR, 3.0 + 2.0 * rng.paretovariate(2.0)
    return HEAVY, min(80.0, 12.0 * rng.paretovariate(1.5))


def _pick_platforms(rng: random.Random, region: Region, role: str) -> tuple[str, ...]:
    first = rng.choices(PLATFORMS, weights=region.platforms)[0]
    two = rng.random() < (0.35 if role in (REGULAR, HEAVY) else 0.12)
    if not two:
        return (first,)
    weights = [
        0.0 if p == first else w + 0.05 for p, w in zip(PLATFORMS, region.platforms, strict=True)
    ]
    return (first, rng.choices(PLATFORMS, weights=weights)[0])


@dataclass(slots=True)
class Population:
    members: list[Member]
    koc_weight: float

    def by_handle(self, handle: str) -> list[Member]:
        return [m for m in self.members if any(a.handle == handle for a in m.accounts)]


def build_population(
    rng: random.Random, total: int, communities: int, now_us: int, ids: IdMaker, handles: HandleBook
) -> Population:
    """`total` members split over the communities; the personas live in the first one."""
    members: list[Member] = []
    zone_index = {r.zone: i for i, r in enumerate(REGIONS)}
    personas: list[Member] = []
    for n, persona in enumerate(PERSONAS):  # first, so their handles are theirs
        region_i = zone_index[persona.zone]
        member = Member(n, persona.name, persona.handle, region_i, 0, persona.role, 0.0)
        if persona.role == CORE:
            member.until_us = now_us - QUIET_DAYS * 86_400_000_000
        for platform in persona.platforms:
            handle = None if platform == "whatsapp" else handles.claim(platform, persona.handle)
            user_id = ids.user(platform, REGIONS[region_i].phone)
            member.accounts.append(
                Account(member, platform, user_id, handle, persona.name, persona.role == BOT)
            )
        personas.append(member)
    taken_names = {p.name for p in PERSONAS}
    region_weights = [r.share for r in REGIONS]
    regular_weight = 0.0
    for i in range(len(PERSONAS), max(total, len(PERSONAS))):
        region_i = rng.choices(range(len(REGIONS)), weights=region_weights)[0]
        region = REGIONS[region_i]
        while True:
            first, first_a = split_name(rng.choice(region.first))
            last, last_a = split_name(rng.choice(region.last))
            if f"{first} {last}" not in taken_names:
                break
        role, weight = _weight(rng)
        member = Member(
            index=i,
            name=f"{first} {last}",
            ascii_name=f"{first_a} {last_a}",
            region=region_i,
            community=i % communities,
            role=role,
            weight=weight,
            owl=rng.random() < 0.15,
        )
        if member.community == 0:
            regular_weight += weight
        platforms = _pick_platforms(rng, region, role)
        base = handles.invent(first_a, last_a)
        for n, platform in enumerate(platforms):
            wanted = base if n == 0 else handles.variant(base)
            handle = None if platform == "whatsapp" else handles.claim(platform, wanted)
            shown = (
                f"{first} {last}"
                if platform == "whatsapp"
                else _display(rng, first, last, handle or base)
            )
            member.accounts.append(
                Account(member, platform, ids.user(platform, region.phone), handle, shown)
            )
        members.append(member)
    koc_weight = max(6.0, 0.02 * regular_weight)
    role_weight = {KOC: koc_weight, FLOODER: 0.6 * koc_weight, CORE: 0.6 * koc_weight,
                   STAFF: 0.15 * koc_weight, TROLL: 0.02 * koc_weight, BOT: 0.01 * koc_weight}  # fmt: skip
    for member in personas:
        member.weight = role_weight[member.role]
    return Population(personas + members, koc_weight)
