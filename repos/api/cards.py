"""POST /api/validate-yaml: the card check huggingface_hub runs before committing a README."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from repos.cards import validate_card


class ValidateYamlApi(APIView):
    """HfApi._validate_yaml -> POST /api/validate-yaml {"content", "repoType"}.

    The client calls `.json()` before it checks the status (hf_api.py `_validate_yaml`), so
    every answer is a JSON object: 200 {"errors": [], "warnings": [{message}]} or
    400 {"error": ..., "errors": [{message}], "warnings": []}.
    """

    def post(self, request: Request) -> Response:
        data = request.data if isinstance(request.data, dict) else {}
        content = data.get("content")
        repo_type = data.get("repoType") or "model"
        if not isinstance(content, str) or not isinstance(repo_type, str):
            return _answer(["content must be a string."], [])
        errors, warnings = validate_card(content, repo_type=repo_type)
        return _answer(errors, warnings)


def _answer(errors: list[str], warnings: list[str]) -> Response:
    body = {
        "errors": [{"message": m} for m in errors],
        "warnings": [{"message": m} for m in warnings],
    }
    if errors:
        body["error"] = "Invalid metadata in README.md: " + "; ".join(errors)
        return Response(body, status=400)
    return Response(body)
