"""Common kinds we cannot show as such still read as a line (issue 14, part 12): polls on
Evolution and Telegram, a poll vote, the caption of a Telegram file we cannot show.
Real-shaped bodies from tests/channels/provider_samples.py, through the webhook route."""
from flask_babel import gettext
from sqlalchemy import select

from atendimento.extensions import db
from atendimento.models import Message

from .helpers import message_count, only_message
from .provider_samples import (EVO_LID, EVO_POLL, EVO_POLL_VOTE, TG_PAID_MEDIA, TG_POLL, evo_upsert, tg_update)
from .test_evolution import evolution, evolution_api  # noqa: F401  (fixtures)
from .test_provider_corpus import send_evo, send_tg
from .test_telegram import bot_api, telegram  # noqa: F401  (fixtures)


def poll_line(question, options):
    return "📊 " + gettext("Poll: %(question)s", question=question) + " — " + " · ".join(options)


def test_an_evolution_poll_reads_its_question_and_options(client, evolution):
    payload = evo_upsert(EVO_POLL, "pollCreationMessageV3", key_id="AC1AD49BBFFC4B9257052FB9FC788060", jid=EVO_LID)
    assert send_evo(client, evolution, payload)["stored"] == 1
    assert send_evo(client, evolution, payload)["stored"] == 0  # redelivered: stored once
    message = only_message()
    assert message.kind == "text"
    assert message.body == poll_line("Qual horário prefere?", ["Manhã", "Tarde", "Noite"])
    assert gettext("unsupported type: %(type)s", type="pollCreationMessageV3") not in message.body


def test_older_poll_versions_and_a_poll_without_options(client, evolution):
    send_evo(client, evolution, evo_upsert({"pollCreationMessage": {"name": "Sim ou não?", "options": [
        {"optionName": "Sim"}, {"optionName": "Não"}], "selectableOptionsCount": 1}}, "pollCreationMessage",
        key_id="P1"))
    send_evo(client, evolution, evo_upsert({"pollCreationMessageV2": {"name": "Vazia"}}, "pollCreationMessageV2",
                                           key_id="P2"))
    bodies = sorted(db.session.scalars(select(Message.body)).all())
    assert bodies == sorted([poll_line("Sim ou não?", ["Sim", "Não"]), "📊 " + gettext("Poll: %(question)s",
                                                                                        question="Vazia")])


def test_a_poll_vote_is_a_visible_line(client, evolution):
    send_evo(client, evolution, evo_upsert(EVO_POLL_VOTE, "pollUpdateMessage", jid=EVO_LID))
    message = only_message()
    assert message.kind == "system"
    assert message.body == "📊 " + gettext("Voted in a poll (WhatsApp keeps the vote encrypted).")


def test_a_telegram_poll_reads_its_question_and_options(client, telegram):
    assert send_tg(client, telegram, tg_update(TG_POLL))["stored"] == 1
    message = only_message()
    assert (message.kind, message.body) == ("text", poll_line("Qual horário prefere?", ["Manhã", "Tarde"]))


def test_the_caption_of_a_telegram_file_we_cannot_show_is_kept(client, telegram):
    send_tg(client, telegram, tg_update(TG_PAID_MEDIA))
    message = only_message()
    assert message.kind == "text"
    assert message.body == "Segue a foto do defeito\n(" + gettext("unsupported type: %(type)s", type="paid_media") + ")"


def test_without_a_caption_the_unknown_file_is_still_a_system_line(client, telegram):
    send_tg(client, telegram, tg_update({"paid_media": TG_PAID_MEDIA["paid_media"]}))
    message = only_message()
    assert (message.kind, message.body) == ("system", gettext("unsupported type: %(type)s", type="paid_media"))
    assert message_count() == 1
