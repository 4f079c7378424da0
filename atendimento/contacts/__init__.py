"""Contacts: their tags, their data and custom fields, their history (SPEC §6.1)."""
