"""Syndicator as a WebSub subscriber: for upstream feeds that advertise a hub, subscribe,
verify intent, check the signature of every push and ingest what is pushed at once, with
polling kept at a long interval as the safety net."""
