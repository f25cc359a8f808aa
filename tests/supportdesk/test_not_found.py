import pytest

pytestmark = pytest.mark.django_db


def test_an_unknown_api_path_answers_json(client, settings):
    """An API client gets the API's error shape even where no route matches."""
    settings.DEBUG = False
    response = client.get("/api/v1/no-such-thing/a%2Fb/")

    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not found."}}


def test_an_unknown_page_answers_html(client, settings):
    settings.DEBUG = False
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
