"""Personal data: derive what may be derived, then drop it before anything else sees it."""

from __future__ import annotations

import pandas as pd

from predictive_scoring import schema
from predictive_scoring.config import DataConfig

__all__ = [
    "CORPORATE_EMAIL",
    "FREE_EMAIL",
    "FREE_EMAIL_DOMAINS",
    "email_domain_type",
    "strip_personal_data",
]

FREE_EMAIL = "free"
CORPORATE_EMAIL = "corporate"
FREE_EMAIL_DOMAINS: frozenset[str] = frozenset(
    [
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.uk",
        "yahoo.fr",
        "yahoo.de",
        "yahoo.co.in",
        "ymail.com",
        "hotmail.com",
        "hotmail.co.uk",
        "hotmail.fr",
        "hotmail.de",
        "outlook.com",
        "live.com",
        "msn.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "protonmail.com",
        "proton.me",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "mail.com",
        "mail.ru",
        "yandex.ru",
        "yandex.com",
        "qq.com",
        "163.com",
        "126.com",
        "zoho.com",
        "rediffmail.com",
        "libero.it",
        "orange.fr",
        "free.fr",
        "laposte.net",
        "t-online.de",
        "bol.com.br",
        "uol.com.br",
        "terra.com.br",
        "fastmail.com",
    ]
)


def email_domain_type(emails: pd.Series) -> pd.Series:
    """``free`` for a webmail domain, ``corporate`` for any other, missing when there is none."""
    domain = emails.astype("string").str.strip().str.lower().str.rsplit("@", n=1).str[1]
    kind = domain.isin(FREE_EMAIL_DOMAINS).map({True: FREE_EMAIL, False: CORPORATE_EMAIL})
    return kind.where(domain.notna() & (domain != "")).astype("string")


def strip_personal_data(leads: pd.DataFrame, config: DataConfig) -> pd.DataFrame:
    """Return ``leads`` without PII or ignored columns, with ``email_domain_type`` derived first."""
    pii = {c.strip().lower() for c in config.pii_columns}
    dropped = pii | {c.strip().lower() for c in config.ignore_columns}
    stripped = leads.drop(columns=[c for c in leads.columns if c in dropped])
    if schema.EMAIL in pii and schema.EMAIL in leads.columns:
        domain_type = email_domain_type(leads[schema.EMAIL])
        stripped = stripped.assign(**{schema.EMAIL_DOMAIN_TYPE: domain_type})
    return stripped
