"""The `names` task's data: surnames labelled by language, extracted once from faker's locale data and shipped.

The shipped file (`surnames.tsv`, beside this module) is what every run and test reads: nothing is downloaded, and
faker is needed only to regenerate it (`python -m rnnlab.tasks.surnames`, which rewrites the file from the
installed faker; the header records the version). faker is MIT-licensed; its surname lists are public lists of
common surnames, not personal records.

A surname that faker lists for more than one language (e.g. "Adam": Czech, French, German...) is left out: its
label would be ambiguous, and the task asks which language a name comes from.
"""

from __future__ import annotations

import csv
import importlib
from functools import cache
from pathlib import Path

from rnnlab.tasks.optional import require_package

DATA_FILE = Path(__file__).with_name("surnames.tsv")

# language -> (faker locale, attribute of its person Provider) pairs; Latin script only (one-hot characters).
LANGUAGES: dict[str, tuple[tuple[str, str], ...]] = {
    "Chinese": (("zh_CN", "last_romanized_names"),),
    "Czech": (("cs_CZ", "last_names"),),
    "Dutch": (("nl_NL", "last_names"), ("nl_BE", "last_names")),
    "English": (("en_US", "last_names"), ("en_GB", "last_names"), ("en", "last_names")),
    "French": (("fr_FR", "last_names"), ("fr_CA", "last_names"), ("fr_QC", "last_names"), ("fr_CH", "last_names")),
    "German": (("de_DE", "last_names"), ("de_AT", "last_names"), ("de_CH", "last_names")),
    "Irish": (("ga_IE", "last_names"),),
    "Italian": (("it_IT", "last_names"),),
    "Japanese": (("ja_JP", "last_romanized_names"),),
    "Polish": (("pl_PL", "unisex_last_names"), ("pl_PL", "male_last_names")),
    "Portuguese": (("pt_PT", "last_names"), ("pt_BR", "last_names")),
    "Spanish": (
        ("es_ES", "last_names"),
        ("es_MX", "last_names"),
        ("es_AR", "last_names"),
        ("es_CL", "last_names"),
        ("es_CO", "last_names"),
    ),
}

HEADER = (
    "# Surnames by language, extracted from faker {version}'s person providers (https://github.com/joke2k/faker,\n"
    "# MIT licence) by rnnlab.tasks.surnames; surnames listed for two or more languages left out.\n"
    "# Regenerate: python -m rnnlab.tasks.surnames\n"
)


def extract() -> list[tuple[str, str]]:
    """(surname, language) pairs from the installed faker, sorted; ambiguous surnames left out."""
    require_package("faker", "to regenerate the names data")
    languages_of: dict[str, set[str]] = {}
    for language, sources in LANGUAGES.items():
        for locale, attribute in sources:
            provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
            for surname in getattr(provider, attribute):  # a tuple, or a dict of surname -> weight
                surname = surname.strip()
                if surname:
                    languages_of.setdefault(surname, set()).add(language)
    return sorted((name, next(iter(langs))) for name, langs in languages_of.items() if len(langs) == 1)


def write(rows: list[tuple[str, str]], path: Path = DATA_FILE) -> None:
    import faker

    with path.open("w", encoding="utf-8", newline="") as file:
        file.write(HEADER.format(version=faker.VERSION))
        writer = csv.writer(file, delimiter="\t", lineterminator="\n")
        writer.writerow(["surname", "language"])
        writer.writerows(rows)


@cache
def load(path: Path = DATA_FILE) -> tuple[tuple[str, str], ...]:
    """The shipped (surname, language) pairs, in the file's order."""
    with path.open(encoding="utf-8", newline="") as file:
        lines = (line for line in file if not line.startswith("#"))
        reader = csv.reader(lines, delimiter="\t")
        header = next(reader)
        if header != ["surname", "language"]:
            raise ValueError(f"{path}: expected the columns surname, language; found {header}")
        return tuple((name, language) for name, language in reader)


if __name__ == "__main__":
    rows = extract()
    write(rows)
    print(f"wrote {len(rows)} surnames in {len({lang for _, lang in rows})} languages to {DATA_FILE}")
