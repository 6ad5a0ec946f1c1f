"""The laboratory's seven sections and the examinations each offers (every installation has
them; a laboratory adds or retires examination types in the admin)."""

from django.db import migrations

SECTIONS = {
    "dna": ("DNA", [
        ("dna-sexual-assault-kit", "Sexual assault kit (DNA)"),
        ("dna-touch", "Touch DNA"),
        ("dna-body-fluid", "Body fluid identification"),
        ("dna-codis-upload", "CODIS comparison and upload"),
    ]),
    "toxicology": ("Toxicology", [
        ("tox-blood-alcohol", "Blood alcohol concentration"),
        ("tox-drug-screen", "Drug screen (blood / urine)"),
    ]),
    "controlled-substances": ("Controlled Substances", [
        ("cs-drug-identification", "Drug identification"),
        ("cs-quantitation", "Drug quantitation (weight / purity)"),
    ]),
    "firearms": ("Firearms and Toolmarks", [
        ("fa-operability", "Firearm operability"),
        ("fa-comparison", "Cartridge case / bullet comparison"),
        ("fa-nibin", "NIBIN entry"),
        ("fa-toolmark", "Toolmark comparison"),
    ]),
    "latent-prints": ("Latent Prints", [
        ("lp-development", "Latent print development"),
        ("lp-comparison", "Latent print comparison"),
        ("lp-afis", "AFIS search"),
    ]),
    "digital": ("Digital Evidence", [
        ("de-mobile-extraction", "Mobile device extraction"),
        ("de-computer-forensics", "Computer forensics"),
        ("de-video", "Video enhancement and analysis"),
    ]),
    "trace": ("Trace", [
        ("tr-fire-debris", "Fire debris (ignitable liquids)"),
        ("tr-fibers-hair", "Fibers and hair"),
        ("tr-glass-paint", "Glass and paint"),
        ("tr-gsr", "Gunshot residue"),
    ]),
}  # fmt: skip


def seed(apps, schema_editor):
    Section = apps.get_model("forensics", "Section")
    ExaminationType = apps.get_model("forensics", "ExaminationType")
    for code, (name, exams) in SECTIONS.items():
        section, _ = Section.objects.get_or_create(code=code, defaults={"name": name})
        for exam_code, exam_name in exams:
            ExaminationType.objects.get_or_create(
                code=exam_code, defaults={"section": section, "name": exam_name}
            )


class Migration(migrations.Migration):
    dependencies = [("forensics", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
