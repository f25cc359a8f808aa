"""The customer chat widget: a loader script, an iframe served by the desk, and a
WebSocket per visitor. Visitors' messages go through the same door as every
channel (stored raw, then processed by the chat adapter); what the widget shows
a visitor is their own numbered ChatEntry stream, replayed by number."""
