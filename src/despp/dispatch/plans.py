"""Default statewide run cards (response plans) and status timer thresholds, shipped as data.

`load_plans_and_thresholds()` writes them idempotently: a plan or threshold that already
exists is left as it is, so what an administrator edited in the admin afterwards survives a
reload (delete a row to get the shipped default back). Plans whose nature code is not in the
nature table are skipped and reported. Town plans (a town's own run card, which wins over the
statewide one) are made in the admin.

Run cards follow common practice, not a Connecticut standard (none is published as data):
a first-alarm structure fire is the NFPA 1710 §5.2.4.2 initial full alarm in miniature
(engines, a truck, a rescue, an ALS unit); a cardiac arrest sends an ALS unit, a BLS unit and
the nearest engine with a defibrillator (first responder); a domestic with violence two
officers. The line's kinds are alternatives ("troop car or police car": whichever agency is
primary for the place).
"""

from dataclasses import dataclass

from django.db import transaction

from despp.dispatch.models import (
    AssignmentStatus,
    Capability,
    NatureCode,
    ResponsePlan,
    ResponsePlanLine,
    StatusThreshold,
    UnitKind,
)

K = UnitKind
C = Capability
S = AssignmentStatus

PATROL = (K.TROOP_CAR, K.POLICE_CAR)
AMBULANCE = (K.ALS, K.BLS)
POLICE_KINDS = (K.TROOP_CAR, K.POLICE_CAR, K.POLICE_SUPERVISOR, K.K9, K.MARINE)


@dataclass(frozen=True)
class Line:
    kinds: tuple[str, ...]
    count: int = 1
    capability: str = ""


def _line(kinds: str | tuple[str, ...], count: int = 1, capability: str = "") -> Line:
    return Line((kinds,) if isinstance(kinds, str) else kinds, count, capability)


# nature code -> (plan name, lines in the order they are filled)
RUN_CARDS: dict[str, tuple[str, tuple[Line, ...]]] = {
    # Fire
    "FSTRU": (
        "Structure fire: first alarm",
        (
            _line(K.ENGINE, 3),
            _line(K.LADDER, 1, C.AERIAL),
            _line(K.RESCUE),
            _line(K.ALS),
            _line(PATROL),
        ),
    ),
    "FAPT": (
        "Apartment / multi-family fire: first alarm",
        (
            _line(K.ENGINE, 4),
            _line(K.LADDER, 2, C.AERIAL),
            _line(K.RESCUE),
            _line(K.FIRE_CHIEF),
            _line(K.ALS),
            _line(PATROL, 2),
        ),
    ),
    "FUNK": ("Fire, unknown type", (_line(K.ENGINE, 2), _line(K.LADDER))),
    "FVEH": ("Vehicle fire", (_line(K.ENGINE), _line(PATROL))),
    "FTRUCK": ("Large vehicle fire", (_line(K.ENGINE, 2), _line(K.TANKER), _line(PATROL))),
    "FBRUSH": ("Brush fire", (_line((K.BRUSH, K.ENGINE)), _line(K.TANKER))),
    "FSMOKE": ("Smoke investigation", (_line(K.ENGINE),)),
    "ALRF": ("Fire alarm", (_line(K.ENGINE), _line(K.LADDER))),
    "ALRCO": ("Carbon monoxide alarm", (_line(K.ENGINE),)),
    "GASLEAK": ("Gas leak", (_line(K.ENGINE), _line(PATROL))),
    "HAZMAT": (
        "Hazardous materials",
        (_line(K.ENGINE, 2), _line(K.RESCUE, 1, C.HAZMAT), _line(K.ALS), _line(PATROL)),
    ),
    "EXPLOS": (
        "Explosion",
        (_line(K.ENGINE, 3), _line(K.LADDER), _line(K.RESCUE), _line(K.ALS, 2), _line(PATROL, 2)),
    ),
    # Crashes and rescue
    "MVAINJY": (
        "Crash with injury",
        (_line(PATROL), _line(K.ALS), _line((K.ENGINE, K.RESCUE), 1, C.EXTRICATION)),
    ),
    "MVAUNK": ("Crash, injury unknown", (_line(PATROL), _line(AMBULANCE), _line(K.ENGINE))),
    "MVA": ("Crash, no injury", (_line(PATROL),)),
    "MVAHR": ("Hit and run", (_line(PATROL, 2),)),
    "XTRACATE": (
        "Extrication / confined space",
        (_line((K.RESCUE, K.ENGINE), 1, C.EXTRICATION), _line(K.ALS), _line(PATROL)),
    ),
    "WATER": (
        "Water rescue",
        (
            _line(K.MARINE, 1, C.BOAT),
            _line((K.RESCUE, K.ENGINE), 1, C.WATER_RESCUE),
            _line(K.ALS),
        ),
    ),
    "DROWN": (
        "Drowning",
        (_line(K.MARINE, 1, C.BOAT), _line((K.RESCUE, K.ENGINE), 1, C.WATER_RESCUE), _line(K.ALS)),
    ),
    "MISBOATR": ("Missing boater", (_line(K.MARINE, 1, C.BOAT), _line(PATROL))),
    # Medical
    "CARDIAC": (
        "Cardiac / arrest",
        (_line(K.ALS), _line(K.BLS), _line(K.ENGINE, 1, C.AED)),
    ),
    "RESPARR": (
        "Respiratory arrest",
        (_line(K.ALS), _line(K.BLS), _line(K.ENGINE, 1, C.AED)),
    ),
    "PERUNCON": ("Unconscious person", (_line(K.ALS), _line(K.ENGINE, 1, C.AED))),
    "STROKE": ("Stroke", (_line(K.ALS),)),
    "RESP": ("Breathing problem", (_line(K.ALS),)),
    "CHOKE": ("Choking", (_line(K.ALS), _line(K.ENGINE, 1, C.AED))),
    "SEIZURE": ("Seizure", (_line(K.ALS),)),
    "DIABETIC": ("Diabetic problem", (_line(AMBULANCE),)),
    "OD": ("Overdose / poisoning", (_line(K.ALS), _line(PATROL))),
    "TRAUMA": ("Traumatic injury", (_line(AMBULANCE),)),
    "FALL": ("Fall", (_line(K.BLS),)),
    "SICK": ("Sick person", (_line(K.BLS),)),
    "PREG": ("Pregnancy / childbirth", (_line(K.ALS),)),
    "MCI": (
        "Mass casualty incident",
        (_line(K.ALS, 3), _line(K.BLS, 3), _line(K.EMS_SUPERVISOR), _line(K.ENGINE, 2)),
    ),
    # Police
    "DVA": ("Domestic with violence", (_line(PATROL, 2), _line(AMBULANCE))),
    "DVNA": ("Domestic, non-violent", (_line(PATROL, 2),)),
    "ORDERV": ("Protective order violation", (_line(PATROL, 2),)),
    "ASSAULT": ("Assault", (_line(PATROL, 2), _line(K.BLS))),
    "FIGHT": ("Fight", (_line(PATROL, 2),)),
    "SHOOT": ("Shooting", (_line(PATROL, 3), _line(K.POLICE_SUPERVISOR), _line(K.ALS))),
    "STABBING": ("Stabbing", (_line(PATROL, 2), _line(K.ALS))),
    "ROBBERY": ("Robbery", (_line(PATROL, 2), _line(K.K9, 1, C.K9_TRACKING))),
    "ALRROBA": ("Robbery / hold-up alarm", (_line(PATROL, 2),)),
    "ALRPANA": ("Panic alarm", (_line(PATROL, 2),)),
    "BURGLARY": ("Burglary", (_line(PATROL, 2),)),
    "ALRBA": ("Burglar alarm", (_line(PATROL),)),
    "PERMISS": ("Missing person", (_line(PATROL), _line(K.K9, 1, C.K9_TRACKING))),
    "PURSUIT": ("Pursuit", (_line(PATROL, 2), _line(K.POLICE_SUPERVISOR))),
    "BARICADE": (
        "Barricaded person",
        (_line(PATROL, 3), _line(K.POLICE_SUPERVISOR), _line(K.K9), _line(K.ALS)),
    ),
    "HOSTAGE": (
        "Hostage",
        (_line(PATROL, 3), _line(K.POLICE_SUPERVISOR), _line(K.ALS)),
    ),
    "EDP": ("Emotionally disturbed person", (_line(PATROL, 2), _line(K.BLS))),
    "SUICTHRT": ("Suicide threat / attempt", (_line(PATROL, 2), _line(K.ALS))),
    "DRUGS": ("Drugs", (_line(PATROL), _line(K.K9, 1, C.K9_NARCOTICS))),
    "DUI": ("Impaired driver", (_line(PATROL),)),
    "RECKDRV": ("Reckless driver", (_line(PATROL),)),
    "SUSP": ("Suspicious incident", (_line(PATROL),)),
    "WELFARE": ("Welfare check", (_line(PATROL),)),
    "BOMB": ("Bomb threat", (_line(PATROL, 2), _line(K.POLICE_SUPERVISOR), _line(K.ENGINE))),
    "911H": ("911 hang-up", (_line(PATROL),)),
}


@dataclass(frozen=True)
class Threshold:
    status: str
    unit_kinds: tuple[str, ...]  # empty: any kind
    warn_after_s: int
    alarm_after_s: int
    label: str


THRESHOLDS: tuple[Threshold, ...] = (
    Threshold(S.DISPATCHED, (), 60, 120, "dispatched with no en route: confirm the unit has it"),
    Threshold(
        S.ON_SCENE, POLICE_KINDS, 10 * 60, 20 * 60, "officer on scene: welfare check by radio"
    ),
    Threshold(S.TRANSPORTING, (), 30 * 60, 60 * 60, "transporting long: confirm destination"),
    Threshold(S.AT_HOSPITAL, (), 30 * 60, 45 * 60, "at hospital long: ask for availability"),
)


@transaction.atomic
def load_plans_and_thresholds() -> str:
    """Create the shipped statewide run cards and thresholds that do not exist yet."""
    natures = {n.code: n for n in NatureCode.objects.filter(code__in=list(RUN_CARDS))}
    existing = set(
        ResponsePlan.objects.filter(
            town__isnull=True, nature__code__in=list(RUN_CARDS)
        ).values_list("nature__code", flat=True)
    )
    created_plans, lines = 0, []
    for code, (name, card) in RUN_CARDS.items():
        if code in existing or code not in natures:
            continue
        plan = ResponsePlan.objects.create(nature=natures[code], town=None, name=name)
        created_plans += 1
        lines += [
            ResponsePlanLine(
                plan=plan, unit_kinds=list(line.kinds), count=line.count, capability=line.capability
            )
            for line in card
        ]
    ResponsePlanLine.objects.bulk_create(lines)
    have = set(StatusThreshold.objects.values_list("status", "unit_kind"))
    thresholds = [
        StatusThreshold(
            status=row.status,
            unit_kind=kind,
            warn_after_s=row.warn_after_s,
            alarm_after_s=row.alarm_after_s,
            label=row.label,
        )
        for row in THRESHOLDS
        for kind in (row.unit_kinds or ("",))
        if (row.status, kind) not in have
    ]
    StatusThreshold.objects.bulk_create(thresholds)
    missing = sorted(set(RUN_CARDS) - set(natures))
    summary = (
        f"run cards: {created_plans} created, {len(existing)} kept; "
        f"thresholds: {len(thresholds)} created"
    )
    if missing:
        summary += f"; {len(missing)} skipped (nature code not loaded: {', '.join(missing)})"
    return summary
