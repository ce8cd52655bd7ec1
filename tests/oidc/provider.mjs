// A real OpenID Connect provider for the single sign-on tests (node-oidc-provider, offline).
//
//   node tests/oidc/provider.mjs <port> <dashboard base URL>
//
// One confidential client, `review`, whose redirect and post-logout URIs are the dashboard's;
// three accounts with a groups claim. Its built-in development pages (devInteractions) ask for a
// login and a password: the login names the account, any password is taken. Prints "ready" once
// it listens on 127.0.0.1:<port>.
import Provider from 'oidc-provider';

const [port, dashboard] = process.argv.slice(2);
if (!port || !dashboard) {
  console.error('usage: node tests/oidc/provider.mjs <port> <dashboard base URL>');
  process.exit(2);
}

const CLIENT_ID = 'review';
const CLIENT_SECRET = 'review-test-secret';

// ana leads QA (Admin), ben reviews (Reviewer), cy is in no group the dashboard maps.
const ACCOUNTS = {
  ana: { name: 'Ana Admin', email: 'ana@example.test', groups: ['staff', 'qa-admins'] },
  ben: { name: 'Ben Reviewer', email: 'ben@example.test', groups: ['qa'] },
  cy: { name: 'Cy Outsider', email: 'cy@example.test', groups: ['sales'] },
};

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [
    {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: [`${dashboard}/oidc/callback/`],
      post_logout_redirect_uris: [`${dashboard}/login/`],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
  ],
  claims: {
    openid: ['sub'],
    profile: ['preferred_username', 'name'],
    email: ['email', 'email_verified'],
    groups: ['groups'],
  },
  scopes: ['openid', 'profile', 'email', 'groups'],
  cookies: { keys: ['only-for-tests'] },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  async findAccount(ctx, id) {
    const account = ACCOUNTS[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, preferred_username: id, email_verified: true, ...account };
      },
    };
  },
  // The dashboard is a first-party client: no consent page, the requested scopes are granted.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope([...ctx.oidc.requestParamScopes].join(' '));
    await grant.save();
    return grant;
  },
});

provider.listen(Number(port), '127.0.0.1', () => console.log('ready'));
