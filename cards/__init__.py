"""Pure rendering: a platform-neutral CardView -> console text (and later Block Kit and
Adaptive Cards). No I/O; nothing here knows where a card is sent."""
