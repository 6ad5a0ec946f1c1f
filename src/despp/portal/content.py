"""The services hub's content: the department, its six divisions and what each offers the public.

Facts come from the department's own services page (see shared/seed) and the public sources
cited in the project's reference notes; the wording is ours. Links point only at pages of this
platform or at anchors on a division's landing page, never at outside sites we cannot vouch for.
An item without a platform page yet is described in full on its division's landing page, and
its link is that description's anchor; when the platform grows a page for it, set `href`.
"""

from dataclasses import dataclass

from django.db import models
from django.urls import reverse


class Section(models.TextChoices):
    """The three kinds of offering the services page promises for every division."""

    RESOURCES = "resources", "Top resources"
    PROGRAMS = "programs", "Training programs"
    SERVICES = "services", "Emergency services"


@dataclass(frozen=True, slots=True)
class Department:
    name: str
    short_name: str
    state: str
    summary: str


@dataclass(frozen=True, slots=True)
class Fact:
    label: str
    value: str


@dataclass(frozen=True, slots=True)
class Item:
    """One resource, training program or emergency service of a division."""

    slug: str
    title: str
    summary: str
    detail: str
    href: str = ""
    link_text: str = ""  # the call to action when `href` points at a platform page


@dataclass(frozen=True, slots=True)
class Division:
    slug: str
    name: str
    acronym: str
    nav_label: str
    tagline: str
    purpose: str
    about: tuple[str, ...]
    facts: tuple[Fact, ...]
    resources: tuple[Item, ...]
    programs: tuple[Item, ...]
    services: tuple[Item, ...]
    # Other names people search for: the seed page itself names two divisions two ways.
    aliases: tuple[str, ...] = ()

    def get_absolute_url(self) -> str:
        return reverse("portal:division", kwargs={"slug": self.slug})

    def items(self, section: Section) -> tuple[Item, ...]:
        return {
            Section.RESOURCES: self.resources,
            Section.PROGRAMS: self.programs,
            Section.SERVICES: self.services,
        }[section]

    def sections(self) -> list[tuple[Section, tuple[Item, ...]]]:
        return [(section, self.items(section)) for section in Section]

    def item_url(self, item: Item) -> str:
        return item.href or f"{self.get_absolute_url()}#{item.slug}"


DEPARTMENT = Department(
    name="Department of Emergency Services and Public Protection",
    short_name="DESPP",
    state="Connecticut",
    summary=(
        "The department looks after public safety and emergency readiness across Connecticut. "
        "Six divisions each run their own programs and services; this site gathers each "
        "division's top resources, training programs and emergency services in one place."
    ),
)

TOP_ITEMS_PER_SECTION = 2

DIVISIONS: tuple[Division, ...] = (
    Division(
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
                summary="Which of the 11 troops serves your town, and from which barracks.",
                detail=(
                    "Each troop works from a barracks and covers a group of towns. In towns "
                    "with their own police department, the troop still patrols state highways "
                    "and helps the local department when asked."
                ),
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
    ),
    Division(
        slug="post-council",
        name="Police Officer Standards and Training Council",
        acronym="POSTC",
        nav_label="POST Council",
        tagline="Setting standards",
        purpose=(
            "Sets standards for Connecticut's police agencies, accredits those that meet "
            "them, and trains and certifies police officers."
        ),
        about=(
            "The Police Officer Standards and Training Council sets the standards that "
            "Connecticut's police agencies work to, and awards accreditation to the agencies "
            "that meet them.",
            "The council also trains Connecticut's police officers and certifies them, so that "
            "every officer on patrol has met the same state standard.",
        ),
        facts=(
            Fact("Basic training", "About 28 weeks at the police academy"),
            Fact("Certification", "Within one year of hire; renewed every three years"),
            Fact("Agency accreditation", "Three tiers of state standards"),
        ),
        resources=(
            Item(
                slug="officer-certification-status",
                title="Police officer certification status",
                summary="Whether an officer holds a current Connecticut certification.",
                detail=(
                    "Every police officer in Connecticut must be certified by the council. A "
                    "certificate lasts three years and is renewed after review training."
                ),
            ),
            Item(
                slug="accreditation-standards",
                title="Accreditation standards for police agencies",
                summary="The state's three tiers of standards and how agencies meet them.",
                detail=(
                    "State accreditation has three tiers: Tier I covers liability standards, "
                    "Tier II professional standards and Tier III general management. An agency "
                    "shows proof that it meets each standard, assessors review the proof, and "
                    "the council awards the tier."
                ),
            ),
        ),
        programs=(
            Item(
                slug="basic-training",
                title="Basic police officer training",
                summary="The academy course every new officer completes before certification.",
                detail=(
                    "A newly hired officer attends basic training of about 28 weeks at the "
                    "police academy, passes academic and practical skill areas, completes "
                    "field training with the department, and is certified within a year of "
                    "being hired."
                ),
            ),
            Item(
                slug="review-training",
                title="Review training and recertification",
                summary="Certified review training that officers complete to renew.",
                detail=(
                    "To renew a certificate every three years, an officer completes the "
                    "required hours of certified review training, including firearms."
                ),
            ),
        ),
        services=(
            Item(
                slug="accountable-policing",
                title="Standards for emergency response",
                summary="Accreditation standards cover how agencies respond to emergencies.",
                detail=(
                    "The standards that agencies are accredited against include how they "
                    "respond to calls for service, use force and handle critical incidents, "
                    "so the public can expect the same care in an emergency wherever they are."
                ),
            ),
        ),
        aliases=("POST", "police academy", "accreditation"),
    ),
    Division(
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
    ),
    Division(
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
    ),
    Division(
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
    ),
    Division(
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
    ),
)

_BY_SLUG = {division.slug: division for division in DIVISIONS}


def get_division(slug: str) -> Division | None:
    return _BY_SLUG.get(slug)
