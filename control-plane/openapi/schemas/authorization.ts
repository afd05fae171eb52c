/**
 * authorization.k8s.io/v1 SelfSubjectAccessReview: "may I do this?" (`kubectl auth can-i`);
 * authentication.k8s.io/v1 TokenRequest: a service-account token (`kubectl create token`).
 */
import {
  arrayOf, gvk, bool, int64, kind, object, ref, str, time,
  type Definitions,
} from './builders.js';

const AUTHORIZATION = 'io.k8s.api.authorization.v1.';
const AUTHENTICATION = 'io.k8s.api.authentication.v1.';

export const AUTHORIZATION_DEFINITIONS: Definitions = {
  [`${AUTHORIZATION}SelfSubjectAccessReview`]: kind(
    gvk('authorization.k8s.io', 'v1', 'SelfSubjectAccessReview'),
    'Asks whether the requesting user may perform an action. Created, answered in status, never stored.',
    {
      spec: ref(`${AUTHORIZATION}SelfSubjectAccessReviewSpec`, 'The action asked about.'),
      status: ref(`${AUTHORIZATION}SubjectAccessReviewStatus`, 'The answer. Filled in by the server.'),
    },
    ['spec'],
  ),
  [`${AUTHORIZATION}SelfSubjectAccessReviewSpec`]: object('The action asked about. Set exactly one field.', {
    resourceAttributes: ref(`${AUTHORIZATION}ResourceAttributes`, 'An action on a resource.'),
    nonResourceAttributes: ref(`${AUTHORIZATION}NonResourceAttributes`, 'An action on a non-resource URL.'),
  }),
  [`${AUTHORIZATION}ResourceAttributes`]: object('An action on a resource, as an authorizer sees it.', {
    namespace: str('Namespace of the action; empty for cluster-scoped resources or all namespaces.'),
    verb: str('get, list, watch, create, update, patch, delete, ... or "*".'),
    group: str('API group of the resource; "" for core, "*" for all.'),
    version: str('API version of the resource; "*" for all.'),
    resource: str('The resource, e.g. pods; "*" for all.'),
    subresource: str('The subresource, e.g. log.'),
    name: str('Name of the object; empty for all.'),
  }),
  [`${AUTHORIZATION}NonResourceAttributes`]: object('An action on a URL that is not a resource.', {
    path: str('The URL path, e.g. /healthz.'),
    verb: str('The HTTP verb in lower case, e.g. get.'),
  }),
  [`${AUTHORIZATION}SubjectAccessReviewStatus`]: object('The answer to an access review.', {
    allowed: bool('Whether the action is allowed.'),
    denied: bool('Whether the action is explicitly denied (allowed is then false).'),
    reason: str('Why the action is allowed or denied.'),
    evaluationError: str('Set when authorization could not be fully evaluated.'),
  }, ['allowed']),
  [`${AUTHENTICATION}TokenRequest`]: kind(
    gvk('authentication.k8s.io', 'v1', 'TokenRequest'),
    'Asks for a token of a service account (posted to serviceaccounts/<name>/token). Answered in status, never stored.',
    {
      spec: ref(`${AUTHENTICATION}TokenRequestSpec`, 'What token is asked for.'),
      status: ref(`${AUTHENTICATION}TokenRequestStatus`, 'The token. Filled in by the server.'),
    },
    ['spec'],
  ),
  [`${AUTHENTICATION}TokenRequestSpec`]: object('What token is asked for.', {
    audiences: arrayOf(str('An audience.'), 'Intended audiences of the token (recorded, not enforced).'),
    expirationSeconds: int64('Requested lifetime in seconds: at least 600, at most a day; default one hour.'),
  }),
  [`${AUTHENTICATION}TokenRequestStatus`]: object('The issued token.', {
    token: str('The bearer token.'),
    expirationTimestamp: time('When the token stops being accepted.'),
  }, ['token', 'expirationTimestamp']),
};
