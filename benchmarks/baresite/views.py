import json

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from benchmarks.baresite.models import BareRow


@csrf_exempt
@require_POST
def insert_one(request: HttpRequest) -> JsonResponse:
    body = json.loads(request.body)
    row = BareRow.objects.create(
        ref=str(body.get("source_ref", "")),
        lat=float(body["lat"]),
        lon=float(body["lon"]),
        note=str(body.get("description", ""))[:400],
    )
    return JsonResponse({"id": row.pk}, status=201)
