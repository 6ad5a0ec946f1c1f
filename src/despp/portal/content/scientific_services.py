"""Scientific Services (DSS)."""

from despp.portal.content.types import Division, Fact, Item

SCIENTIFIC_SERVICES = Division(
    slug="scientific-services",
    name="Scientific Services",
    acronym="DSS",
    nav_label="Scientific Services",
    tagline="Forensic analysis",
    purpose="Forensic, laboratory and investigative support that helps solve crimes.",
    about=(
        "The Division of Scientific Services gives law enforcement forensic, laboratory "
        "and investigative support to help solve crimes.",
        "Its scientists analyse evidence submitted by police agencies and report the "
        "results, keeping an unbroken record of who held each item and when.",
    ),
    facts=(
        Fact("Serves", "Law enforcement agencies across the state"),
        Fact("Provides", "Forensic, laboratory and investigative support"),
    ),
    resources=(
        Item(
            slug="evidence-submission",
            title="Submitting evidence",
            summary="How police agencies submit evidence to the laboratory.",
            detail=(
                "Agencies submit evidence with a request that describes each item and the "
                "analysis needed. Every item is labelled and tracked from the moment it "
                "arrives."
            ),
        ),
        Item(
            slug="chain-of-custody",
            title="Chain of custody",
            summary="A tamper-evident record of every hand that held the evidence.",
            detail=(
                "Each transfer of an item is recorded in a tamper-evident log, so a court "
                "can see who held the evidence at every moment."
            ),
        ),
    ),
    programs=(
        Item(
            slug="evidence-training",
            title="Evidence handling for agencies",
            summary="Guidance for officers on collecting and packaging evidence.",
            detail=(
                "Evidence that is collected and packaged well gives better results. The "
                "laboratory guides agencies on how to collect, package and submit it."
            ),
        ),
    ),
    services=(
        Item(
            slug="forensic-analysis",
            title="Forensic analysis for investigations",
            summary="Laboratory analysis that supports active criminal investigations.",
            detail=(
                "Analysts examine evidence for active investigations, and every result is "
                "reviewed before the laboratory releases its report."
            ),
        ),
    ),
    aliases=("forensic", "crime lab", "laboratory"),
)
