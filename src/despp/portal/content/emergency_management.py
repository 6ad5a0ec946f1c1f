"""Emergency Management and Homeland Security (DEMHS)."""

from despp.portal.content.types import Division, Fact, Item

EMERGENCY_MANAGEMENT = Division(
    slug="emergency-management",
    name="Emergency Management and Homeland Security",
    acronym="DEMHS",
    nav_label="Emergency Management",
    tagline="Connecticut emergency resources",
    purpose="Tools for emergency planning and response across Connecticut.",
    about=(
        "The Division of Emergency Management and Homeland Security helps the state and its "
        "towns plan for emergencies and coordinates the response when one happens.",
        "It works through five regional offices. Each has a regional coordinator, "
        "available around the clock, who handles requests for help between a town in "
        "need, the state and the towns able to assist, and reports on the situation.",
    ),
    facts=(
        Fact("Regional offices", "5, each with a coordinator available 24/7"),
        Fact("Coordinates", "Requests for help between towns and the state"),
    ),
    resources=(
        Item(
            slug="regional-offices",
            title="Regional offices",
            summary="The five regional offices and their around-the-clock coordinators.",
            detail=(
                "Each of the five regional offices has a coordinator on call day and night "
                "who helps local emergency managers get what they need."
            ),
        ),
        Item(
            slug="emergency-planning",
            title="Emergency planning tools",
            summary="Guidance and tools for towns, organisations and households to plan.",
            detail=(
                "Planning before an emergency saves time during one. The division offers "
                "planning guidance for local governments and organisations, and advice for "
                "households on making a plan and a kit."
            ),
        ),
    ),
    programs=(
        Item(
            slug="training-and-exercises",
            title="Emergency management training and exercises",
            summary="Courses and exercises for emergency managers and responders.",
            detail=(
                "The division runs courses and exercises so that emergency managers, "
                "responders and partner agencies practise their plans before a real event."
            ),
        ),
    ),
    services=(
        Item(
            slug="state-emergency-operations",
            title="State emergency operations",
            summary="The State Emergency Operations Center coordinates large emergencies.",
            detail=(
                "When an emergency is too large for one town, the State Emergency "
                "Operations Center is activated to coordinate state agencies and partners."
            ),
        ),
        Item(
            slug="assistance-requests",
            title="Requests for assistance",
            summary="Towns ask for resources and mutual aid through their region.",
            detail=(
                "A town that needs more people or equipment asks its regional coordinator, "
                "who finds them in the state or in other towns and tracks the request "
                "until it is met."
            ),
        ),
        Item(
            slug="shelters",
            title="Emergency shelters",
            summary="Where shelters are open during an emergency.",
            detail=(
                "During a major emergency, towns and partners open shelters. Local officials "
                "announce open shelters; follow their instructions."
            ),
        ),
    ),
    aliases=("emergency management", "homeland security", "disaster"),
)
