// A real OpenID Connect provider for the tests: panva's oidc-provider (installed from the npm registry at test
// time into .oidc-provider/, never committed) with one confidential client, PKCE required and the library's
// development login and consent pages (any login; the login is the person's e-mail). Usage:
//   node oidc_provider.mjs PORT REDIRECT_URI CLIENT_ID CLIENT_SECRET
import Provider from 'oidc-provider';

const [port, redirectUri, clientId, clientSecret] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId, client_secret: clientSecret, redirect_uris: [redirectUri],
    response_types: ['code'], grant_types: ['authorization_code'], token_endpoint_auth_method: 'client_secret_basic',
  }],
  pkce: { required: () => true },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['everymetre-test-only-cookie-key'] },
  // the person behind a login: "unverified:x@y" has an e-mail the provider has not verified
  async findAccount(ctx, id) {
    const unverified = id.startsWith('unverified:');
    const email = unverified ? id.slice('unverified:'.length) : id;
    return {
      accountId: id,
      async claims() {
        return { sub: id, email, email_verified: !unverified, name: 'Тест Особа' };
      },
    };
  },
});
provider.listen(Number(port), '127.0.0.1', () => { console.log(`listening ${issuer}`); });
