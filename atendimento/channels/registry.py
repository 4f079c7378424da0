"""Which adapter serves which connection kind: the one seam where channels plug in.

Listed in the order the admin offers them; each adapter's ``spec`` says the rest.
"""
from __future__ import annotations

from .base import ChannelAdapter
from .evolution import EvolutionAdapter
from .generic import GenericAdapter
from .spec import ChannelSpec
from .telegram import TelegramAdapter
from .whatsapp_cloud import WhatsAppCloudAdapter

ADAPTERS: dict[str, type[ChannelAdapter]] = {
    adapter.spec.kind: adapter
    for adapter in (WhatsAppCloudAdapter, EvolutionAdapter, TelegramAdapter, GenericAdapter)
}
SPECS: dict[str, ChannelSpec] = {kind: adapter.spec for kind, adapter in ADAPTERS.items()}


def adapter_for(connection) -> ChannelAdapter:
    return ADAPTERS[connection.kind](connection)
