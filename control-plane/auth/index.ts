/**
 * control-plane/auth: who is asking (authentication: static token file and
 * service-account tokens) and whether they may (the RBAC authorizer and the
 * policy the server starts with). Pure modules apart from `loadTokenFile`; the
 * API server wires them into its request hooks.
 */
export {
  SERVICE_ACCOUNT_USER_PREFIX,
  SpecialGroup,
  SpecialUser,
  isValidServiceAccountNamePart,
  parseServiceAccountUserName,
  serviceAccountGroup,
  serviceAccountUserName,
  withAuthenticatedGroup,
  type ServiceAccountRef,
  type UserInfo,
} from './user.js';
export {
  TOKEN_FILE_BYTES_MAX,
  TOKEN_FILE_ENTRIES_MAX,
  TokenFileError,
  TokenFileErrorCode,
  loadTokenFile,
  parseTokenFile,
  type TokenTable,
} from './token-file.js';
export {
  SERVICE_ACCOUNT_TOKEN_CHARS_MAX,
  SERVICE_ACCOUNT_TOKEN_PREFIX,
  SIGNING_KEY_BYTES_MIN,
  ServiceAccountTokenError,
  ServiceAccountTokenErrorCode,
  issueServiceAccountToken,
  looksLikeServiceAccountToken,
  verifyServiceAccountToken,
  type IssueServiceAccountTokenOptions,
  type ServiceAccountLookup,
  type ServiceAccountSubject,
  type VerifyServiceAccountTokenOptions,
} from './service-account-token.js';
export {
  AUTHORIZATION_HEADER_CHARS_MAX,
  AuthenticationFailure,
  authenticate,
  type AuthenticationResult,
  type AuthenticationSources,
} from './authenticator.js';
export {
  RBAC_API_GROUP,
  RBAC_ERRORS_REPORTED_MAX,
  RBAC_WILDCARD,
  RoleRefKind,
  SubjectKind,
  authorize,
  forbiddenMessage,
  isNonResourceRequest,
  rbacSourceFromObjects,
  ruleAllows,
  subjectMatches,
  type AuthorizationAttributes,
  type AuthorizationDecision,
  type ClusterRole,
  type ClusterRoleBinding,
  type NonResourceAttributes,
  type PolicyRule,
  type RbacObjects,
  type RbacSource,
  type ResourceAttributes,
  type Role,
  type RoleBinding,
  type RoleRef,
  type Subject,
} from './rbac.js';
export {
  AUTOUPDATE_ANNOTATION,
  BOOTSTRAPPING_LABEL,
  BootstrapRoleName,
  DISCOVERY_PATHS,
  NODE_LEASE_NAMESPACE,
  SCHEDULER_LEASE_NAME,
  bootstrapPolicy,
  type BootstrapPolicy,
} from './bootstrap-policy.js';
