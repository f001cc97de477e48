"""Ways into Microsoft 365 and Exchange: OAuth2 tokens (msal), Graph (httpx) and EWS (exchangelib)."""
