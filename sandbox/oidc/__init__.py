"""A person's login, scripted: OAuth2 authorization code + PKCE against Hydra, with Kratos as
the identity provider. `client` is the relying party (Authlib for the protocol, joserfc for the
ID token), `browser` the person's browser (cookies, redirects, Kratos's browser flow), `demo`
the workshop's identity, client and callback page."""
