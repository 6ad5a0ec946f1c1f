"""Statewide Emergency Telecommunications (DSET)."""

from despp.portal.content.types import Division, Fact, Item

EMERGENCY_TELECOMMUNICATIONS = Division(
    slug="emergency-telecommunications",
    name="Statewide Emergency Telecommunications",
    acronym="DSET",
    nav_label="Statewide 911",
    tagline="Safety network",
    purpose="Runs Connecticut's 911 system and coordinates public safety communications.",
    about=(
        "The Division of Statewide Emergency Telecommunications improves 911 service in "
        "Connecticut and coordinates communications between public safety agencies.",
        "It runs the 911 system used by the public safety answering points that take "
        "emergency calls, trains telecommunicators, and operates the CT Alert emergency "
        "notification system.",
    ),
    facts=(
        Fact("Runs", "The statewide 911 system"),
        Fact("Also runs", "CT Alert emergency notifications"),
        Fact("Coordinates", "Public safety communications and radio frequencies"),
    ),
    resources=(
        Item(
            slug="answering-points",
            title="Who answers 911 for a town",
            summary="The public safety answering point that takes 911 calls from each town.",
            detail=(
                "Each town's 911 calls go to a public safety answering point (PSAP), run by "
                "the town, a region or the State Police. Answering points report their "
                "call volumes and answer times to the division every quarter."
            ),
            href="/find/",
            link_text="Find who serves a town",
        ),
        Item(
            slug="jurisdiction-api",
            title="Jurisdiction API for partner systems",
            summary="Ask which town, troop, police agency and 911 point serve a location.",
            detail=(
                "Partner systems can ask this platform which town, county, troop, police "
                "agency and answering point serve a latitude and longitude. The API is "
                "documented for developers."
            ),
            href="/api/docs",
            link_text="Read the API documentation",
        ),
    ),
    programs=(
        Item(
            slug="telecommunicator-training",
            title="Telecommunicator training",
            summary="Training for the people who answer 911 calls.",
            detail=(
                "The division trains the telecommunicators who answer 911 calls, so that "
                "every caller in the state gets the same standard of help."
            ),
        ),
    ),
    services=(
        Item(
            slug="call-911",
            title="Call 911 in an emergency",
            summary="For police, fire or medical emergencies, call 911 from any phone.",
            detail=(
                "Call 911 when someone's life, health or property is in danger right now. "
                "Tell the call-taker where you are first, then what is happening."
            ),
        ),
        Item(
            slug="ct-alert",
            title="CT Alert emergency notifications",
            summary="Alerts to phones and email about emergencies where you are.",
            detail=(
                "CT Alert sends emergency notifications about events that affect where you "
                "live or work, such as evacuations or severe weather."
            ),
        ),
    ),
    aliases=("911", "Statewide Emergency Communications", "PSAP", "dispatch"),
)
