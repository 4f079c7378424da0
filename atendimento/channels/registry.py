"""Which adapter serves which connection kind: the one seam where channels plug in."""
from __future__ import annotations

from .base import ChannelAdapter
from .evolution import EvolutionAdapter
from .generic import GenericAdapter
from .telegram import TelegramAdapter
from .whatsapp_cloud import WhatsAppCloudAdapter

ADAPTERS: dict[str, type[ChannelAdapter]] = {
    adapter.kind: adapter for adapter in (GenericAdapter, WhatsAppCloudAdapter, EvolutionAdapter, TelegramAdapter)
}


def adapter_class(kind: str) -> type[ChannelAdapter]:
    return ADAPTERS[kind]


def adapter_for(connection) -> ChannelAdapter:
    return ADAPTERS[connection.kind](connection)
