/**
 * Label maps and label selectors as text, the way Kubernetes prints them in the
 * SELECTOR columns: `app=web,tier=db`, `app=web,env in (prod,qa),!legacy`.
 */
import { NONE, fields, list, str } from './printer.js';

/**
 * A map selector (Service.spec.selector) as `k=v,...`, `<none>` when empty.
 * Sorted as whole `k=v` strings, as labels.Set.String does (so `a-b=2` sorts
 * before `a=1`).
 */
export function formatLabels(labels: unknown): string {
  const pairs = Object.entries(fields(labels)).map(([k, v]) => `${k}=${str(v)}`);
  pairs.sort(compareCodeUnits);
  return pairs.length === 0 ? NONE : pairs.join(',');
}

/** metav1.FormatLabelSelector: the selector text, `<none>` when it selects nothing or everything, `<error>` when invalid. */
export function formatLabelSelector(selector: unknown): string {
  const text = labelSelectorString(selector);
  if (text === undefined) return '<error>';
  return text === '' ? NONE : text;
}

/**
 * A LabelSelector (matchLabels + matchExpressions) as selector text: one
 * requirement per key, sorted by key (stable, so matchLabels come before
 * expressions on the same key), values of `in`/`notin` sorted. '' for a missing
 * or empty selector; undefined when an expression is invalid.
 */
export function labelSelectorString(selector: unknown): string | undefined {
  const sel = fields(selector);
  const requirements: { key: string; text: string }[] = [];
  for (const [key, value] of Object.entries(fields(sel['matchLabels']))) {
    requirements.push({ key, text: `${key}=${str(value)}` });
  }
  for (const expr of list(sel['matchExpressions'])) {
    const text = expressionString(expr);
    if (text === undefined) return undefined;
    requirements.push({ key: str(expr['key']), text });
  }
  requirements.sort((a, b) => compareCodeUnits(a.key, b.key));
  return requirements.map((r) => r.text).join(',');
}

function expressionString(expr: Record<string, unknown>): string | undefined {
  const key = str(expr['key']);
  const values = Array.isArray(expr['values']) ? expr['values'].map(str) : [];
  switch (expr['operator']) {
    case 'In':
    case 'NotIn': {
      if (values.length === 0) return undefined;
      const op = expr['operator'] === 'In' ? 'in' : 'notin';
      return `${key} ${op} (${[...values].sort(compareCodeUnits).join(',')})`;
    }
    case 'Exists':
      return values.length === 0 ? key : undefined;
    case 'DoesNotExist':
      return values.length === 0 ? `!${key}` : undefined;
    default:
      return undefined;
  }
}

/** Go compares strings bytewise; for the ASCII of label keys, code-unit order is the same. */
function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
