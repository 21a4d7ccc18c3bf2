// A stand-in for Logto's OpenID Connect endpoint, for the Go SDK's interoperability tests.
//
// It runs oidc-provider 9 (the library Logto itself is built on) configured the way Logto
// configures it: issuer `<endpoint>/oidc`, an ES384 signing key, Logto's scopes and claims,
// resource indicators with JWT access tokens, and organization tokens through the
// refresh_token grant. Sign-in is headless: `/interaction/:uid` signs the user in and grants
// consent without any page, so a plain HTTP client that follows redirects and keeps cookies
// completes the whole authorization code flow. README.md lists every deliberate difference
// from Logto.
//
// Environment:
//   PORT                    port to listen on, on 127.0.0.1 (default 0: a free port)
//   PORT_FILE               if set, the endpoint URL is written to this file once listening
//   ACCESS_TOKEN_TTL        access token lifetime in seconds (default 3600)
//   ID_TOKEN_TTL            ID token lifetime in seconds (default 3600)
//   BACKCHANNEL_LOGOUT_URI  if set, registered as web-app's backchannel_logout_uri
//   JWKS_CACHE_CONTROL      Cache-Control of the JWKS answer (default Logto's:
//                           "no-cache, max-age=0, must-revalidate")
//
// Test controls (README.md, "Test controls"): /debug/keys rotates, unpublishes and picks the
// signing key, and sets the JWKS Cache-Control, behind the same HTTP server. They answer only
// loopback peers and JSON POSTs.
//
// stdout carries exactly one line, `READY http://127.0.0.1:<port>`; all logging goes to stderr.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as querystring from 'node:querystring';

import Provider, { errors } from 'oidc-provider';
// oidc-provider's own in-memory adapter, created once so that every Provider instance built by
// installProvider shares its store (the package's default makes a store per instance).
import { createMemoryAdapter } from 'oidc-provider/lib/adapters/memory_adapter.js';

// oidc-provider prints its notices with console.info, which goes to stdout. Keep stdout for the
// READY line only.
console.info = (...args) => console.error(...args);
console.log = (...args) => console.error(...args);

// ---------------------------------------------------------------------------------------------
// Settings

function positiveIntegerFromEnv(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') {
    return fallback;
  }
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new Error(`${name} must be a positive integer number of seconds, got ${JSON.stringify(raw)}`);
  }
  return value;
}

const LISTEN_HOST = '127.0.0.1';
const LISTEN_PORT = (() => {
  const raw = process.env.PORT ?? '0';
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0 || value > 65535) {
    throw new Error(`PORT must be a port number, got ${JSON.stringify(raw)}`);
  }
  return value;
})();
const ACCESS_TOKEN_TTL = positiveIntegerFromEnv('ACCESS_TOKEN_TTL', 3600);
const ID_TOKEN_TTL = positiveIntegerFromEnv('ID_TOKEN_TTL', 3600);
const BACKCHANNEL_LOGOUT_URI = process.env.BACKCHANNEL_LOGOUT_URI || undefined;
// What Logto sends with its JWKS (packages/core/src/middleware/koa-jwks-cache-control.ts).
const LOGTO_JWKS_CACHE_CONTROL = 'no-cache, max-age=0, must-revalidate';
const JWKS_CACHE_CONTROL = process.env.JWKS_CACHE_CONTROL || LOGTO_JWKS_CACHE_CONTROL;

/** Clients whose ID tokens do not use ID_TOKEN_TTL: client id → lifetime in seconds. */
const ID_TOKEN_TTL_BY_CLIENT = { 'short-id-app': 4 };

const SIGNING_ALG = 'ES384';
const MOUNT_PATH = '/oidc';

// Logto's reserved names (@logto/core-kit).
const ORGANIZATIONS_RESOURCE = 'urn:logto:resource:organizations';
const ORGANIZATIONS_SCOPE = 'urn:logto:scope:organizations';
const ORGANIZATION_ROLES_SCOPE = 'urn:logto:scope:organization_roles';
const organizationAudience = (organizationId) => `urn:logto:organization:${organizationId}`;

// ---------------------------------------------------------------------------------------------
// Fixed directory: API resources, roles, organizations, users, machine-to-machine access

/**
 * API resources: indicator → the scopes it defines and, for the short-lived ones, the lifetime in
 * seconds of their access tokens (Logto's per-resource "token expiration time", which accepts any
 * value down to 1 s). The others use ACCESS_TOKEN_TTL.
 */
const API_RESOURCES = {
  'https://api.example.com': { scopes: ['read:data', 'write:data'] },
  'https://other.example.com': { scopes: ['other:read'] },
  'https://ttl-2s.example.com': { scopes: [], accessTokenTTL: 2 },
  'https://ttl-4s.example.com': { scopes: [], accessTokenTTL: 4 },
};

/** User roles: role name → { API indicator → scopes the role grants }. */
const USER_ROLES = {
  admin: { 'https://api.example.com': ['read:data', 'write:data'] },
};

/** Organization-level scopes (the "organization template" permissions). */
const ORGANIZATION_SCOPES = ['read:org', 'write:org'];

/**
 * Organization roles: role name → the organization scopes and the API resource scopes it grants.
 * As in Logto, a user's API token gets the API resource scopes of their organization roles on
 * top of those of their user roles (see userResourceScopes).
 */
const ORGANIZATION_ROLES = {
  member: {
    organizationScopes: ['read:org'],
    resourceScopes: { 'https://api.example.com': ['read:data'] },
  },
  admin: {
    organizationScopes: ['read:org', 'write:org'],
    resourceScopes: { 'https://api.example.com': ['read:data', 'write:data'] },
  },
};

const ORGANIZATIONS = {
  'org-1': { id: 'org-1', name: 'Organization One', description: 'The first test organization' },
  'org-2': { id: 'org-2', name: 'Organization Two', description: null },
};

const USERS = {
  'user-alice': {
    id: 'user-alice',
    username: 'alice',
    name: 'Alice Liddell',
    avatar: null,
    primaryEmail: 'alice@example.com',
    primaryPhone: null,
    profile: {},
    customData: { plan: 'pro' },
    identities: { github: { userId: 'gh-1' } },
    ssoIdentities: [],
    roles: ['admin'],
    organizations: [{ id: 'org-1', roles: ['member'] }],
    createdAt: 1700000000000,
    updatedAt: 1700000500000,
  },
  'user-bob': {
    id: 'user-bob',
    username: 'bob',
    name: null,
    avatar: null,
    primaryEmail: null,
    primaryPhone: null,
    profile: {},
    customData: {},
    identities: {},
    ssoIdentities: [],
    roles: [],
    organizations: [],
    createdAt: 1700001000000,
    updatedAt: 1700001000000,
  },
  // No user role: her API scopes come from her organization role alone.
  'user-carol': {
    id: 'user-carol',
    username: 'carol',
    name: null,
    avatar: null,
    primaryEmail: null,
    primaryPhone: null,
    profile: {},
    customData: {},
    identities: {},
    ssoIdentities: [],
    roles: [],
    organizations: [{ id: 'org-1', roles: ['member'] }],
    createdAt: 1700002000000,
    updatedAt: 1700002000000,
  },
};

const DEFAULT_USER_ID = 'user-alice';

/** Machine-to-machine apps: client id → { API indicator → scopes the app's roles grant }. */
const M2M_ACCESS = {
  'm2m-app': { 'https://api.example.com': ['read:data'] },
};

const uniq = (values) => [...new Set(values)];

function findUserByHint(hint) {
  if (USERS[hint]) {
    return USERS[hint];
  }
  return Object.values(USERS).find((user) => user.username === hint || (user.primaryEmail && user.primaryEmail === hint));
}

function membership(user, organizationId) {
  return user?.organizations.find((entry) => entry.id === organizationId);
}

/**
 * Scopes of an API resource that the user holds, as Logto's findUserScopesForResourceIndicator
 * computes them (called with findFromOrganizations: the scopes of the user's roles plus those of
 * their organization roles). With an organizationId (an organization-scoped API token) only the
 * roles held in that organization add to the user roles' scopes; without one, the roles held in
 * every organization do. The user roles' scopes are always kept: an organization-scoped token
 * is not narrowed to the organization.
 */
function userResourceScopes(user, indicator, organizationId) {
  const memberships = organizationId ? user.organizations.filter((entry) => entry.id === organizationId) : user.organizations;
  return uniq([
    ...user.roles.flatMap((role) => USER_ROLES[role]?.[indicator] ?? []),
    ...memberships.flatMap((entry) => entry.roles.flatMap((role) => ORGANIZATION_ROLES[role]?.resourceScopes[indicator] ?? [])),
  ]);
}

/** Organization scopes the user holds in one organization. */
function userOrganizationScopes(user, organizationId) {
  const entry = membership(user, organizationId);
  if (!entry) {
    return [];
  }
  return uniq(entry.roles.flatMap((role) => ORGANIZATION_ROLES[role]?.organizationScopes ?? []));
}

/** Organization scopes the user holds in any organization (used on /auth, before an organization is picked). */
function userAllOrganizationScopes(user) {
  return uniq(user.organizations.flatMap((entry) => userOrganizationScopes(user, entry.id)));
}

/** The user claims, shaped like Logto's (`@logto/core-kit` + `findAccount` in Logto's init.ts). */
function userClaims(user, use) {
  const claims = {
    sub: user.id,
    // profile
    name: user.name,
    picture: user.avatar,
    username: user.username,
    preferred_username: user.profile.preferredUsername ?? user.username,
    created_at: user.createdAt, // epoch milliseconds, as in Logto
    updated_at: user.updatedAt, // epoch milliseconds, as in Logto
    // email
    email: user.primaryEmail,
    email_verified: Boolean(user.primaryEmail),
    // phone
    phone_number: user.primaryPhone,
    phone_number_verified: Boolean(user.primaryPhone),
    // roles
    roles: [...user.roles],
    // urn:logto:scope:organizations
    organizations: user.organizations.map((entry) => entry.id),
    // urn:logto:scope:organization_roles
    organization_roles: user.organizations.flatMap((entry) => entry.roles.map((role) => `${entry.id}:${role}`)),
  };

  for (const key of ['family_name', 'given_name', 'middle_name', 'nickname', 'profile', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale', 'address']) {
    if (user.profile[key] !== undefined) {
      claims[key] = user.profile[key];
    }
  }

  // Logto's default ID token configuration ("enabledExtendedClaims": roles, organizations,
  // organization_roles) leaves these out of the ID token; userinfo always has them.
  if (use === 'userinfo') {
    claims.custom_data = user.customData;
    claims.identities = user.identities;
    claims.sso_identities = user.ssoIdentities;
    claims.organization_data = user.organizations.map((entry) => {
      const organization = ORGANIZATIONS[entry.id];
      return { id: organization.id, name: organization.name, description: organization.description };
    });
  }

  return claims;
}

// ---------------------------------------------------------------------------------------------
// Helpers for the token endpoint

/** An error with a 403 status, as Logto uses for its organization checks. */
function forbidden(error) {
  error.status = 403;
  error.statusCode = 403;
  return error;
}

/** The user a token request or an authorization request acts for, if any is known yet. */
function currentAccountId(ctx) {
  const { entities } = ctx.oidc;
  return entities.Account?.accountId
    ?? entities.RefreshToken?.accountId
    ?? entities.AuthorizationCode?.accountId
    ?? ctx.oidc.session?.accountId;
}

/** The organization_id sent to the token endpoint (oidc-provider strips it from ctx.oidc.params). */
function tokenRequestOrganizationId(ctx) {
  if (ctx.oidc.route !== 'token') {
    return undefined;
  }
  const value = ctx.oidc.body?.organization_id;
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function jwtResourceServer(audience, scopes, accessTokenTTL = ACCESS_TOKEN_TTL) {
  return {
    audience,
    scope: scopes.join(' '),
    accessTokenTTL,
    accessTokenFormat: 'jwt',
    jwt: { sign: { alg: SIGNING_ALG } },
  };
}

function resourceServerInfo(ctx, indicator, client) {
  const m2mAccess = M2M_ACCESS[client.clientId];

  if (indicator === ORGANIZATIONS_RESOURCE) {
    if (m2mAccess) {
      throw new errors.InvalidTarget();
    }
    const user = USERS[currentAccountId(ctx)];
    if (ctx.oidc.route === 'token') {
      // Only reachable as an organization token request (see prepareTokenRequest).
      const organizationId = tokenRequestOrganizationId(ctx);
      if (!organizationId) {
        throw new errors.InvalidTarget('organization_id is required for the organizations resource');
      }
      return jwtResourceServer(organizationAudience(organizationId), user ? userOrganizationScopes(user, organizationId) : []);
    }
    return jwtResourceServer(ORGANIZATIONS_RESOURCE, user ? userAllOrganizationScopes(user) : []);
  }

  const api = API_RESOURCES[indicator];
  if (!api) {
    throw new errors.InvalidTarget();
  }
  const ttl = api.accessTokenTTL ?? ACCESS_TOKEN_TTL;

  if (m2mAccess) {
    return jwtResourceServer(indicator, m2mAccess[indicator] ?? [], ttl);
  }

  const user = USERS[currentAccountId(ctx)];
  if (!user) {
    return jwtResourceServer(indicator, [], ttl);
  }
  return jwtResourceServer(indicator, userResourceScopes(user, indicator, tokenRequestOrganizationId(ctx)), ttl);
}

/** Reads a form or JSON request body into a querystring-style object (undefined for other types). */
async function readFormOrJsonBody(ctx) {
  const isForm = ctx.is('application/x-www-form-urlencoded');
  const isJson = !isForm && ctx.is('application/json');
  if (!isForm && !isJson) {
    return undefined;
  }

  const chunks = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += chunk.length;
    if (size > 64 * 1024) {
      throw new errors.InvalidRequest('request body too large');
    }
    chunks.push(chunk);
  }
  const raw = Buffer.concat(chunks).toString('utf8');

  if (isForm) {
    return querystring.parse(raw);
  }
  try {
    const parsed = JSON.parse(raw);
    return querystring.parse(querystring.stringify(parsed));
  } catch {
    throw new errors.InvalidRequest('failed to parse the request body');
  }
}

/**
 * Runs before oidc-provider's body parser on POST /token:
 * - accepts JSON bodies as Logto does (converted to a form);
 * - an organization token request (refresh_token grant with organization_id and no resource)
 *   is turned into a request for the reserved organizations resource, whose resource server
 *   info then carries `aud: urn:logto:organization:<id>` and the user's organization scopes.
 */
async function prepareTokenRequest(ctx) {
  const params = await readFormOrJsonBody(ctx);
  if (!params) {
    return;
  }
  ctx.request.headers['content-type'] = 'application/x-www-form-urlencoded';

  if (params.grant_type === 'refresh_token' && params.organization_id && !params.resource) {
    params.resource = ORGANIZATIONS_RESOURCE;
  }

  // oidc-provider's body parser falls back to req.body when the stream was already read.
  ctx.req.body = querystring.stringify(params);
}

/**
 * Like Logto's koaOidcPostToGet: a POST to /auth (form or JSON body) is handled as a GET with
 * the body's parameters appended to the query. (oidc-provider's own enableHttpPostMethods
 * requires SameSite=None cookies, which browsers only keep over https.)
 */
async function authorizationPostToGet(ctx) {
  const params = await readFormOrJsonBody(ctx);
  const query = new URLSearchParams(ctx.querystring);
  for (const [key, value] of Object.entries(params ?? {})) {
    for (const item of Array.isArray(value) ? value : [value]) {
      query.append(key, item);
    }
  }
  ctx.method = 'GET';
  ctx.querystring = query.toString();
  ctx.req.originalUrl = `${MOUNT_PATH}${ctx.url}`; // keep oidc-provider's mount path detection working
  delete ctx.request.headers['content-type'];
  delete ctx.request.headers['content-length'];
}

/**
 * Clients whose refreshes keep Logto's (and upstream oidc-provider's) order: the refresh token is
 * rotated before the requested resource is checked, so an invalid_target answer has spent it and
 * its next use revokes the grant (Logto waits 3 s before that; this stand-in does not).
 */
const RESOURCE_CHECKED_AFTER_ROTATION = new Set(['native-app']);

/**
 * Checks made before the refresh token is rotated, like Logto's refresh_token grant:
 * organization membership (403 access_denied), the organizations scope on the refresh token
 * (403 insufficient_scope), and — a deliberate difference, see README — the requested resource,
 * so that a failing request never burns the refresh token (except for
 * RESOURCE_CHECKED_AFTER_ROTATION).
 */
async function checkRefreshRequest(ctx) {
  const { RefreshToken: refreshToken, Account: account, Client: client } = ctx.oidc.entities;
  const organizationId = tokenRequestOrganizationId(ctx);

  if (organizationId) {
    const user = USERS[account.accountId];
    if (!ORGANIZATIONS[organizationId] || !membership(user, organizationId)) {
      throw forbidden(new errors.AccessDenied('user is not a member of the organization'));
    }
    if (!refreshToken.scopes.has(ORGANIZATIONS_SCOPE)) {
      throw new errors.InsufficientScope('refresh token missing required scope', ORGANIZATIONS_SCOPE);
    }
  }

  if (RESOURCE_CHECKED_AFTER_ROTATION.has(client.clientId)) {
    return; // oidc-provider checks the resource after the rotation
  }
  const { resource } = ctx.oidc.params;
  if (Array.isArray(resource)) {
    throw new errors.InvalidTarget('only a single resource indicator value must be requested/resolved during Access Token Request');
  }
  if (typeof resource === 'string') {
    if (!refreshToken.resourceIndicators.has(resource)) {
      throw new errors.InvalidTarget();
    }
    resourceServerInfo(ctx, resource, client); // throws InvalidTarget for unknown indicators
  }
}

// ---------------------------------------------------------------------------------------------
// Pages

/** Like Logto's logout.html: the confirm form gets `logout=yes` and submits itself on load. */
async function logoutSource(ctx, form) {
  const autoForm = form.replace('</form>', '<input type="hidden" name="logout" value="yes"/></form>');
  ctx.type = 'html';
  ctx.body = `<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>Signing out</title></head>
<body>
${autoForm}
<script>document.forms['op.logoutForm'].submit();</script>
<noscript><button type="submit" form="op.logoutForm">Sign out</button></noscript>
</body>
</html>`;
}

async function postLogoutSuccessSource(ctx) {
  ctx.type = 'html';
  ctx.body = `<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>Signed out</title></head>
<body><p>You have successfully signed out.</p></body>
</html>`;
}

/** Logto renders errors of the browser-facing endpoints as the error object itself. */
async function renderError(ctx, out) {
  ctx.type = 'json';
  ctx.body = out;
}

// ---------------------------------------------------------------------------------------------
// Signing keys
//
// oidc-provider fixes its keystore when the Provider is constructed, and signs with the first key
// of it. Logto rotates by putting a new key first and keeps the old one published until it is
// deleted. The key ring below holds every key generated since start; a rotation rebuilds the
// Provider (see installProvider) with the signing key first. The published JWKS is served by this
// server from the ring, so a key can leave the JWKS while the provider still holds it: signing
// with such a key stands for an attacker who kept a removed (say, compromised) key.

const keyRing = {
  /** kid → private JWK, in creation order. */
  keys: new Map(),
  /** kid of the key new tokens are signed with. */
  signing: undefined,
  /** kids in the published JWKS, in order. */
  published: [],
  /** Cache-Control of the JWKS answer. */
  cacheControl: JWKS_CACHE_CONTROL,
};

function generateSigningKey() {
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const key = {
    ...privateKey.export({ format: 'jwk' }),
    kid: crypto.randomBytes(12).toString('base64url'),
    alg: SIGNING_ALG,
    use: 'sig',
  };
  keyRing.keys.set(key.kid, key);
  return key.kid;
}

function publicJwk({ kty, crv, x, y, kid, alg, use }) {
  return { kty, crv, x, y, kid, alg, use };
}

/** The keystore for a Provider: the signing key first, then every other key of the ring. */
function providerJwks() {
  const signing = keyRing.keys.get(keyRing.signing);
  return { keys: [signing, ...[...keyRing.keys.values()].filter((key) => key !== signing)] };
}

/** What the JWKS endpoint publishes. */
function publishedJwks() {
  return { keys: keyRing.published.map((kid) => publicJwk(keyRing.keys.get(kid))) };
}

function keyRingState() {
  return {
    signing: keyRing.signing,
    published: [...keyRing.published],
    keys: [...keyRing.keys.keys()],
    cache_control: keyRing.cacheControl,
  };
}

// ---------------------------------------------------------------------------------------------
// Provider

// What outlives a rebuilt Provider: the cookie keys, so that sessions and interactions stay
// valid, and the adapter's store, so that grants, sessions and tokens do. 15 s is oidc-provider's
// default clockTolerance, which the adapter adds to every entry's lifetime.
const COOKIE_KEYS = [crypto.randomBytes(32).toString('base64url')];
const ADAPTER = createMemoryAdapter(15);

function createProvider(issuer) {

  const redirectUris = ['http://127.0.0.1:3000/callback', 'http://localhost:3000/callback'];
  const postLogoutRedirectUris = ['http://127.0.0.1:3000/', 'http://localhost:3000/'];

  const clients = [
    {
      // A Logto "traditional web" application.
      client_id: 'web-app',
      client_secret: 'web-secret',
      client_name: 'Interop traditional web app',
      application_type: 'web',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: redirectUris,
      post_logout_redirect_uris: postLogoutRedirectUris,
      ...(BACKCHANNEL_LOGOUT_URI
        ? { backchannel_logout_uri: BACKCHANNEL_LOGOUT_URI, backchannel_logout_session_required: true }
        : {}),
    },
    {
      // A Logto single-page (or native) application: public client, PKCE required.
      client_id: 'spa-app',
      client_name: 'Interop single-page app',
      application_type: 'web',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: redirectUris,
      post_logout_redirect_uris: postLogoutRedirectUris,
    },
    {
      // web-app again, without a back-channel logout URI, whose ID tokens live
      // 4 s (ID_TOKEN_TTL_BY_CLIENT): a session's ID token is soon due for
      // renewal, so that a refresh response's ID token is verified and kept.
      client_id: 'short-id-app',
      client_secret: 'short-id-secret',
      client_name: 'Interop traditional web app with short-lived ID tokens',
      application_type: 'web',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: redirectUris,
      post_logout_redirect_uris: postLogoutRedirectUris,
    },
    {
      // A Logto native application: public like spa-app, but its refreshes keep Logto's order
      // (the resource is checked after the rotation: RESOURCE_CHECKED_AFTER_ROTATION).
      client_id: 'native-app',
      client_name: 'Interop native app',
      application_type: 'web',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: redirectUris,
      post_logout_redirect_uris: postLogoutRedirectUris,
    },
    {
      // A Logto native application with device flow enabled (customClientMetadata.isDeviceFlow):
      // Logto gives it exactly these grant types and no response types (getConstantClientMetadata
      // in Logto's oidc/utils.ts).
      client_id: 'device-app',
      client_name: 'Interop device-flow app',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
      response_types: [],
      redirect_uris: [],
    },
    {
      // A Logto machine-to-machine application.
      client_id: 'm2m-app',
      client_secret: 'm2m-secret',
      client_name: 'Interop machine-to-machine app',
      application_type: 'web',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    },
  ];

  const allowedOrigins = new Set(redirectUris.map((uri) => new URL(uri).origin));

  const configuration = {
    clients,
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: SIGNING_ALG,
    },
    adapter: ADAPTER,
    jwks: providerJwks(),
    enabledJWA: {
      idTokenSigningAlgValues: ['RS256', 'PS256', 'ES256', 'ES384', 'ES512'],
      userinfoSigningAlgValues: ['RS256', 'PS256', 'ES256', 'ES384', 'ES512'],
      introspectionSigningAlgValues: ['RS256', 'PS256', 'ES256', 'ES384', 'ES512'],
      authorizationSigningAlgValues: ['RS256', 'PS256', 'ES256', 'ES384', 'ES512'],
    },
    cookies: {
      keys: COOKIE_KEYS,
    },
    claims: {
      openid: ['sub'],
      profile: [
        'name', 'family_name', 'given_name', 'middle_name', 'nickname', 'preferred_username',
        'profile', 'picture', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale', 'updated_at',
        'username', 'created_at',
      ],
      email: ['email', 'email_verified'],
      phone: ['phone_number', 'phone_number_verified'],
      address: ['address'],
      custom_data: ['custom_data'],
      identities: ['identities', 'sso_identities'],
      roles: ['roles'],
      [ORGANIZATIONS_SCOPE]: ['organizations', 'organization_data'],
      [ORGANIZATION_ROLES_SCOPE]: ['organization_roles'],
      'urn:logto:scope:sessions': [],
      'urn:logto:scope:trusted_devices': [],
      sid: null,
      auth_time: null,
      iss: null,
    },
    conformIdTokenClaims: false,
    extraParams: [
      'interaction_mode', 'first_screen', 'direct_sign_in', 'organization_id', 'login_hint',
      'ui_locales', 'identifier', 'one_time_token',
    ],
    pkce: {
      required: (ctx, client) => client.clientAuthMethod !== 'client_secret_basic',
    },
    features: {
      devInteractions: { enabled: false },
      dPoP: { enabled: false },
      userinfo: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true },
      clientCredentials: { enabled: true },
      backchannelLogout: { enabled: true },
      // As in Logto; oidc-provider's own user-code pages (an xsrf form, then a confirm form)
      // stand in for Logto's device page, and sign-in goes through the headless interaction.
      deviceFlow: { enabled: true },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
      resourceIndicators: {
        enabled: true,
        // No tenant default API. (When several indicators are sent to the token endpoint, oidc-provider
        // passes them as oneOf; returning them unchanged makes that an invalid_target.)
        defaultResource: async (ctx, client, oneOf) => oneOf,
        useGrantedResource: async () => false,
        getResourceServerInfo: async (ctx, indicator, client) => resourceServerInfo(ctx, indicator, client),
      },
    },
    issueRefreshToken: async (ctx, client, code) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    // Deliberate difference from Logto: every refresh rotates the refresh token, for every client.
    // Logto (oidc-provider's default policy) always rotates only for public clients and rotates a
    // confidential client's token only once 70% of its TTL has passed. Always rotating makes
    // rotation and reuse detection testable with web-app too. Logto's 3-second reuse leeway is
    // not emulated either: reusing a consumed refresh token is invalid_grant at once.
    rotateRefreshToken: async (ctx) => {
      await checkRefreshRequest(ctx);
      return true;
    },
    extraTokenClaims: async (ctx, token) => {
      if (token.kind === 'ClientCredentials') {
        if (ctx?.oidc?.body?.organization_id) {
          throw forbidden(new errors.AccessDenied('app has not associated with the organization'));
        }
        if (!token.resourceServer) {
          throw new errors.InvalidTarget('both `resource` and `organization_id` are not provided');
        }
        return undefined;
      }
      if (
        token.kind === 'AccessToken'
        && token.resourceServer
        && token.resourceServer.identifier() !== ORGANIZATIONS_RESOURCE
      ) {
        const organizationId = ctx ? tokenRequestOrganizationId(ctx) : undefined;
        if (organizationId) {
          return { organization_id: organizationId };
        }
      }
      return undefined;
    },
    findAccount: async (ctx, sub) => {
      const user = USERS[sub];
      if (!user) {
        return undefined;
      }
      return {
        accountId: user.id,
        claims: async (use) => userClaims(user, use),
      };
    },
    interactions: {
      url: (ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    ttl: {
      AccessToken: (ctx, token) => token.resourceServer?.accessTokenTTL ?? ACCESS_TOKEN_TTL,
      ClientCredentials: (ctx, token) => token.resourceServer?.accessTokenTTL ?? ACCESS_TOKEN_TTL,
      AuthorizationCode: 60,
      IdToken: (ctx, token, client) => ID_TOKEN_TTL_BY_CLIENT[client.clientId] ?? ID_TOKEN_TTL,
      RefreshToken: (ctx, token, client) => {
        const rotated = ctx?.oidc?.entities.RotatedRefreshToken;
        if (rotated && client.clientAuthMethod === 'none') {
          return rotated.remainingTTL; // a public client's rotated token keeps the original expiry
        }
        return 14 * 24 * 60 * 60;
      },
      Session: 14 * 24 * 60 * 60,
      Grant: 180 * 24 * 60 * 60,
      Interaction: 60 * 60,
      DeviceCode: 10 * 60,
    },
    clientBasedCORS: (ctx, origin, client) => allowedOrigins.has(origin) && client.redirectUris.some((uri) => new URL(uri).origin === origin),
    renderError,
    // oidc-provider guards outgoing requests (back-channel logout) against loopback and private
    // addresses; the tests' receiver listens on 127.0.0.1, so drop the guarding dispatcher.
    fetch: (url, { dispatcher, ...init }) => globalThis.fetch(url, init),
  };

  const provider = new Provider(issuer, configuration);

  provider.use(async (ctx, next) => {
    if (ctx.method === 'POST' && ctx.path === '/token') {
      await prepareTokenRequest(ctx);
    } else if (ctx.method === 'POST' && ctx.path === '/auth') {
      await authorizationPostToGet(ctx);
    }
    await next();
  });

  provider.on('server_error', (ctx, error) => {
    console.error('server_error:', error);
  });
  provider.on('backchannel.error', (ctx, error, client) => {
    console.error(`back-channel logout to ${client.clientId} failed:`, error);
  });

  return provider;
}

// ---------------------------------------------------------------------------------------------
// Headless interactions

/** The authorization parameters of the most recent interaction, for tests: GET /debug/last-interaction. */
let lastInteraction = null;

function sendJson(res, status, body) {
  const payload = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', Buffer.byteLength(payload));
  res.end(payload);
}

async function handleInteraction(provider, req, res) {
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (error) {
    sendJson(res, 400, {
      error: error.error ?? 'invalid_request',
      error_description: error.error_description ?? 'interaction session not found',
    });
    return;
  }

  const { uid, prompt, params, session, grantId } = details;
  lastInteraction = { uid, prompt: prompt.name, params };

  const loginHint = typeof params.login_hint === 'string' ? params.login_hint : undefined;
  if (loginHint === 'deny') {
    await provider.interactionFinished(req, res, {
      error: 'access_denied',
      error_description: 'user denied',
    }, { mergeWithLastSubmission: false });
    return;
  }

  if (prompt.name === 'login') {
    const user = loginHint ? findUserByHint(loginHint) : USERS[DEFAULT_USER_ID];
    if (!user) {
      await provider.interactionFinished(req, res, {
        error: 'access_denied',
        error_description: `user not found: ${loginHint}`,
      }, { mergeWithLastSubmission: false });
      return;
    }
    await provider.interactionFinished(req, res, {
      login: { accountId: user.id },
    }, { mergeWithLastSubmission: false });
    return;
  }

  if (prompt.name === 'consent') {
    // Auto-consent, as Logto's experience app does for first-party applications: grant
    // everything that is missing (OIDC scopes and claims, and the resource scopes that the
    // resource servers offer to this user).
    const grant = grantId
      ? await provider.Grant.find(grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = prompt.details;
    if (missingOIDCScope) {
      grant.addOIDCScope(missingOIDCScope.join(' '));
    }
    if (missingOIDCClaims) {
      grant.addOIDCClaims(missingOIDCClaims);
    }
    if (missingResourceScopes) {
      for (const [indicator, scopes] of Object.entries(missingResourceScopes)) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
    }
    const savedGrantId = await grant.save();
    await provider.interactionFinished(req, res, {
      consent: { grantId: savedGrantId },
    }, { mergeWithLastSubmission: true });
    return;
  }

  await provider.interactionFinished(req, res, {
    error: 'interaction_required',
    error_description: `prompt ${prompt.name} is not supported`,
  }, { mergeWithLastSubmission: false });
}

// ---------------------------------------------------------------------------------------------
// Test controls

let issuerUrl;
let provider;
let providerCallback;

/** (Re)builds the Provider from the key ring. Every instance shares ADAPTER and COOKIE_KEYS,
 * so sessions, interactions, grants and tokens outlive a rebuild. */
function installProvider() {
  provider = createProvider(issuerUrl);
  providerCallback = provider.callback();
}

function isLoopbackPeer(req) {
  const address = req.socket.remoteAddress ?? '';
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

async function readJsonBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 4096) {
      throw Object.assign(new Error('request body too large'), { status: 413 });
    }
    chunks.push(chunk);
  }
  const raw = Buffer.concat(chunks).toString('utf8');
  if (raw.trim() === '') {
    return {};
  }
  const body = JSON.parse(raw);
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw Object.assign(new Error('the body must be a JSON object'), { status: 400 });
  }
  return body;
}

function knownKid(body) {
  if (typeof body.kid !== 'string' || !keyRing.keys.has(body.kid)) {
    throw Object.assign(new Error(`unknown kid ${JSON.stringify(body.kid)}`), { status: 400 });
  }
  return body.kid;
}

/** The key controls: POST /debug/keys/<action> with a JSON body; GET /debug/keys reads the state. */
const keyControls = {
  /** A new key signs new tokens and is published first; the others stay published. */
  rotate: () => {
    const kid = generateSigningKey();
    keyRing.signing = kid;
    keyRing.published = [kid, ...keyRing.published];
    installProvider();
  },
  /** The key leaves the JWKS; the provider still holds it (see "sign"). */
  unpublish: (body) => {
    const kid = knownKid(body);
    keyRing.published = keyRing.published.filter((published) => published !== kid);
  },
  /** New tokens are signed with this key, published or not. */
  sign: (body) => {
    keyRing.signing = knownKid(body);
    installProvider();
  },
  /** The JWKS answer's Cache-Control; "" or null brings back the default. */
  'cache-control': (body) => {
    if (body.value !== null && typeof body.value !== 'string') {
      throw Object.assign(new Error('value must be a string or null'), { status: 400 });
    }
    keyRing.cacheControl = body.value || JWKS_CACHE_CONTROL;
  },
};

async function handleKeyControl(req, res, pathname) {
  if (!isLoopbackPeer(req)) {
    sendJson(res, 403, { error: 'forbidden', error_description: 'test controls answer loopback peers only' });
    return;
  }
  if (pathname === '/debug/keys' && req.method === 'GET') {
    sendJson(res, 200, keyRingState());
    return;
  }
  const action = pathname.slice('/debug/keys/'.length);
  if (req.method !== 'POST' || !Object.hasOwn(keyControls, action)) {
    sendJson(res, 404, { error: 'not_found' });
    return;
  }
  // A JSON body cannot be sent cross-origin without a CORS preflight, which nothing here answers.
  if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
    sendJson(res, 415, { error: 'invalid_request', error_description: 'send application/json' });
    return;
  }
  try {
    keyControls[action](await readJsonBody(req));
  } catch (error) {
    sendJson(res, error.status ?? 400, { error: 'invalid_request', error_description: error.message });
    return;
  }
  console.error(`test control: keys ${action}:`, JSON.stringify(keyRingState()));
  sendJson(res, 200, keyRingState());
}

/** The provider's JWKS, as published by the key ring. */
function sendJwks(res) {
  const payload = JSON.stringify(publishedJwks());
  res.statusCode = 200;
  res.setHeader('Content-Type', 'application/jwk-set+json; charset=utf-8');
  res.setHeader('Cache-Control', keyRing.cacheControl);
  res.setHeader('Content-Length', Buffer.byteLength(payload));
  res.end(payload);
}

// ---------------------------------------------------------------------------------------------
// HTTP server

const server = http.createServer(async (req, res) => {
  try {
    if (!providerCallback) {
      sendJson(res, 503, { error: 'temporarily_unavailable', error_description: 'starting' });
      return;
    }

    const { pathname } = new URL(req.url, 'http://localhost');

    if (pathname === `${MOUNT_PATH}/jwks` && (req.method === 'GET' || req.method === 'HEAD')) {
      sendJwks(res);
      return;
    }

    if (pathname === MOUNT_PATH || pathname.startsWith(`${MOUNT_PATH}/`)) {
      // Mount oidc-provider under /oidc: it derives its mount path from originalUrl vs url.
      req.originalUrl = req.url;
      const rest = req.url.slice(MOUNT_PATH.length);
      req.url = rest.startsWith('/') ? rest : `/${rest}`;
      providerCallback(req, res);
      return;
    }

    if (/^\/interaction\/[^/]+\/?$/.test(pathname) && (req.method === 'GET' || req.method === 'POST')) {
      await handleInteraction(provider, req, res);
      return;
    }

    if (pathname === '/debug/keys' || pathname.startsWith('/debug/keys/')) {
      await handleKeyControl(req, res, pathname);
      return;
    }

    if (pathname === '/debug/last-interaction' && req.method === 'GET') {
      sendJson(res, 200, lastInteraction ?? {});
      return;
    }

    if (pathname === '/health' && req.method === 'GET') {
      sendJson(res, 200, { status: 'ok' });
      return;
    }

    sendJson(res, 404, { error: 'not_found' });
  } catch (error) {
    console.error('request failed:', error);
    if (!res.headersSent) {
      sendJson(res, 500, { error: 'server_error', error_description: 'unexpected error' });
    } else {
      res.destroy();
    }
  }
});

server.on('error', (error) => {
  console.error('server error:', error);
  process.exit(1);
});

server.listen(LISTEN_PORT, LISTEN_HOST, () => {
  const { port } = server.address();
  const endpoint = `http://${LISTEN_HOST}:${port}`;
  issuerUrl = `${endpoint}${MOUNT_PATH}`;
  keyRing.signing = generateSigningKey();
  keyRing.published = [keyRing.signing];
  installProvider();

  if (process.env.PORT_FILE) {
    fs.writeFileSync(process.env.PORT_FILE, `${endpoint}\n`);
  }
  process.stdout.write(`READY ${endpoint}\n`);
});

let shuttingDown = false;
function shutdown(signal) {
  if (shuttingDown) {
    return;
  }
  shuttingDown = true;
  console.error(`received ${signal}, shutting down`);
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
