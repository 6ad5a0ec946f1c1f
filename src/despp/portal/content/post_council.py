"""Police Officer Standards and Training Council (POSTC)."""

from despp.portal.content.types import Division, Fact, Item

POST_COUNCIL = Division(
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
)
