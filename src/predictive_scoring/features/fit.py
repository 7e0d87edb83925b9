"""Who the lead is: normalised job titles, size and revenue bands, grouped categories.

Fit features depend on the lead's attributes only, never on events or on time, so a lead's fit
features are the same at every snapshot.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import pairwise

import numpy as np
import pandas as pd

__all__ = [
    "BAND_SUFFIX",
    "FUNCTION",
    "MISSING",
    "NORMALISED_TITLE",
    "OTHER",
    "SENIORITY",
    "band_labels",
    "bands",
    "category_vocabulary",
    "encode_categories",
    "looks_like_identifier",
    "normalise_title",
    "title_features",
]

MISSING = "(missing)"
OTHER = "(other)"
SENIORITY = "title_seniority"
FUNCTION = "title_function"
NORMALISED_TITLE = "title_normalised"
BAND_SUFFIX = "_band"

_ABBREVIATIONS: dict[str, str] = {
    "vp": "vice president",
    "svp": "senior vice president",
    "evp": "executive vice president",
    "avp": "assistant vice president",
    "ceo": "chief executive officer",
    "cmo": "chief marketing officer",
    "cto": "chief technology officer",
    "cfo": "chief financial officer",
    "coo": "chief operating officer",
    "cio": "chief information officer",
    "cro": "chief revenue officer",
    "cso": "chief sales officer",
    "mgr": "manager",
    "mngr": "manager",
    "dir": "director",
    "sr": "senior",
    "snr": "senior",
    "jr": "junior",
    "mktg": "marketing",
    "mkt": "marketing",
    "mkting": "marketing",
    "eng": "engineering",
    "engr": "engineer",
    "dev": "developer",
    "ops": "operations",
    "hr": "human resources",
    "it": "information technology",
    "bd": "business development",
    "bizdev": "business development",
    "exec": "executive",
    "asst": "assistant",
    "assoc": "associate",
    "acct": "account",
    "mgmt": "management",
    "sw": "software",
    "tech": "technology",
}
_STOPWORDS = frozenset({"of", "the", "and", "for", "in", "at", "to"})

_SENIORITY_RULES: tuple[tuple[str, str], ...] = (
    (r"\bvice president\b", "vp"),
    (r"\b(chief|founder|co founder|cofounder|owner|president|partner)\b", "c_level"),
    (r"\b(head|director)\b", "director"),
    (r"\b(manager|lead|supervisor|principal)\b", "manager"),
    (r"\b(intern|student|trainee|apprentice)\b", "intern"),
)
_FUNCTION_RULES: tuple[tuple[str, str], ...] = (
    (r"\b(marketing|growth|brand|demand|content|seo|communications)\b", "marketing"),
    (r"\b(sales|account executive|business development|revenue|account)\b", "sales"),
    (r"\b(chief executive|founder|co founder|owner|general manager|president)\b", "executive"),
    (r"\b(finance|financial|accounting|accountant|controller)\b", "finance"),
    (r"\b(human resources|people|talent|recruit\w*)\b", "hr"),
    (r"\b(operations|operating|logistics|supply)\b", "operations"),
    (r"\b(product)\b", "product"),
    (r"\b(data|analyst|analytics|scientist)\b", "data"),
    (r"\b(engineer\w*|developer|software|technology|technical|information|it|devops)\b", "tech"),
)


def normalise_title(title: object) -> str | None:
    """Case, whitespace, punctuation and abbreviations folded: ``"VP of Marketing"``,
    ``"vp marketing"`` and ``"Vice President, Marketing"`` all give ``"vice president marketing"``."""
    if title is None or (isinstance(title, float) and np.isnan(title)) or title is pd.NA:
        return None
    words = re.sub(r"[^a-z0-9]+", " ", str(title).lower()).split()
    expanded = " ".join(_ABBREVIATIONS.get(w, w) for w in words).split()
    kept = [w for w in expanded if w not in _STOPWORDS]
    return " ".join(kept) or None


def _first_match(text: str | None, rules: Sequence[tuple[str, str]], fallback: str) -> str:
    if text is None:
        return MISSING
    return next((label for pattern, label in rules if re.search(pattern, text)), fallback)


def title_features(titles: pd.Series) -> pd.DataFrame:
    """Normalised title, seniority and function for each raw job title."""
    unique = list(pd.unique(titles.astype("object")))
    normalised = [normalise_title(t) for t in unique]
    table = pd.DataFrame(
        {
            NORMALISED_TITLE: [t if t is not None else MISSING for t in normalised],
            SENIORITY: [_first_match(t, _SENIORITY_RULES, "individual") for t in normalised],
            FUNCTION: [_first_match(t, _FUNCTION_RULES, "other") for t in normalised],
        },
        index=pd.Index(unique, dtype="object"),
    )
    positions = table.index.get_indexer(pd.Index(titles.astype("object")))
    return table.iloc[positions].set_axis(titles.index)


def band_labels(edges: Sequence[float]) -> list[str]:
    """Readable labels for the bands ``(-inf, e0], (e0, e1], ..., (e_last, inf)``."""
    whole = all(float(e).is_integer() and e < 100_000 for e in edges)
    labels = [f"≤{_compact(edges[0], whole)}"]
    for low, high in pairwise(edges):
        start = _compact(low + 1, whole) if whole else _compact(low, whole)
        labels.append(f"{start}–{_compact(high, whole)}")
    labels.append(f">{_compact(edges[-1], whole)}")
    return labels


def _compact(value: float, whole: bool) -> str:
    if whole:
        return f"{int(value):,}"
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def bands(values: pd.Series, edges: Sequence[float]) -> pd.Series:
    """The band label of each value; missing values get ``(missing)``."""
    labels = band_labels(edges)
    codes = np.searchsorted(np.asarray(edges, dtype=float), values.to_numpy(dtype=float), "left")
    banded = pd.Series(np.asarray(labels, dtype=object)[codes], index=values.index)
    return banded.where(values.notna(), MISSING)


def spelling_key(text: pd.Series) -> pd.Series:
    """Values as a person reads them: ``" Software"``, ``"SOFTWARE"`` and ``"software"`` are one
    (case and runs of white space ignored), as CRM exports spell one value many ways.  Computed
    once per distinct value (a million rows hold a few hundred)."""
    codes, uniques = pd.factorize(text.astype("string"))
    keys = _keys(pd.Series(uniques, dtype="string")).to_numpy(dtype=object)
    return pd.Series(_take(keys, codes, pd.NA), index=text.index, dtype="string")


def _keys(distinct: pd.Series) -> pd.Series:
    key: pd.Series = distinct.str.strip().str.replace(r"\s+", " ", regex=True).str.casefold()
    return key


def _take(values: np.ndarray, codes: np.ndarray, missing: object) -> np.ndarray:
    """``values[codes]``, with ``missing`` where a code is -1 (pandas' missing-value code)."""
    out = np.full(len(codes), missing, dtype=object)
    present = codes >= 0
    out[present] = values[codes[present]]
    return out


def category_vocabulary(values: pd.Series, min_count: int, max_categories: int) -> list[str]:
    """Categories kept for a column: frequent ones (most frequent first), then missing and other.

    Spellings of one value (:func:`spelling_key`) count together, under their most frequent
    spelling."""
    text = values.dropna().astype("string")
    key = spelling_key(text)
    pairs = pd.DataFrame({"key": key, "text": text.str.strip()})
    spelled = pairs.value_counts(sort=False).rename("rows").reset_index()
    spelled = spelled.sort_values(["key", "rows", "text"], ascending=[True, False, True])
    shown = spelled.drop_duplicates("key").set_index("key")["text"]
    per_key = key.value_counts()
    counts = per_key.set_axis(shown.loc[per_key.index].to_numpy())
    counts = counts[counts >= min_count].sort_index(kind="stable")
    counts = counts.sort_values(ascending=False, kind="stable").head(max_categories)
    kept = [str(v) for v in counts.index if v not in (MISSING, OTHER)]
    return [*kept, MISSING, OTHER]


def encode_categories(values: pd.Series, vocabulary: Sequence[str]) -> pd.Series:
    """Map values onto ``vocabulary``: any spelling of a kept category to it, missing to
    ``(missing)``, rare or unseen to ``(other)``."""
    codes, uniques = pd.factorize(values.astype("string"))
    distinct = pd.Series(uniques, dtype="string")
    kept = pd.Series(list(vocabulary[:-2]), dtype="string")
    spelling = pd.Series(kept.to_numpy(), index=_keys(kept).to_numpy(), dtype=object)
    spelling = spelling[~spelling.index.duplicated()]  # a vocabulary from before the folding
    mapped = _keys(distinct).map(spelling).astype(object)
    mapped = mapped.where(mapped.notna(), OTHER).where(distinct != MISSING, MISSING)
    position = {category: i for i, category in enumerate(vocabulary)}
    distinct_codes = np.array([position[str(m)] for m in mapped], dtype=int)
    category_codes = _take(distinct_codes, codes, position[MISSING]).astype(int)
    encoded = pd.Categorical.from_codes(category_codes, dtype=pd.CategoricalDtype(list(vocabulary)))
    return pd.Series(encoded, index=values.index)


def looks_like_identifier(values: pd.Series) -> bool:
    """Text with mostly unique values (ids, names, free text): no use as a category."""
    present = values.dropna()
    return len(present) >= 100 and present.nunique() > 0.5 * len(present)
