"""Commission on Fire Prevention and Control (CFPC)."""

from despp.portal.content.types import Division, Fact, Item

FIRE_PREVENTION = Division(
    slug="fire-prevention-and-control",
    name="Commission on Fire Prevention and Control",
    acronym="CFPC",
    nav_label="Fire Prevention",
    tagline="Fire prevention and safety training",
    purpose="Training and certification for Connecticut's paid and volunteer firefighters.",
    about=(
        "The Commission on Fire Prevention and Control helps Connecticut's paid and "
        "volunteer firefighters get the training and certification they need.",
        "Together with the fire service, it works to prevent fires and disasters and to "
        "reduce the harm they do.",
    ),
    facts=(
        Fact("Firefighters served", "Paid and volunteer"),
        Fact("Certification", "Written exam and practical skills at every level"),
        Fact("Accredited by", "Pro Board and IFSAC"),
    ),
    resources=(
        Item(
            slug="certification-levels",
            title="Certification standards and levels",
            summary="The levels of firefighter certification and what each requires.",
            detail=(
                "Certification levels follow national professional qualification standards, "
                "from Firefighter I and II to driver/operator, fire officer, inspector, "
                "investigator and instructor. Each level needs a written exam and a test of "
                "practical skills."
            ),
        ),
        Item(
            slug="firefighter-certification-status",
            title="Firefighter certification status",
            summary="Which certifications a firefighter holds and when they were earned.",
            detail=(
                "Certifications are recorded for every firefighter who passes, so fire "
                "departments can confirm the qualifications of their members."
            ),
        ),
    ),
    programs=(
        Item(
            slug="fire-academy-courses",
            title="Fire academy and regional fire school courses",
            summary="Courses at the state fire academy and the regional fire schools.",
            detail=(
                "The Connecticut Fire Academy and the regional fire schools teach the "
                "courses that prepare firefighters for certification."
            ),
        ),
        Item(
            slug="certification-exams",
            title="Certification exams",
            summary="Written and practical exams for each certification level.",
            detail=(
                "Candidates must complete every part of a level's exam within twelve "
                "months. Firefighter I and II also require verified live-fire training."
            ),
        ),
    ),
    services=(
        Item(
            slug="fire-and-disaster-response",
            title="Fire and disaster readiness",
            summary="Trained firefighters ready to limit the harm of fires and disasters.",
            detail=(
                "Common certification standards mean that firefighters from different "
                "towns can work side by side when a fire or disaster needs mutual aid."
            ),
        ),
    ),
    aliases=("fire", "firefighter", "fire academy"),
)
