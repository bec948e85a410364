"""The OpenAPI document says what errors really look like: problem+json, every status."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_every_error_is_documented_as_problem_json(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert "Problem" in doc["components"]["schemas"]
    posts = 0
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            for status, response in responses.items():
                if status[:1] in ("4", "5") and "content" in response:
                    assert list(response["content"]) == ["application/problem+json"], (
                        method, path, status,
                    )  # fmt: skip
            assert "503" in responses, (method, path)
            if method == "post":
                posts += 1
                assert {"400", "413", "415", "422"} <= set(responses), (method, path)
    assert posts > 10
