"""Microsoft Teams through the Bot Framework: inbound activities at POST /api/messages,
outbound through the Bot Connector REST API with an msal token. Handlers never see Teams."""
