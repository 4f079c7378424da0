"""The time-zone choice: Brazil's zones first under names people know, every other
zone by region, each with its offset now; the value sent stays the IANA name."""
import re
from datetime import datetime, timezone

from atendimento.schema import timezones
from atendimento.admin.timezones import timezone_groups, utc_offset


def test_brazil_first_with_friendly_names_and_offsets(app):
    groups = timezone_groups(datetime(2026, 1, 15, 12, tzinfo=timezone.utc))
    label, brazil = groups[0]
    assert label == "Brasil"
    assert brazil[0] == ("America/Sao_Paulo", "Brasília (São Paulo, Rio, BH, Sul…) — UTC−03:00")
    names = dict(brazil)
    assert names["America/Manaus"] == "Manaus (Amazonas) — UTC−04:00"
    assert names["America/Cuiaba"] == "Cuiabá (Mato Grosso) — UTC−04:00"
    assert names["America/Rio_Branco"] == "Rio Branco (Acre) — UTC−05:00"
    assert names["America/Noronha"] == "Fernando de Noronha — UTC−02:00"
    assert {"America/Fortaleza", "America/Recife", "America/Belem"} <= set(names)
    assert [g for g, _options in groups][1:4] == ["Américas", "Europa", "África"]
    assert groups[-1][0] == "Outros"


def test_every_zone_offered_once(app):
    offered = [zone for _label, options in timezone_groups() for zone, _text in options]
    assert sorted(offered) == sorted(timezones())


def test_offsets_follow_daylight_saving_time():
    assert utc_offset("Europe/Lisbon", datetime(2026, 1, 15, tzinfo=timezone.utc)) == "UTC+00:00"
    assert utc_offset("Europe/Lisbon", datetime(2026, 7, 15, tzinfo=timezone.utc)) == "UTC+01:00"
    assert utc_offset("Asia/Kathmandu", datetime(2026, 7, 15, tzinfo=timezone.utc)) == "UTC+05:45"
    assert utc_offset("America/St_Johns", datetime(2026, 1, 15, tzinfo=timezone.utc)) == "UTC−03:30"


def _zone_select(html: str) -> str:
    return re.search(r'<select name="timezone".*?</select>', html, re.S).group(0)


def test_profile_and_user_form_offer_the_grouped_searchable_choice(factory, client, auth):
    admin = factory.admin("Carla", timezone="America/Manaus")
    ana = factory.user("Ana")
    auth.login(admin)
    for url in ("/profile/", f"/admin/users/{ana.id}", "/admin/users/new"):
        html = client.get(url).get_data(as_text=True)
        select = _zone_select(html)
        assert select.index('<optgroup label="Brasil">') < select.index('<optgroup label="Américas">'), url
        assert 'value="America/Sao_Paulo">Brasília (São Paulo, Rio, BH, Sul…) — UTC−03:00<' in select
        assert 'data-zone-search="f-timezone"' in html, "the search box above the select"
        assert "js/timezone.js" in html
    profile = _zone_select(client.get("/profile/").get_data(as_text=True))
    assert re.search(r'<option value="America/Manaus" selected>', profile), "the saved zone stays chosen"
    assert profile.count(" selected") == 1


def test_the_value_saved_is_still_the_iana_name(factory, client, auth):
    ana = factory.user("Ana")
    auth.login(ana)
    client.post("/profile/", data={"language": "pt_BR", "timezone": "America/Cuiaba"})
    assert ana.timezone == "America/Cuiaba"
    assert client.post("/profile/", data={"language": "pt_BR", "timezone": "Cuiabá (Mato Grosso)"}).status_code == 422
