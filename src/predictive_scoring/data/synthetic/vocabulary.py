"""What the generated tables hold: column names, event types, attribute vocabularies with their
conversion effects, and the names people and companies are drawn from."""

from __future__ import annotations

from predictive_scoring import schema

__all__ = [
    "ANNUAL_REVENUE",
    "BUYER_TYPE",
    "COMPANY",
    "COMPANY_SIZE",
    "CONTACT_PAGE_VIEW",
    "COUNTRY",
    "DEMO_REQUEST",
    "EMAIL",
    "EMAIL_CLICK",
    "EMAIL_OPEN",
    "EVENT_TYPES",
    "FIRST_NAME",
    "FREE_TRIAL_SIGNUP",
    "GROWING_SOURCE",
    "INDUSTRY",
    "JOB_TITLE",
    "LAST_NAME",
    "LEAD_SOURCE",
    "NEW_SOURCE",
    "PAGE_VIEW",
    "PHONE",
    "PRICING_PAGE_VIEW",
    "STATUS_WON",
    "UNSUBSCRIBE",
    "UPGRADE",
    "WEBINAR_ATTENDED",
    "WHITEPAPER_DOWNLOAD",
]

# ---- lead attributes (not contract columns: the names this generator writes) ---------------------
INDUSTRY = "industry"
COMPANY_SIZE = "company_size"
ANNUAL_REVENUE = "annual_revenue"
JOB_TITLE = "job_title"
COUNTRY = "country"
LEAD_SOURCE = "lead_source"
EMAIL = schema.EMAIL
FIRST_NAME = "first_name"
LAST_NAME = "last_name"
PHONE = "phone"
COMPANY = "company"
UPGRADE = "upgrade"
"""A customer's expansion event (present when ``FunnelParams.expansion_logit`` is set)."""
BUYER_TYPE = "buyer_type"
"""The buyer persona column, present when ``FunnelParams.personas`` names some."""
STATUS_WON = "won"
"""Outcome status of a converted lead (``schema.STATUS_LOST`` is the other one)."""

# ---- event types ---------------------------------------------------------------------------------
PAGE_VIEW = "page_view"
PRICING_PAGE_VIEW = "pricing_page_view"
EMAIL_OPEN = "email_open"
EMAIL_CLICK = "email_click"
WHITEPAPER_DOWNLOAD = "whitepaper_download"
WEBINAR_ATTENDED = "webinar_attended"
DEMO_REQUEST = "demo_request"
CONTACT_PAGE_VIEW = "contact_page_view"
FREE_TRIAL_SIGNUP = "free_trial_signup"
UNSUBSCRIBE = "unsubscribe"
EVENT_TYPES: tuple[str, ...] = (
    PAGE_VIEW,
    PRICING_PAGE_VIEW,
    EMAIL_OPEN,
    EMAIL_CLICK,
    WHITEPAPER_DOWNLOAD,
    WEBINAR_ATTENDED,
    DEMO_REQUEST,
    CONTACT_PAGE_VIEW,
    FREE_TRIAL_SIGNUP,
    UNSUBSCRIBE,
)
_EMAIL_EVENTS = (EMAIL_OPEN, EMAIL_CLICK)
_ADVANCED_EVENTS = (DEMO_REQUEST, FREE_TRIAL_SIGNUP)
"""Types made likelier by earlier interest (``_INTEREST_WEIGHTS``)."""
_INTEREST_WEIGHTS = {PRICING_PAGE_VIEW: 1.0, CONTACT_PAGE_VIEW: 0.5, WEBINAR_ATTENDED: 0.5}

# ---- vocabularies: (value, share, conversion log-odds effect) ------------------------------------
_INDUSTRIES: tuple[tuple[str, float, float], ...] = (
    ("Software", 0.22, 0.55),
    ("Financial Services", 0.13, 0.30),
    ("Healthcare", 0.12, 0.05),
    ("Manufacturing", 0.14, -0.10),
    ("Retail", 0.12, -0.25),
    ("Education", 0.09, -0.50),
    ("Media", 0.08, 0.10),
    ("Government", 0.05, -0.80),
)
_COUNTRIES: tuple[tuple[str, float, float], ...] = (
    ("United States", 0.38, 0.10),
    ("United Kingdom", 0.12, 0.05),
    ("Germany", 0.09, 0.00),
    ("India", 0.08, -0.45),
    ("Canada", 0.07, 0.05),
    ("France", 0.06, -0.05),
    ("Australia", 0.05, 0.05),
    ("Brazil", 0.05, -0.35),
    ("Netherlands", 0.05, 0.05),
    ("Spain", 0.05, -0.15),
)
_PHONE_PREFIXES = ("+1", "+44", "+49", "+91", "+1", "+33", "+61", "+55", "+31", "+34")
_SOURCES: tuple[tuple[str, float, float], ...] = (
    ("organic", 0.24, 0.00),
    ("paid_search", 0.18, -0.15),
    ("referral", 0.07, 0.70),
    ("webinar", 0.10, 0.15),
    ("event", 0.07, 0.25),
    ("outbound", 0.16, -0.45),
    ("partner", 0.06, 0.45),
    ("social", 0.12, -0.35),
)
_SOURCE_ENGAGEMENT = {
    "organic": 0.10,
    "paid_search": 0.0,
    "referral": 0.20,
    "webinar": 0.35,
    "event": 0.10,
    "outbound": -0.50,
    "partner": 0.0,
    "social": -0.10,
    "content_syndication": -0.30,
    "marketplace": 0.20,
}
"""Activity log-odds effect of each lead source, beside its conversion effect."""
GROWING_SOURCE = "content_syndication"
"""The lead source whose share grows over the history (``FunnelParams.growing_source_shares``)."""
NEW_SOURCE = "marketplace"
"""The lead source that appears late in the history (``FunnelParams.new_source_start``)."""

# fmt: off
_ROLES: tuple[tuple[str, float, float, tuple[str, ...]], ...] = (
    ("c_level_marketing", 0.025, 0.6, ("CMO", "Chief Marketing Officer", "chief marketing officer")),
    ("c_level_revenue", 0.015, 0.5, ("CRO", "Chief Revenue Officer", "Chief Sales Officer")),
    ("c_level_executive", 0.05, 0.3, ("CEO", "Chief Executive Officer", "Founder & CEO", "Owner")),
    ("c_level_technology", 0.015, -0.2, ("CTO", "Chief Technology Officer", "cto")),
    ("vp_marketing", 0.04, 0.9,
     ("VP of Marketing", "vp marketing", "Vice President, Marketing", "VP Mktg", "VP, Marketing")),
    ("vp_sales", 0.03, 0.7, ("VP Sales", "VP of Sales", "Vice President of Sales", "vp sales")),
    ("head_marketing", 0.06, 0.8,
     ("Director of Marketing", "Marketing Director", "Head of Marketing", "head of mktg")),
    ("head_sales", 0.05, 0.6, ("Head of Sales", "Sales Director", "Director, Sales", "head of sales")),
    ("head_engineering", 0.03, -0.1, ("Head of Engineering", "Engineering Director", "IT Director")),
    ("manager_marketing", 0.11, 0.5,
     ("Marketing Manager", "mktg mgr", "Mktg Manager", "marketing manager", "Digital Marketing Mgr")),
    ("manager_sales", 0.07, 0.3, ("Sales Manager", "sales mgr", "Business Development Manager")),
    ("manager_operations", 0.05, -0.1, ("Operations Manager", "ops manager", "Project Manager")),
    ("ic_marketing", 0.09, 0.0, ("Marketing Specialist", "Marketing Coordinator", "mktg associate")),
    ("ic_sales", 0.07, -0.2, ("Sales Representative", "SDR", "Sales Development Rep", "BDR")),
    ("ic_engineering", 0.09, -0.7,
     ("Software Engineer", "software engineer", "SWE", "Developer", "Sr. Software Engineer")),
    ("ic_analyst", 0.07, -0.4, ("Analyst", "Data Analyst", "Business Analyst", "analyst")),
    ("ic_other", 0.05, -0.6, ("Consultant", "Freelancer", "Teacher", "Recruiter")),
    ("student", 0.04, -1.6, ("Intern", "Marketing Intern", "intern", "Student")),
)
# fmt: on
"""Roles as ``seniority_function`` with share, conversion effect and the spellings people type."""
_TITLES = tuple(title for _, _, _, titles in _ROLES for title in titles)
"""Every spelling, role by role (each spelling belongs to one role only)."""
_TITLE_ROLES = {title: role for role, _, _, titles in _ROLES for title in titles}
_TITLE_EFFECTS = {title: effect for _, _, effect, titles in _ROLES for title in titles}
_STUDENT_ROLE = "student"

_MISSING_EFFECTS = {INDUSTRY: -0.2, COMPANY_SIZE: -0.1, JOB_TITLE: -0.3, COUNTRY: -0.1}
"""Conversion log-odds effect of a missing fit value (incomplete forms hint at weaker leads)."""

# ---- people and companies ------------------------------------------------------------------------
_FREE_EMAIL_DOMAINS = ("gmail.com", "yahoo.com", "hotmail.com", "outlook.com")
# fmt: off
_FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Charles", "Karen", "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Priya", "Rahul", "Sofia",
    "Lucas", "Emma", "Noah", "Olivia", "Liam", "Mia", "Hannah", "Felix", "Chloe", "Lea", "Mateo",
    "Camila", "Arjun", "Ananya", "Wei", "Mei", "Yuki", "Kenji", "Omar", "Fatima", "Ahmed", "Elena",
    "Ivan", "Anna", "Pierre", "Claire", "Jan", "Eva", "Pablo",
)
_LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore",
    "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark",
    "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres",
    "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell",
    "Mitchell", "Carter", "Roberts", "Patel", "Sharma", "Muller", "Schmidt", "Schneider", "Fischer",
    "Dubois", "Bernard", "Silva", "Santos", "Kowalski", "Jansen", "Rossi",
)
_COMPANY_WORDS = (
    "Blue", "Red", "Green", "Silver", "Golden", "Bright", "Swift", "North", "South", "East", "West",
    "Summit", "Peak", "Harbor", "River", "Stone", "Oak", "Pine", "Cedar", "Maple", "Iron", "Cloud",
    "Sky", "Star", "Sun", "Moon", "Ocean", "Lake", "Bay", "Ridge", "Valley", "Prairie", "Apex",
    "Vertex", "Nova", "Orbit", "Pulse", "Quantum", "Vector", "Signal", "Spark", "Atlas", "Titan",
    "Echo", "Delta", "Sigma", "Omega", "Alpha", "Beacon", "Bridge", "Canyon", "Crest", "Falcon",
    "Fox", "Hawk", "Lion", "Wolf", "Bear", "Eagle", "Cobalt", "Crimson", "Amber", "Jade", "Onyx",
    "Coral", "Maven", "Nimbus", "Zenith", "Horizon", "Meridian", "Pioneer", "Frontier", "Keystone",
    "Lumen", "Arbor",
)
_COMPANY_SUFFIXES = (
    "Inc", "LLC", "Ltd", "GmbH", "Group", "Labs", "Systems", "Solutions", "Analytics", "Partners",
    "Holdings", "Technologies", "Software", "Consulting", "Media", "Health", "Capital", "Logistics",
    "Retail", "Foods", "Energy", "Works", "Digital", "Co",
)
# fmt: on
_COMPANY_TLDS = (".com", ".io", ".co", ".net")
