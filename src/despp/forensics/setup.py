"""A laboratory's starting configuration: storage locations, validated methods and
instruments for each section. Idempotent; used by the demo data and by the tests (a real
laboratory enters its own in the admin)."""

from despp.forensics.models import (
    Instrument,
    LocationKind,
    Method,
    Section,
    SectionCode,
    StorageLocation,
)

# code, name, kind, parent code
LOCATIONS: tuple[tuple[str, str, LocationKind, str | None], ...] = (
    ("meriden", "Meriden laboratory", LocationKind.BUILDING, None),
    ("meriden-vault", "Evidence vault", LocationKind.SECTION, "meriden"),
    ("vault-cage-1", "Vault cage 1", LocationKind.FRIDGE, "meriden-vault"),
    ("vault-cage-1-a", "Shelf A", LocationKind.SHELF, "vault-cage-1"),
    ("vault-cage-1-b", "Shelf B", LocationKind.SHELF, "vault-cage-1"),
    ("vault-cold-1", "Cold room 1", LocationKind.FRIDGE, "meriden-vault"),
    ("meriden-dna", "DNA section", LocationKind.SECTION, "meriden"),
    ("dna-freezer-1", "DNA freezer 1", LocationKind.FRIDGE, "meriden-dna"),
    ("dna-freezer-1-a", "Shelf A", LocationKind.SHELF, "dna-freezer-1"),
    ("meriden-cs", "Controlled Substances section", LocationKind.SECTION, "meriden"),
    ("cs-safe-1", "Drug safe 1", LocationKind.FRIDGE, "meriden-cs"),
    ("cs-safe-1-a", "Shelf A", LocationKind.SHELF, "cs-safe-1"),
    ("meriden-fa", "Firearms section", LocationKind.SECTION, "meriden"),
    ("fa-locker-1", "Firearms locker 1", LocationKind.FRIDGE, "meriden-fa"),
)

# section, code, name, version
METHODS: tuple[tuple[SectionCode, str, str, str], ...] = (
    (SectionCode.CONTROLLED_SUBSTANCES, "cs-gcms-id", "Identification by GC-MS", "4.2"),
    (SectionCode.CONTROLLED_SUBSTANCES, "cs-color-test", "Color (presumptive) tests", "2.0"),
    (SectionCode.CONTROLLED_SUBSTANCES, "cs-net-weight", "Net weight determination", "3.1"),
    (SectionCode.DNA, "dna-str-pp", "STR amplification (PowerPlex Fusion)", "6.0"),
    (SectionCode.DNA, "dna-quant", "DNA quantitation (qPCR)", "3.3"),
    (SectionCode.TOXICOLOGY, "tox-hs-gc", "Blood alcohol by headspace GC-FID", "5.1"),
    (SectionCode.FIREARMS, "fa-test-fire", "Test fire and operability", "2.4"),
    (SectionCode.FIREARMS, "fa-comparison-micro", "Comparison microscopy", "3.0"),
    (SectionCode.LATENT_PRINTS, "lp-ace-v", "ACE-V comparison", "4.0"),
    (SectionCode.LATENT_PRINTS, "lp-chem-dev", "Chemical development (ninhydrin, CA)", "2.2"),
    (SectionCode.DIGITAL, "de-mobile", "Mobile extraction (logical / file system)", "1.5"),
    (SectionCode.TRACE, "tr-gcms-ilr", "Ignitable liquid residue by GC-MS", "3.0"),
)

# section, asset tag, name
INSTRUMENTS: tuple[tuple[SectionCode, str, str], ...] = (
    (SectionCode.CONTROLLED_SUBSTANCES, "GCMS-CS-01", "Agilent 8890/5977 GC-MS"),
    (SectionCode.CONTROLLED_SUBSTANCES, "BAL-CS-03", "Analytical balance"),
    (SectionCode.DNA, "CE-DNA-02", "Applied Biosystems 3500xL genetic analyzer"),
    (SectionCode.DNA, "QPCR-DNA-01", "QuantStudio 5 real-time PCR"),
    (SectionCode.TOXICOLOGY, "HSGC-TOX-01", "Headspace GC-FID"),
    (SectionCode.FIREARMS, "CM-FA-01", "Leica comparison microscope"),
    (SectionCode.LATENT_PRINTS, "CAM-LP-01", "Forensic imaging station"),
    (SectionCode.DIGITAL, "EXT-DE-01", "Mobile extraction workstation"),
    (SectionCode.TRACE, "GCMS-TR-01", "GC-MS (fire debris)"),
)


def ensure_lab_configuration() -> dict[str, StorageLocation]:
    """Create what is missing; returns the storage locations by code."""
    sections = {section.code: section for section in Section.objects.all()}
    locations: dict[str, StorageLocation] = {}
    for code, name, kind, parent in LOCATIONS:
        locations[code], _ = StorageLocation.objects.get_or_create(
            code=code,
            defaults={"name": name, "kind": kind, "parent": locations[parent] if parent else None},
        )
    for section_code, code, name, version in METHODS:
        Method.objects.get_or_create(
            code=code, version=version, defaults={"name": name, "section": sections[section_code]}
        )
    for section_code, tag, name in INSTRUMENTS:
        Instrument.objects.get_or_create(
            asset_tag=tag, defaults={"name": name, "section": sections[section_code]}
        )
    return locations
