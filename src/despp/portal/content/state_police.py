"""Connecticut State Police (CSP)."""

from despp.portal.content.types import Division, Fact, Item

STATE_POLICE = Division(
    slug="state-police",
    name="Connecticut State Police",
    acronym="CSP",
    nav_label="State Police",
    tagline="Statewide law enforcement services",
    purpose=(
        "Law enforcement across the state since 1903, and the police force for the "
        "towns that have no department of their own."
    ),
    about=(
        "The Connecticut State Police has enforced the law across the state since 1903. "
        "It is organised in 11 troops.",
        "The department states that the State Police is the primary police agency for 82 "
        "municipalities. Troopers also back up local departments with major crime "
        "investigations, with emergencies and with traffic safety on the state's roads.",
    ),
    facts=(
        Fact("Serving since", "1903"),
        Fact("Troops", "11"),
        Fact("Primary policing", "82 municipalities (department figure)"),
        Fact("Also supports", "Major crime, emergencies and traffic"),
    ),
    resources=(
        Item(
            slug="troops",
            title="Troops and the towns they cover",
            summary="Which of the 11 troops covers your town.",
            detail=(
                "Each troop works from a barracks and covers a group of towns. In towns "
                "with their own police department, the troop still patrols state highways "
                "and helps the local department when asked."
            ),
            href="/find/",
            link_text="Find who serves a town",
        ),
        Item(
            slug="records-requests",
            title="Reports and records requests",
            summary="Ask for a copy of a State Police report, such as a crash report.",
            detail=(
                "People involved in an incident, their insurers and their lawyers can ask "
                "for copies of State Police reports. Some records may be withheld by law, for "
                "example while an investigation is open."
            ),
        ),
        Item(
            slug="permits-and-licensing",
            title="Permits and licensing",
            summary="State pistol permits and security guard licences.",
            detail=(
                "The department handles state pistol permits and security guard licences. "
                "Both involve fingerprints and a background check."
            ),
        ),
        Item(
            slug="offender-registries",
            title="Offender registries",
            summary="The Sex Offender Registry and the Deadly Weapons Offender Registry.",
            detail=(
                "The department keeps the state's Sex Offender Registry and Deadly Weapons "
                "Offender Registry, which people convicted of certain offences must join."
            ),
        ),
    ),
    programs=(
        Item(
            slug="trooper-training",
            title="Trooper recruit and in-service training",
            summary="Recruits train before their first patrol; troopers keep training after.",
            detail=(
                "New troopers complete recruit training before they patrol, and every "
                "trooper keeps up in-service training to stay certified under the "
                "standards of the Police Officer Standards and Training Council."
            ),
        ),
    ),
    services=(
        Item(
            slug="patrol-and-response",
            title="Patrol and emergency response",
            summary="Troopers answer calls in the towns they police and on state highways.",
            detail=(
                "In the towns where the State Police is the primary police agency, a 911 "
                "call for police is dispatched to the troop that covers the town. Troopers "
                "also respond on the state's highways."
            ),
        ),
        Item(
            slug="major-crime",
            title="Major crime investigation",
            summary="Specialist investigators support local departments on serious crimes.",
            detail=(
                "When a serious crime happens anywhere in the state, State Police "
                "investigators can take the case or support the local department, working "
                "with the forensic laboratory of the Division of Scientific Services."
            ),
        ),
        Item(
            slug="traffic-safety",
            title="Traffic safety and crash investigation",
            summary="Enforcement on state roads and investigation of serious crashes.",
            detail=(
                "Troopers enforce traffic law on state roads, investigate serious crashes "
                "and manage the scene so that traffic can move again safely."
            ),
        ),
    ),
    aliases=("state troopers", "troop", "police"),
)
